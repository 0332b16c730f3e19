//! process-scheduled-emails over the local system: scheduling over HTTP, the tick and the
//! queue consumer driven with a controllable clock, as EventBridge and SQS would drive them.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use scaliyo_app::send::suppression_key;
use scaliyo_domain::ids::Role;
use scaliyo_store::{Clock, Item, ManualClock, OutgoingMessage, Queue, WriteOp};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::{Value, json};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

struct Workspace {
    local: RunningLocal,
    clock: Arc<ManualClock>,
    ada: Client,
    sender_id: String,
}

async fn workspace(now: &str) -> Workspace {
    let clock = Arc::new(ManualClock::new(at(now)));
    let local = RunningLocal::start_with_clock(clock.clone()).await;
    let ada = Client::user(&local, Role::Client, Some("ada@scaliyo.example"));
    assert_eq!(ada.sign_up().await.status, 201);
    let sender = ada
        .post(
            "/v1/sender-accounts/connect",
            json!({ "provider": "sendgrid", "from_email": "ada@mail.scaliyo.example", "from_name": "Ada", "api_key": "SG.key", "is_default": true }),
        )
        .await;
    assert_eq!(sender.status, 201, "{}", sender.body);
    Workspace {
        local,
        clock,
        ada,
        sender_id: sender.body["id"].as_str().unwrap().to_owned(),
    }
}

impl Workspace {
    async fn lead(&self, first: &str, email: &str) -> String {
        let lead = self
            .ada
            .post(
                "/v1/leads",
                json!({ "first_name": first, "name": first, "primary_email": email }),
            )
            .await;
        assert_eq!(lead.status, 201, "{}", lead.body);
        lead.body["id"].as_str().unwrap().to_owned()
    }

    /// `POST /v1/scheduled-emails` for a lead; the new row's id.
    async fn schedule_one(&self, lead: &str, subject: &str, at: &str) -> String {
        let one = self
            .ada
            .post(
                "/v1/scheduled-emails",
                json!({ "lead_id": lead, "subject": subject, "html_body": "<p>Hi</p>", "scheduled_at": at }),
            )
            .await;
        assert_eq!(one.status, 201, "{}", one.body);
        one.body["id"].as_str().unwrap().to_owned()
    }

    /// One EventBridge tick, then the queue consumer until the queue is empty.
    async fn tick_and_drain(&self) -> (Value, usize) {
        let report = self.tick().await;
        let sent = self.local.system.scheduled_email_worker().drain().await;
        (report, sent)
    }

    async fn tick(&self) -> Value {
        serde_json::to_value(self.local.system.scheduler.tick().await.unwrap()).unwrap()
    }

