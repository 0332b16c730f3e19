//! The data API over HTTP against the local system, as the frontend uses it.

use scaliyo_domain::ids::Role;
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::json;

/// The first bytes of real files: uploads are checked against their declared type.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const MP4_HEAD: &[u8] = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom";

#[tokio::test]
async fn a_leads_whole_life_over_http() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, Some("ada@example.com"));
    assert_eq!(ada.sign_up().await.status, 201);

    let created = ada.post("/v1/leads", json!({ "name": "Grace Hopper", "primary_email": "grace@navy.mil", "company": "US Navy" })).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["client_id"], ada.id());
    assert_eq!(created.body["status"], "New");
    assert!(
        created.body.get("lastActivity").is_some() && created.body.get("knowledgeBase").is_some()
    );

    let listed = ada.get("/v1/leads?limit=10").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);

    let updated = ada
        .patch(
            &format!("/v1/leads/{id}"),
            json!({ "status": "Contacted", "score": 70 }),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["status"], "Contacted");

    let by_score = ada.get("/v1/leads?order=score.desc").await;
    assert_eq!(by_score.status, 200, "{}", by_score.body);
    assert_eq!(by_score.body["data"][0]["id"], id.as_str());

    assert_eq!(ada.delete(&format!("/v1/leads/{id}")).await.status, 204);
    assert_eq!(ada.get(&format!("/v1/leads/{id}")).await.status, 404);
}

