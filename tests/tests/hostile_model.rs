//! The hostile-tenant model test: tenants A and B, an anonymous caller, a member of A's team
//! and a viewer of A's Team Hub board issue random sequences of data-API, RPC, send, schedule
//! and team calls, where B (and everyone else) knows every id A has ever been shown — the
//! worst case. After every step:
//!
//! - everything A can read (its leads and messages, its team, its board) equals a reference
//!   model that only A's own calls change;
//! - no response to anyone but A carries A's data (its leads' names, messages' subjects);
//! - no status is 5xx (and so nothing panicked).
//!
//! 10,000 steps on the embedded store, a shorter run on DynamoDB Local. The seed is printed;
//! `HOSTILE_SEED=<n>` replays a run, `HOSTILE_STEPS=<n>` changes its length.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use scaliyo_app::access::Access;
use scaliyo_app::rows::Rows;
use scaliyo_domain::ids::{OwnerId, Role};
use scaliyo_domain::schema;
use scaliyo_http::{Authenticator, LocalJwt};
use scaliyo_store::{Clock, SystemClock};
use scaliyo_tests::local_server::RunningLocal;
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    A,
    B,
    Anonymous,
    Member,
    Viewer,
}

struct Api {
    router: Router,
    jwt: LocalJwt,
    tokens: BTreeMap<&'static str, String>,
    ids: BTreeMap<&'static str, String>,
    /// Send and schedule routes are mounted (the whole local system).
    full: bool,
}

impl Api {
    fn new(router: Router, jwt: LocalJwt, full: bool) -> Self {
        let mut api = Self {
            router,
            jwt,
            tokens: BTreeMap::new(),
            ids: BTreeMap::new(),
            full,
        };
        for name in ["a", "b", "member", "viewer"] {
            let user = OwnerId::new_random();
            let email = format!("{name}-{user}@example.com");
            let token = api
                .jwt
                .issue(
                    user,
                    Role::Client,
                    Some(&email),
                    chrono::Utc::now(),
                    chrono::Duration::hours(2),
                )
                .expect("a token");
            api.tokens.insert(name, token);
            api.ids.insert(name, user.to_string());
        }
        api
    }

    fn id(&self, who: Who) -> &str {
        let name = match who {
            Who::A => "a",
            Who::B => "b",
            Who::Member => "member",
            Who::Viewer => "viewer",
            Who::Anonymous => return "",
        };
        self.ids.get(name).map(String::as_str).unwrap_or_default()
    }

    async fn call(&self, who: Who, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        let token = match who {
            Who::A => self.tokens.get("a"),
            Who::B => self.tokens.get("b"),
            Who::Member => self.tokens.get("member"),
            Who::Viewer => self.tokens.get("viewer"),
            Who::Anonymous => None,
        };
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let request = request.body(Body::from(body)).expect("a request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("an answer");
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
            .await
            .unwrap_or_default();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }
}

/// What A owns, as only A's calls change it.
#[derive(Default)]
struct Model {
    /// lead id → name
    leads: BTreeMap<String, String>,
    /// message id → (lead id, subject)
    messages: BTreeMap<String, (String, String)>,
    team: String,
    team_name: String,
    board: String,
    /// Every id A was ever shown (deleted ones too): the attacker knows them all.
    known: Vec<String>,
    cursor: Option<String>,
    counter: u64,
}

impl Model {
    fn secret(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("secret-{what}-{}", self.counter)
    }
}

fn pick<'a>(rng: &mut StdRng, items: &'a [String]) -> &'a str {
    items
        .choose(rng)
        .map(String::as_str)
        .unwrap_or("00000000-0000-4000-8000-000000000000")
}

