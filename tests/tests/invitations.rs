//! Invitations end to end over HTTP on the local system, as the frontend drives them with two
//! users: the invitation e-mail with its link, the invitee's list, accepting (the membership
//! with the invitation's role), declining, expiry, renewal and resending (docs/invitations.md).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use scaliyo_domain::ids::Role;
use scaliyo_store::ManualClock;
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::{Value, json};

/// The e-mails in the outbox addressed to `to`, as (subject, decoded HTML).
fn letters_to(local: &RunningLocal, to: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir(local.system.outbox.dir()) else {
        return found;
    };
    for entry in dir.flatten() {
        let Ok(raw) = std::fs::read(entry.path()) else {
            continue;
        };
        let Ok(mail) = mailparse::parse_mail(&raw) else {
            continue;
        };
        let header = |name: &str| {
            mail.headers
                .iter()
                .find(|h| h.get_key().eq_ignore_ascii_case(name))
                .map(|h| h.get_value())
                .unwrap_or_default()
        };
        if !header("To").to_lowercase().contains(&to.to_lowercase()) {
            continue;
        }
        let html = mail
            .subparts
            .iter()
            .find(|p| p.ctype.mimetype == "text/html")
            .and_then(|p| p.get_body().ok())
            .or_else(|| mail.get_body().ok())
            .unwrap_or_default();
        found.push((header("Subject"), html));
    }
    found
}

/// The token of the newest link in an invitation e-mail.
fn token_in(html: &str) -> String {
    html.split("token=")
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .unwrap_or_default()
}

async fn deliver(local: &RunningLocal) {
    local.system.scheduled_email_worker().drain().await;
}

struct Team {
    local: RunningLocal,
    clock: Arc<ManualClock>,
    ada: Client,
    bob: Client,
    team_id: String,
}

async fn a_team() -> Team {
    let start: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().expect("a time");
    let clock = Arc::new(ManualClock::new(start));
    let local = RunningLocal::start_with_clock(clock.clone()).await;
    let ada = Client::user(&local, Role::Client, Some("ada@scaliyo.example"));
    let bob = Client::user(&local, Role::Client, Some("Bob@Example.com"));
    ada.sign_up().await;
    bob.sign_up().await;
    let team = ada.post("/v1/teams", json!({ "name": "Sales" })).await;
    assert_eq!(team.status, 201, "{}", team.body);
    let team_id = team.body["id"].as_str().unwrap_or_default().to_owned();
    Team {
        local,
        clock,
        ada,
        bob,
        team_id,
    }
}

async fn invite(team: &Team, email: &str, role: &str) -> Value {
    let invite = team
        .ada
        .post(
            "/v1/team_invites",
            json!({ "team_id": team.team_id, "email": email, "role": role }),
        )
        .await;
    assert!(
        invite.status == 201 || invite.status == 200,
        "{}",
        invite.body
    );
    invite.body
}

#[tokio::test]
async fn an_invitee_gets_the_email_lists_it_and_joins_with_the_invited_role() {
    let team = a_team().await;
    let created = invite(&team, " BOB@example.com ", "admin").await;
    assert_eq!(created["email"], "bob@example.com", "kept in one form");
    assert_eq!(created["status"], "pending");
    deliver(&team.local).await;
    let letters = letters_to(&team.local, "bob@example.com");
    assert_eq!(letters.len(), 1, "one invitation e-mail");
    let (subject, html) = &letters[0];
    assert!(subject.contains("Sales"), "{subject}");
    assert!(
        html.contains("http://localhost:5173/invites?token="),
        "{html}"
    );
    assert!(token_in(html).len() >= 40, "an unguessable token");

    // Bob (signed in as Bob@Example.com) sees it, with its kind.
    let pending = team.bob.get("/v1/invites").await;
    assert_eq!(pending.status, 200, "{}", pending.body);
    let listed = &pending.body["data"][0];
    assert_eq!(listed["kind"], "team");
    assert_eq!(listed["target_name"], "Sales");
    assert_eq!(listed["role"], "admin");
    let id = listed["id"].as_str().unwrap_or_default().to_owned();

    // Neither the invitee nor a stranger can change what it grants or fake an answer.
    let promoted = team
        .bob
        .patch(
            &format!("/v1/team_invites/{id}"),
            json!({ "role": "owner" }),
        )
        .await;
    assert!(promoted.status >= 400, "{}", promoted.body);
    let faked = team
        .bob
        .patch(
            &format!("/v1/team_invites/{id}"),
            json!({ "status": "accepted" }),
        )
        .await;
    assert!(faked.status >= 400, "{}", faked.body);
    let carol = Client::user(&team.local, Role::Client, Some("carol@example.com"));
    carol.sign_up().await;
    let stolen = carol
        .post(&format!("/v1/invites/{id}/accept"), json!({}))
        .await;
    assert_eq!(stolen.status, 404, "{}", stolen.body);
    assert_eq!(carol.get("/v1/invites").await.body["data"], json!([]));

    let accepted = team
        .bob
        .post(&format!("/v1/invites/{id}/accept"), json!({}))
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(accepted.body["status"], "accepted");
    assert_eq!(accepted.body["membership"]["role"], "admin");
    assert_eq!(accepted.body["membership"]["user_id"], team.bob.id());
    let members = team
        .ada
        .get(&format!("/v1/team_members?team_id={}", team.team_id))
        .await;
    assert!(
        members.body.to_string().contains(team.bob.id()),
        "{}",
        members.body
    );
    let again = team
        .bob
        .post(&format!("/v1/invites/{id}/accept"), json!({}))
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.code(), "invite_answered");
    assert_eq!(team.bob.get("/v1/invites").await.body["data"], json!([]));
    // The answer is in the invitee's audit log, naming the team.
    let log = team.bob.get("/v1/audit_logs").await;
    assert!(
        log.body.to_string().contains("team.invite_accepted"),
        "{}",
        log.body
    );
}

