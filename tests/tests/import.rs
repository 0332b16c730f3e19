//! import-leads over the local system: start a batch, upload the file (presigned PUT or a
//! direct POST), let the S3-notification worker process it, poll the batch — with messy
//! files written here: encodings, delimiters, quoting, ragged rows, bad and duplicate
//! addresses, formulas, Apollo's headers, empty/header-only/binary files, plan limits and a
//! resumed run.

use std::sync::Arc;

use scaliyo_app::import::{ImportConfig, Importer};
use scaliyo_domain::ids::Role;
use scaliyo_store::{Item, Key, Value as StoreValue, WriteOp};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::{Value, json};

struct Workspace {
    local: RunningLocal,
    ada: Client,
    http: reqwest::Client,
}

async fn workspace() -> Workspace {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, Some("ada@scaliyo.example"));
    assert_eq!(ada.sign_up().await.status, 201);
    Workspace {
        local,
        ada,
        http: reqwest::Client::new(),
    }
}

impl Workspace {
    /// Start → presigned PUT → the worker → the finished batch.
    async fn import(&self, file_name: &str, bytes: Vec<u8>, extra: Value) -> Value {
        let mut request = json!({ "file_name": file_name, "content_length": bytes.len() });
        if let (Some(request), Some(extra)) = (request.as_object_mut(), extra.as_object()) {
            request.extend(extra.clone());
        }
        let started = self.ada.post("/v1/imports", request).await;
        assert_eq!(started.status, 201, "{}", started.body);
        assert_eq!(started.body["batch"]["status"], "pending");
        let upload = &started.body["upload"];
        let mut put = self
            .http
            .put(upload["url"].as_str().unwrap())
            .body(bytes.clone());
        for (name, value) in upload["headers"].as_object().unwrap() {
            put = put.header(name.as_str(), value.as_str().unwrap());
        }
        let put = put.send().await.unwrap();
        assert!(put.status().is_success(), "{}", put.text().await.unwrap());
        let id = started.body["batch"]["id"].as_str().unwrap().to_owned();
        self.local.system.import_worker().drain().await;
        self.batch(&id).await
    }

    async fn batch(&self, id: &str) -> Value {
        let batch = self.ada.get(&format!("/v1/import_batches/{id}")).await;
        assert_eq!(batch.status, 200, "{}", batch.body);
        batch.body
    }

