//! run-workflows over the local system: workflows built and activated over HTTP, leads
//! created over HTTP, e-mails read from the outbox and opened through the pixel, the tick and
//! the queue consumer driven with a manual clock, as EventBridge and SQS would drive them.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use scaliyo_domain::ids::Role;
use scaliyo_store::{Clock, ManualClock, Queue, WriteOp};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use scaliyo_tests::mailbox::urls;
use serde_json::{Value, json};

const HUMAN: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

struct Workspace {
    local: RunningLocal,
    clock: Arc<ManualClock>,
    ada: Client,
    templates: [String; 3],
}

/// The issue's example, with the workspace's templates: first, engaged, bump.
fn example(templates: &[String; 3]) -> Value {
    json!([
        {"id":"t1","type":"trigger.lead_event","config":{"event":"lead.created","filter":{"all":[{"field":"status","op":"eq","value":"New"}]},
          "reentry":"never","exit_on":["email.replied","lead.unsubscribed","email.bounced","status:Converted","status:Lost"],
          "send_window":{"tz":"lead","fallback_tz":"Europe/Berlin","days":[1,2,3,4,5],"start":"09:00","end":"17:00"}},"next":"e1"},
        {"id":"e1","type":"action.send_email","config":{"template_id": templates[0]},"next":"w1"},
        {"id":"w1","type":"wait.event","config":{"events":["email.opened","email.clicked"],"message_of":"e1","timeout":{"amount":3,"unit":"days"}},
          "branches":[{"key":"matched","next":"e2"},{"key":"timeout","next":"e3"}]},
        {"id":"e2","type":"action.send_email","config":{"template_id": templates[1]},"next":"u1"},
        {"id":"e3","type":"action.send_email","config":{"template_id": templates[2]},"next":"u1"},
        {"id":"u1","type":"action.update_lead","config":{"status":"Contacted","score_add":10},"next":null}
    ])
}

/// Wednesday 2 December 2026, 10:00 UTC (11:00 in Berlin: inside the window).
async fn workspace() -> Workspace {
    workspace_with(|_| {}).await
}

async fn workspace_with(configure: impl FnOnce(&mut scaliyo_local::LocalConfig)) -> Workspace {
    let clock = Arc::new(ManualClock::new(at("2026-12-02T10:00:00Z")));
    let local = RunningLocal::start_configured(clock.clone(), configure).await;
    let ada = Client::user(&local, Role::Client, Some("ada@scaliyo.example"));
    assert_eq!(ada.sign_up().await.status, 201);
    let sender = ada
        .post(
            "/v1/sender-accounts/connect",
            json!({ "provider": "sendgrid", "from_email": "ada@mail.scaliyo.example", "from_name": "Ada", "api_key": "SG.key", "is_default": true }),
        )
        .await;
    assert_eq!(sender.status, 201, "{}", sender.body);
    let mut templates: [String; 3] = Default::default();
    for (slot, name) in templates.iter_mut().zip(["First", "Engaged", "Bump"]) {
        let template = ada
            .post(
                "/v1/email_templates",
                json!({ "name": name, "category": "follow_up", "subject_template": format!("{name} for {{{{first_name}}}}"),
                        "body_template": format!("<p>{name}, {{{{first_name}}}}</p>") }),
            )
            .await;
        assert_eq!(template.status, 201, "{}", template.body);
        *slot = template.body["id"].as_str().unwrap().to_owned();
    }
    Workspace {
        local,
        clock,
        ada,
        templates,
    }
}

impl Workspace {
    /// The engine's queue consumer until the queue is empty.
    /// Applies journalled hits (which wake runs), then runs the workflow queue.
    async fn drain(&self) -> usize {
        self.local.apply_hits().await;
        self.local.system.workflow_worker().drain().await
    }

    async fn tick(&self) -> Value {
        let report = self.local.system.workflows.tick().await.unwrap();
        self.drain().await;
        serde_json::to_value(report).unwrap()
    }