#[tokio::test]
async fn the_emailed_token_declines_expiry_refuses_and_a_reinvite_renews() {
    let team = a_team().await;
    invite(&team, "bob@example.com", "member").await;
    deliver(&team.local).await;
    let token = token_in(&letters_to(&team.local, "bob@example.com")[0].1);

    // The token alone is not enough for a team: the invitee must be signed in as themselves.
    let anonymous = Client::anonymous(&team.local);
    let refused = anonymous
        .post("/v1/invites/decline", json!({ "token": token }))
        .await;
    assert!(
        refused.status == 401 || refused.status == 404,
        "{}",
        refused.body
    );
    let forged = team
        .bob
        .post("/v1/invites/accept", json!({ "token": "not-a-real-token" }))
        .await;
    assert_eq!(forged.status, 404, "{}", forged.body);
    let declined = team
        .bob
        .post("/v1/invites/decline", json!({ "token": token }))
        .await;
    assert_eq!(declined.status, 200, "{}", declined.body);
    assert_eq!(declined.body["status"], "declined");

    // Inviting the address again renews the declined invitation (no conflict), with the
    // new role, and e-mails it again once the resend interval has passed.
    team.clock.advance(Duration::minutes(11));
    let renewed = invite(&team, "bob@example.com", "admin").await;
    assert_eq!(renewed["status"], "pending");
    assert_eq!(renewed["role"], "admin");
    deliver(&team.local).await;
    assert_eq!(letters_to(&team.local, "bob@example.com").len(), 2);

    // Resending at once is refused; the invitee cannot resend.
    let id = renewed["id"].as_str().unwrap_or_default().to_owned();
    let soon = team
        .ada
        .post(&format!("/v1/invites/{id}/resend"), json!({}))
        .await;
    assert_eq!(soon.status, 429, "{}", soon.body);
    assert_eq!(soon.code(), "resend_too_soon");
    team.clock.advance(Duration::minutes(11));
    let by_invitee = team
        .bob
        .post(&format!("/v1/invites/{id}/resend"), json!({}))
        .await;
    assert_eq!(by_invitee.status, 404, "{}", by_invitee.body);
    let resent = team
        .ada
        .post(&format!("/v1/invites/{id}/resend"), json!({}))
        .await;
    assert_eq!(resent.status, 202, "{}", resent.body);
    deliver(&team.local).await;
    assert_eq!(letters_to(&team.local, "bob@example.com").len(), 3);

    // Eight days later the invitation has expired.
    team.clock.advance(Duration::days(8));
    let late = team
        .bob
        .post(&format!("/v1/invites/{id}/accept"), json!({}))
        .await;
    assert_eq!(late.status, 410, "{}", late.body);
    assert_eq!(late.code(), "invite_expired");
    assert_eq!(team.bob.get("/v1/invites").await.body["data"], json!([]));
}