    async fn leads(&self) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/leads?limit=100&cursor={c}"),
                None => "/v1/leads?limit=100".to_owned(),
            };
            let page = self.ada.get(&path).await;
            all.extend(page.body["data"].as_array().unwrap().iter().cloned());
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        all
    }

    async fn lead_by_email(&self, email: &str) -> Value {
        self.leads()
            .await
            .into_iter()
            .find(|l| l["primary_email"] == email)
            .unwrap_or_else(|| panic!("no lead {email}"))
    }

    async fn rejected_csv(&self, id: &str) -> String {
        let link = self.ada.get(&format!("/v1/imports/{id}/rejected")).await;
        assert_eq!(link.status, 200, "{}", link.body);
        self.http
            .get(link.body["url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

fn reasons(batch: &Value) -> Vec<(u64, String)> {
    batch["skipped_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_messy_csv_imports_with_a_verdict_for_every_row() {
    let w = workspace().await;
    let file = concat!(
        "First Name,Last Name,Email,Company,Phone,LinkedIn,Notes\r\n",
        "Grace,Hopper,Grace@Navy.MIL,\"Navy, Inc.\",+1 555 0100 / +1 555 0101,https://www.linkedin.com/in/gracehopper/,\"said \"\"hi\"\"\nthen left\"\r\n",
        "Ada,Lovelace,ada@engine.example; ada.l@engine.example,=HYPERLINK(\"http://evil\"),,,\r\n",
        "Alan,Turing,not-an-email,Bletchley,,,\r\n",
        "Nobody,Here,,,,,\r\n",
        "Grace,Again,grace@navy.mil,Navy,,,duplicate\r\n",
        "Ragged,Row,ragged@example.com\r\n",
        "\r\n",
        "Linus,Only,,Kernel,,http://uk.linkedin.com/in/Torvalds?trk=x,\r\n",
        "Linus,Dup,,Kernel,,https://www.linkedin.com/in/torvalds,\r\n",
    );
    let batch = w
        .import("messy.csv", file.as_bytes().to_vec(), json!({}))
        .await;
    assert_eq!(batch["status"], "completed", "{batch}");
    assert_eq!(batch["total_rows"], 8);
    assert_eq!(batch["imported_count"], 3);
    assert_eq!(batch["updated_count"], 0);
    assert_eq!(batch["skipped_count"], 5);
    assert_eq!(
        reasons(&batch),
        vec![
            (4, "invalid_email".to_owned()),
            (5, "missing_identity".to_owned()),
            (6, "duplicate_in_file".to_owned()),
            (7, "malformed_row".to_owned()),
            // Rows are records (the header is row 1); the blank line is not a row.
            (9, "duplicate_in_file".to_owned()),
        ]
    );
    assert_eq!(batch["column_mapping"]["Notes"], "custom_fields.notes");

    let grace = w.lead_by_email("grace@navy.mil").await;
    assert_eq!(grace["name"], "Grace Hopper");
    assert_eq!(grace["company"], "Navy, Inc.");
    assert_eq!(grace["phones"], json!(["+1 555 0100", "+1 555 0101"]));
    assert_eq!(
        grace["linkedin_url"],
        "https://www.linkedin.com/in/gracehopper"
    );
    assert_eq!(grace["custom_fields"]["notes"], "said \"hi\"\nthen left");
    assert_eq!(grace["source"], "csv");
    assert_eq!(grace["import_batch_id"], batch["id"]);
    assert!(grace["imported_at"].is_string());
    let ada = w.lead_by_email("ada@engine.example").await;
    assert_eq!(
        ada["emails"],
        json!(["ada@engine.example", "ada.l@engine.example"])
    );
    assert_eq!(
        ada["company"], "'=HYPERLINK(\"http://evil\")",
        "formula neutralised"
    );
    let leads = w.leads().await;
    let linus = leads.iter().find(|l| l["name"] == "Linus Only").unwrap();
    assert_eq!(
        linus["linkedin_url"],
        "https://www.linkedin.com/in/torvalds"
    );

    let rejected = w.rejected_csv(batch["id"].as_str().unwrap()).await;
    let lines: Vec<&str> = rejected.lines().collect();
    assert_eq!(lines[0], "row,reason,detail,raw");
    assert_eq!(lines.len(), 6, "{rejected}");
    assert!(lines[1].starts_with("4,invalid_email,"), "{rejected}");
    assert!(
        lines[4].starts_with("7,malformed_row,\"expected 7 fields, found 3\""),
        "{rejected}"
    );
}

#[tokio::test]
async fn an_apollo_export_maps_its_headers() {
    let w = workspace().await;
    let file = concat!(
        "First Name,Last Name,Title,Company,Company Name for Emails,Email,Email Status,Seniority,Person Linkedin Url,Website,Corporate Phone,Mobile Phone,Work Direct Phone,City,State,Country,Industry,# Employees\n",
        "Satya,Nadella,CEO,Microsoft Corporation,Microsoft,satya@microsoft.example,Verified,c_suite,http://www.linkedin.com/in/satyanadella,http://www.microsoft.example,+1 425-882-8080,'+1 206 555 0199,,Redmond,Washington,United States,computer software,221000\n",
    );
    let batch = w
        .import(
            "apollo-export.csv",
            file.as_bytes().to_vec(),
            json!({ "file_type": "apollo" }),
        )
        .await;
    assert_eq!(batch["status"], "completed", "{batch}");
    assert_eq!(batch["imported_count"], 1);
    let lead = w.lead_by_email("satya@microsoft.example").await;
    assert_eq!(lead["first_name"], "Satya");
    assert_eq!(lead["last_name"], "Nadella");
    assert_eq!(lead["name"], "Satya Nadella");
    assert_eq!(lead["title"], "CEO");
    assert_eq!(lead["company"], "Microsoft Corporation");
    assert_eq!(
        lead["linkedin_url"],
        "https://www.linkedin.com/in/satyanadella"
    );
    assert_eq!(
        lead["phones"],
        json!(["+1 425-882-8080", "+1 206 555 0199"])
    );
    assert_eq!(lead["location"], "Redmond, Washington, United States");
    assert_eq!(lead["industry"], "computer software");
    assert_eq!(lead["company_size"], "221000");
    assert_eq!(lead["source"], "apollo");
    assert_eq!(lead["custom_fields"]["email_status"], "Verified");
    assert_eq!(
        lead["custom_fields"]["website"],
        "http://www.microsoft.example"
    );
    assert_eq!(
        lead["custom_fields"]["company_name_for_emails"],
        "Microsoft"
    );
}

#[tokio::test]
async fn excel_encodings_and_delimiters_are_read() {
    let w = workspace().await;
    let text = "Name;E-Mail;Company\nJosé Müller;jose@example.de;Café Zürich\n";
    // UTF-8 with BOM and semicolons (Excel "CSV UTF-8" in a German locale).
    let mut utf8 = vec![0xEF, 0xBB, 0xBF];
    utf8.extend(text.as_bytes());
    // UTF-16 LE with BOM and tabs (Excel "Unicode text").
    let tabbed = text.replace(';', "\t").replace("jose@", "jose16@");
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(tabbed.encode_utf16().flat_map(|u| u.to_le_bytes()));
    // Windows-1252 with pipes.
    let piped = text.replace(';', "|").replace("jose@", "jose1252@");
    let cp1252: Vec<u8> = piped
        .chars()
        .map(|c| match c {
            'é' => 0xE9,
            'ü' => 0xFC,
            c => c as u8,
        })
        .collect();
    for (name, bytes, email) in [
        ("utf8.csv", utf8, "jose@example.de"),
        ("unicode.txt", utf16, "jose16@example.de"),
        ("ansi.csv", cp1252, "jose1252@example.de"),
    ] {
        let batch = w.import(name, bytes, json!({})).await;
        assert_eq!(batch["status"], "completed", "{name}: {batch}");
        assert_eq!(batch["imported_count"], 1, "{name}: {batch}");
        let lead = w.lead_by_email(email).await;
        assert_eq!(lead["name"], "José Müller", "{name}");
        assert_eq!(lead["company"], "Café Zürich", "{name}");
    }
}

#[tokio::test]
async fn empty_header_only_and_binary_files_fail_clearly_and_import_nothing() {
    let w = workspace().await;
    let mut zip = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00".to_vec();
    zip.extend((0..2000u32).map(|i| (i * 7 % 256) as u8));
    // An empty file is refused before anything is made (it used to be called too large).
    let empty = w
        .ada
        .post(
            "/v1/imports",
            json!({ "file_name": "empty.csv", "content_length": 0 }),
        )
        .await;
    assert_eq!(
        (empty.status, empty.code()),
        (400, "empty_file"),
        "{}",
        empty.body
    );
    assert!(
        w.ada.get("/v1/import_batches").await.body["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    for (name, bytes, code) in [
        ("header.csv", b"First Name,Email\r\n".to_vec(), "no_rows"),
        ("leads.xlsx", zip, "binary_file"),
    ] {
        let batch = w.import(name, bytes, json!({})).await;
        assert_eq!(batch["status"], "failed", "{name}: {batch}");
        assert_eq!(batch["skipped_rows"][0]["reason"], code, "{name}: {batch}");
        assert!(batch["skipped_rows"][0]["detail"].as_str().unwrap().len() > 10);
        assert_eq!(batch["imported_count"], 0);
        let rejected = w.rejected_csv(batch["id"].as_str().unwrap()).await;
        assert!(rejected.contains(code), "{rejected}");
    }
    assert!(w.leads().await.is_empty());
}

#[tokio::test]
async fn reimporting_skips_everything_and_duplicates_can_update_or_create() {
    let w = workspace().await;
    let file = "Name,Email,Title,Company\nGrace Hopper,grace@navy.mil,,Navy\nAda Lovelace,ada@engine.example,Countess,\n";
    let first = w
        .import("leads.csv", file.as_bytes().to_vec(), json!({}))
        .await;
    assert_eq!(first["imported_count"], 2);
    let again = w
        .import("leads.csv", file.as_bytes().to_vec(), json!({}))
        .await;
    assert_eq!(again["status"], "completed");
    assert_eq!(again["imported_count"], 0);
    assert_eq!(again["skipped_count"], 2);
    assert_eq!(
        reasons(&again),
        vec![
            (2, "duplicate_existing".to_owned()),
            (3, "duplicate_existing".to_owned())
        ]
    );

    let richer = "Name,Email,Title,Company\nGrace Hopper,GRACE@navy.mil,Rear Admiral,US Navy\n";
    let updated = w
        .import(
            "richer.csv",
            richer.as_bytes().to_vec(),
            json!({ "options": { "on_duplicate": "update" } }),
        )
        .await;
    assert_eq!(updated["updated_count"], 1, "{updated}");
    let grace = w.lead_by_email("grace@navy.mil").await;
    assert_eq!(grace["title"], "Rear Admiral", "an empty field is filled");
    assert_eq!(
        grace["company"], "Navy",
        "a filled field is kept (fill_empty)"
    );
    let overwrite = w
        .import(
            "richer.csv",
            richer.as_bytes().to_vec(),
            json!({ "options": { "on_duplicate": "update", "update_mode": "overwrite" } }),
        )
        .await;
    assert_eq!(overwrite["updated_count"], 1);
    assert_eq!(
        w.lead_by_email("grace@navy.mil").await["company"],
        "US Navy"
    );

    let created = w
        .import(
            "again.csv",
            file.as_bytes().to_vec(),
            json!({ "options": { "on_duplicate": "create" } }),
        )
        .await;
    assert_eq!(created["imported_count"], 2, "{created}");
    let leads = w.leads().await;
    assert_eq!(leads.len(), 4);
    let copies: Vec<&Value> = leads
        .iter()
        .filter(|l| l["email"] == "grace@navy.mil")
        .collect();
    assert_eq!(copies.len(), 2);
    assert!(copies.iter().any(|l| l["primary_email"].is_null()));
}

#[tokio::test]
async fn the_plan_contacts_limit_skips_the_rows_beyond_it() {
    let w = workspace().await;
    // The default plan allows 1,000 contacts; 3 exist already.
    for i in 0..3 {
        let lead = w
            .ada
            .post("/v1/leads", json!({ "name": format!("Existing {i}"), "primary_email": format!("existing{i}@example.com") }))
            .await;
        assert_eq!(lead.status, 201);
    }
    let mut file = String::from("Name,Email\n");
    for i in 0..1_000 {
        file.push_str(&format!("Lead {i},lead{i}@example.com\n"));
    }
    let batch = w.import("big.csv", file.into_bytes(), json!({})).await;
    assert_eq!(batch["status"], "completed");
    assert_eq!(batch["imported_count"], 997);
    assert_eq!(batch["skipped_count"], 3);
    assert_eq!(
        reasons(&batch),
        vec![
            (999, "plan_limit".to_owned()),
            (1000, "plan_limit".to_owned()),
            (1001, "plan_limit".to_owned())
        ]
    );
    let more = w
        .ada
        .post(
            "/v1/leads",
            json!({ "name": "One more", "primary_email": "more@example.com" }),
        )
        .await;
    assert_eq!(more.status, 403, "{}", more.body);
}

#[tokio::test]
async fn a_crashed_run_resumes_without_duplicating_or_double_counting() {
    let w = workspace().await;
    let mut file = String::from("Name,Email\n");
    for i in 0..35 {
        file.push_str(&format!("Lead {i},lead{}@example.com\n", i % 30));
    }
    let system = &w.local.system;
    let importer = Importer::new(
        system.access.clone(),
        system.blobs.clone(),
        system.clock.clone(),
        ImportConfig {
            chunk_rows: 10,
            ..ImportConfig::new("imports")
        },
    );
    let started = w
        .ada
        .post(
            "/v1/imports",
            json!({ "file_name": "resume.csv", "content_length": file.len() }),
        )
        .await;
    let id = started.body["batch"]["id"].as_str().unwrap().to_owned();
    let direct = w
        .http
        .post(format!("{}/v1/imports/{id}/file", w.local.base_url))
        .bearer_auth(w.ada.token.as_deref().unwrap())
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 202);
    let key = scaliyo_app::import::source_key(w.ada.owner(), &id);
    importer
        .process_object(
            &scaliyo_store::ObjectCreated {
                bucket: "imports".to_owned(),
                key: key.clone(),
            },
            None,
        )
        .await
        .unwrap();
    let finished = w.batch(&id).await;
    assert_eq!(finished["imported_count"], 30);
    assert_eq!(finished["skipped_count"], 5);
    let contacts_before = system.access.contacts_used(w.ada.owner()).await.unwrap();
    assert_eq!(contacts_before, 30);

    // The worker "crashed" after writing every lead but before its first checkpoint: the
    // batch is back at row 2 with zero counts and an expired lease.
    let store = system.access.rows().store().clone();
    let batch_key = Key::new(format!("U#{}", w.ada.id()), format!("import_batches#{id}"));
    let mut item: Item = store.get(&batch_key).await.unwrap().unwrap();
    for (name, value) in [
        ("status", StoreValue::from("processing")),
        ("imported_count", StoreValue::from(0i64)),
        ("skipped_count", StoreValue::from(0i64)),
        ("total_rows", StoreValue::from(0i64)),
        ("_next_row", StoreValue::from(2i64)),
        ("_chunk", StoreValue::from(0i64)),
        ("_lease_until", StoreValue::from(0i64)),
    ] {
        item.set(name, value);
    }
    item.set("skipped_rows", StoreValue::from_json(&json!([])));
    item.remove("completed_at");
    store
        .transact_write(vec![WriteOp::put(item)])
        .await
        .unwrap();
    // Redelivered: every row is recognised, nothing is added twice.
    importer
        .process_object(
            &scaliyo_store::ObjectCreated {
                bucket: "imports".to_owned(),
                key: key.clone(),
            },
            None,
        )
        .await
        .unwrap();
    let resumed = w.batch(&id).await;
    assert_eq!(resumed["status"], "completed");
    assert_eq!(resumed["imported_count"], 30, "{resumed}");
    assert_eq!(resumed["skipped_count"], 5);
    assert_eq!(resumed["total_rows"], 35);
    assert_eq!(
        system.access.contacts_used(w.ada.owner()).await.unwrap(),
        30
    );
    assert_eq!(w.leads().await.len(), 30);
    // A redelivery of a completed batch does nothing.
    let again = importer
        .process_object(
            &scaliyo_store::ObjectCreated {
                bucket: "imports".to_owned(),
                key: key.clone(),
            },
            None,
        )
        .await
        .unwrap();
    assert!(matches!(
        again,
        scaliyo_app::import::Progress::Nothing { .. }
    ));
    let _ = Arc::new(());
}

#[tokio::test]
async fn a_run_goes_on_from_its_checkpoint_when_the_store_refuses_a_write() {
    let w = workspace().await;
    let mut file = String::from("Name,Email\n");
    for i in 0..60 {
        file.push_str(&format!("Lead {i},flaky{i}@example.com\n"));
    }
    let system = &w.local.system;
    // The worker's store refuses one write in six: each refusal stops a run mid-chunk.
    let flaky = Arc::new(scaliyo_tests::flaky::FlakyTable::new(system.table.clone()));
    let importer = Importer::new(
        Arc::new(scaliyo_app::access::Access::over(
            flaky.clone(),
            system.clock.clone(),
        )),
        system.blobs.clone(),
        system.clock.clone(),
        ImportConfig {
            chunk_rows: 10,
            ..ImportConfig::new("imports")
        },
    );
    let started = w
        .ada
        .post(
            "/v1/imports",
            json!({ "file_name": "flaky.csv", "content_length": file.len() }),
        )
        .await;
    let id = started.body["batch"]["id"].as_str().unwrap().to_owned();
    let direct = w
        .http
        .post(format!("{}/v1/imports/{id}/file", w.local.base_url))
        .bearer_auth(w.ada.token.as_deref().unwrap())
        .body(file)
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 202);
    flaky.fail_one_write_in(6);
    let progress = importer
        .process_object(
            &scaliyo_store::ObjectCreated {
                bucket: "imports".to_owned(),
                key: scaliyo_app::import::source_key(w.ada.owner(), &id),
            },
            None,
        )
        .await;
    assert!(
        matches!(
            progress,
            Ok(scaliyo_app::import::Progress::Completed { .. })
        ),
        "{progress:?}"
    );
    assert!(flaky.writes() >= 12, "at least two writes were refused");
    flaky.fail_one_write_in(0);
    let finished = w.batch(&id).await;
    assert_eq!(finished["status"], "completed");
    assert_eq!(finished["total_rows"], 60, "{finished}");
    assert_eq!(finished["imported_count"], 60, "{finished}");
    assert_eq!(finished["skipped_count"], 0, "{finished}");
    assert_eq!(w.leads().await.len(), 60, "no lead written twice");
    assert_eq!(
        system.access.contacts_used(w.ada.owner()).await.unwrap(),
        60
    );
}

#[tokio::test]
async fn bad_import_requests_are_refused_and_batches_are_private() {
    let w = workspace().await;
    for body in [
        json!({}),
        json!({ "file_name": "" }),
        json!({ "file_name": "x.csv", "file_type": "xlsx" }),
        json!({ "file_name": "x.csv", "options": { "on_duplicate": "merge" } }),
        json!({ "file_name": "x.csv", "column_mapping": { "Email": "client_id" } }),
        json!({ "file_name": "x.csv" }),
    ] {
        let reply = w.ada.post("/v1/imports", body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert!(!reply.code().is_empty());
    }
    let started = w
        .ada
        .post(
            "/v1/imports",
            json!({ "file_name": "mine.csv", "content_length": 10 }),
        )
        .await;
    let id = started.body["batch"]["id"].as_str().unwrap().to_owned();
    let eve = Client::user(&w.local, Role::Client, None);
    assert_eq!(eve.sign_up().await.status, 201);
    assert_eq!(
        eve.get(&format!("/v1/import_batches/{id}")).await.status,
        404
    );
    let upload = w
        .http
        .post(format!("{}/v1/imports/{id}/file", w.local.base_url))
        .bearer_auth(eve.token.as_deref().unwrap())
        .body("Name,Email\nx,x@example.com\n")
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 404);
    assert_eq!(
        eve.get(&format!("/v1/imports/{id}/rejected")).await.status,
        404
    );
    let listed = w.ada.get("/v1/import_batches").await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
}

/// An import whose upload notification was lost (dead-lettered and deleted, say) waits as
/// `pending`; the operator's resume queues the notification again and the worker finishes it.
/// A finished batch, an unknown id and another workspace's batch are refused.
#[tokio::test]
async fn an_import_whose_notification_was_lost_is_resumed_by_the_operator() {
    use scaliyo_app::ops::{ResumeError, resume_import};
    use scaliyo_store::Queue;

    let w = workspace().await;
    let system = &w.local.system;
    let file = "Name,Email\nAda,ada@example.com\nGrace,grace@example.com\n";
    let started = w
        .ada
        .post(
            "/v1/imports",
            json!({ "file_name": "lost.csv", "content_length": file.len() }),
        )
        .await;
    let id = started.body["batch"]["id"].as_str().unwrap().to_owned();
    let direct = w
        .http
        .post(format!("{}/v1/imports/{id}/file", w.local.base_url))
        .bearer_auth(w.ada.token.as_deref().unwrap())
        .body(file)
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 202);
    // The notification is lost.
    let lost = system
        .import_queue
        .receive(
            10,
            std::time::Duration::from_secs(60),
            std::time::Duration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(lost.len(), 1);
    system.import_queue.delete(&lost[0].receipt).await.unwrap();
    system.import_worker().drain().await;
    assert_eq!(w.batch(&id).await["status"], "pending");

    let rows = system.access.rows();
    let local_notification = |key: &str| {
        serde_json::to_string(&scaliyo_store::ObjectCreated {
            bucket: "imports".into(),
            key: key.into(),
        })
        .unwrap()
    };
    let resumed = resume_import(
        rows,
        system.import_queue.as_ref(),
        local_notification,
        w.ada.owner(),
        &id,
        0,
    )
    .await
    .unwrap();
    assert_eq!((resumed.status.as_str(), resumed.next_row), ("pending", 1));
    system.import_worker().drain().await;
    let finished = w.batch(&id).await;
    assert_eq!(finished["status"], "completed");
    assert_eq!(finished["imported_count"], 2);
    assert_eq!(w.leads().await.len(), 2);

    let finished = resume_import(
        rows,
        system.import_queue.as_ref(),
        local_notification,
        w.ada.owner(),
        &id,
        0,
    )
    .await;
    assert!(
        matches!(finished, Err(ResumeError::Finished { .. })),
        "{finished:?}"
    );
    let bob = scaliyo_domain::ids::OwnerId::new_random();
    let foreign = resume_import(
        rows,
        system.import_queue.as_ref(),
        local_notification,
        bob,
        &id,
        0,
    )
    .await;
    assert!(
        matches!(foreign, Err(ResumeError::NotFound(_))),
        "{foreign:?}"
    );
    assert_eq!(system.import_queue.len(), 0, "nothing queued by a refusal");
}