    async fn workflow(&self, nodes: Value) -> String {
        let created = self
            .ada
            .post(
                "/v1/workflows",
                json!({ "name": "Welcome", "nodes": nodes }),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["status"], "draft");
        let id = created.body["id"].as_str().unwrap().to_owned();
        self.set_status(&id, "active").await;
        id
    }

    async fn set_status(&self, id: &str, status: &str) {
        let changed = self
            .ada
            .patch(&format!("/v1/workflows/{id}"), json!({ "status": status }))
            .await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        self.drain().await;
    }

    async fn lead(&self, first: &str) -> String {
        let lead = self
            .ada
            .post(
                "/v1/leads",
                json!({ "first_name": first, "name": first, "primary_email": format!("{}@example.org", first.to_lowercase()) }),
            )
            .await;
        assert_eq!(lead.status, 201, "{}", lead.body);
        self.drain().await;
        lead.body["id"].as_str().unwrap().to_owned()
    }

    /// Subjects in the outbox, with each message's HTML, in no particular order.
    fn outbox(&self) -> Vec<(String, String)> {
        scaliyo_tests::mailbox::outbox_messages(&self.local)
    }

    fn subjects(&self) -> Vec<String> {
        let mut subjects: Vec<String> = self.outbox().into_iter().map(|(s, _)| s).collect();
        subjects.sort();
        subjects
    }

    /// The recipient opens the message with `subject` in their mail app.
    async fn open(&self, subject: &str) {
        let (_, html) = self
            .outbox()
            .into_iter()
            .find(|(s, _)| s == subject)
            .expect("the message in the outbox");
        let pixel = urls(&html, "/t/o/").pop().expect("a pixel");
        let response = scaliyo_tests::http_client::without_redirects()
            .get(&pixel)
            .header("x-forwarded-for", "203.0.113.9")
            .header("user-agent", HUMAN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        self.drain().await;
    }

    async fn runs(&self, lead: &str) -> Vec<Value> {
        let runs = self
            .ada
            .get(&format!("/v1/workflow_executions?lead_id={lead}"))
            .await;
        assert_eq!(runs.status, 200, "{}", runs.body);
        runs.body["data"].as_array().cloned().unwrap_or_default()
    }

    async fn run(&self, lead: &str) -> Value {
        let runs = self.runs(lead).await;
        assert_eq!(runs.len(), 1, "{runs:?}");
        runs[0].clone()
    }
}

#[tokio::test]
async fn the_example_workflow_runs_opens_bumps_and_exits() {
    let w = workspace().await;
    let id = w.workflow(example(&w.templates)).await;

    // Grace opens the first e-mail: the engaged e-mail, then the update.
    let grace = w.lead("Grace").await;
    assert_eq!(w.subjects(), ["First for Grace"]);
    let run = w.run(&grace).await;
    assert_eq!(run["status"], "running");
    assert_eq!(run["current_node"], "w1");
    w.clock.advance(Duration::minutes(20));
    w.open("First for Grace").await;
    assert_eq!(w.subjects(), ["Engaged for Grace", "First for Grace"]);
    let run = w.run(&grace).await;
    assert_eq!(run["status"], "success", "{run}");
    let steps: Vec<(&str, &str)> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["node_id"].as_str().unwrap(),
                s["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("t1", "done"),
            ("e1", "done"),
            ("w1", "waiting"),
            ("w1", "done"),
            ("e2", "done"),
            ("u1", "done")
        ]
    );
    let matched = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["node_id"] == "w1" && s["status"] == "done")
        .unwrap();
    assert_eq!(matched["branch"], "matched");
    let lead = w.ada.get(&format!("/v1/leads/{grace}")).await.body;
    assert_eq!(
        (lead["status"].as_str(), lead["score"].as_i64()),
        (Some("Contacted"), Some(10))
    );

    // Linus never opens: after 3 days (Saturday) the bump waits for Monday 09:00 Berlin.
    let linus = w.lead("Linus").await;
    assert!(w.subjects().contains(&"First for Linus".to_owned()));
    w.clock.advance(Duration::days(3));
    w.tick().await;
    assert!(!w.subjects().contains(&"Bump for Linus".to_owned()));
    let run = w.run(&linus).await;
    assert_eq!(
        (run["status"].as_str(), run["current_node"].as_str()),
        (Some("running"), Some("e3"))
    );
    w.clock.set(at("2026-12-07T07:59:00Z"));
    w.tick().await;
    assert!(!w.subjects().contains(&"Bump for Linus".to_owned()));
    w.clock.set(at("2026-12-07T08:00:00Z"));
    w.tick().await;
    assert!(w.subjects().contains(&"Bump for Linus".to_owned()));
    assert_eq!(w.run(&linus).await["status"], "success");

    // Marie is lost before she opens: the run ends with the reason, nothing more is sent.
    let marie = w.lead("Marie").await;
    let lost = w
        .ada
        .patch(&format!("/v1/leads/{marie}"), json!({ "status": "Lost" }))
        .await;
    assert_eq!(lost.status, 200);
    w.drain().await;
    let run = w.run(&marie).await;
    assert_eq!(
        (run["status"].as_str(), run["error_message"].as_str()),
        (Some("skipped"), Some("exited_status:Lost"))
    );

    // Never re-enters; the figures are the engine's.
    w.tick().await;
    let workflow = w.ada.get(&format!("/v1/workflows/{id}")).await.body;
    assert_eq!(workflow["stats"]["leadsProcessed"], 3, "{workflow}");
    let forged = w
        .ada
        .patch(
            &format!("/v1/workflows/{id}"),
            json!({ "stats": { "leadsProcessed": 1000 } }),
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
}

