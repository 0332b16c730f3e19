//! The row repository on any `Table` backend: defaults, validation, uniqueness, tenant
//! partitions, pagination, updates and every ON DELETE action.

use std::sync::Arc;
use std::time::Duration;

use scaliyo_app::rows::{ListRequest, Row, RowError, Rows};
use scaliyo_domain::schema::{self, Table as TableDef};
use scaliyo_store::{Item, Key, SystemClock, Table, WriteOp};
use serde_json::{Value, json};

fn row(value: Value) -> Row {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn owner() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn rows(store: Arc<dyn Table>) -> Rows {
    Rows::new(store, Arc::new(SystemClock))
}

async fn lead(rows: &Rows, owner: &str, name: &str, email: Option<&str>) -> Row {
    let mut input = row(json!({ "client_id": owner, "name": name }));
    if let Some(email) = email {
        input.insert("primary_email".into(), json!(email));
    }
    rows.create(&schema::LEADS, None, input).await.unwrap()
}

pub async fn creating_a_row_applies_the_seed_defaults(store: Arc<dyn Table>) {
    let rows = rows(store);
    let owner = owner();
    let created = lead(&rows, &owner, "Ada Lovelace", None).await;
    assert!(uuid::Uuid::parse_str(created["id"].as_str().unwrap()).is_ok());
    assert_eq!(created["status"], "New");
    assert_eq!(created["score"], 0);
    assert_eq!(created["email"], "");
    assert_eq!(created["company"], "");
    assert_eq!(created["source"], "manual");
    assert_eq!(created["emails"], json!([]));
    assert_eq!(created["custom_fields"], json!({}));
    assert_eq!(created["knowledgeBase"], Value::Null);
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        rows.get(&schema::LEADS, Some(&owner), id).await.unwrap(),
        Some(created.clone())
    );

    let workflow = rows
        .create(&schema::WORKFLOWS, None, row(json!({ "user_id": owner })))
        .await
        .unwrap();
    assert_eq!(workflow["name"], "Untitled Workflow");
    assert_eq!(
        workflow["stats"],
        json!({"leadsProcessed":0,"conversionRate":0,"timeSavedHrs":0,"roi":0})
    );

    // sender_accounts.workspace_id references profiles: the profile comes first.
    let orphan = rows
        .create(
            &schema::SENDER_ACCOUNTS,
            None,
            row(json!({ "workspace_id": owner, "provider": "smtp", "from_email": "a@b.co" })),
        )
        .await;
    assert_eq!(
        orphan,
        Err(RowError::MissingReference {
            column: "workspace_id".into()
        })
    );
    let profile = rows
        .create(
            &schema::PROFILES,
            None,
            row(json!({ "id": owner, "email": format!("{owner}@example.com") })),
        )
        .await
        .unwrap();
    assert_eq!(profile["role"], "CLIENT");
    assert_eq!(profile["plan"], "Starter");
    assert_eq!(profile["credits_total"], 100);
    let sender = rows
        .create(
            &schema::SENDER_ACCOUNTS,
            None,
            row(json!({ "workspace_id": owner, "provider": "smtp", "from_email": "a@b.co" })),
        )
        .await
        .unwrap();
    assert_eq!(sender["daily_sent_date"].as_str().unwrap().len(), 10);
    assert_eq!(sender["health_score"], 100);
}