async fn set_up(api: &Api, model: &mut Model) {
    for who in [Who::A, Who::B, Who::Member, Who::Viewer] {
        let id = api.id(who).to_owned();
        let (status, body) = api
            .call(who, "POST", "/v1/profiles", Some(json!({ "id": id, "email": format!("{}-{id}@example.com", match who { Who::A => "a", Who::B => "b", Who::Member => "member", _ => "viewer" }) })))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    model.team_name = "A's team".into();
    let (status, team) = api
        .call(
            Who::A,
            "POST",
            "/v1/teams",
            Some(json!({ "name": model.team_name })),
        )
        .await;
    assert_eq!(status, 201, "{team}");
    model.team = team["id"].as_str().unwrap_or_default().to_owned();
    let member = api.id(Who::Member).to_owned();
    let (status, body) = api
        .call(
            Who::A,
            "POST",
            "/v1/team_members",
            Some(json!({ "team_id": model.team, "user_id": member, "role": "member" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, board) = api
        .call(
            Who::A,
            "POST",
            "/v1/teamhub_boards",
            Some(json!({ "name": "Launch" })),
        )
        .await;
    assert_eq!(status, 201, "{board}");
    model.board = board["id"].as_str().unwrap_or_default().to_owned();
    let viewer = api.id(Who::Viewer).to_owned();
    let (status, body) = api
        .call(
            Who::A,
            "POST",
            "/v1/teamhub_flow_members",
            Some(json!({ "flow_id": model.board, "user_id": viewer, "role": "viewer" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    model
        .known
        .extend([model.team.clone(), model.board.clone()]);
}

/// One of A's own calls; the model follows it.
async fn a_step(api: &Api, model: &mut Model, rng: &mut StdRng) {
    let leads: Vec<String> = model.leads.keys().cloned().collect();
    match rng.random_range(0..6) {
        0 | 1 if leads.len() < 40 => {
            let name = model.secret("lead");
            let (status, body) = api
                .call(Who::A, "POST", "/v1/leads", Some(json!({ "name": name })))
                .await;
            assert_eq!(status, 201, "{body}");
            let id = body["id"].as_str().unwrap_or_default().to_owned();
            model.known.push(id.clone());
            model.leads.insert(id, name);
        }
        2 if !leads.is_empty() => {
            let id = pick(rng, &leads).to_owned();
            let name = model.secret("renamed");
            let (status, body) = api
                .call(
                    Who::A,
                    "PATCH",
                    &format!("/v1/leads/{id}"),
                    Some(json!({ "name": name })),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            model.leads.insert(id, name);
        }
        3 if !leads.is_empty() => {
            let id = pick(rng, &leads).to_owned();
            let (status, body) = api
                .call(Who::A, "DELETE", &format!("/v1/leads/{id}"), None)
                .await;
            assert_eq!(status, 204, "{body}");
            model.leads.remove(&id);
            model.messages.retain(|_, (lead, _)| *lead != id);
        }
        4 if !leads.is_empty() => {
            let lead = pick(rng, &leads).to_owned();
            let subject = model.secret("subject");
            let (status, body) = api
                .call(
                    Who::A,
                    "POST",
                    "/v1/email_messages",
                    Some(json!({ "lead_id": lead, "provider": "manual", "to_email": "x@example.com", "subject": subject })),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            let id = body["id"].as_str().unwrap_or_default().to_owned();
            model.known.push(id.clone());
            model.messages.insert(id, (lead, subject));
        }
        _ => {
            let (status, body) = api.call(Who::A, "GET", "/v1/leads?limit=2", None).await;
            assert_eq!(status, 200, "{body}");
            if let Some(cursor) = body["next_cursor"].as_str() {
                model.cursor = Some(cursor.to_owned());
            }
        }
    }
}

/// A call by someone else that must change nothing of A's and show nothing of A's.
async fn other_step(api: &Api, model: &Model, rng: &mut StdRng) -> (Who, String, u16, Value) {
    let who = *[
        Who::B,
        Who::B,
        Who::B,
        Who::Anonymous,
        Who::Member,
        Who::Viewer,
    ]
    .choose(rng)
    .unwrap_or(&Who::B);
    let id = pick(rng, &model.known).to_owned();
    let me = api.id(who).to_owned();
    let cursor = model.cursor.clone().unwrap_or_default();
    let tables = [
        "leads",
        "email_messages",
        "teams",
        "teamhub_boards",
        "team_members",
    ];
    let table = *tables.choose(rng).unwrap_or(&"leads");
    let mut calls: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/v1/{table}/{id}"), None),
        (
            "PATCH",
            format!("/v1/{table}/{id}"),
            Some(json!({ "name": "pwned" })),
        ),
        ("DELETE", format!("/v1/{table}/{id}"), None),
        (
            "POST",
            "/v1/leads".into(),
            Some(json!({ "id": id, "name": "twin" })),
        ),
        (
            "POST",
            "/v1/email_messages".into(),
            Some(json!({ "lead_id": id, "provider": "manual", "to_email": "x@example.com" })),
        ),
        ("GET", format!("/v1/email_messages?lead_id={id}"), None),
        ("GET", format!("/v1/leads?limit=2&cursor={cursor}"), None),
        ("GET", "/v1/leads".into(), None),
        (
            "PATCH",
            format!("/v1/teams/{}", model.team),
            Some(json!({ "name": "taken", "owner_id": me })),
        ),
        (
            "PATCH",
            format!("/v1/teamhub_boards/{}", model.board),
            Some(json!({ "created_by": me })),
        ),
        (
            "DELETE",
            format!("/v1/teamhub_boards/{}", model.board),
            None,
        ),
        (
            "POST",
            "/v1/teamhub_flow_members".into(),
            Some(json!({ "flow_id": model.board, "user_id": me, "role": "owner" })),
        ),
        (
            "POST",
            "/v1/team_members".into(),
            Some(json!({ "team_id": model.team, "user_id": me, "role": "owner" })),
        ),
        (
            "POST",
            "/v1/subscriptions".into(),
            Some(json!({ "user_id": me, "plan": "Scale", "status": "active" })),
        ),
        (
            "POST",
            "/v1/rpc/increment_outbound_usage".into(),
            Some(json!({ "channel": "email", "amount": -1000 })),
        ),
        (
            "POST",
            "/v1/rpc/increment_workspace_usage".into(),
            Some(json!({ "field": "emails_sent" })),
        ),
        ("POST", "/v1/leads".into(), Some(json!({ "name": "mine" }))),
        ("DELETE", "/v1/account".into(), None),
    ];
    if api.full {
        calls.extend([
            ("POST", "/v1/send-email".into(), Some(json!({ "lead_id": id, "subject": "Hi", "html_body": "</body><" }))),
            ("POST", "/v1/scheduled-emails".into(), Some(json!({ "lead_id": id, "subject": "Hi", "html_body": "x", "scheduled_at": "2030-01-01T09:00:00Z" }))),
            ("POST", "/v1/sequences".into(), Some(json!({ "lead_ids": [id], "blocks": [{ "subject": "Hi", "html_body": "x", "delay_days": 0 }] }))),
            ("GET", format!("/v1/sequences/{id}"), None),
            ("GET", format!("/v1/social/posts/{id}"), None),
        ]);
    }
    let (method, path, body) =
        calls
            .choose(rng)
            .cloned()
            .unwrap_or(("GET", "/v1/leads".into(), None));
    // Deleting the account is the attacker's own business; keep the actors alive after it.
    let (status, reply) = api.call(who, method, &path, body).await;
    if path == "/v1/account" && status == 204 {
        let (_, _) = api
            .call(who, "POST", "/v1/profiles", Some(json!({ "id": me, "email": format!("{}-{me}@example.com", match who { Who::B => "b", Who::Member => "member", _ => "viewer" }) })))
            .await;
    }
    (who, format!("{method} {path}"), status, reply)
}

/// What A can read now: its leads and messages as stored in its partition (a query per
/// table, no cache between; the rest of the partition is not part of the model).
async fn a_view(
    rows: &Rows,
    owner: &str,
) -> (BTreeMap<String, String>, BTreeMap<String, (String, String)>) {
    let mut leads = BTreeMap::new();
    for item in partition_rows(rows, owner, "leads").await {
        let id = item.str("id").unwrap_or_default().to_owned();
        leads.insert(id, item.str("name").unwrap_or_default().to_owned());
    }
    let mut messages = BTreeMap::new();
    for item in partition_rows(rows, owner, "email_messages").await {
        let id = item.str("id").unwrap_or_default().to_owned();
        let lead = item.str("lead_id").unwrap_or_default().to_owned();
        let subject = item.str("subject").unwrap_or_default().to_owned();
        messages.insert(id, (lead, subject));
    }
    (leads, messages)
}

/// Every item of `table` in `owner`'s partition, page by page.
async fn partition_rows(rows: &Rows, owner: &str, table: &str) -> Vec<scaliyo_store::Item> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let query = scaliyo_store::Query::partition(
            scaliyo_store::Index::Table,
            scaliyo_app::layout::owner_partition(owner.parse().expect("a user id")),
        )
        .sort(scaliyo_store::SortCondition::BeginsWith(format!(
            "{table}#"
        )))
        .limit(1000)
        .after(cursor.take());
        let page = rows.store().query(query).await.expect("A's partition");
        items.extend(
            page.items
                .into_iter()
                .filter(|item| item.str(scaliyo_app::layout::TABLE_ATTR) == Some(table)),
        );
        match page.next {
            Some(next) => cursor = Some(next),
            None => return items,
        }
    }
}

async fn run(api: Api, rows: Rows, steps: usize) {
    let seed = std::env::var("HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    println!("hostile model: seed {seed}, {steps} steps (HOSTILE_SEED={seed} replays it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model = Model::default();
    set_up(&api, &mut model).await;
    let a = api.id(Who::A).to_owned();
    let teams = &schema::TEAMS;
    let boards = &schema::TEAMHUB_BOARDS;
    let mut refused = 0usize;
    for step in 0..steps {
        if rng.random_bool(0.3) {
            a_step(&api, &mut model, &mut rng).await;
        } else {
            let (who, call, status, reply) = other_step(&api, &model, &mut rng).await;
            assert!(
                status < 500,
                "step {step} (seed {seed}): {who:?} {call} → {status} {reply}"
            );
            let text = reply.to_string();
            assert!(
                !text.contains("secret-"),
                "step {step} (seed {seed}): {who:?} {call} read A's data: {text}"
            );
            if matches!(who, Who::B | Who::Anonymous) {
                assert!(
                    !text.contains(&a),
                    "step {step} (seed {seed}): {who:?} {call} learned A's user id: {text}"
                );
            }
            if status >= 400 {
                refused += 1;
            }
        }
        let (leads, messages) = a_view(&rows, &a).await;
        assert_eq!(leads, model.leads, "step {step} (seed {seed}): A's leads");
        assert_eq!(
            messages, model.messages,
            "step {step} (seed {seed}): A's messages"
        );
        let team = rows
            .get(teams, None, &model.team)
            .await
            .expect("read")
            .expect("A's team");
        assert_eq!(
            (team["name"].as_str(), team["owner_id"].as_str()),
            (Some(model.team_name.as_str()), Some(a.as_str())),
            "step {step} (seed {seed})"
        );
        let board = rows
            .get(boards, None, &model.board)
            .await
            .expect("read")
            .expect("A's board");
        assert_eq!(
            board["created_by"].as_str(),
            Some(a.as_str()),
            "step {step} (seed {seed})"
        );
    }
    println!(
        "hostile model: {steps} steps, {} leads and {} messages of A's at the end, {refused} of the others' calls refused",
        model.leads.len(),
        model.messages.len()
    );
}

fn steps(default: usize) -> usize {
    std::env::var("HOSTILE_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_tenant_changes_and_learns_nothing_on_the_embedded_store() {
    // In memory: the test is about isolation, and 10,000 steps of fsyncs would be most of
    // its time (durability is tested by the store's own tests).
    let local = RunningLocal::start_on_tmpfs().await;
    let api = Api::new(local.system.router(), local.system.jwt.clone(), true);
    run(api, local.system.access.rows().clone(), steps(10_000)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_tenant_changes_and_learns_nothing_on_dynamodb_local() {
    let Some(config) = scaliyo_tests::emulators::dynamodb().await else {
        return;
    };
    let table = scaliyo_tests::emulators::new_table(&config, "hostile").await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let access = Arc::new(Access::over(Arc::new(table), clock.clone()));
    let blobs_dir = tempfile::tempdir().expect("a directory");
    let blobs = scaliyo_embedded::LocalBlobs::new(
        blobs_dir.path(),
        &["avatars"],
        "http://127.0.0.1:1",
        b"blob key".to_vec(),
        clock.clone(),
    )
    .expect("blobs");
    let storage = scaliyo_app::storage::Storage::new(Arc::new(blobs), Default::default());
    let jwt = LocalJwt::new(b"hostile model secret");
    let router = scaliyo_http::data_api::router(
        access.clone(),
        Arc::new(scaliyo_app::usage::Usage::new(access.clone(), clock)),
        Arc::new(storage),
    )
    .layer(axum::Extension(Arc::new(Authenticator::Local(jwt.clone()))));
    let api = Api::new(router, jwt, false);
    run(api, access.rows().clone(), steps(300)).await;
}