#[tokio::test]
async fn an_invalid_graph_stays_a_draft_and_names_the_node() {
    let w = workspace().await;
    let mut nodes = example(&w.templates);
    nodes[5]["next"] = json!("nowhere");
    let created = w
        .ada
        .post("/v1/workflows", json!({ "name": "Broken", "nodes": nodes }))
        .await;
    assert_eq!(
        created.status, 201,
        "a draft is stored as the builder sends it"
    );
    let id = created.body["id"].as_str().unwrap();
    let refused = w
        .ada
        .patch(
            &format!("/v1/workflows/{id}"),
            json!({ "status": "active" }),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body["message"].as_str().unwrap().contains("\"u1\""),
        "{}",
        refused.body
    );
    assert_eq!(
        w.ada.get(&format!("/v1/workflows/{id}")).await.body["status"],
        "draft"
    );

    // A template of someone else's is not the owner's to send.
    let eve = Client::user(&w.local, Role::Client, Some("eve@evil.example"));
    assert_eq!(eve.sign_up().await.status, 201);
    let stolen = eve
        .post(
            "/v1/workflows",
            json!({ "name": "Mine", "status": "active", "nodes": example(&w.templates) }),
        )
        .await;
    assert_eq!(stolen.status, 400, "{}", stolen.body);
    assert!(
        stolen.body["message"].as_str().unwrap().contains("\"e1\""),
        "{}",
        stolen.body
    );
}