pub async fn another_owner_cannot_read_a_row(store: Arc<dyn Table>) {
    let rows = rows(store);
    let (alice, mallory) = (owner(), owner());
    let created = lead(&rows, &alice, "Private", None).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        rows.get(&schema::LEADS, Some(&mallory), id).await.unwrap(),
        None
    );
    assert_eq!(
        rows.update(
            &schema::LEADS,
            Some(&mallory),
            id,
            row(json!({"name": "x"}))
        )
        .await,
        Err(RowError::NotFound)
    );
    assert_eq!(
        rows.delete(&schema::LEADS, Some(&mallory), id).await,
        Err(RowError::NotFound)
    );
    assert!(
        rows.get(&schema::LEADS, Some(&alice), id)
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn a_primary_email_is_unique_per_owner_case_insensitively(store: Arc<dyn Table>) {
    let rows = rows(store);
    let (alice, bob) = (owner(), owner());
    lead(&rows, &alice, "Ada", Some("Ada@Example.com")).await;
    let duplicate = rows
        .create(&schema::LEADS, None, row(json!({ "client_id": alice, "name": "Ada again", "primary_email": "ada@EXAMPLE.com" })))
        .await;
    assert_eq!(
        duplicate,
        Err(RowError::Conflict {
            constraint: "idx_leads_client_email".into()
        })
    );
    // Another owner may use the same address.
    lead(&rows, &bob, "Ada at Bob's", Some("ada@example.com")).await;
    // Leads without an email never collide (partial index).
    lead(&rows, &alice, "No email 1", None).await;
    lead(&rows, &alice, "No email 2", None).await;
}

pub async fn bad_input_is_refused_with_the_column_named(store: Arc<dyn Table>) {
    let rows = rows(store);
    let alice = owner();
    let leads = &schema::LEADS;
    let check = rows
        .create(
            leads,
            None,
            row(json!({ "client_id": alice, "name": "x", "status": "Hot" })),
        )
        .await;
    assert!(
        matches!(&check, Err(RowError::Invalid { column, reason }) if column == "status" && reason.contains("New, Contacted")),
        "{check:?}"
    );
    let missing = rows
        .create(leads, None, row(json!({ "client_id": alice })))
        .await;
    assert!(
        matches!(&missing, Err(RowError::Invalid { column, .. }) if column == "name"),
        "{missing:?}"
    );
    let unknown = rows
        .create(
            leads,
            None,
            row(json!({ "client_id": alice, "name": "x", "nickname": "y" })),
        )
        .await;
    assert_eq!(unknown, Err(RowError::UnknownField("nickname".into())));
    let wrong_type = rows
        .create(
            leads,
            None,
            row(json!({ "client_id": alice, "name": "x", "score": "high" })),
        )
        .await;
    assert!(matches!(&wrong_type, Err(RowError::Invalid { column, .. }) if column == "score"));
    let range = rows
        .create(
            &schema::GUEST_POST_OUTREACH,
            None,
            row(json!({ "user_id": alice, "blog_name": "b", "domain_authority": 101 })),
        )
        .await;
    assert!(
        matches!(&range, Err(RowError::Invalid { column, .. }) if column == "domain_authority")
    );
    let timestamp = rows
        .create(&schema::SCHEDULED_EMAILS, None, row(json!({ "owner_id": alice, "to_email": "a@b.c", "subject": "s", "html_body": "b", "scheduled_at": "tomorrow" })))
        .await;
    assert!(
        matches!(&timestamp, Err(RowError::Invalid { column, .. }) if column == "scheduled_at")
    );
    let page = rows
        .list(
            leads,
            Some(&alice),
            ListRequest {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(page.rows.is_empty(), "a refused row was written");
}

pub async fn timestamps_with_any_offset_are_stored_in_utc(store: Arc<dyn Table>) {
    let rows = rows(store);
    let alice = owner();
    let scheduled = rows
        .create(
            &schema::SCHEDULED_EMAILS,
            None,
            row(json!({ "owner_id": alice, "to_email": "a@b.c", "subject": "s", "html_body": "b", "scheduled_at": "2026-03-29T02:30:00+05:00" })),
        )
        .await
        .unwrap();
    assert_eq!(scheduled["scheduled_at"], "2026-03-28T21:30:00.000000Z");
    assert_eq!(scheduled["status"], "pending");
}

pub async fn listing_pages_through_an_owners_rows(store: Arc<dyn Table>) {
    let rows = rows(store);
    let (alice, bob) = (owner(), owner());
    for i in 0..7 {
        lead(&rows, &alice, &format!("lead {i}"), None).await;
    }
    lead(&rows, &bob, "bob's", None).await;
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = rows
            .list(
                &schema::LEADS,
                Some(&alice),
                ListRequest {
                    limit: 3,
                    cursor,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        pages += 1;
        seen.extend(
            page.rows
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_owned()),
        );
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert!(pages >= 3);
    seen.sort();
    assert_eq!(
        seen,
        (0..7).map(|i| format!("lead {i}")).collect::<Vec<_>>()
    );
}

pub async fn listing_by_a_seed_index_orders_by_its_range_column(store: Arc<dyn Table>) {
    let rows = rows(store.clone());
    let alice = owner();
    for (name, score) in [("low", 5), ("high", 90), ("mid", 40), ("negative", -3)] {
        rows.create(
            &schema::LEADS,
            None,
            row(json!({ "client_id": alice, "name": name, "score": score })),
        )
        .await
        .unwrap();
    }
    let request = ListRequest {
        index: Some("idx_leads_score".into()),
        descending: true,
        limit: 10,
        ..Default::default()
    };
    let mut names = Vec::new();
    let ok = crate::eventually(Duration::from_secs(5), || {
        let rows = rows.clone();
        let alice = alice.clone();
        let request = request.clone();
        async move {
            rows.list(&schema::LEADS, Some(&alice), request)
                .await
                .unwrap()
                .rows
                .len()
                == 4
        }
    })
    .await;
    assert!(ok);
    for r in rows
        .list(&schema::LEADS, Some(&alice), request)
        .await
        .unwrap()
        .rows
    {
        names.push(r["name"].as_str().unwrap().to_owned());
    }
    assert_eq!(names, vec!["high", "mid", "low", "negative"]);
}

pub async fn an_update_revalidates_maintains_updated_at_and_moves_uniqueness(
    store: Arc<dyn Table>,
) {
    let rows = rows(store);
    let alice = owner();
    let leads = &schema::LEADS;
    let created = lead(&rows, &alice, "Ada", Some("ada@example.com")).await;
    let id = created["id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let updated = rows
        .update(
            leads,
            Some(&alice),
            id,
            row(json!({ "status": "Contacted", "primary_email": "ada@new.example" })),
        )
        .await
        .unwrap();
    assert_eq!(updated["status"], "Contacted");
    assert!(updated["updated_at"].as_str() > created["updated_at"].as_str());
    assert_eq!(updated["created_at"], created["created_at"]);
    // The old address is free again; the new one is taken.
    lead(&rows, &alice, "Someone", Some("ada@example.com")).await;
    let taken = rows
        .create(
            leads,
            None,
            row(json!({ "client_id": alice, "name": "x", "primary_email": "ADA@new.example" })),
        )
        .await;
    assert_eq!(
        taken,
        Err(RowError::Conflict {
            constraint: "idx_leads_client_email".into()
        })
    );
    let bad = rows
        .update(leads, Some(&alice), id, row(json!({ "status": "Hot" })))
        .await;
    assert!(matches!(bad, Err(RowError::Invalid { .. })));
    let moved = rows
        .update(
            leads,
            Some(&alice),
            id,
            row(json!({ "client_id": owner() })),
        )
        .await;
    assert!(matches!(moved, Err(RowError::Invalid { column, .. }) if column == "client_id"));
    assert_eq!(
        rows.get(leads, Some(&alice), id).await.unwrap().unwrap()["status"],
        "Contacted"
    );
}

pub async fn a_reference_to_a_missing_row_is_refused(store: Arc<dyn Table>) {
    let rows = rows(store);
    let alice = owner();
    let missing = uuid::Uuid::new_v4().to_string();
    let result = rows
        .create(
            &schema::LEAD_COLOR_OVERRIDES,
            None,
            row(json!({ "owner_id": alice, "lead_id": missing, "color_token": "red" })),
        )
        .await;
    assert_eq!(
        result,
        Err(RowError::MissingReference {
            column: "lead_id".into()
        })
    );
    // Nor may a row point at another tenant's row.
    let bob = owner();
    let bobs_lead = lead(&rows, &bob, "Bob's lead", None).await;
    let across = rows
        .create(
            &schema::LEAD_COLOR_OVERRIDES,
            None,
            row(json!({ "owner_id": alice, "lead_id": bobs_lead["id"], "color_token": "red" })),
        )
        .await;
    assert_eq!(
        across,
        Err(RowError::MissingReference {
            column: "lead_id".into()
        })
    );
}

/// Deleting a lead removes its color overrides, messages with their links and events, and
/// invoices with their line items; scheduled emails and workflow executions keep their row
/// with `lead_id` set to NULL.
pub async fn deleting_a_lead_carries_out_every_on_delete_action(store: Arc<dyn Table>) {
    let rows = rows(store);
    let alice = owner();
    let created = lead(&rows, &alice, "Doomed", Some("doomed@example.com")).await;
    let lead_id = created["id"].as_str().unwrap().to_owned();
    let override_row = rows
        .create(
            &schema::LEAD_COLOR_OVERRIDES,
            None,
            row(json!({ "owner_id": alice, "lead_id": lead_id, "color_token": "red" })),
        )
        .await
        .unwrap();
    let message = rows
        .create(&schema::EMAIL_MESSAGES, None, row(json!({ "lead_id": lead_id, "owner_id": alice, "provider": "smtp", "to_email": "doomed@example.com" })))
        .await
        .unwrap();
    let message_id = message["id"].as_str().unwrap().to_owned();
    let link = rows
        .create(
            &schema::EMAIL_LINKS,
            Some(&alice),
            row(json!({ "message_id": message_id, "destination_url": "https://example.com" })),
        )
        .await
        .unwrap();
    let event = rows
        .create(
            &schema::EMAIL_EVENTS,
            Some(&alice),
            row(json!({ "message_id": message_id, "link_id": link["id"], "event_type": "click" })),
        )
        .await
        .unwrap();
    let invoice = rows
        .create(
            &schema::INVOICES,
            None,
            row(json!({ "owner_id": alice, "lead_id": lead_id })),
        )
        .await
        .unwrap();
    let line = rows
        .create(&schema::INVOICE_LINE_ITEMS, Some(&alice), row(json!({ "invoice_id": invoice["id"], "description": "work", "unit_price_cents": 100, "amount_cents": 100 })))
        .await
        .unwrap();
    let scheduled = rows
        .create(
            &schema::SCHEDULED_EMAILS,
            None,
            row(json!({ "owner_id": alice, "lead_id": lead_id, "to_email": "doomed@example.com", "subject": "s", "html_body": "b", "scheduled_at": "2030-01-01T00:00:00Z" })),
        )
        .await
        .unwrap();
    let workflow = rows
        .create(&schema::WORKFLOWS, None, row(json!({ "user_id": alice })))
        .await
        .unwrap();
    let execution = rows
        .create(
            &schema::WORKFLOW_EXECUTIONS,
            None,
            row(json!({ "workflow_id": workflow["id"], "user_id": alice, "lead_id": lead_id })),
        )
        .await
        .unwrap();

    // Indexes on DynamoDB are eventually consistent; the delete must still find everything.
    tokio::time::sleep(Duration::from_millis(200)).await;
    rows.delete(&schema::LEADS, Some(&alice), &lead_id)
        .await
        .unwrap();

    let gone = |t: &'static TableDef, owner: Option<&str>, id: &Value| {
        let rows = rows.clone();
        let owner = owner.map(str::to_owned);
        let id = id.as_str().unwrap().to_owned();
        async move { rows.get(t, owner.as_deref(), &id).await.unwrap().is_none() }
    };
    assert!(gone(&schema::LEADS, Some(&alice), &created["id"]).await);
    assert!(
        gone(
            &schema::LEAD_COLOR_OVERRIDES,
            Some(&alice),
            &override_row["id"]
        )
        .await
    );
    assert!(gone(&schema::EMAIL_MESSAGES, Some(&alice), &message["id"]).await);
    assert!(gone(&schema::EMAIL_LINKS, Some(&alice), &link["id"]).await);
    assert!(gone(&schema::EMAIL_EVENTS, Some(&alice), &event["id"]).await);
    assert!(gone(&schema::INVOICES, Some(&alice), &invoice["id"]).await);
    assert!(gone(&schema::INVOICE_LINE_ITEMS, Some(&alice), &line["id"]).await);
    let kept = rows
        .get(
            &schema::SCHEDULED_EMAILS,
            Some(&alice),
            scheduled["id"].as_str().unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept["lead_id"], Value::Null);
    let kept = rows
        .get(
            &schema::WORKFLOW_EXECUTIONS,
            Some(&alice),
            execution["id"].as_str().unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept["lead_id"], Value::Null);
    // The lead's unique email is free again.
    lead(&rows, &alice, "Reborn", Some("doomed@example.com")).await;
}

pub async fn shared_rows_are_listed_and_addressed_by_id(store: Arc<dyn Table>) {
    let rows = rows(store);
    let name = format!("Plan {}", uuid::Uuid::new_v4());
    let plan = rows
        .create(&schema::PLANS, None, row(json!({ "name": name })))
        .await
        .unwrap();
    assert_eq!(plan["price"], "$0");
    assert_eq!(plan["features"], json!([]));
    let id = plan["id"].as_str().unwrap();
    assert_eq!(
        rows.get(&schema::PLANS, None, id).await.unwrap(),
        Some(plan.clone())
    );
    let listed = crate::eventually(Duration::from_secs(5), || {
        let rows = rows.clone();
        let name = name.clone();
        async move {
            let page = rows
                .list(
                    &schema::PLANS,
                    None,
                    ListRequest {
                        limit: 100,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            page.rows.iter().any(|r| r["name"] == name.as_str())
        }
    })
    .await;
    assert!(listed);
    let setting = rows
        .create(
            &schema::CONFIG_SETTINGS,
            None,
            row(json!({ "key": "feature.x", "value": "on" })),
        )
        .await
        .unwrap();
    assert_eq!(
        rows.get(&schema::CONFIG_SETTINGS, None, "feature.x")
            .await
            .unwrap(),
        Some(setting)
    );
    let again = rows
        .create(
            &schema::CONFIG_SETTINGS,
            None,
            row(json!({ "key": "feature.x", "value": "off" })),
        )
        .await;
    assert_eq!(
        again,
        Err(RowError::Conflict {
            constraint: "config_settings_pkey".into()
        })
    );
}

/// Every row of `table` `owner` has, read page by page from the owner's partition.
async fn all_rows(rows: &Rows, table: &'static TableDef, owner: &str) -> Vec<Row> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = rows
            .list(
                table,
                Some(owner),
                ListRequest {
                    limit: 100,
                    cursor,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        out.extend(page.rows);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

/// The owner's tallies of `table` (total and per value of `column`) against its rows.
async fn assert_tallies_match(
    rows: &Rows,
    table: &'static TableDef,
    owner: &str,
    column: &str,
    values: &[&str],
    step: usize,
) {
    let listed = all_rows(rows, table, owner).await;
    let total = rows.tallied_count(table, owner, None).await.unwrap();
    assert_eq!(
        total,
        Some(listed.len() as u64),
        "{} total after step {step}",
        table.name
    );
    for value in values {
        let expected = listed.iter().filter(|r| r[column] == *value).count() as u64;
        let tallied = rows
            .tallied_count(table, owner, Some((column, value)))
            .await
            .unwrap();
        assert_eq!(
            tallied,
            Some(expected),
            "{}.{column} = {value} after step {step}",
            table.name
        );
    }
}

/// A model-based run: random inserts (one at a time and several in one transaction),
/// updates, guarded transitions, deletes with their cascades — after each step the owner's
/// tallies equal what its rows say, and another owner's stay at zero.
pub async fn tallies_follow_every_kind_of_write(store: Arc<dyn Table>) {
    const STATUSES: [&str; 3] = ["New", "Contacted", "Qualified"];
    const SOURCES: [&str; 3] = ["manual", "csv", "web"];
    const EMAIL_STATUSES: [&str; 2] = ["pending", "cancelled"];
    let rows = rows(store.clone());
    let (alice, bob) = (owner(), owner());
    // A small deterministic generator: the run is the same on every backend and every time.
    let mut seed: u64 = 0x5ca1_1e00;
    let mut next = move |bound: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % bound
    };
    let mut leads: Vec<String> = Vec::new();
    let mut emails: Vec<String> = Vec::new();
    for step in 0..40 {
        match next(6) {
            0 | 1 => {
                let input = row(json!({
                    "client_id": alice, "name": format!("lead {step}"),
                    "status": STATUSES[next(3)], "source": SOURCES[next(3)],
                }));
                let created = rows.create(&schema::LEADS, None, input).await.unwrap();
                leads.push(created["id"].as_str().unwrap().to_owned());
            }
            2 => {
                // Several leads in one transaction: their tallies are added once each.
                let mut ops = Vec::new();
                for i in 0..3 {
                    let input = row(json!({
                        "client_id": alice, "name": format!("batch {step}/{i}"),
                        "status": STATUSES[i % 3], "source": "csv",
                    }));
                    let prepared = rows.prepare(&schema::LEADS, input).unwrap();
                    leads.push(prepared["id"].as_str().unwrap().to_owned());
                    ops.extend(
                        rows.insert_ops(&schema::LEADS, Some(&alice), &prepared, false)
                            .unwrap(),
                    );
                }
                store.transact_write(ops).await.unwrap();
            }
            3 if !leads.is_empty() => {
                let id = &leads[next(leads.len())];
                let patch = row(json!({ "status": STATUSES[next(3)], "source": SOURCES[next(3)] }));
                rows.update(&schema::LEADS, Some(&alice), id, patch)
                    .await
                    .unwrap();
            }
            4 if !leads.is_empty() => {
                let lead_id = leads[next(leads.len())].clone();
                let email = rows
                    .create(
                        &schema::SCHEDULED_EMAILS,
                        None,
                        row(json!({ "owner_id": alice, "lead_id": lead_id, "to_email": "t@example.com", "subject": "s", "html_body": "b", "scheduled_at": "2030-01-01T00:00:00Z" })),
                    )
                    .await
                    .unwrap();
                let id = email["id"].as_str().unwrap().to_owned();
                if next(2) == 0 {
                    // A guarded transition, as the scheduler's work queue writes them.
                    let key =
                        scaliyo_app::layout::row_key(&schema::SCHEDULED_EMAILS, Some(&alice), &id);
                    let item = store.get(&key).await.unwrap().unwrap();
                    let patch = row(json!({ "status": "cancelled" }));
                    let (_, ops) = rows
                        .transition_ops(&schema::SCHEDULED_EMAILS, &item, patch, &[])
                        .unwrap();
                    store.transact_write(ops).await.unwrap();
                }
                emails.push(id);
            }
            5 if !leads.is_empty() => {
                // A lead's deletion takes its scheduled e-mails with it (ON DELETE CASCADE).
                let id = leads.remove(next(leads.len()));
                rows.delete(&schema::LEADS, Some(&alice), &id)
                    .await
                    .unwrap();
            }
            _ => continue,
        }
        assert_tallies_match(&rows, &schema::LEADS, &alice, "status", &STATUSES, step).await;
        assert_tallies_match(&rows, &schema::LEADS, &alice, "source", &SOURCES, step).await;
        assert_tallies_match(
            &rows,
            &schema::SCHEDULED_EMAILS,
            &alice,
            "status",
            &EMAIL_STATUSES,
            step,
        )
        .await;
    }
    assert!(
        !leads.is_empty() && !emails.is_empty(),
        "the run wrote both tables"
    );
    assert_eq!(
        rows.tallied_count(&schema::LEADS, &bob, None)
            .await
            .unwrap(),
        Some(0)
    );
    // Untallied tables and columns say so rather than answer a wrong number.
    assert_eq!(
        rows.tallied_count(&schema::PROFILES, &alice, None)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        rows.tallied_count(&schema::LEADS, &alice, Some(("company", "x")))
            .await
            .unwrap(),
        None
    );
}

/// A store written before tallies were kept (its tally items missing or wrong) is set right
/// by a recount: every tally then equals what the rows hold, values no row holds any more
/// included, and the next write adds to the recounted figures.
pub async fn a_recount_sets_tallies_to_what_the_rows_hold(store: Arc<dyn Table>) {
    const STATUSES: [&str; 3] = ["New", "Contacted", "Lost"];
    let rows = rows(store.clone());
    let (alice, bob) = (owner(), owner());
    for (i, status) in ["New", "New", "Contacted"].iter().enumerate() {
        let input = row(json!({ "client_id": alice, "name": format!("l{i}"), "status": status }));
        rows.create(&schema::LEADS, None, input).await.unwrap();
    }
    rows.create(
        &schema::LEADS,
        None,
        row(json!({ "client_id": bob, "name": "b", "status": "New" })),
    )
    .await
    .unwrap();
    // As an older store would have them: the total missing, one value's count wrong, and a
    // count for a value no row holds.
    let partition = scaliyo_app::layout::owner_column_partition(&alice);
    store
        .transact_write(vec![
            WriteOp::delete(Key::new(partition.clone(), "counter#rows#leads")),
            WriteOp::put(
                Item::new(&Key::new(
                    partition.clone(),
                    "counter#rows#leads#status#New",
                ))
                .with("count", 7),
            ),
            WriteOp::put(
                Item::new(&Key::new(partition, "counter#rows#leads#status#Lost")).with("count", 2),
            ),
        ])
        .await
        .unwrap();
    let recounted = rows.recount_tallies(&schema::LEADS, &alice).await.unwrap();
    assert_eq!(recounted, Some(3));
    assert_tallies_match(&rows, &schema::LEADS, &alice, "status", &STATUSES, 0).await;
    rows.create(
        &schema::LEADS,
        None,
        row(json!({ "client_id": alice, "name": "after", "status": "Lost" })),
    )
    .await
    .unwrap();
    assert_tallies_match(&rows, &schema::LEADS, &alice, "status", &STATUSES, 1).await;
    // Another owner's tallies are not touched; untallied tables have nothing to recount.
    assert_eq!(
        rows.tallied_count(&schema::LEADS, &bob, Some(("status", "New")))
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        rows.recount_tallies(&schema::PROFILES, &alice)
            .await
            .unwrap(),
        None
    );
}

/// One owner's rows written at once all add to the same tally items: every write lands and
/// every one is counted once. (DynamoDB refuses concurrent transactions on one item and the
/// adapter sends them again; DynamoDB Local runs them one after the other instead, so that
/// path is shown against a stand-in in tests/tests/store.rs.)
pub async fn concurrent_writes_of_one_owner_are_all_counted(store: Arc<dyn Table>) {
    let rows = rows(store);
    let alice = owner();
    let writes = (0..24).map(|i| {
        let rows = rows.clone();
        let input = row(json!({
            "client_id": alice, "name": format!("lead {i}"),
            "status": if i % 3 == 0 { "Qualified" } else { "New" },
        }));
        async move { rows.create(&schema::LEADS, None, input).await }
    });
    for written in futures::future::join_all(writes).await {
        written.unwrap();
    }
    assert_tallies_match(
        &rows,
        &schema::LEADS,
        &alice,
        "status",
        &["New", "Qualified"],
        0,
    )
    .await;
    assert_eq!(
        rows.tallied_count(&schema::LEADS, &alice, Some(("status", "Qualified")))
            .await
            .unwrap(),
        Some(8)
    );
}

#[macro_export]
macro_rules! rows_conformance_tests {
    ($backend:ident) => {
        $crate::rows_conformance_tests!(@each $backend,
            creating_a_row_applies_the_seed_defaults,
            another_owner_cannot_read_a_row,
            a_primary_email_is_unique_per_owner_case_insensitively,
            bad_input_is_refused_with_the_column_named,
            timestamps_with_any_offset_are_stored_in_utc,
            listing_pages_through_an_owners_rows,
            listing_by_a_seed_index_orders_by_its_range_column,
            an_update_revalidates_maintains_updated_at_and_moves_uniqueness,
            a_reference_to_a_missing_row_is_refused,
            deleting_a_lead_carries_out_every_on_delete_action,
            shared_rows_are_listed_and_addressed_by_id,
            tallies_follow_every_kind_of_write,
            a_recount_sets_tallies_to_what_the_rows_hold,
            concurrent_writes_of_one_owner_are_all_counted
        );
    };
    (@each $backend:ident, $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(table) = $backend().await {
                    $crate::rows_conformance::$name(table).await;
                }
            }
        )+
    };
}