#[tokio::test]
async fn a_flow_invitation_makes_a_board_member_and_a_guest_accepts_with_the_token() {
    let team = a_team().await;
    let board = team
        .ada
        .post("/v1/teamhub_boards", json!({ "name": "Launch" }))
        .await;
    assert_eq!(board.status, 201, "{}", board.body);
    let board_id = board.body["id"].as_str().unwrap_or_default().to_owned();
    let flow_invite = team
        .ada
        .post(
            "/v1/teamhub_invites",
            json!({ "flow_id": board_id, "email": "bob@example.com", "role": "viewer" }),
        )
        .await;
    assert_eq!(flow_invite.status, 201, "{}", flow_invite.body);
    deliver(&team.local).await;
    let letters = letters_to(&team.local, "bob@example.com");
    assert!(letters[0].0.contains("Launch"), "{}", letters[0].0);
    let pending = team.bob.get("/v1/invites").await;
    assert_eq!(pending.body["data"][0]["kind"], "flow", "{}", pending.body);
    let accepted = team
        .bob
        .post(
            "/v1/invites/accept",
            json!({ "token": token_in(&letters[0].1) }),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(accepted.body["membership"]["role"], "viewer");
    let seen = team
        .bob
        .get(&format!("/v1/teamhub_boards/{board_id}"))
        .await;
    assert_eq!(
        seen.status, 200,
        "the new member sees the board: {}",
        seen.body
    );

    // A guest contributor has no account: the token accepts.
    let guest = team
        .ada
        .post(
            "/v1/guest_contributors",
            json!({ "name": "Grace", "email": "grace@writers.example" }),
        )
        .await;
    assert_eq!(guest.status, 201, "{}", guest.body);
    assert_eq!(guest.body["status"], "invited");
    deliver(&team.local).await;
    let letter = &letters_to(&team.local, "grace@writers.example")[0];
    assert!(letter.0.contains("blog"), "{}", letter.0);
    let anonymous = Client::anonymous(&team.local);
    let joined = anonymous
        .post(
            "/v1/invites/accept",
            json!({ "token": token_in(&letter.1) }),
        )
        .await;
    assert_eq!(joined.status, 200, "{}", joined.body);
    let row = team
        .ada
        .get(&format!(
            "/v1/guest_contributors/{}",
            guest.body["id"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(row.body["status"], "active", "{}", row.body);

    // Their posts count: submitted for review, then published (once).
    let guest_id = guest.body["id"].as_str().unwrap_or_default().to_owned();
    let post = team
        .ada
        .post(
            "/v1/blog_posts",
            json!({ "title": "Cold e-mail that works", "slug": "cold-email", "contributor_id": guest_id }),
        )
        .await;
    assert_eq!(post.status, 201, "{}", post.body);
    let post_id = post.body["id"].as_str().unwrap_or_default().to_owned();
    for status in ["pending_review", "published"] {
        let moved = team
            .ada
            .patch(
                &format!("/v1/blog_posts/{post_id}"),
                json!({ "status": status }),
            )
            .await;
        assert_eq!(moved.status, 200, "{status}: {}", moved.body);
    }
    let counted = team
        .ada
        .get(&format!("/v1/guest_contributors/{guest_id}"))
        .await;
    assert_eq!(counted.body["posts_submitted"], 1, "{}", counted.body);
    assert_eq!(counted.body["posts_published"], 1, "{}", counted.body);
}

#[tokio::test]
async fn an_invitation_from_someone_removed_since_grants_nothing() {
    let team = a_team().await;
    // Bob joins as a member and invites Dave; then Ada removes Bob from the team.
    let joined = team
        .ada
        .post(
            "/v1/team_members",
            json!({ "team_id": team.team_id, "user_id": team.bob.id(), "role": "member" }),
        )
        .await;
    assert_eq!(joined.status, 201, "{}", joined.body);
    let invite = team
        .bob
        .post(
            "/v1/team_invites",
            json!({ "team_id": team.team_id, "email": "dave@example.com", "role": "admin" }),
        )
        .await;
    assert_eq!(invite.status, 201, "{}", invite.body);
    let membership = joined.body["id"].as_str().unwrap_or_default();
    let removed = team
        .ada
        .delete(&format!("/v1/team_members/{membership}"))
        .await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    let dave = Client::user(&team.local, Role::Client, Some("dave@example.com"));
    dave.sign_up().await;
    let id = invite.body["id"].as_str().unwrap_or_default();
    let refused = dave
        .post(&format!("/v1/invites/{id}/accept"), json!({}))
        .await;
    assert_eq!(refused.status, 410, "{}", refused.body);
    assert_eq!(refused.code(), "invite_revoked");
    let members = team
        .ada
        .get(&format!("/v1/team_members?team_id={}", team.team_id))
        .await;
    assert!(
        !members.body.to_string().contains(dave.id()),
        "{}",
        members.body
    );
}

#[tokio::test]
async fn bad_answers_change_nothing() {
    let team = a_team().await;
    for (path, body) in [
        ("/v1/invites/accept", json!({})),
        ("/v1/invites/accept", json!({ "token": "" })),
        (
            "/v1/invites/accept",
            json!({ "token": "x", "role": "owner" }),
        ),
        ("/v1/invites/decline", json!("text")),
    ] {
        let reply = team.bob.post(path, body.clone()).await;
        assert_eq!(reply.status, 400, "{path} {body}: {}", reply.body);
    }
    let unknown = team
        .bob
        .post(
            "/v1/invites/00000000-0000-4000-8000-000000000000/accept",
            json!({}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let anonymous = Client::anonymous(&team.local);
    assert_eq!(anonymous.get("/v1/invites").await.status, 401);
}