    async fn row(&self, id: &str) -> Value {
        let reply = self.ada.get(&format!("/v1/scheduled_emails/{id}")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    /// The owner's tally of scheduled e-mails with `status` (what `count=exact` reads).
    async fn tallied(&self, status: &str) -> Option<u64> {
        self.local
            .system
            .access
            .rows()
            .tallied_count(
                &scaliyo_domain::schema::SCHEDULED_EMAILS,
                self.ada.id(),
                Some(("status", status)),
            )
            .await
            .unwrap()
    }

    fn outbox(&self) -> usize {
        std::fs::read_dir(self.local.system.outbox.dir())
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

#[tokio::test]
async fn a_three_block_sequence_in_a_send_window_goes_out_at_the_right_instants_across_dst() {
    // US DST starts on Sunday 2026-03-08.
    let w = workspace("2026-03-06T15:00:00Z").await;
    let lead = w.lead("Grace", "grace@navy.example").await;
    let scheduled = w
        .ada
        .post(
            "/v1/sequences",
            json!({
                "lead_ids": [lead],
                "start_at": "2026-03-06T10:30:00-05:00",
                "window": { "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00", "time_zone": "America/New_York" },
                "blocks": [
                    { "subject": "Hi {{first_name}}", "html_body": "<p>One, {{first_name}}</p>" },
                    { "subject": "Following up", "html_body": "<p>Two <a href=\"https://scaliyo.example/x\">x</a></p>", "delay_days": 1 },
                    { "subject": "Last one", "html_body": "<p>Three</p>", "delay_days": 1 }
                ]
            }),
        )
        .await;
    assert_eq!(scheduled.status, 201, "{}", scheduled.body);
    let sequence = &scheduled.body["sequences"][0];
    let emails = sequence["emails"].as_array().unwrap();
    let times: Vec<&str> = emails
        .iter()
        .map(|e| e["scheduled_at"].as_str().unwrap())
        .collect();
    // Friday 10:30 EST; Saturday → Monday 09:00 EDT; Tuesday 09:00 EDT.
    assert_eq!(
        times,
        [
            "2026-03-06T15:30:00.000000Z",
            "2026-03-09T13:00:00.000000Z",
            "2026-03-10T13:00:00.000000Z"
        ]
    );
    let first = w.row(emails[0]["id"].as_str().unwrap()).await;
    assert_eq!(first["subject"], "Hi Grace", "rendered when scheduled");
    assert_eq!(first["status"], "pending");
    assert_eq!(first["block_index"], 0);
    assert_eq!(first["to_email"], "grace@navy.example");

    let expectations = [
        ("2026-03-06T15:29:59Z", 0),
        ("2026-03-06T15:30:00Z", 1),
        ("2026-03-09T12:59:00Z", 0),
        ("2026-03-09T13:00:00Z", 1),
        ("2026-03-10T12:00:00Z", 0),
        ("2026-03-10T13:00:30Z", 1),
        ("2026-03-11T13:00:00Z", 0),
    ];
    for (now, expected) in expectations {
        w.clock.set(at(now));
        let (report, sent) = w.tick_and_drain().await;
        assert_eq!(report["claimed"], expected, "at {now}: {report}");
        assert_eq!(sent, expected, "at {now}");
    }
    assert_eq!(w.outbox(), 3);
    for (email, sent_at) in emails.iter().zip([
        "2026-03-06T15:30:00.000000Z",
        "2026-03-09T13:00:00.000000Z",
        "2026-03-10T13:00:30.000000Z",
    ]) {
        let row = w.row(email["id"].as_str().unwrap()).await;
        assert_eq!(row["status"], "sent");
        assert_eq!(row["sent_at"], sent_at);
    }
    let messages = w.ada.get("/v1/email_messages").await;
    assert_eq!(messages.body["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn overlapping_ticks_and_duplicated_deliveries_send_each_row_once() {
    let w = workspace("2026-05-04T09:00:00Z").await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let lead = w
            .lead(&format!("Lead{i}"), &format!("lead{i}@example.com"))
            .await;
        ids.push(
            w.schedule_one(&lead, "Hello {{first_name}}", "2026-05-04T11:00:00+02:00")
                .await,
        );
    }
    let scheduler = w.local.system.scheduler.clone();
    let (a, b, c) = tokio::join!(scheduler.tick(), scheduler.tick(), scheduler.tick());
    let claimed = a.unwrap().claimed + b.unwrap().claimed + c.unwrap().claimed;
    assert_eq!(claimed, 40, "overlapping ticks claim disjoint sets");

    // SQS delivers at least once: every message arrives three times, to concurrent consumers.
    let queue = w.local.system.scheduled_email_queue.clone();
    let mut bodies = Vec::new();
    loop {
        let batch = queue
            .receive(10, StdDuration::from_secs(3600), StdDuration::ZERO)
            .await
            .unwrap();
        if batch.is_empty() {
            break;
        }
        for message in batch {
            bodies.push(message.body.clone());
            queue.delete(&message.receipt).await.unwrap();
        }
    }
    assert_eq!(bodies.len(), 40);
    let copies: Vec<OutgoingMessage> = bodies
        .iter()
        .flat_map(|b| std::iter::repeat_n(OutgoingMessage::new(b.clone()), 3))
        .collect();
    queue.send_batch(copies).await.unwrap();
    let worker = w.local.system.scheduled_email_worker();
    let (x, y) = tokio::join!(worker.drain(), worker.drain());
    assert_eq!(x + y, 120, "every copy is acknowledged");
    assert_eq!(w.outbox(), 40, "one e-mail per row");
    for id in &ids {
        assert_eq!(w.row(id).await["status"], "sent");
    }
    assert_eq!(w.tick().await["claimed"], 0);
    // Claims and settlements raced, and the tallies still count each row once.
    assert_eq!(w.tallied("sent").await, Some(40));
    assert_eq!(w.tallied("pending").await, Some(0));
    assert_eq!(w.tallied("processing").await, Some(0));
}

#[tokio::test]
async fn a_crashed_consumers_row_is_recovered_by_a_later_tick() {
    let w = workspace("2026-05-04T09:00:00Z").await;
    let lead = w.lead("Grace", "grace@navy.example").await;
    let id = w.schedule_one(&lead, "Hi", "2026-05-04T09:00:00Z").await;
    assert_eq!(w.tick().await["claimed"], 1);
    // The consumer takes the message and dies: it is neither processed nor deleted.
    let queue = w.local.system.scheduled_email_queue.clone();
    let lost = queue
        .receive(10, StdDuration::from_secs(3600), StdDuration::ZERO)
        .await
        .unwrap();
    assert_eq!(lost.len(), 1);
    assert_eq!(w.row(&id).await["status"], "processing");

    // Within the lease nothing happens; after it, the next tick recovers and re-claims.
    w.clock.advance(Duration::minutes(4));
    assert_eq!(w.tick().await["recovered"], 0);
    w.clock.advance(Duration::minutes(2));
    let (report, sent) = w.tick_and_drain().await;
    assert_eq!(report["recovered"], 1, "{report}");
    assert_eq!(report["claimed"], 1, "{report}");
    assert_eq!(sent, 1);
    assert_eq!(w.row(&id).await["status"], "sent");
    // The dead consumer's message, redelivered later, finds its claim gone and does nothing.
    w.local
        .system
        .scheduler
        .process(&lost[0].body)
        .await
        .unwrap();
    assert_eq!(w.outbox(), 1);
}

#[tokio::test]
async fn a_takeover_after_a_crash_mid_send_does_not_send_twice_once_recorded() {
    let w = workspace("2026-05-04T09:00:00Z").await;
    let lead = w.lead("Grace", "grace@navy.example").await;
    let id = w.schedule_one(&lead, "Hi", "2026-05-04T09:00:00Z").await;
    w.tick_and_drain().await;
    assert_eq!(w.outbox(), 1);
    // Simulate the crash after the message was recorded but before the row and the
    // idempotency marker were settled: the row back in `processing` under an old claim, the
    // marker `in_progress`.
    let store = w.local.system.access.rows().store().clone();
    let owner = w.ada.id().to_owned();
    let marker = scaliyo_store::Key::new(format!("U#{owner}"), format!("idem#send#scheduled:{id}"));
    store
        .transact_write(vec![WriteOp::put(
            Item::new(&marker)
                .with("state", "in_progress")
                .with("started", w.clock.now().timestamp()),
        )])
        .await
        .unwrap();
    // Only the system moves a row back to `pending` (a client may only cancel it).
    let scheduled = &scaliyo_domain::schema::SCHEDULED_EMAILS;
    w.local
        .system
        .access
        .rows()
        .update(
            scheduled,
            Some(&owner),
            &id,
            json!({ "status": "pending", "scheduled_at": "2026-05-04T09:00:00Z" })
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
        .await
        .unwrap();
    w.clock.advance(Duration::minutes(10));
    let (report, handled) = w.tick_and_drain().await;
    assert_eq!(report["claimed"], 1);
    assert_eq!(handled, 1);
    assert_eq!(w.row(&id).await["status"], "sent");
    assert_eq!(w.outbox(), 1, "the recorded message is not sent again");
}

#[tokio::test]
async fn cancelling_a_sequence_stops_the_rest_and_cancel_rules_hold() {
    let w = workspace("2026-05-04T09:00:00Z").await;
    let lead = w.lead("Grace", "grace@navy.example").await;
    let scheduled = w
        .ada
        .post(
            "/v1/sequences",
            json!({ "lead_ids": [lead], "blocks": [
                { "subject": "1", "html_body": "<p>1</p>" },
                { "subject": "2", "html_body": "<p>2</p>", "delay_hours": 2 },
                { "subject": "3", "html_body": "<p>3</p>", "delay_days": 3 }
            ]}),
        )
        .await;
    assert_eq!(scheduled.status, 201, "{}", scheduled.body);
    let sequence_id = scheduled.body["sequences"][0]["sequence_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ids: Vec<String> = scheduled.body["sequences"][0]["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(w.tick_and_drain().await.1, 1);

    // Another user learns nothing about it.
    let eve = Client::user(&w.local, Role::Client, None);
    assert_eq!(eve.sign_up().await.status, 201);
    let denied = eve
        .post(&format!("/v1/sequences/{sequence_id}/cancel"), json!({}))
        .await;
    assert_eq!(denied.status, 404);
    let denied = eve
        .post(
            &format!("/v1/scheduled-emails/{}/cancel", ids[1]),
            json!({}),
        )
        .await;
    assert_eq!(denied.status, 404);

    let sent = w
        .ada
        .post(
            &format!("/v1/scheduled-emails/{}/cancel", ids[0]),
            json!({}),
        )
        .await;
    assert_eq!(sent.status, 409);
    assert_eq!(sent.code(), "not_cancellable");
    let cancelled = w
        .ada
        .post(&format!("/v1/sequences/{sequence_id}/cancel"), json!({}))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(
        cancelled.body,
        json!({ "cancelled": 2, "already_settled": 1, "in_flight": 0 })
    );
    let again = w
        .ada
        .post(
            &format!("/v1/scheduled-emails/{}/cancel", ids[2]),
            json!({}),
        )
        .await;
    assert_eq!(again.status, 200, "cancelling twice is a no-op");
    w.clock.advance(Duration::days(5));
    assert_eq!(w.tick_and_drain().await.1, 0);
    assert_eq!(w.outbox(), 1);
    let listed = w.ada.get(&format!("/v1/sequences/{sequence_id}")).await;
    let statuses: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", listed.body))
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["sent", "cancelled", "cancelled"]);
    assert_eq!(w.tallied("sent").await, Some(1));
    assert_eq!(w.tallied("cancelled").await, Some(2));
    assert_eq!(w.tallied("pending").await, Some(0));
}

#[tokio::test]
async fn a_reached_daily_cap_reschedules_to_the_next_day() {
    let w = workspace("2026-05-04T09:00:00Z").await;
    let capped = w
        .ada
        .patch(
            &format!("/v1/sender_accounts/{}", w.sender_id),
            json!({ "metadata": { "daily_limit": 1 } }),
        )
        .await;
    assert_eq!(capped.status, 200, "{}", capped.body);
    let mut ids = Vec::new();
    for (i, email) in ["a@example.com", "b@example.com"].iter().enumerate() {
        let lead = w.lead(&format!("L{i}"), email).await;
        ids.push(w.schedule_one(&lead, "Hi", "2026-05-04T09:00:00Z").await);
    }
    let (report, handled) = w.tick_and_drain().await;
    assert_eq!(report["claimed"], 2);
    assert_eq!(handled, 2);
    assert_eq!(w.outbox(), 1);
    let rows = [w.row(&ids[0]).await, w.row(&ids[1]).await];
    let pending = rows.iter().find(|r| r["status"] == "pending").unwrap();
    assert_eq!(pending["scheduled_at"], "2026-05-05T00:00:00.000000Z");
    assert!(
        pending["error_message"]
            .as_str()
            .unwrap()
            .contains("sender_daily"),
        "{pending}"
    );
    assert_eq!(w.tick_and_drain().await.1, 0, "not before tomorrow");
    w.clock.set(at("2026-05-05T00:00:10Z"));
    assert_eq!(w.tick_and_drain().await.1, 1);
    assert_eq!(w.outbox(), 2);
}

#[tokio::test]
async fn a_suppressed_or_deleted_lead_cancels_the_rest_of_its_sequence() {
    let w = workspace("2026-05-04T09:00:00Z").await;
    let grace = w.lead("Grace", "grace@navy.example").await;
    let alan = w.lead("Alan", "alan@bletchley.example").await;
    let blocks = json!([
        { "subject": "1", "html_body": "<p>1</p>" },
        { "subject": "2", "html_body": "<p>2</p>", "delay_days": 1 },
        { "subject": "3", "html_body": "<p>3</p>", "delay_days": 1 }
    ]);
    let scheduled = w
        .ada
        .post(
            "/v1/sequences",
            json!({ "lead_ids": [grace, alan], "blocks": blocks }),
        )
        .await;
    assert_eq!(scheduled.status, 201, "{}", scheduled.body);
    assert_eq!(w.tick_and_drain().await.1, 2);
    // Grace unsubscribes; Alan's lead is deleted.
    let owner = w.ada.owner();
    w.local
        .system
        .access
        .rows()
        .store()
        .transact_write(vec![WriteOp::put(
            Item::new(&suppression_key(owner, "grace@navy.example")).with("reason", "unsubscribe"),
        )])
        .await
        .unwrap();
    assert_eq!(w.ada.delete(&format!("/v1/leads/{alan}")).await.status, 204);
    w.clock.advance(Duration::days(1));
    w.tick_and_drain().await;
    w.clock.advance(Duration::days(1));
    w.tick_and_drain().await;
    assert_eq!(w.outbox(), 2, "nothing after the first blocks");
    for sequence in scheduled.body["sequences"].as_array().unwrap() {
        let emails = sequence["emails"].as_array().unwrap();
        let second = w.row(emails[1]["id"].as_str().unwrap()).await;
        let third = w.row(emails[2]["id"].as_str().unwrap()).await;
        assert_eq!(second["status"], "cancelled", "{second}");
        assert_eq!(third["status"], "cancelled", "{third}");
        assert_eq!(second["error_message"], third["error_message"]);
    }
}

#[tokio::test]
async fn bad_scheduling_requests_are_refused_and_write_nothing() {
    let w = workspace("2026-05-04T09:00:00Z").await;
    let lead = w.lead("Grace", "grace@navy.example").await;
    let eve = Client::user(&w.local, Role::Client, None);
    assert_eq!(eve.sign_up().await.status, 201);
    let eves_lead = eve
        .post(
            "/v1/leads",
            json!({ "name": "Eve", "primary_email": "eve@example.com" }),
        )
        .await;
    let cases = [
        json!({ "lead_ids": [lead], "blocks": [{ "subject": "Hi {{nickname}}", "html_body": "<p>x</p>" }] }),
        json!({ "lead_ids": [lead, eves_lead.body["id"]], "blocks": [{ "subject": "Hi", "html_body": "<p>x</p>" }] }),
        json!({ "lead_ids": [lead], "blocks": [] }),
        json!({ "lead_ids": [lead], "blocks": [{ "subject": "Hi", "html_body": "<p>x</p>" }], "window": { "weekdays": ["mon"], "start": "09:00", "end": "17:00", "time_zone": "Mars/Olympus" } }),
        json!({ "lead_ids": [lead], "blocks": [{ "subject": " ", "html_body": "<p>x</p>" }] }),
        json!({ "lead_ids": [lead], "blocks": [{ "subject": "Hi", "html_body": "<p>x</p>", "colour": "red" }] }),
    ];
    for case in cases {
        let reply = w.ada.post("/v1/sequences", case.clone()).await;
        assert!(
            reply.status == 400 || reply.status == 422,
            "{case}: {} {}",
            reply.status,
            reply.body
        );
        assert!(!reply.code().is_empty());
        assert!(reply.body["message"].as_str().is_some());
    }
    let listed = w.ada.get("/v1/scheduled_emails").await;
    assert_eq!(listed.body["data"], json!([]));
    let anonymous = Client::anonymous(&w.local)
        .post(
            "/v1/scheduled-emails",
            json!({ "lead_id": lead, "subject": "Hi", "html_body": "x", "scheduled_at": "2026-05-04T09:00:00Z" }),
        )
        .await;
    assert_eq!(anonymous.status, 401);
}

/// A provider that is unavailable for its first calls, then delivers to the outbox.
struct FailingFirst {
    failures_left: std::sync::atomic::AtomicUsize,
    outbox: Arc<dyn scaliyo_store::Mailer>,
}

#[async_trait::async_trait]
impl scaliyo_store::Mailer for FailingFirst {
    async fn send(
        &self,
        email: &scaliyo_store::OutgoingEmail,
        credentials: &scaliyo_store::Credentials,
    ) -> Result<scaliyo_store::Delivery, scaliyo_store::MailError> {
        use std::sync::atomic::Ordering;
        if self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(scaliyo_store::MailError::Unavailable(
                "503 try later".into(),
            ));
        }
        self.outbox.send(email, credentials).await
    }
}

#[tokio::test]
async fn a_transient_provider_failure_is_retried_and_then_sent() {
    use scaliyo_app::access::Actor;
    use scaliyo_app::scheduler::{Scheduler, SchedulerConfig};
    use scaliyo_app::send::{SendConfig, SendPipeline};

    let clock = Arc::new(ManualClock::new(at("2026-05-04T09:00:00Z")));
    let local = RunningLocal::start_with_clock(clock.clone()).await;
    let ada = Client::user(&local, Role::Client, None);
    assert_eq!(ada.sign_up().await.status, 201);
    let system = &local.system;
    let pipeline = Arc::new(SendPipeline::new(
        system.access.clone(),
        Arc::new(scaliyo_embedded::LocalSealer::new(&[5u8; 32]).unwrap()),
        scaliyo_store::Mailers::all(Arc::new(FailingFirst {
            failures_left: std::sync::atomic::AtomicUsize::new(1),
            outbox: system.outbox.clone(),
        })),
        clock.clone(),
        SendConfig::new(local.base_url.clone()),
    ));
    let actor = Actor::acting_for(ada.owner());
    pipeline
        .senders()
        .connect(
            &actor,
            serde_json::from_value(json!({ "provider": "sendgrid", "from_email": "ada@mail.example", "api_key": "SG.x", "is_default": true })).unwrap(),
        )
        .await
        .unwrap();
    let queue = Arc::new(scaliyo_embedded::LocalQueue::new("retry-test"));
    let scheduler = Scheduler::new(
        system.access.clone(),
        pipeline,
        queue.clone(),
        clock.clone(),
        SchedulerConfig::default(),
    );
    let lead = ada
        .post(
            "/v1/leads",
            json!({ "name": "Grace", "primary_email": "grace@navy.example" }),
        )
        .await;
    let one = ada
        .post(
            "/v1/scheduled-emails",
            json!({ "lead_id": lead.body["id"], "subject": "Hi", "html_body": "<p>Hi</p>", "scheduled_at": "2026-05-04T09:00:00Z" }),
        )
        .await;
    let id = one.body["id"].as_str().unwrap().to_owned();
    let run = |scheduler: Scheduler, queue: Arc<scaliyo_embedded::LocalQueue>| async move {
        assert_eq!(scheduler.tick().await.unwrap().claimed, 1);
        let messages = queue
            .receive(10, StdDuration::from_secs(60), StdDuration::ZERO)
            .await
            .unwrap();
        for message in messages {
            scheduler.process(&message.body).await.unwrap();
            queue.delete(&message.receipt).await.unwrap();
        }
    };
    run(scheduler.clone(), queue.clone()).await;
    let row = ada.get(&format!("/v1/scheduled_emails/{id}")).await.body;
    assert_eq!(row["status"], "pending", "{row}");
    assert_eq!(row["scheduled_at"], "2026-05-04T09:01:00.000000Z");
    clock.advance(Duration::minutes(1));
    run(scheduler, queue).await;
    let row = ada.get(&format!("/v1/scheduled_emails/{id}")).await.body;
    assert_eq!(row["status"], "sent", "{row}");
    let outbox = std::fs::read_dir(system.outbox.dir())
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(outbox, 1, "the retry went out");
    let messages = ada.get("/v1/email_messages").await.body;
    let mut statuses: Vec<&str> = messages["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["failed", "sent"]);
}