#[tokio::test]
async fn another_users_rows_are_404_and_never_listed() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    let eve = Client::user(&local, Role::Client, None);
    let lead = ada.post("/v1/leads", json!({ "name": "Secret" })).await;
    let id = lead.body["id"].as_str().unwrap();
    for reply in [
        eve.get(&format!("/v1/leads/{id}")).await,
        eve.patch(&format!("/v1/leads/{id}"), json!({ "name": "pwned" }))
            .await,
        eve.delete(&format!("/v1/leads/{id}")).await,
    ] {
        assert_eq!(reply.status, 404);
        assert_eq!(reply.code(), "not_found");
    }
    assert!(
        eve.get("/v1/leads").await.body["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let spoof = eve
        .post("/v1/leads", json!({ "name": "x", "client_id": ada.id() }))
        .await;
    assert_eq!(spoof.status, 403);
    assert_eq!(
        ada.get(&format!("/v1/leads/{id}")).await.body["name"],
        "Secret"
    );
}

#[tokio::test]
async fn bad_requests_get_clear_errors_and_change_nothing() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    let cases = [
        (
            json!({ "name": "x", "status": "Hot" }),
            400,
            "invalid",
            "status",
        ),
        (json!({ "company": "no name" }), 400, "invalid", "name"),
        (
            json!({ "name": "x", "nickname": "y" }),
            400,
            "unknown_field",
            "nickname",
        ),
        (
            json!({ "name": "x", "score": "high" }),
            400,
            "invalid",
            "score",
        ),
        (
            json!(["not", "an", "object"]),
            400,
            "invalid_body",
            "object",
        ),
    ];
    for (body, status, code, mentions) in cases {
        let reply = ada.post("/v1/leads", body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert_eq!(reply.code(), code, "{body}");
        assert!(
            reply.body["message"].as_str().unwrap().contains(mentions),
            "{}",
            reply.body
        );
    }
    assert_eq!(
        ada.post(
            "/v1/leads",
            json!({ "name": "A", "primary_email": "a@x.io" })
        )
        .await
        .status,
        201
    );
    let duplicate = ada
        .post(
            "/v1/leads",
            json!({ "name": "B", "primary_email": "A@X.io" }),
        )
        .await;
    assert_eq!((duplicate.status, duplicate.code()), (409, "conflict"));
    let reference = ada
        .post(
            "/v1/lead_color_overrides",
            json!({ "lead_id": uuid::Uuid::new_v4().to_string(), "color_token": "red" }),
        )
        .await;
    assert_eq!(
        (reference.status, reference.code()),
        (400, "invalid_reference")
    );
    assert_eq!(
        ada.get("/v1/leads").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(ada.get("/v1/no_such_table").await.status, 404);
    let anonymous = Client::anonymous(&local);
    assert_eq!(
        anonymous
            .post("/v1/leads", json!({ "name": "x" }))
            .await
            .status,
        401
    );
    let mut forged = ada.clone();
    forged.token = Some("not-a-jwt".into());
    assert_eq!(forged.get("/v1/leads").await.code(), "invalid_token");
}

#[tokio::test]
async fn the_contacts_limit_of_the_plan_is_enforced() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let access = &local.system.access;
    // Fill the Starter plan's 1,000 contacts quickly through the counter, then try one more.
    let extra = access.contacts_reservation(ada.owner(), 999).await.unwrap();
    access
        .rows()
        .store()
        .transact_write(vec![extra.op])
        .await
        .unwrap();
    assert_eq!(
        ada.post("/v1/leads", json!({ "name": "the 1000th" }))
            .await
            .status,
        201
    );
    let refused = ada.post("/v1/leads", json!({ "name": "the 1001st" })).await;
    assert_eq!(
        (refused.status, refused.code()),
        (403, "plan_limit"),
        "{}",
        refused.body
    );
    // Deleting a lead frees a place.
    let id = ada.get("/v1/leads").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(ada.delete(&format!("/v1/leads/{id}")).await.status, 204);
    assert_eq!(
        ada.post("/v1/leads", json!({ "name": "fits again" }))
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn public_rows_admin_writes_and_protected_profile_columns() {
    let local = RunningLocal::start().await;
    let admin = Client::user(&local, Role::Admin, None);
    let ada = Client::user(&local, Role::Client, None);
    let anonymous = Client::anonymous(&local);
    let plan = admin
        .post(
            "/v1/plans",
            json!({ "name": "Growth", "price": "$99", "credits": 6000 }),
        )
        .await;
    assert_eq!(plan.status, 201, "{}", plan.body);
    let plan_id = plan.body["id"].as_str().unwrap();
    assert_eq!(
        anonymous.get(&format!("/v1/plans/{plan_id}")).await.status,
        200
    );
    assert_eq!(
        ada.post("/v1/plans", json!({ "name": "Free lunch" }))
            .await
            .status,
        403
    );
    assert_eq!(
        ada.patch(&format!("/v1/plans/{plan_id}"), json!({ "price": "$0" }))
            .await
            .status,
        403
    );

    assert_eq!(ada.sign_up().await.status, 201);
    let promote = ada
        .patch(
            &format!("/v1/profiles/{}", ada.id()),
            json!({ "role": "ADMIN" }),
        )
        .await;
    assert_eq!(promote.status, 403);
    let rename = ada
        .patch(
            &format!("/v1/profiles/{}", ada.id()),
            json!({ "name": "Ada L." }),
        )
        .await;
    assert_eq!(rename.status, 200);

    let template = admin
        .post("/v1/email_templates", json!({ "owner_id": null, "name": "Welcome", "category": "welcome", "is_default": true }))
        .await;
    assert_eq!(
        template.status, 403,
        "a default template has no owner; only the owner rule admits inserts"
    );
    let own = ada
        .post(
            "/v1/email_templates",
            json!({ "name": "Mine", "category": "custom" }),
        )
        .await;
    assert_eq!(own.status, 201);
    let draft = ada.post("/v1/blog_posts", json!({ "author_id": ada.id(), "title": "Draft", "slug": format!("draft-{}", ada.id()) })).await;
    assert_eq!(draft.status, 201, "{}", draft.body);
    let draft_id = draft.body["id"].as_str().unwrap();
    assert_eq!(
        anonymous
            .get(&format!("/v1/blog_posts/{draft_id}"))
            .await
            .status,
        404
    );
    ada.patch(
        &format!("/v1/blog_posts/{draft_id}"),
        json!({ "status": "published" }),
    )
    .await;
    assert_eq!(
        anonymous
            .get(&format!("/v1/blog_posts/{draft_id}"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn deleting_the_account_removes_everything_it_owns() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let lead = ada
        .post(
            "/v1/leads",
            json!({ "name": "L", "primary_email": "l@x.io" }),
        )
        .await;
    let lead_id = lead.body["id"].as_str().unwrap().to_owned();
    ada.post("/v1/workflows", json!({ "name": "W" })).await;
    assert_eq!(ada.delete("/v1/account").await.status, 204);
    assert_eq!(ada.get(&format!("/v1/leads/{lead_id}")).await.status, 404);
    assert!(
        ada.get("/v1/workflows").await.body["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ada.get(&format!("/v1/profiles/{}", ada.id())).await.status,
        404
    );
    // The e-mail is free again for a new account of the same user.
    ada.sign_up().await;
    assert_eq!(
        ada.post(
            "/v1/leads",
            json!({ "name": "L", "primary_email": "l@x.io" })
        )
        .await
        .status,
        201
    );
}

#[tokio::test]
async fn buckets_take_uploads_under_the_callers_prefix_within_their_rules() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    let eve = Client::user(&local, Role::Client, None);
    let http = reqwest::Client::new();

    let ticket = ada
        .post(
            "/v1/storage/avatars/uploads",
            json!({ "file_name": "../me.png", "content_type": "image/png", "size": 8 }),
        )
        .await;
    assert_eq!(ticket.status, 201, "{}", ticket.body);
    let key = ticket.body["key"].as_str().unwrap();
    assert!(
        key.starts_with(&format!("{}/", ada.id())) && key.ends_with("-me.png"),
        "{key}"
    );
    let uploaded = http
        .put(ticket.body["upload_url"].as_str().unwrap())
        .header("content-type", "image/png")
        .body(PNG_SIGNATURE.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 200);
    // Public bucket: anyone reads it at its public URL.
    let public = http
        .get(ticket.body["public_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 200);
    assert_eq!(public.headers()["content-type"], "image/png");

    // An "image/png" whose bytes are a web page is deleted as it lands.
    let disguised = ada
        .post(
            "/v1/storage/avatars/uploads",
            json!({ "file_name": "cat.png", "content_type": "image/png", "size": 29 }),
        )
        .await;
    let disguised_url = disguised.body["public_url"].as_str().unwrap().to_owned();
    let put = http
        .put(disguised.body["upload_url"].as_str().unwrap())
        .header("content-type", "image/png")
        .body("<script>alert(1)</script>\n\n\n\n")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let mut status = 200;
    for _ in 0..100 {
        status = http
            .get(&disguised_url)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, 404, "the disguised upload is still served");
    // The real PNG stays.
    assert_eq!(
        http.get(ticket.body["public_url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let too_big = ada
        .post("/v1/storage/image-gen-assets/uploads", json!({ "file_name": "a.png", "content_type": "image/png", "size": 10 * 1024 * 1024 + 1 }))
        .await;
    assert_eq!((too_big.status, too_big.code()), (400, "invalid"));
    let wrong_type = ada
        .post(
            "/v1/storage/avatars/uploads",
            json!({ "file_name": "a.html", "content_type": "text/html", "size": 10 }),
        )
        .await;
    assert_eq!(wrong_type.status, 400);
    assert_eq!(
        ada.post(
            "/v1/storage/secrets/uploads",
            json!({ "file_name": "a", "content_type": "image/png", "size": 1 })
        )
        .await
        .status,
        404
    );
    let anonymous = Client::anonymous(&local);
    assert_eq!(
        anonymous
            .post(
                "/v1/storage/avatars/uploads",
                json!({ "file_name": "a.png", "content_type": "image/png", "size": 1 })
            )
            .await
            .status,
        401
    );

    // Private bucket: only the owner gets a short-lived signed URL; nobody reads it publicly.
    let video = ada
        .post(
            "/v1/storage/social_media/uploads",
            json!({ "file_name": "clip.mp4", "content_type": "video/mp4", "size": MP4_HEAD.len() }),
        )
        .await;
    assert_eq!(video.body["public_url"], serde_json::Value::Null);
    let video_key = video.body["key"].as_str().unwrap().to_owned();
    http.put(video.body["upload_url"].as_str().unwrap())
        .header("content-type", "video/mp4")
        .body(MP4_HEAD.to_vec())
        .send()
        .await
        .unwrap();
    let signed = ada
        .get(&format!(
            "/v1/storage/social_media/download?key={video_key}"
        ))
        .await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert_eq!(
        http.get(signed.body["url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        MP4_HEAD
    );
    assert_eq!(
        eve.get(&format!(
            "/v1/storage/social_media/download?key={video_key}"
        ))
        .await
        .status,
        404
    );
    assert_eq!(
        http.get(local.url(&format!("/storage/social_media/{video_key}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn a_super_admin_reads_a_users_rows_only_through_an_audited_support_session() {
    let local = RunningLocal::start().await;
    let rows = local.system.access.rows();
    let admin = Client::user(&local, Role::Client, None);
    admin.sign_up().await;
    let profiles = &scaliyo_domain::schema::PROFILES;
    rows.update(
        profiles,
        Some(admin.id()),
        admin.id(),
        json!({ "is_super_admin": true })
            .as_object()
            .unwrap()
            .clone(),
    )
    .await
    .unwrap();
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let lead = ada
        .post("/v1/leads", json!({ "name": "Confidential" }))
        .await;
    let lead_id = lead.body["id"].as_str().unwrap().to_owned();
    assert_eq!(admin.get(&format!("/v1/leads/{lead_id}")).await.status, 404);

    let session = admin
        .post("/v1/support_sessions", json!({ "target_user_id": ada.id(), "reason": "ticket #42", "access_level": "read_only" }))
        .await;
    assert_eq!(session.status, 201, "{}", session.body);
    assert_eq!(session.body["admin_id"], admin.id());
    let mut supporting = admin.clone();
    supporting.support_session = Some(session.body["id"].as_str().unwrap().to_owned());
    assert_eq!(
        supporting.get(&format!("/v1/leads/{lead_id}")).await.body["name"],
        "Confidential"
    );
    let listed = supporting
        .get(&format!("/v1/leads?client_id={}", ada.id()))
        .await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        supporting
            .patch(&format!("/v1/leads/{lead_id}"), json!({ "name": "x" }))
            .await
            .status,
        403
    );
    let audit = admin.get("/v1/support_audit_logs").await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    assert_eq!(
        audit.body["data"].as_array().unwrap().len(),
        2,
        "the read and the list were audited"
    );

    // A plain user cannot use a session, and an ended session opens nothing.
    let mut impostor = ada.clone();
    impostor.support_session = supporting.support_session.clone();
    assert_eq!(
        impostor.get(&format!("/v1/leads/{lead_id}")).await.status,
        403
    );
    let session_id = supporting.support_session.clone().unwrap();
    admin
        .patch(
            &format!("/v1/support_sessions/{session_id}"),
            json!({ "is_active": false, "ended_at": "2026-11-27T00:00:00Z" }),
        )
        .await;
    assert_eq!(
        supporting.get(&format!("/v1/leads/{lead_id}")).await.status,
        403
    );
    let logs = local
        .system
        .access
        .rows()
        .list(
            &scaliyo_domain::schema::SUPPORT_AUDIT_LOGS,
            None,
            scaliyo_app::rows::ListRequest {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let reads: Vec<_> = logs
        .rows
        .iter()
        .filter(|r| r["target_user_id"] == ada.id())
        .collect();
    assert_eq!(reads.len(), 2, "one entry per read and per list");
    assert!(
        reads
            .iter()
            .any(|r| r["action"] == "read" && r["resource_id"] == lead_id.as_str())
    );
}

#[tokio::test]
async fn partial_unique_constraints_hold_only_while_their_condition_does() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    let prompt =
        json!({ "prompt_key": "cold_email", "category": "email", "display_name": "Cold e-mail" });
    let first = ada.post("/v1/user_prompts", prompt.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(
        ada.post("/v1/user_prompts", prompt.clone()).await.code(),
        "conflict"
    );
    let id = first.body["id"].as_str().unwrap();
    assert_eq!(
        ada.patch(
            &format!("/v1/user_prompts/{id}"),
            json!({ "is_active": false })
        )
        .await
        .status,
        200
    );
    assert_eq!(
        ada.post("/v1/user_prompts", prompt).await.status,
        201,
        "an inactive prompt frees its key"
    );
}

#[tokio::test]
async fn secrets_are_accepted_but_never_returned() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    let hook = ada
        .post("/v1/webhooks", json!({ "name": "CRM", "url": "https://crm.example.com/hook", "trigger_event": "email.sent", "secret": "whsec_123" }))
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    assert!(hook.body.get("secret").is_none());
    let id = hook.body["id"].as_str().unwrap();
    assert!(
        ada.get(&format!("/v1/webhooks/{id}"))
            .await
            .body
            .get("secret")
            .is_none()
    );
    assert!(
        ada.get("/v1/webhooks").await.body["data"][0]
            .get("secret")
            .is_none()
    );
    let updated = ada
        .patch(
            &format!("/v1/webhooks/{id}"),
            json!({ "secret": "whsec_456" }),
        )
        .await;
    assert_eq!(updated.status, 200);
    assert!(updated.body.get("secret").is_none());
    let stored = local
        .system
        .access
        .rows()
        .get(&scaliyo_domain::schema::WEBHOOKS, Some(ada.id()), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored["secret"], "whsec_456",
        "kept for the delivery worker"
    );
    let integration = ada
        .post(
            "/v1/integrations",
            json!({ "provider": "hubspot", "category": "crm", "credentials": { "token": "t" } }),
        )
        .await;
    assert!(integration.body.get("credentials").is_none());
    assert_eq!(
        ada.get("/v1/sender_account_secrets").await.body["data"],
        json!([])
    );
}

#[tokio::test]
async fn prompt_changes_are_versioned_restorable_and_a_default_is_copied_not_changed() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let created = ada
        .post(
            "/v1/user_prompts",
            json!({ "prompt_key": "research", "category": "lead_research", "display_name": "Research", "prompt_template": "Research {{company}}", "temperature": 0.7 }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap_or_default().to_owned();
    // A client never sets the version, nor writes history itself.
    let forged = ada
        .patch(&format!("/v1/user_prompts/{id}"), json!({ "version": 9 }))
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let history = ada
        .post(
            "/v1/user_prompt_versions",
            json!({ "prompt_id": id, "version": 1, "prompt_template": "fake" }),
        )
        .await;
    assert_eq!(history.status, 403, "{}", history.body);

    // Two changes: each bumps the version and keeps the state before it, with its note.
    let first = ada
        .patch(
            &format!("/v1/user_prompts/{id}"),
            json!({ "prompt_template": "Research {{company}} in depth", "change_note": "deeper" }),
        )
        .await;
    assert_eq!(
        (first.status, first.body["version"].as_i64()),
        (200, Some(2)),
        "{}",
        first.body
    );
    let second = ada
        .patch(
            &format!("/v1/user_prompts/{id}"),
            json!({ "temperature": 0.2 }),
        )
        .await;
    assert_eq!(second.body["version"], 2 + 1);
    // A change of anything else is not a new version.
    let renamed = ada
        .patch(
            &format!("/v1/user_prompts/{id}"),
            json!({ "display_name": "Deep research" }),
        )
        .await;
    assert_eq!(renamed.body["version"], 3);
    let versions = ada
        .get(&format!("/v1/user_prompt_versions?prompt_id={id}"))
        .await;
    let mut kept: Vec<(i64, String, serde_json::Value)> = versions.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            (
                v["version"].as_i64().unwrap_or(0),
                v["prompt_template"].as_str().unwrap_or_default().to_owned(),
                v["change_note"].clone(),
            )
        })
        .collect();
    kept.sort_by_key(|(version, _, _)| *version);
    assert_eq!(
        kept,
        vec![
            (1, "Research {{company}}".to_owned(), json!("deeper")),
            (
                2,
                "Research {{company}} in depth".to_owned(),
                serde_json::Value::Null
            ),
        ],
        "{}",
        versions.body
    );

    // Restoring version 1 is itself a change, kept as version 3.
    let restored = ada
        .post(
            &format!("/v1/user_prompts/{id}/restore"),
            json!({ "version": 1 }),
        )
        .await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(restored.body["prompt_template"], "Research {{company}}");
    assert_eq!(restored.body["temperature"], 0.7);
    assert_eq!(restored.body["version"], 4);
    let missing = ada
        .post(
            &format!("/v1/user_prompts/{id}/restore"),
            json!({ "version": 42 }),
        )
        .await;
    assert_eq!(missing.status, 400, "{}", missing.body);

    // A default prompt (seeded by the system, no owner): a user's edit makes their own copy.
    let mut seeded = serde_json::Map::new();
    for (column, value) in [
        ("prompt_key", json!("cold_email")),
        ("category", json!("email")),
        ("display_name", json!("Cold e-mail")),
        ("prompt_template", json!("Hello")),
        ("is_default", json!(true)),
    ] {
        seeded.insert(column.into(), value);
    }
    let default = local
        .system
        .access
        .rows()
        .create(&scaliyo_domain::schema::USER_PROMPTS, None, seeded)
        .await
        .expect("a default prompt");
    let default_id = default["id"].as_str().unwrap_or_default().to_owned();
    let copy = ada
        .patch(
            &format!("/v1/user_prompts/{default_id}"),
            json!({ "prompt_template": "Hi there" }),
        )
        .await;
    assert_eq!(copy.status, 200, "{}", copy.body);
    assert_ne!(copy.body["id"], default_id.as_str());
    assert_eq!(
        (
            copy.body["owner_id"].as_str(),
            copy.body["is_default"].as_bool()
        ),
        (Some(ada.id()), Some(false))
    );
    assert_eq!(copy.body["prompt_template"], "Hi there");
    let untouched = Client::anonymous(&local)
        .get(&format!("/v1/user_prompts/{default_id}"))
        .await;
    assert_eq!(
        untouched.body["prompt_template"], "Hello",
        "{}",
        untouched.body
    );
}

#[tokio::test]
async fn the_server_keeps_the_audit_log_and_team_members_read_the_teams_entries() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    let bob = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    bob.sign_up().await;
    let team = ada.post("/v1/teams", json!({ "name": "Sales" })).await;
    assert_eq!(team.status, 201, "{}", team.body);
    let team_id = team.body["id"].as_str().unwrap_or_default().to_owned();
    let joined = ada
        .post(
            "/v1/team_members",
            json!({ "team_id": team_id, "user_id": bob.id(), "role": "member" }),
        )
        .await;
    assert_eq!(joined.status, 201, "{}", joined.body);
    let hook = ada
        .post(
            "/v1/webhooks",
            json!({ "name": "CRM", "url": "https://hooks.example.com/x", "trigger_event": "*", "secret": "whsec_never_logged" }),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let lead = ada.post("/v1/leads", json!({ "name": "Grace" })).await;
    let lead_id = lead.body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        ada.delete(&format!("/v1/leads/{lead_id}")).await.status,
        204
    );

    let log = ada.get("/v1/audit_logs").await;
    let actions: Vec<&str> = log.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "team.created",
        "team.member_added",
        "webhook.created",
        "lead.deleted",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    assert!(
        !log.body.to_string().contains("whsec_never_logged"),
        "no secret in the log"
    );
    let deleted = log.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["action"] == "lead.deleted")
        .expect("the deletion");
    assert!(
        deleted["details"]
            .as_str()
            .unwrap_or_default()
            .contains(&lead_id)
    );
    // Bob reads the team's entries (the seed's team policy), not Ada's own.
    let team_log = bob.get(&format!("/v1/audit_logs?team_id={team_id}")).await;
    let team_actions: Vec<&str> = team_log.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        team_actions.contains(&"team.member_added"),
        "{}",
        team_log.body
    );
    assert!(!team_actions.contains(&"lead.deleted"));
    // Nobody writes the log by hand.
    let forged = ada
        .post("/v1/audit_logs", json!({ "action": "nothing happened" }))
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
}

#[tokio::test]
async fn credentials_written_through_the_api_are_sealed_at_rest_and_never_returned() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let integration = ada
        .post(
            "/v1/integrations",
            json!({ "provider": "hubspot", "category": "crm", "credentials": { "access_token": "pat-na1-very-secret" } }),
        )
        .await;
    assert_eq!(integration.status, 201, "{}", integration.body);
    assert!(
        integration.body.get("credentials").is_none(),
        "{}",
        integration.body
    );
    let id = integration.body["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let config = ada
        .post(
            "/v1/email_provider_configs",
            json!({ "provider": "sendgrid", "api_key": "SG.also-very-secret" }),
        )
        .await;
    assert_eq!(config.status, 201, "{}", config.body);
    let rows = local.system.access.rows();
    let stored = rows
        .get_raw(&scaliyo_domain::schema::INTEGRATIONS, Some(ada.id()), &id)
        .await
        .expect("the store")
        .expect("the row");
    let sealed = stored.str("credentials").unwrap_or_default().to_owned();
    assert!(
        !sealed.is_empty() && !sealed.contains("very-secret"),
        "{sealed}"
    );
    // A rotation of the credentials is sealed too, and still never returned.
    let rotated = ada
        .patch(
            &format!("/v1/integrations/{id}"),
            json!({ "credentials": { "access_token": "pat-na1-rotated-secret" } }),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert!(!rotated.body.to_string().contains("rotated-secret"));
    let stored = rows
        .get_raw(&scaliyo_domain::schema::INTEGRATIONS, Some(ada.id()), &id)
        .await
        .expect("the store")
        .expect("the row");
    let resealed = stored.str("credentials").unwrap_or_default();
    assert!(!resealed.contains("rotated-secret") && resealed != sealed);
    let listed = ada.get("/v1/email_provider_configs").await;
    assert!(
        !listed.body.to_string().contains("also-very-secret"),
        "{}",
        listed.body
    );
}

#[tokio::test]
async fn blog_posts_are_published_by_their_author_or_an_admin_and_the_public_sees_only_what_is_due()
{
    let clock = std::sync::Arc::new(scaliyo_store::ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-12-02T09:00:00Z")
            .expect("a time")
            .with_timezone(&chrono::Utc),
    ));
    let local = RunningLocal::start_with_clock(clock.clone()).await;
    let ada = Client::user(&local, Role::Client, None);
    let admin = Client::user(&local, Role::Admin, None);
    let anonymous = Client::anonymous(&local);
    ada.sign_up().await;
    admin.sign_up().await;
    // SEO settings are checked; a post starts as a draft or in review, never published.
    let long = ada
        .post("/v1/blog_posts", json!({ "title": "Launch", "slug": "launch", "seo_settings": { "title": "x".repeat(71) } }))
        .await;
    assert_eq!(
        (long.status, long.code()),
        (400, "invalid"),
        "{}",
        long.body
    );
    let early = ada
        .post(
            "/v1/blog_posts",
            json!({ "title": "Launch", "slug": "launch", "status": "published" }),
        )
        .await;
    assert_eq!(early.status, 403, "{}", early.body);
    let post = ada
        .post("/v1/blog_posts", json!({ "title": "Launch", "slug": "launch", "seo_settings": { "title": "Launch day", "description": "What we built" } }))
        .await;
    assert_eq!(post.status, 201, "{}", post.body);
    let id = post.body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(anonymous.get("/v1/blog/launch").await.status, 404);

    // The author publishes: published_at is stamped once; the public reads it by slug.
    let published = ada
        .patch(
            &format!("/v1/blog_posts/{id}"),
            json!({ "status": "published" }),
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let first = published.body["published_at"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(first.starts_with("2026-12-02T09:00:00"), "{first}");
    let public = anonymous.get("/v1/blog/launch").await;
    assert_eq!(
        (public.status, public.body["id"].as_str()),
        (200, Some(id.as_str()))
    );
    // Back to a draft and published again: the first date stays.
    ada.patch(
        &format!("/v1/blog_posts/{id}"),
        json!({ "status": "draft" }),
    )
    .await;
    clock.advance(chrono::Duration::hours(1));
    let again = ada
        .patch(
            &format!("/v1/blog_posts/{id}"),
            json!({ "status": "published" }),
        )
        .await;
    assert_eq!(again.body["published_at"].as_str(), Some(first.as_str()));
    // Private posts and posts scheduled for later are not the public's.
    ada.patch(
        &format!("/v1/blog_posts/{id}"),
        json!({ "visibility": "private" }),
    )
    .await;
    assert_eq!(anonymous.get("/v1/blog/launch").await.status, 404);
    assert_eq!(
        anonymous.get(&format!("/v1/blog_posts/{id}")).await.status,
        404
    );
    let scheduled = ada
        .post(
            "/v1/blog_posts",
            json!({ "title": "Next", "slug": "next", "published_at": "2026-12-24T09:00:00Z" }),
        )
        .await;
    let next_id = scheduled.body["id"].as_str().unwrap_or_default().to_owned();
    ada.patch(
        &format!("/v1/blog_posts/{next_id}"),
        json!({ "status": "published" }),
    )
    .await;
    assert_eq!(
        anonymous.get("/v1/blog/next").await.status,
        404,
        "not due yet"
    );
    let listed = anonymous.get("/v1/blog_posts").await;
    assert!(
        !listed.body.to_string().contains(&next_id),
        "{}",
        listed.body
    );
    clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-12-24T09:00:01Z")
            .expect("a time")
            .with_timezone(&chrono::Utc),
    );
    assert_eq!(anonymous.get("/v1/blog/next").await.status, 200);

    // An admin publishes someone's post in review; another user cannot.
    let review = ada
        .post(
            "/v1/blog_posts",
            json!({ "title": "Guest", "slug": "guest", "status": "pending_review" }),
        )
        .await;
    let review_id = review.body["id"].as_str().unwrap_or_default().to_owned();
    let eve = Client::user(&local, Role::Client, None);
    eve.sign_up().await;
    let stolen = eve
        .post(&format!("/v1/blog_posts/{review_id}/publish"), json!({}))
        .await;
    assert!(
        stolen.status == 403 || stolen.status == 404,
        "{}",
        stolen.body
    );
    let by_admin = admin
        .post(&format!("/v1/blog_posts/{review_id}/publish"), json!({}))
        .await;
    assert_eq!(
        (by_admin.status, by_admin.body["status"].as_str()),
        (200, Some("published")),
        "{}",
        by_admin.body
    );
    assert_eq!(anonymous.get("/v1/blog/guest").await.status, 200);
}

#[tokio::test]
async fn a_user_lists_and_deletes_their_own_objects_and_nobody_elses() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    let eve = Client::user(&local, Role::Client, None);
    let http = reqwest::Client::new();
    let mut keys = Vec::new();
    for name in ["one.png", "two.png"] {
        let ticket = ada
            .post(
                "/v1/storage/avatars/uploads",
                json!({ "file_name": name, "content_type": "image/png", "size": 8 }),
            )
            .await;
        assert_eq!(ticket.status, 201, "{}", ticket.body);
        let uploaded = http
            .put(ticket.body["upload_url"].as_str().unwrap_or_default())
            .header("content-type", "image/png")
            .body(PNG_SIGNATURE.to_vec())
            .send()
            .await
            .expect("the upload");
        assert_eq!(uploaded.status(), 200);
        keys.push(ticket.body["key"].as_str().unwrap_or_default().to_owned());
    }
    let listed = ada.get("/v1/storage/avatars/objects").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let mut names: Vec<String> = listed.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["key"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(listed.body["data"][0]["size"], 8);
    assert!(listed.body["data"][0]["public_url"].as_str().is_some());
    // Eve sees none of them and cannot delete them.
    assert_eq!(
        eve.get("/v1/storage/avatars/objects").await.body["data"],
        json!([])
    );
    let stolen = eve
        .delete(&format!("/v1/storage/avatars/objects?key={}", keys[0]))
        .await;
    assert_eq!(stolen.status, 404, "{}", stolen.body);
    // Ada deletes one; it is gone from the list and from its public URL.
    let deleted = ada
        .delete(&format!("/v1/storage/avatars/objects?key={}", keys[0]))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let listed = ada.get("/v1/storage/avatars/objects").await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(1));
    let again = ada
        .delete(&format!("/v1/storage/avatars/objects?key={}", keys[0]))
        .await;
    assert_eq!(again.status, 404);
    assert_eq!(ada.get("/v1/storage/nowhere/objects").await.status, 404);
}
