//! The hostile tenant's attempts, one regression test per finding, each over HTTP against the
//! local system as an attacker would try it — and each proving by a re-read that nothing
//! changed, not only by a status code.

use scaliyo_domain::ids::Role;
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use scaliyo_tests::mailbox;
use serde_json::{Value, json};

async fn signed_up(local: &RunningLocal) -> Client {
    let client = Client::user(local, Role::Client, None);
    assert_eq!(client.sign_up().await.status, 201);
    client
}

/// Sets columns of a user's profile as the system (an admin tool) would.
async fn set_profile(local: &RunningLocal, user: &str, fields: Value) {
    let profiles = &scaliyo_domain::schema::PROFILES;
    let patch = fields.as_object().cloned().unwrap_or_default();
    local
        .system
        .access
        .rows()
        .update(profiles, Some(user), user, patch)
        .await
        .expect("the profile updated");
}

/// A lead of `client` with one manually logged message; (lead id, message id).
async fn lead_with_message(client: &Client) -> (String, String) {
    let lead = client
        .post(
            "/v1/leads",
            json!({ "name": "Grace", "primary_email": "grace@navy.example" }),
        )
        .await;
    assert_eq!(lead.status, 201, "{}", lead.body);
    let lead_id = lead.body["id"].as_str().unwrap_or_default().to_owned();
    let message = client
        .post(
            "/v1/email_messages",
            json!({ "lead_id": lead_id, "provider": "manual", "to_email": "grace@navy.example", "subject": "Met at the conference" }),
        )
        .await;
    assert_eq!(message.status, 201, "{}", message.body);
    (
        lead_id,
        message.body["id"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn finding_1_a_reused_id_cannot_delete_another_tenants_children() {
    let local = RunningLocal::start().await;
    let ada = signed_up(&local).await;
    let eve = signed_up(&local).await;
    let (lead, message) = lead_with_message(&ada).await;

    let reuse = eve
        .post("/v1/leads", json!({ "id": lead, "name": "x" }))
        .await;
    assert_eq!(
        (reuse.status, reuse.code()),
        (400, "invalid"),
        "{}",
        reuse.body
    );
    assert!(
        reuse.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("id")
    );
    assert_eq!(eve.delete(&format!("/v1/leads/{lead}")).await.status, 404);

    assert_eq!(ada.get(&format!("/v1/leads/{lead}")).await.status, 200);
    assert_eq!(
        ada.get(&format!("/v1/email_messages/{message}"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn finding_1_a_colliding_row_in_another_partition_never_reaches_the_owners_children() {
    // Defence in depth: even if another tenant's partition held a row with the same id (data
    // migrated from elsewhere), lists and cascades through the global foreign-key index keep
    // to the acting owner's rows.
    let local = RunningLocal::start().await;
    let ada = signed_up(&local).await;
    let eve = signed_up(&local).await;
    let (lead, message) = lead_with_message(&ada).await;
    let leads = &scaliyo_domain::schema::LEADS;
    local
        .system
        .access
        .rows()
        .create(
            leads,
            None,
            json!({ "id": lead, "client_id": eve.id(), "name": "twin" })
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
        .await
        .expect("the twin written as the system");

    let listed = eve.get(&format!("/v1/email_messages?lead_id={lead}")).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["data"], json!([]));

    assert_eq!(eve.delete(&format!("/v1/leads/{lead}")).await.status, 204);
    let kept = ada.get(&format!("/v1/email_messages/{message}")).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(kept.body["lead_id"], lead.as_str());
}

#[tokio::test]
async fn finding_2_a_customer_cannot_upgrade_its_own_plan() {
    let local = RunningLocal::start().await;
    let eve = signed_up(&local).await;
    let upgrade = eve
        .post(
            "/v1/subscriptions",
            json!({ "plan": "Scale", "status": "active" }),
        )
        .await;
    assert_eq!(
        (upgrade.status, upgrade.code()),
        (403, "server_owned"),
        "{}",
        upgrade.body
    );
    assert_eq!(eve.get("/v1/subscriptions").await.body["data"], json!([]));

    let profile = eve
        .patch(
            &format!("/v1/profiles/{}", eve.id()),
            json!({ "plan": "Scale" }),
        )
        .await;
    assert_eq!(
        (profile.status, profile.code()),
        (403, "admin_only"),
        "{}",
        profile.body
    );
    let after = eve.get(&format!("/v1/profiles/{}", eve.id())).await;
    assert_ne!(after.body["plan"], "Scale");
}

#[tokio::test]
async fn finding_3_a_customer_cannot_reset_its_own_quotas() {
    let local = RunningLocal::start().await;
    let eve = signed_up(&local).await;
    let cases = [
        (
            "increment_outbound_usage",
            json!({ "channel": "email" }),
            "outbound_usage",
            "count",
        ),
        (
            "increment_workspace_usage",
            json!({ "field": "emails_sent" }),
            "workspace_usage_counters",
            "emails_sent",
        ),
        (
            "increment_ai_usage",
            json!({ "credits": 3 }),
            "workspace_ai_usage",
            "credits_used",
        ),
    ];
    for (rpc, args, table, column) in cases {
        let counted = eve.post(&format!("/v1/rpc/{rpc}"), args).await;
        assert_eq!(counted.status, 200, "{rpc}: {}", counted.body);
        let row = eve.get(&format!("/v1/{table}")).await.body["data"][0].clone();
        let id = row["id"].as_str().unwrap_or_default().to_owned();
        assert!(
            row[column].as_i64().unwrap_or_default() > 0,
            "{table}: {row}"
        );

        let reset = eve
            .patch(&format!("/v1/{table}/{id}"), json!({ column: -100000 }))
            .await;
        assert_eq!(
            (reset.status, reset.code()),
            (403, "server_owned"),
            "{table}: {}",
            reset.body
        );
        assert_eq!(
            eve.delete(&format!("/v1/{table}/{id}")).await.status / 100,
            4,
            "{table}"
        );
        let after = eve.get(&format!("/v1/{table}/{id}")).await;
        assert_eq!(after.body[column], row[column], "{table} unchanged");
    }
    for (rpc, args) in [
        (
            "increment_outbound_usage",
            json!({ "channel": "email", "amount": -100000 }),
        ),
        (
            "increment_outbound_usage",
            json!({ "channel": "email", "amount": 0 }),
        ),
        (
            "increment_workspace_usage",
            json!({ "field": "emails_sent", "amount": -5 }),
        ),
        ("increment_ai_usage", json!({ "credits": -50 })),
        ("increment_ai_usage", json!({ "credits": 0 })),
    ] {
        let refused = eve.post(&format!("/v1/rpc/{rpc}"), args.clone()).await;
        assert_eq!(
            (refused.status, refused.code()),
            (400, "invalid"),
            "{rpc} {args}: {}",
            refused.body
        );
    }

    mailbox::sender_and_lead(&eve).await;
    let sender = eve.get("/v1/sender_accounts").await.body["data"][0].clone();
    let id = sender["id"].as_str().unwrap_or_default();
    let reset = eve
        .patch(
            &format!("/v1/sender_accounts/{id}"),
            json!({ "daily_sent_today": -1000 }),
        )
        .await;
    assert_eq!(
        (reset.status, reset.code()),
        (403, "server_owned"),
        "{}",
        reset.body
    );
}

#[tokio::test]
async fn finding_4_a_two_character_body_is_sent_once_and_the_server_stays_up() {
    let local = RunningLocal::start().await;
    let ada = signed_up(&local).await;
    let lead = mailbox::sender_and_lead(&ada).await;
    let received = mailbox::send(
        &local,
        &ada,
        &lead,
        json!({ "subject": "Hi", "html_body": "</body><" }),
    )
    .await;
    assert!(!received.message_id.is_empty());
    let usage = ada
        .post("/v1/rpc/get_workspace_monthly_usage", json!({}))
        .await;
    assert_eq!(usage.status, 200, "{}", usage.body);
    assert_eq!(usage.body["emails_sent"], 1, "{}", usage.body);

    // Through the scheduler too: the worker sends it and goes on.
    let scheduled = ada
        .post(
            "/v1/scheduled-emails",
            json!({ "lead_id": lead, "subject": "Hi", "html_body": "<p>x</p><", "scheduled_at": "2020-01-01T09:00:00Z" }),
        )
        .await;
    assert_eq!(scheduled.status, 201, "{}", scheduled.body);
    local.system.scheduler.tick().await.expect("a tick");
    local.system.scheduled_email_worker().drain().await;
    let row = ada
        .get(&format!(
            "/v1/scheduled_emails/{}",
            scheduled.body["id"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(row.body["status"], "sent", "{}", row.body);
}

#[tokio::test]
async fn finding_6_a_local_frontend_may_call_the_server_across_origins() {
    let local = RunningLocal::start().await;
    let http = reqwest::Client::new();
    let preflight = http
        .request(reqwest::Method::OPTIONS, local.url("/v1/leads"))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .expect("an answer");
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    let elsewhere = http
        .get(local.url("/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("an answer");
    assert!(
        elsewhere
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn states_the_system_decides_are_refused_and_user_decisions_allowed() {
    let local = RunningLocal::start().await;
    let ada = signed_up(&local).await;
    let lead = mailbox::sender_and_lead(&ada).await;
    let scheduled = ada
        .post(
            "/v1/scheduled-emails",
            json!({ "lead_id": lead, "subject": "Hi", "html_body": "<p>x</p>", "scheduled_at": "2030-01-01T09:00:00Z" }),
        )
        .await;
    let id = scheduled.body["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/v1/scheduled_emails/{id}");
    for status in ["sent", "processing", "failed"] {
        let refused = ada.patch(&path, json!({ "status": status })).await;
        assert_eq!(
            (refused.status, refused.code()),
            (403, "invalid_transition"),
            "{status}"
        );
    }
    assert_eq!(ada.get(&path).await.body["status"], "pending");
    let cancelled = ada.patch(&path, json!({ "status": "cancelled" })).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);

    let logged = ada
        .post(
            "/v1/email_messages",
            json!({ "lead_id": lead, "provider": "sendgrid", "to_email": "grace@navy.example" }),
        )
        .await;
    assert_eq!(
        (logged.status, logged.code()),
        (403, "invalid_transition"),
        "{}",
        logged.body
    );
    let post = ada
        .post(
            "/v1/social_posts",
            json!({ "content_text": "hi", "status": "completed" }),
        )
        .await;
    assert_eq!(
        (post.status, post.code()),
        (403, "invalid_transition"),
        "{}",
        post.body
    );
}

#[tokio::test]
async fn flows_cannot_be_taken_over_and_system_templates_are_admins() {
    let local = RunningLocal::start().await;
    let ada = signed_up(&local).await;
    let eve = signed_up(&local).await;
    let board = ada
        .post("/v1/teamhub_boards", json!({ "name": "Launch" }))
        .await;
    assert_eq!(board.status, 201, "{}", board.body);
    let board_id = board.body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(board.body["created_by"], ada.id());
    let member = ada
        .post(
            "/v1/teamhub_flow_members",
            json!({ "flow_id": board_id, "user_id": eve.id(), "role": "admin" }),
        )
        .await;
    assert_eq!(member.status, 201, "{}", member.body);
    let member_id = member.body["id"].as_str().unwrap_or_default().to_owned();

    let take = eve
        .patch(
            &format!("/v1/teamhub_boards/{board_id}"),
            json!({ "created_by": eve.id() }),
        )
        .await;
    assert_eq!(
        (take.status, take.code()),
        (403, "author_column"),
        "{}",
        take.body
    );
    let promote = eve
        .patch(
            &format!("/v1/teamhub_flow_members/{member_id}"),
            json!({ "role": "owner" }),
        )
        .await;
    assert_eq!(promote.status, 403, "{}", promote.body);
    assert_eq!(
        eve.get(&format!("/v1/teamhub_boards/{board_id}"))
            .await
            .body["created_by"],
        ada.id()
    );
    assert_eq!(
        eve.get(&format!("/v1/teamhub_flow_members/{member_id}"))
            .await
            .body["role"],
        "admin"
    );
    let forged = eve
        .post(
            "/v1/teamhub_boards",
            json!({ "name": "Mine", "created_by": ada.id() }),
        )
        .await;
    assert_eq!(
        (forged.status, forged.code()),
        (403, "author_column"),
        "{}",
        forged.body
    );
    let system = eve
        .post(
            "/v1/teamhub_flow_templates",
            json!({ "name": "Public", "type": "system", "structure_json": {} }),
        )
        .await;
    assert_eq!(
        (system.status, system.code()),
        (403, "invalid_transition"),
        "{}",
        system.body
    );
}

#[tokio::test]
async fn a_support_sessions_window_is_fixed_and_a_disabled_profile_is_refused_everywhere() {
    let local = RunningLocal::start().await;
    let root = signed_up(&local).await;
    let target = signed_up(&local).await;
    set_profile(
        &local,
        root.id(),
        json!({ "is_super_admin": true, "role": "ADMIN" }),
    )
    .await;
    let long = root
        .post(
            "/v1/support_sessions",
            json!({ "target_user_id": target.id(), "reason": "ticket 7", "expires_at": "2099-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(long.status, 403, "{}", long.body);
    let session = root
        .post(
            "/v1/support_sessions",
            json!({ "target_user_id": target.id(), "reason": "ticket 7" }),
        )
        .await;
    assert_eq!(session.status, 201, "{}", session.body);
    let id = session.body["id"].as_str().unwrap_or_default().to_owned();
    let extend = root
        .patch(
            &format!("/v1/support_sessions/{id}"),
            json!({ "expires_at": "2099-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(
        (extend.status, extend.code()),
        (403, "fixed_column"),
        "{}",
        extend.body
    );
    let ended = root
        .patch(
            &format!("/v1/support_sessions/{id}"),
            json!({ "is_active": false }),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    let revived = root
        .patch(
            &format!("/v1/support_sessions/{id}"),
            json!({ "is_active": true }),
        )
        .await;
    assert_eq!(revived.status, 403, "{}", revived.body);

    set_profile(&local, target.id(), json!({ "status": "disabled" })).await;
    for reply in [
        target.get("/v1/leads").await,
        target.post("/v1/leads", json!({ "name": "x" })).await,
        target
            .post("/v1/rpc/get_workspace_monthly_usage", json!({}))
            .await,
    ] {
        assert_eq!(
            (reply.status, reply.code()),
            (403, "account_disabled"),
            "{}",
            reply.body
        );
    }
}

#[tokio::test]
async fn a_client_patch_keeps_the_rows_internal_attributes() {
    let local = RunningLocal::start().await;
    let ada = signed_up(&local).await;
    let lead = ada.post("/v1/leads", json!({ "name": "Grace" })).await;
    let id = lead.body["id"].as_str().unwrap_or_default().to_owned();
    let leads = &scaliyo_domain::schema::LEADS;
    let key = scaliyo_app::layout::row_key(leads, Some(ada.id()), &id);
    let store = local.system.access.rows().store().clone();
    store
        .update(
            &key,
            scaliyo_store::Update::new().set("_checkpoint", 41i64),
            None,
        )
        .await
        .expect("an internal attribute set");
    let renamed = ada
        .patch(
            &format!("/v1/leads/{id}"),
            json!({ "name": "Grace Hopper" }),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let item = store.get(&key).await.expect("read").expect("the lead");
    assert_eq!(item.i64("_checkpoint"), Some(41));
    assert_eq!(item.str("name"), Some("Grace Hopper"));
}

#[tokio::test]
async fn cursors_are_sealed_and_open_only_for_their_list_and_caller() {
    let local = RunningLocal::start().await;
    let ada = signed_up(&local).await;
    let eve = signed_up(&local).await;
    for name in ["Grace", "Ada", "Hedy"] {
        assert_eq!(
            ada.post("/v1/leads", json!({ "name": name })).await.status,
            201
        );
    }
    let first = ada.get("/v1/leads?limit=2").await;
    let cursor = first.body["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!cursor.is_empty(), "{}", first.body);
    assert!(!cursor.contains(ada.id()));

    let next = ada.get(&format!("/v1/leads?limit=2&cursor={cursor}")).await;
    assert_eq!(next.status, 200, "{}", next.body);
    assert_eq!(next.body["data"].as_array().map(Vec::len), Some(1));

    // Another caller, another list, a forged store key: all refused, nothing read.
    use base64::Engine;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!(r#"{{"PK":"U#{}","SK":"leads#"}}"#, ada.id()));
    for (client, path) in [
        (&eve, format!("/v1/leads?limit=2&cursor={cursor}")),
        (
            &ada,
            format!("/v1/leads?limit=2&order=score.desc&cursor={cursor}"),
        ),
        (&ada, format!("/v1/leads?limit=2&cursor={forged}")),
        (&eve, format!("/v1/leads?limit=2&cursor={forged}")),
    ] {
        let refused = client.get(&path).await;
        assert_eq!(
            (refused.status, refused.code()),
            (400, "invalid_cursor"),
            "{path}: {}",
            refused.body
        );
    }
}

#[tokio::test]
async fn a_profile_cannot_claim_someone_elses_address() {
    let local = RunningLocal::start().await;
    let eve = Client::user(&local, Role::Client, Some("eve@example.com"));
    let claim = eve
        .post(
            "/v1/profiles",
            json!({ "id": eve.id(), "email": "grace@navy.example" }),
        )
        .await;
    assert_eq!(
        (claim.status, claim.code()),
        (403, "email_not_yours"),
        "{}",
        claim.body
    );
    assert_eq!(eve.sign_up().await.status, 201);
    let switch = eve
        .patch(
            &format!("/v1/profiles/{}", eve.id()),
            json!({ "email": "grace@navy.example" }),
        )
        .await;
    assert_eq!(
        (switch.status, switch.code()),
        (403, "email_not_yours"),
        "{}",
        switch.body
    );
    // Grace can still sign up with her address.
    let grace = Client::user(&local, Role::Client, Some("grace@navy.example"));
    assert_eq!(grace.sign_up().await.status, 201);
}

#[tokio::test]
async fn custom_routes_refuse_another_tenants_ids_and_change_nothing() {
    let local = RunningLocal::start().await;
    let ada = signed_up(&local).await;
    let eve = signed_up(&local).await;
    let ada_lead = mailbox::sender_and_lead(&ada).await;
    let eve_lead = mailbox::sender_and_lead(&eve).await;
    let ada_sender = ada.get("/v1/sender_accounts").await.body["data"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let template = ada
        .post(
            "/v1/email_templates",
            json!({ "name": "secret-template", "category": "custom", "subject_template": "secret-subject", "body_template": "<p>secret-body</p>" }),
        )
        .await;
    assert_eq!(template.status, 201, "{}", template.body);
    let template_id = template.body["id"].as_str().unwrap_or_default().to_owned();
    let sequence = ada
        .post(
            "/v1/sequences",
            json!({ "lead_ids": [ada_lead], "blocks": [{ "subject": "secret-1", "html_body": "<p>a</p>", "delay_days": 30 }, { "subject": "secret-2", "html_body": "<p>b</p>", "delay_days": 31 }] }),
        )
        .await;
    assert_eq!(sequence.status, 201, "{}", sequence.body);
    let sequence_id = sequence.body["sequences"][0]["sequence_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let scheduled_id = sequence.body["sequences"][0]["emails"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let post = ada
        .post("/v1/social_posts", json!({ "content_text": "secret-post" }))
        .await;
    assert_eq!(post.status, 201, "{}", post.body);
    let post_id = post.body["id"].as_str().unwrap_or_default().to_owned();
    let webhook = ada
        .post(
            "/v1/webhooks",
            json!({ "name": "secret-hook", "url": "https://hooks.example.com/in", "trigger_event": "email.sent" }),
        )
        .await;
    assert_eq!(webhook.status, 201, "{}", webhook.body);
    let webhook_id = webhook.body["id"].as_str().unwrap_or_default().to_owned();

    let attempts = [
        eve.get(&format!("/v1/sequences/{sequence_id}")).await,
        eve.post(&format!("/v1/sequences/{sequence_id}/cancel"), json!({})).await,
        eve.post(&format!("/v1/scheduled-emails/{scheduled_id}/cancel"), json!({})).await,
        eve.get(&format!("/v1/social/posts/{post_id}")).await,
        eve.post(&format!("/v1/social/posts/{post_id}/schedule"), json!({ "scheduled_at": "2030-01-01T09:00:00Z" })).await,
        eve.get(&format!("/v1/webhooks/{webhook_id}/deliveries")).await,
        eve.post(&format!("/v1/webhooks/{webhook_id}/deliveries/{}/redeliver", uuid::Uuid::now_v7()), json!({})).await,
        eve.post("/v1/send-email", json!({ "lead_id": eve_lead, "template_id": template_id })).await,
        eve.post("/v1/send-email", json!({ "lead_id": eve_lead, "sender_account_id": ada_sender, "subject": "Hi", "html_body": "<p>x</p>" })).await,
        eve.post(&format!("/v1/sender-accounts/{ada_sender}/event-webhook"), json!({ "verification_key": "k" })).await,
        eve.post("/v1/scheduled-emails", json!({ "lead_id": ada_lead, "subject": "Hi", "html_body": "x", "scheduled_at": "2030-01-01T09:00:00Z" })).await,
    ];
    for (n, reply) in attempts.iter().enumerate() {
        assert!(
            (400..500).contains(&reply.status),
            "attempt {n}: {} {}",
            reply.status,
            reply.body
        );
        assert!(
            !reply.body.to_string().contains("secret-"),
            "attempt {n}: {}",
            reply.body
        );
    }
    // Ada's work is as she left it.
    let emails = ada.get(&format!("/v1/sequences/{sequence_id}")).await;
    assert_eq!(emails.status, 200, "{}", emails.body);
    assert!(
        !emails.body.to_string().contains("cancelled"),
        "{}",
        emails.body
    );
    assert_eq!(
        ada.get(&format!("/v1/social_posts/{post_id}")).await.body["status"],
        "draft"
    );
    assert_eq!(
        ada.get(&format!("/v1/scheduled_emails/{scheduled_id}"))
            .await
            .body["status"],
        "pending"
    );
}

#[tokio::test]
async fn lists_by_another_owners_column_and_keys_pointed_at_the_victim_are_refused() {
    let local = RunningLocal::start().await;
    let ada = signed_up(&local).await;
    let eve = signed_up(&local).await;
    let (ada_lead, _) = lead_with_message(&ada).await;
    let (eve_lead, eve_message) = lead_with_message(&eve).await;
    for path in [
        format!("/v1/leads?client_id={}", ada.id()),
        format!("/v1/email_messages?owner_id={}", ada.id()),
        format!("/v1/email_messages?lead_id={ada_lead}"),
    ] {
        let listed = eve.get(&path).await;
        assert!(
            listed.status == 200 && listed.body["data"] == json!([]) || listed.status == 400,
            "{path}: {} {}",
            listed.status,
            listed.body
        );
        assert!(!listed.body.to_string().contains("secret-"), "{path}");
    }
    let moved = eve
        .patch(
            &format!("/v1/email_messages/{eve_message}"),
            json!({ "lead_id": ada_lead }),
        )
        .await;
    assert_eq!(
        (moved.status, moved.code()),
        (400, "invalid_reference"),
        "{}",
        moved.body
    );
    let given = eve
        .patch(
            &format!("/v1/leads/{eve_lead}"),
            json!({ "client_id": ada.id() }),
        )
        .await;
    assert_eq!(given.status / 100, 4, "{}", given.body);
    assert_eq!(
        eve.get(&format!("/v1/leads/{eve_lead}")).await.body["client_id"],
        eve.id()
    );
}

#[tokio::test]
async fn a_deleted_account_leaves_no_token_or_webhook_url_that_still_answers() {
    let local = RunningLocal::start().await;
    let (ada, message_id, html) = mailbox::sent_message(
        &local,
        r#"<p>Hi <a href="https://example.com/offer">offer</a></p>"#,
    )
    .await;
    let senders = ada.get("/v1/sender_accounts").await;
    let sender = senders.body["data"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let hook = ada
        .post(
            &format!("/v1/sender-accounts/{sender}/event-webhook"),
            json!({ "verification_key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" }),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let hook_url = hook.body["url"].as_str().unwrap_or_default().to_owned();
    let link = mailbox::urls(&html, "/t/c/").pop().unwrap_or_default();
    let segment = link.rsplit('/').next().unwrap_or_default();
    let token = scaliyo_domain::signed_link::token_of(segment).to_owned();
    let store = local.system.access.rows().store().clone();
    let token_key = scaliyo_app::send::token_key(&token);
    assert!(store.get(&token_key).await.expect("read").is_some());

    assert_eq!(ada.delete("/v1/account").await.status, 204);

    assert!(
        store.get(&token_key).await.expect("read").is_none(),
        "the click token is gone"
    );
    let http = scaliyo_tests::http_client::without_redirects();
    // The link as sent still leads where the e-mail said (its destination is signed into it,
    // ADR 28); its token is gone, so nothing is recorded, and once the signing key is rotated
    // it leads nowhere — as the bare token does now.
    let bare = link.replace(segment, &token);
    let click = http.get(&bare).send().await.expect("an answer");
    assert_eq!(
        click.status(),
        404,
        "a deleted tenant's token leads nowhere"
    );
    let hook_token = hook_url.rsplit('/').next().unwrap_or_default();
    assert!(
        store
            .get(&scaliyo_store::Key::new(
                format!("HOOK#{hook_token}"),
                "HOOK"
            ))
            .await
            .expect("read")
            .is_none()
    );
    let events = http
        .post(&hook_url)
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .expect("an answer");
    assert_eq!(events.status(), 404);
    assert!(!message_id.is_empty());
}

#[tokio::test]
async fn line_breaks_in_lead_fields_never_reach_a_header() {
    let local = RunningLocal::start().await;
    let ada = signed_up(&local).await;
    mailbox::sender_and_lead(&ada).await;
    let lead = ada
        .post(
            "/v1/leads",
            json!({ "name": "Eve\r\nBcc: victim@example.com", "primary_email": "eve@example.com", "company": "X\r\nX-Evil: 1" }),
        )
        .await;
    assert_eq!(lead.status, 201, "{}", lead.body);
    let id = lead.body["id"].as_str().unwrap_or_default().to_owned();
    let sent = ada
        .post(
            "/v1/send-email",
            json!({ "lead_id": id, "subject": "Hello {{name}} from {{company}}", "html_body": "<p>Hi</p>" }),
        )
        .await;
    if sent.status == 200 {
        let message_id = sent.body["message_id"].as_str().unwrap_or_default();
        let eml = std::fs::read(local.system.outbox.dir().join(format!("{message_id}.eml")))
            .expect("the message");
        let parsed = mailparse::parse_mail(&eml).expect("MIME");
        for header in &parsed.headers {
            let key = header.get_key().to_ascii_lowercase();
            assert!(key != "bcc" && key != "x-evil", "an injected header: {key}");
        }
    } else {
        assert_eq!(sent.status, 400, "{}", sent.body);
    }
}

#[tokio::test]
async fn any_tracking_token_gets_a_pixel_or_a_page_never_an_error() {
    use rand::{Rng, SeedableRng};
    let local = RunningLocal::start().await;
    let http = scaliyo_tests::http_client::without_redirects();
    let mut rng = rand::rngs::StdRng::seed_from_u64(16);
    let alphabet: Vec<char> = "aZ09-_.~%2F%00%E2%82%AC/..\\'\"<>{}|^` ".chars().collect();
    for round in 0..300 {
        let length = rng.random_range(0..120);
        let token: String = (0..length)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect();
        let token = token
            .replace(' ', "%20")
            .replace('#', "%23")
            .replace('?', "%3F");
        let pixel = http
            .get(local.url(&format!("/t/o/{token}.gif")))
            .send()
            .await
            .expect("an answer");
        if pixel.status() != 404 {
            assert_eq!(pixel.status(), 200, "round {round}: /t/o/{token}");
            assert_eq!(
                pixel.headers()["content-type"],
                "image/gif",
                "round {round}"
            );
        }
        for path in [
            format!("/t/c/{token}"),
            format!("/u/{token}"),
            format!("/l/{token}"),
        ] {
            let page = http.get(local.url(&path)).send().await.expect("an answer");
            assert!(
                page.status().as_u16() < 500,
                "round {round}: {path} → {}",
                page.status()
            );
        }
    }
}

/// A provider adapter with a bug: it panics.
struct PanickingMailer;

#[async_trait::async_trait]
impl scaliyo_store::Mailer for PanickingMailer {
    async fn send(
        &self,
        _email: &scaliyo_store::OutgoingEmail,
        _credentials: &scaliyo_store::Credentials,
    ) -> Result<scaliyo_store::Delivery, scaliyo_store::MailError> {
        panic!("a bug in a provider adapter")
    }
}

#[tokio::test]
async fn a_send_that_panics_after_its_reservation_gives_it_back_and_settles_its_key() {
    use scaliyo_app::access::Actor;
    use scaliyo_app::send::{SendConfig, SendError, SendPipeline};
    use std::sync::Arc;
    let local = RunningLocal::start().await;
    let ada = signed_up(&local).await;
    let system = &local.system;
    let pipeline = SendPipeline::new(
        system.access.clone(),
        Arc::new(scaliyo_embedded::LocalSealer::new(&[5u8; 32]).expect("a sealer")),
        scaliyo_store::Mailers::all(Arc::new(PanickingMailer)),
        system.clock.clone(),
        SendConfig::new(local.base_url.clone()),
    );
    let actor = Actor::acting_for(ada.owner());
    pipeline
        .senders()
        .connect(
            &actor,
            serde_json::from_value(json!({ "provider": "sendgrid", "from_email": "ada@mail.example", "api_key": "SG.x", "is_default": true })).expect("a request"),
        )
        .await
        .expect("connected");
    let lead = ada
        .post(
            "/v1/leads",
            json!({ "name": "Grace", "primary_email": "grace@navy.example" }),
        )
        .await;
    let request = || {
        serde_json::from_value(
            json!({ "lead_id": lead.body["id"], "subject": "Hi", "html_body": "<p>Hi</p>" }),
        )
        .expect("a request")
    };
    for _ in 0..2 {
        // The same key twice: the first attempt's marker was settled, not left in progress.
        let outcome = pipeline.send(&actor, request(), Some("key-1")).await;
        assert!(matches!(outcome, Err(SendError::Crashed)), "{outcome:?}");
    }
    let usage = ada
        .post("/v1/rpc/get_workspace_monthly_usage", json!({}))
        .await;
    assert_eq!(
        usage.body["emails_sent"], 0,
        "the reservation was given back: {}",
        usage.body
    );
    let sender = ada.get("/v1/sender_accounts").await.body["data"][0].clone();
    assert_eq!(
        sender["daily_sent_today"].as_i64().unwrap_or(0),
        0,
        "{sender}"
    );
}