#[tokio::test]
async fn a_paused_workflow_holds_its_leads_and_an_edit_moves_them() {
    let w = workspace().await;
    let id = w.workflow(example(&w.templates)).await;
    let ada_lead = w.lead("Hedy").await;
    w.set_status(&id, "paused").await;
    // Paused: a new lead does not enter; the waiting one holds past its timeout.
    let later = w.lead("Alan").await;
    assert!(w.runs(&later).await.is_empty());
    w.clock.advance(Duration::days(5)); // Monday 7 December, 10:00 UTC
    w.tick().await;
    assert!(!w.subjects().contains(&"Bump for Hedy".to_owned()));
    assert_eq!(w.run(&ada_lead).await["status"], "running");

    // Reactivated with an edit: the bump is now a plain e-mail; the held lead resumes on the
    // new version by node id.
    let mut edited = example(&w.templates);
    edited[4]["config"] =
        json!({"subject": "New bump for {{first_name}}", "html_body": "<p>Still there?</p>"});
    let changed = w
        .ada
        .patch(
            &format!("/v1/workflows/{id}"),
            json!({ "nodes": edited, "status": "active" }),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    w.drain().await;
    assert!(
        w.subjects().contains(&"New bump for Hedy".to_owned()),
        "{:?}",
        w.subjects()
    );
    assert_eq!(w.run(&ada_lead).await["status"], "success");

    // A lead waiting on a node the next version removes exits with the reason.
    let grace = w.lead("Grace").await;
    let without_wait = json!([
        {"id":"t1","type":"trigger.lead_event","config":{"event":"lead.created"},"next":"e9"},
        {"id":"e9","type":"action.send_email","config":{"subject":"Hi","html_body":"<p>x</p>"},"next":null}
    ]);
    let changed = w
        .ada
        .patch(
            &format!("/v1/workflows/{id}"),
            json!({ "nodes": without_wait }),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    w.drain().await;
    let run = w.run(&grace).await;
    assert_eq!(
        (run["status"].as_str(), run["error_message"].as_str()),
        (Some("skipped"), Some("exited_workflow_changed"))
    );
}

#[tokio::test]
async fn redelivery_and_a_crash_between_send_and_log_send_nothing_twice() {
    let w = workspace().await;
    w.workflow(example(&w.templates)).await;
    let grace = w.lead("Grace").await;
    assert_eq!(w.subjects(), ["First for Grace"]);
    let run = w.run(&grace).await;
    let run_id = run["id"].as_str().unwrap().to_owned();

    // The lead event delivered again (SQS is at-least-once): no second run, no second send.
    let owner = w.ada.owner();
    let event = json!({"kind": "event", "owner": owner, "event": "lead.created", "lead_id": grace, "occurred_at": "2026-12-02T10:00:00Z"});
    w.local
        .system
        .workflow_queue
        .send_batch(vec![scaliyo_store::OutgoingMessage::new(event.to_string())])
        .await
        .unwrap();
    w.drain().await;
    assert_eq!(w.runs(&grace).await.len(), 1);
    assert_eq!(w.subjects(), ["First for Grace"]);

    // A crash after the provider took e1 and before its step was logged: the run's item is
    // what was last written before the send (at e1, not yet entered, its lease run out).
    // The tick takes it over and the send pipeline's key finds the message sent.
    let table = &w.local.system.table;
    let rows = w.local.system.access.rows();
    let mut item = rows
        .get_raw(
            &scaliyo_domain::schema::WORKFLOW_EXECUTIONS,
            Some(&owner.to_string()),
            &run_id,
        )
        .await
        .unwrap()
        .unwrap();
    item.set("current_node", "e1");
    item.set("_wf_entries", r#"{"t1":1}"#);
    item.remove("_wf_wait");
    item.set(
        "GSI4SK",
        format!(
            "{}#{run_id}",
            scaliyo_app::rows::timestamp_text(w.clock.now())
        ),
    );
    scaliyo_store::Table::transact_write(
        &**table,
        vec![WriteOp::Put {
            item,
            condition: None,
        }],
    )
    .await
    .unwrap();
    w.clock.advance(Duration::minutes(1));
    let report = w.tick().await;
    assert_eq!(report["claimed"], 1, "{report}");
    assert_eq!(
        w.subjects(),
        ["First for Grace"],
        "the crashed step's e-mail is not sent again"
    );
    let run = w.run(&grace).await;
    assert_eq!(
        (run["status"].as_str(), run["current_node"].as_str()),
        (Some("running"), Some("w1"))
    );
}

#[tokio::test]
async fn a_manual_workflow_branches_waits_for_a_lead_date_and_acts() {
    let w = workspace_with(|config| {
        config.webhooks_allow_private = true;
    })
    .await;
    let receiver = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let hook = w
        .ada
        .post(
            "/v1/webhooks",
            json!({ "name": "Hot leads", "url": format!("{}/hooks", receiver.uri()), "trigger_event": "workflow.hot_lead", "secret": "whsec_1" }),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let lead = |name: &str, fields: Value| {
        let mut body = json!({ "name": name, "first_name": name, "primary_email": format!("{}@example.org", name.to_lowercase()) });
        if let (Value::Object(body), Value::Object(fields)) = (&mut body, fields) {
            body.extend(fields);
        }
        body
    };
    let mut ids = Vec::new();
    for body in [
        lead(
            "Hot",
            json!({ "score": 70, "custom_fields": { "tier": "gold" } }),
        ),
        lead(
            "Cold",
            json!({ "score": 10, "custom_fields": { "tier": "Gold", "renewal": "2026-12-03" } }),
        ),
        lead(
            "Other",
            json!({ "score": 90, "custom_fields": { "tier": "silver" } }),
        ),
    ] {
        let created = w.ada.post("/v1/leads", body).await;
        assert_eq!(created.status, 201, "{}", created.body);
        ids.push(created.body["id"].as_str().unwrap().to_owned());
    }
    let (hot, cold, other) = (&ids[0], &ids[1], &ids[2]);

    let nodes = json!([
        {"id": "t", "type": "trigger.manual", "config": {"filter": {"field": "custom_fields.tier", "op": "eq", "value": "gold"}}, "next": "c"},
        {"id": "c", "type": "condition", "branches": [
            {"key": "hot", "when": {"field": "score", "op": "gte", "value": 50}, "next": "k"},
            {"key": "cold", "next": "s"}]},
        {"id": "k", "type": "action.create_task", "config": {"title": "Call them today", "priority": "high", "due_in_days": 2}, "next": "h"},
        {"id": "h", "type": "action.webhook", "config": {"event": "workflow.hot_lead", "data": {"why": "score"}}, "next": null},
        {"id": "s", "type": "split.random", "config": {"percentages": [100, 0]}, "branches": [{"key": "a", "next": "q"}, {"key": "b", "next": null}]},
        {"id": "q", "type": "action.add_to_sequence", "config": {"blocks": [{"subject": "Renewal, {{first_name}}", "html_body": "<p>Soon</p>", "delay_days": 1}]}, "next": "wu"},
        {"id": "wu", "type": "wait.until", "config": {"field": "custom_fields.renewal", "offset": {"amount": 1, "unit": "days"}}, "next": "u"},
        {"id": "u", "type": "action.update_lead", "config": {"fields": {"title": "CTO", "custom_fields.stage": "renewing"}}, "next": null}
    ]);
    let id = w.workflow(nodes).await;

    // The hot lead: a task, and the workflow's own event delivered to the webhook.
    let hot_run = w.run(hot).await;
    assert_eq!(hot_run["status"], "success", "{hot_run}");
    let tasks = w.ada.get("/v1/strategy_tasks").await.body;
    let tasks = tasks["data"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(
        (
            tasks[0]["title"].as_str(),
            tasks[0]["lead_id"].as_str(),
            tasks[0]["priority"].as_str()
        ),
        (Some("Call them today"), Some(hot.as_str()), Some("high"))
    );
    assert_eq!(tasks[0]["deadline"], "2026-12-04");
    w.local.system.webhook_worker().drain().await;
    let delivered = receiver.received_requests().await.unwrap_or_default();
    let types = scaliyo_tests::http_client::event_types(&delivered);
    assert_eq!(types, ["workflow.hot_lead"], "{types:?}");

    // The cold lead: a sequence, then a wait until the day after its renewal date.
    let scheduled = w
        .ada
        .get(&format!("/v1/scheduled_emails?lead_id={cold}"))
        .await
        .body;
    assert_eq!(
        scheduled["data"].as_array().unwrap().len(),
        1,
        "{scheduled}"
    );
    let cold_run = w.run(cold).await;
    assert_eq!(
        (
            cold_run["status"].as_str(),
            cold_run["current_node"].as_str()
        ),
        (Some("running"), Some("wu"))
    );
    w.clock.set(at("2026-12-03T23:59:00Z"));
    w.tick().await;
    assert_eq!(w.run(cold).await["status"], "running");
    w.clock.set(at("2026-12-04T00:00:00Z"));
    w.tick().await;
    assert_eq!(w.run(cold).await["status"], "success");
    let updated = w.ada.get(&format!("/v1/leads/{cold}")).await.body;
    assert_eq!(updated["title"], "CTO");
    assert_eq!(
        updated["custom_fields"],
        json!({ "tier": "Gold", "renewal": "2026-12-03", "stage": "renewing" })
    );

    // Not matching the filter: never enrolled; re-activating enrols no one twice.
    assert!(w.runs(other).await.is_empty());
    w.set_status(&id, "paused").await;
    w.set_status(&id, "active").await;
    assert_eq!(w.runs(hot).await.len(), 1);
    assert_eq!(w.runs(cold).await.len(), 1);
    w.tick().await;
    let workflow = w.ada.get(&format!("/v1/workflows/{id}")).await.body;
    assert_eq!(workflow["stats"]["leadsProcessed"], 2, "{workflow}");
    assert_eq!(workflow["stats"]["timeSavedHrs"], 0.2, "{workflow}");
}

#[tokio::test]
async fn cards_on_the_owners_board_and_a_notice_to_the_owner() {
    let w = workspace().await;
    let board = w
        .ada
        .post("/v1/teamhub_boards", json!({ "name": "Pipeline" }))
        .await;
    assert_eq!(board.status, 201, "{}", board.body);
    let board_id = board.body["id"].as_str().unwrap().to_owned();
    let list = w
        .ada
        .post(
            "/v1/teamhub_lists",
            json!({ "board_id": board_id, "name": "To call" }),
        )
        .await;
    assert_eq!(list.status, 201, "{}", list.body);
    let list_id = list.body["id"].as_str().unwrap().to_owned();
    let nodes = |board: &str, list: &str| {
        json!([
            {"id": "t", "type": "trigger.lead_event", "config": {"event": "lead.created"}, "next": "k"},
            {"id": "k", "type": "action.create_card", "config": {"board_id": board, "list_id": list, "title": "Call the new lead"}, "next": "n"},
            {"id": "n", "type": "action.notify", "config": {"subject": "New lead: {{name}}", "body": "<p>{{name}} from {{company}} is on the board.</p>"}, "next": null}
        ])
    };

    // Someone else's list is not theirs to put cards on.
    let eve = Client::user(&w.local, Role::Client, Some("eve@evil.example"));
    assert_eq!(eve.sign_up().await.status, 201);
    let stolen = eve
        .post(
            "/v1/workflows",
            json!({ "name": "Mine", "status": "active", "nodes": nodes(&board_id, &list_id) }),
        )
        .await;
    assert_eq!(stolen.status, 400, "{}", stolen.body);
    assert!(
        stolen.body["message"].as_str().unwrap().contains("\"k\""),
        "{}",
        stolen.body
    );

    w.workflow(nodes(&board_id, &list_id)).await;
    let created = w.ada.post("/v1/leads", json!({ "name": "Grace Hopper", "company": "Navy", "primary_email": "grace@navy.example" })).await;
    assert_eq!(created.status, 201);
    w.drain().await;
    let lead = created.body["id"].as_str().unwrap();
    let run = w.run(lead).await;
    assert_eq!(run["status"], "success", "{run}");
    let cards = w
        .ada
        .get(&format!("/v1/teamhub_cards?board_id={board_id}"))
        .await
        .body;
    let cards = cards["data"].as_array().unwrap().clone();
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_eq!(
        (cards[0]["title"].as_str(), cards[0]["list_id"].as_str()),
        (Some("Call the new lead"), Some(list_id.as_str()))
    );
    let links = w
        .ada
        .get(&format!(
            "/v1/teamhub_item_leads?item_id={}",
            cards[0]["id"].as_str().unwrap()
        ))
        .await
        .body;
    assert_eq!(links["data"][0]["lead_id"], lead, "{links}");
    // The notice went to the owner's own address, not to the lead.
    let notice = w
        .outbox()
        .into_iter()
        .find(|(subject, _)| subject == "New lead: Grace Hopper")
        .expect("the notice in the outbox");
    assert!(notice.1.contains("Grace Hopper from Navy"), "{}", notice.1);
    let eml = std::fs::read_dir(w.local.system.outbox.dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .find(|text| text.contains("New lead: Grace Hopper"))
        .unwrap();
    assert!(
        eml.contains("To: ") && eml.contains("ada@scaliyo.example"),
        "{eml}"
    );
}

#[tokio::test]
async fn imported_leads_enter_a_lead_imported_workflow() {
    let w = workspace().await;
    w.workflow(json!([
        {"id": "t", "type": "trigger.lead_event", "config": {"event": "lead.imported"}, "next": "e"},
        {"id": "e", "type": "action.send_email", "config": {"subject": "Welcome {{first_name}}", "html_body": "<p>Hi</p>"}, "next": null}
    ]))
    .await;
    let file = b"First Name,Email\nGrace,grace@navy.example\nLinus,linus@kernel.example\n".to_vec();
    let started = w
        .ada
        .post(
            "/v1/imports",
            json!({ "file_name": "leads.csv", "content_length": file.len() }),
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let upload = &started.body["upload"];
    let mut put = reqwest::Client::new()
        .put(upload["url"].as_str().unwrap())
        .body(file);
    for (name, value) in upload["headers"].as_object().unwrap() {
        put = put.header(name.as_str(), value.as_str().unwrap());
    }
    assert!(put.send().await.unwrap().status().is_success());
    w.local.system.import_worker().drain().await;
    w.drain().await;
    assert_eq!(w.subjects(), ["Welcome Grace", "Welcome Linus"]);
    // A lead created by hand is not an imported one.
    w.lead("Ada").await;
    assert_eq!(w.subjects().len(), 2);
}

#[tokio::test]
async fn an_inbound_hook_enrols_the_lead_it_names_in_its_workflow_only() {
    let w = workspace().await;
    let hooked = |subject: &str| {
        json!([
            {"id": "t", "type": "trigger.lead_event", "config": {"event": "webhook.received"}, "next": "e"},
            {"id": "e", "type": "action.send_email", "config": {"subject": subject, "html_body": "<p>Hi</p>"}, "next": null}
        ])
    };
    let id = w.workflow(hooked("From the form")).await;
    w.workflow(hooked("The other workflow")).await;
    let grace = w.lead("Grace").await;
    assert!(w.subjects().is_empty(), "creating a lead is not the hook");

    let hook = w
        .ada
        .post(&format!("/v1/workflows/{id}/hook"), json!({}))
        .await;
    assert_eq!(hook.status, 200, "{}", hook.body);
    let url = hook.body["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&w.local.url("/webhooks/workflows/")),
        "{url}"
    );
    let again = w
        .ada
        .post(&format!("/v1/workflows/{id}/hook"), json!({}))
        .await;
    assert_eq!(again.body["url"], url.as_str(), "one hook per workflow");

    // Another system posts the lead (no user token: the URL is the secret).
    let http = reqwest::Client::new();
    let posted = http
        .post(&url)
        .json(&json!({ "email": "GRACE@example.org" }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 202);
    w.drain().await;
    assert_eq!(w.subjects(), ["From the form"]);
    assert_eq!(w.run(&grace).await["status"], "success");

    // Unknown tokens, other tenants' leads and bad bodies change nothing.
    let unknown = http
        .post(
            w.local
                .url("/webhooks/workflows/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        )
        .json(&json!({ "email": "grace@example.org" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let eve = Client::user(&w.local, Role::Client, Some("eve@evil.example"));
    assert_eq!(eve.sign_up().await.status, 201);
    let eves_lead = eve
        .post(
            "/v1/leads",
            json!({ "name": "Mallory", "primary_email": "mallory@evil.example" }),
        )
        .await;
    let foreign = http
        .post(&url)
        .json(&json!({ "lead_id": eves_lead.body["id"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 400);
    let bad = http
        .post(&url)
        .json(&json!({ "lead": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let huge = http
        .post(&url)
        .header("content-type", "application/json")
        .body(format!("{{\"email\": \"{}\"}}", "x".repeat(64 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    assert_eq!(
        eve.post(&format!("/v1/workflows/{id}/hook"), json!({}))
            .await
            .status,
        404
    );
    w.drain().await;
    assert_eq!(w.subjects(), ["From the form"]);
}
