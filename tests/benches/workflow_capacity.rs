//! What one lead's walk through the example workflow costs on DynamoDB on-demand:
//! the engine over a table that prices every request by DynamoDB's capacity rules
//! (`scaliyo_tests::counting_table`), phase by phase — the lead event enrolling it and its
//! first e-mail up to the wait, the tick waking it, the bump e-mail and the update to the end,
//! and the lead events that update makes.
//!
//! `cargo bench -p scaliyo-tests --bench workflow_capacity`; figures in docs/BENCHMARKS.md.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use scaliyo_app::access::{Access, Actor};
use scaliyo_app::send::{Mailers, SendConfig, SendPipeline};
use scaliyo_app::webhooks::WebhookEmitter;
use scaliyo_app::workflows::{WorkflowFeed, Workflows, WorkflowsConfig};
use scaliyo_embedded::{LocalQueue, LocalSealer, RedbTable};
use scaliyo_store::{Clock, ManualClock, Queue};
use scaliyo_tests::counting_table::{Cost, CountingTable};
use serde_json::{Value, json};

fn row(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

fn show(phase: &str, cost: Cost) {
    println!(
        "{phase:<58} {:>3} requests {:>3} items read {:>5.1} RCU {:>3} items written {:>5.1} WCU",
        cost.requests, cost.items_read, cost.rcu, cost.items_written, cost.wcu
    );
}

/// Handles every message on the engine's queue; how many.
async fn drain(queue: &LocalQueue, workflows: &Workflows) -> usize {
    let mut handled = 0;
    loop {
        let batch = queue
            .receive(10, StdDuration::from_secs(60), StdDuration::ZERO)
            .await
            .expect("receive");
        if batch.is_empty() {
            return handled;
        }
        for message in batch {
            workflows.process(&message.body).await.expect("handled");
            queue.delete(&message.receipt).await.expect("deleted");
            handled += 1;
        }
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let start: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().expect("a time");
    let clock = Arc::new(ManualClock::new(start));
    let dir = tempfile::tempdir().expect("a directory");
    let redb = RedbTable::open(&dir.path().join("store.redb"), clock.clone()).expect("a store");
    let table = Arc::new(CountingTable::new(Arc::new(redb)));
    let queue = Arc::new(LocalQueue::new("workflows"));
    let access = Access::over(table.clone(), clock.clone());
    let feed = WorkflowFeed::new(access.rows().clone(), queue.clone(), clock.clone());
    let webhooks = WebhookEmitter::new(
        access.rows().clone(),
        Arc::new(LocalQueue::new("webhooks")),
        clock.clone(),
    )
    .with_workflow_feed(Some(feed));
    let access = Arc::new(access.with_webhooks(Some(webhooks.clone())));
    let outbox = Arc::new(scaliyo_mail::OutboxMailer::new(dir.path().join("outbox")));
    let send = Arc::new(
        SendPipeline::new(
            access.clone(),
            Arc::new(LocalSealer::new(&[7u8; 32]).expect("a sealer")),
            Mailers::all(outbox),
            clock.clone(),
            SendConfig::new("https://t.example"),
        )
        .with_webhooks(Some(webhooks.clone())),
    );
    let workflows = Workflows::new(
        access.clone(),
        send.clone(),
        queue.clone(),
        clock.clone(),
        WorkflowsConfig::default(),
    )
    .with_webhooks(Some(webhooks));

    let owner = scaliyo_domain::ids::OwnerId::new_random();
    let actor = Actor::acting_for(owner);
    access
        .create(
            &actor,
            "profiles",
            row(json!({ "id": owner, "email": "ada@example.com" })),
        )
        .await
        .expect("a profile");
    send.senders()
        .connect(
            &actor,
            serde_json::from_value(json!({ "provider": "sendgrid", "from_email": "ada@mail.example", "api_key": "SG.x", "is_default": true }))
                .expect("a connect request"),
        )
        .await
        .expect("a sender");
    let mut templates = Vec::new();
    for name in ["First", "Engaged", "Bump"] {
        let template = access
            .create(&actor, "email_templates", row(json!({ "name": name, "category": "follow_up", "subject_template": format!("{name} for {{{{first_name}}}}"), "body_template": "<p>Hi {{first_name}}, <a href=\"https://scaliyo.example/x\">more</a></p>" })))
            .await
            .expect("a template");
        templates.push(template["id"].as_str().unwrap_or_default().to_owned());
    }
    let nodes = json!([
        {"id":"t1","type":"trigger.lead_event","config":{"event":"lead.created","filter":{"all":[{"field":"status","op":"eq","value":"New"}]},
          "reentry":"never","exit_on":["email.replied","lead.unsubscribed","email.bounced","status:Converted","status:Lost"],
          "send_window":{"tz":"lead","fallback_tz":"Europe/Berlin","days":[1,2,3,4,5],"start":"09:00","end":"17:00"}},"next":"e1"},
        {"id":"e1","type":"action.send_email","config":{"template_id": templates[0]},"next":"w1"},
        {"id":"w1","type":"wait.event","config":{"events":["email.opened","email.clicked"],"message_of":"e1","timeout":{"amount":3,"unit":"days"}},
          "branches":[{"key":"matched","next":"e2"},{"key":"timeout","next":"e3"}]},
        {"id":"e2","type":"action.send_email","config":{"template_id": templates[1]},"next":"u1"},
        {"id":"e3","type":"action.send_email","config":{"template_id": templates[2]},"next":"u1"},
        {"id":"u1","type":"action.update_lead","config":{"status":"Contacted","score_add":10},"next":null}
    ]);
    access
        .create(
            &actor,
            "workflows",
            row(json!({ "name": "Example", "status": "active", "nodes": nodes })),
        )
        .await
        .expect("a workflow");
    drain(&queue, &workflows).await;
    workflows.tick().await.expect("a first tick");

    // A lead is created (its own cost is the data API's): the event enrols it.
    access
        .create(&actor, "leads", row(json!({ "name": "Grace", "first_name": "Grace", "primary_email": "grace@navy.example" })))
        .await
        .expect("a lead");
    let before = table.cost();
    drain(&queue, &workflows).await;
    show(
        "lead.created → enrolled, first e-mail sent, parked at w1",
        table.cost() - before,
    );

    let before = table.cost();
    workflows.tick().await.expect("an idle tick");
    show(
        "a tick with nothing due (16 shards, the figures)",
        table.cost() - before,
    );

    clock.set(start + Duration::days(3) + Duration::minutes(1));
    let before = table.cost();
    let report = workflows.tick().await.expect("a tick");
    assert_eq!(report.claimed, 1);
    show(
        "a tick waking the run (the idle tick's cost + its claim)",
        table.cost() - before,
    );

    let before = table.cost();
    let run_message = queue
        .receive(1, StdDuration::from_secs(60), StdDuration::ZERO)
        .await
        .expect("receive");
    for message in &run_message {
        workflows.process(&message.body).await.expect("handled");
        queue.delete(&message.receipt).await.expect("deleted");
    }
    show(
        "woken: timeout branch, bump e-mail, lead update, end",
        table.cost() - before,
    );

    let before = table.cost();
    let events = drain(&queue, &workflows).await;
    show(
        &format!("the update's {events} lead events heard by the engine"),
        table.cost() - before,
    );
    let _ = clock.now();
}
