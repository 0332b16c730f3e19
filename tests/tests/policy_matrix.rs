//! The policy matrix: for every table, every operation (select, insert, update, delete) and
//! every kind of actor, the expected allow or deny — written out here from the seed's RLS
//! text, independently of the declaration the server enforces — checked over HTTP against
//! the local system.

use std::collections::BTreeMap;

use scaliyo_app::rows::{Row, Rows};
use scaliyo_domain::ids::Role;
use scaliyo_domain::schema::writes;
use scaliyo_domain::schema::{self, AUTH_USERS, Check, ColumnType, DefaultValue, Scope, Table};
use scaliyo_tests::http_client::{Client, Reply};
use scaliyo_tests::local_server::RunningLocal;
use serde_json::{Value, json};

/// Expected permissions per table, from the seed's RLS policies (S select, I insert,
/// U update, D delete; actors not named may do nothing). `owner` is the user a row belongs
/// to (its creator for shared rows); `member` a member of the row's team; `viewer`,
/// `fmember`, `fadmin` hold that role on the row's Team Hub flow; `invitee` is the invited
/// address.
const EXPECTED: &[(&str, &str)] = &[
    ("profiles", "owner=SIU"),
    // Server-owned (the system writes them; ADR 7, docs/security.md): the owner reads.
    ("subscriptions", "owner=S"),
    ("plans", "owner=S other=S anon=S admin=SIUD"),
    ("config_settings", "admin=SIUD"),
    ("leads", "owner=SIUD"),
    ("import_batches", "owner=SIUD"),
    ("lead_stage_colors", "owner=SIUD"),
    ("lead_color_overrides", "owner=SIUD"),
    ("sender_accounts", "owner=SIUD"),
    ("sender_account_secrets", ""),
    ("email_messages", "owner=SIU"),
    ("email_links", "owner=S"),
    ("email_events", "owner=S"),
    ("email_provider_configs", "owner=SIUD"),
    ("email_templates", "owner=SIUD"),
    ("scheduled_emails", "owner=SIU"),
    ("workflows", "owner=SIUD"),
    ("workflow_executions", "owner=S"),
    ("workspace_ai_usage", "owner=S"),
    ("workspace_usage_counters", "owner=S"),
    ("outbound_usage", "owner=S"),
    ("ai_usage_logs", "owner=SI"),
    ("invoices", "owner=SIU"),
    ("invoice_line_items", "owner=SIUD"),
    ("invoice_packages", "owner=SIUD"),
    ("invoice_package_items", "owner=SIUD"),
    ("social_accounts", "owner=SIUD"),
    ("social_posts", "owner=SIUD"),
    ("social_post_targets", "owner=SIUD"),
    ("social_post_events", "owner=S"),
    ("tracking_links", "owner=SD"),
    ("tracking_events", "owner=S"),
    ("blog_categories", "owner=S other=S anon=S admin=SIUD"),
    ("blog_posts", "owner=SIUD"),
    ("ai_prompts", "owner=S other=S admin=SIUD"),
    ("user_prompts", "owner=SIUD"),
    // Kept by the server as a prompt changes (issue 20: prompt history): the owner reads.
    ("user_prompt_versions", "owner=S"),
    ("guest_post_outreach", "owner=SIUD"),
    ("guest_contributors", "owner=SIUD"),
    ("teams", "owner=SIUD member=S"),
    ("team_members", "owner=SID member=SID"),
    ("team_invites", "owner=SI member=I invitee=SU"),
    ("teamhub_boards", "owner=SIUD viewer=S fmember=S fadmin=SU"),
    ("teamhub_lists", "owner=SIUD viewer=S fmember=S fadmin=SIUD"),
    (
        "teamhub_cards",
        "owner=SIUD viewer=S fmember=SIUD fadmin=SIUD",
    ),
    (
        "teamhub_comments",
        "owner=SIUD viewer=S fmember=SI fadmin=SI",
    ),
    ("teamhub_activity", "owner=S viewer=S fmember=S fadmin=S"),
    (
        "teamhub_card_members",
        "owner=SID viewer=S fmember=SID fadmin=SID",
    ),
    (
        "teamhub_flow_members",
        "owner=SIUD viewer=S fmember=S fadmin=SIUD",
    ),
    ("teamhub_invites", "owner=SIUD fadmin=SIUD invitee=SU"),
    // Members may not link a lead they cannot see (foreign keys point at visible rows).
    (
        "teamhub_item_leads",
        "owner=SIUD viewer=S fmember=SUD fadmin=SUD",
    ),
    (
        "teamhub_flow_templates",
        "owner=SIUD other=S anon=S admin=S",
    ),
    ("integrations", "owner=SIUD"),
    ("webhooks", "owner=SIUD"),
    ("strategy_tasks", "owner=SIUD member=SU"),
    ("strategy_notes", "owner=SIUD member=SI"),
    ("support_sessions", "owner=SIU"),
    ("support_audit_logs", "owner=S"),
    // Written by the server with each audited change (issue 20): owners and team members read.
    ("audit_logs", "owner=S member=S"),
];

const TEAM_TABLES: &[&str] = &[
    "teams",
    "team_members",
    "team_invites",
    "strategy_tasks",
    "strategy_notes",
    "audit_logs",
];

fn is_flow_table(table: &Table) -> bool {
    table.name.starts_with("teamhub_") && table.name != "teamhub_flow_templates"
}

fn actors_for(table: &Table) -> Vec<&'static str> {
    let mut actors = vec!["owner", "other", "anon", "admin"];
    if TEAM_TABLES.contains(&table.name) {
        actors.push("member");
    }
    if is_flow_table(table) {
        actors.extend(["viewer", "fmember", "fadmin"]);
    }
    if ["team_invites", "teamhub_invites"].contains(&table.name) {
        actors.push("invitee");
    }
    actors
}

fn expected(table: &str, actor: &str) -> String {
    let spec = EXPECTED
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, s)| *s)
        .unwrap_or_else(|| panic!("no expectation for {table}"));
    spec.split_whitespace()
        .find_map(|part| part.strip_prefix(&format!("{actor}=")))
        .map(str::to_owned)
        .unwrap_or_default()
}

struct World {
    rows: Rows,
    owner: Client,
    team: Option<String>,
    /// One board (and card) per world, so a card's list and board agree.
    board: tokio::sync::Mutex<Option<String>>,
    card: tokio::sync::Mutex<Option<String>>,
}

fn unique_text() -> String {
    format!("fixture-{}", uuid::Uuid::new_v4().simple())
}

/// A value for a required column that no foreign key or scope fills.
fn filler(column: &schema::Column) -> Value {
    // Columns the service checks beyond the seed's CHECKs (webhook URLs and events).
    match column.name {
        "url" => return json!(format!("https://hooks.example.com/{}", unique_text())),
        "trigger_event" => return json!("email.sent"),
        _ => {}
    }
    match (column.ty, column.check) {
        (_, Check::OneOf(values)) => json!(values[0]),
        (_, Check::Range { min, .. }) => json!(min),
        (ColumnType::Text, _) => json!(unique_text()),
        (ColumnType::Int | ColumnType::BigInt, _) => json!(1),
        (ColumnType::Real, _) => json!(0.5),
        (ColumnType::Boolean, _) => json!(false),
        (ColumnType::Jsonb, _) => json!({}),
        (ColumnType::TextArray, _) => json!([]),
        (ColumnType::Date, _) => json!("2026-12-01"),
        (ColumnType::Timestamptz, _) => json!("2026-12-01T00:00:00Z"),
        (ColumnType::Uuid, _) => json!(uuid::Uuid::new_v4().to_string()),
    }
}

/// Creates a valid row of `table` owned by the world's owner, with its parents, through the
/// repository (as the service role would).
fn create_fixture<'a>(
    world: &'a World,
    table: &'static Table,
) -> futures::future::BoxFuture<'a, Row> {
    Box::pin(async move {
        let owner = world.owner.id().to_owned();
        if table.name == "profiles" {
            return world
                .rows
                .get(table, Some(&owner), &owner)
                .await
                .unwrap()
                .expect("the owner signed up");
        }
        let mut input = Row::new();
        for column in table.columns {
            if matches!(table.scope, Scope::Owner(c) if c == column.name) {
                input.insert(column.name.into(), json!(owner));
            } else if let Some(fk) = table.foreign_key(column.name) {
                let required = column.not_null || column.primary_key;
                let to_user = fk.table == AUTH_USERS || fk.table == "profiles";
                if !(required || to_user || column.name == "team_id") {
                    continue;
                }
                let value = if to_user {
                    json!(owner)
                } else if fk.table == "teams" && world.team.is_some() {
                    json!(world.team.clone())
                } else if fk.table == "teamhub_boards" && world.board.lock().await.is_some() {
                    json!(world.board.lock().await.clone())
                } else if fk.table == "teamhub_cards" && world.card.lock().await.is_some() {
                    json!(world.card.lock().await.clone())
                } else {
                    let parent_table = schema::table(fk.table).unwrap();
                    let parent = create_fixture(world, parent_table).await;
                    parent[fk.references].clone()
                };
                input.insert(column.name.into(), value);
            } else if column.name == "email"
                && ["team_invites", "teamhub_invites"].contains(&table.name)
            {
                input.insert(
                    column.name.into(),
                    json!(format!("invitee-{owner}@example.com")),
                );
            } else if (column.not_null || column.primary_key)
                && matches!(column.default, DefaultValue::None)
            {
                input.insert(column.name.into(), filler(column));
            }
        }
        let parent_owner = matches!(table.scope, Scope::OwnerOf(_)).then_some(owner.as_str());
        let row = world
            .rows
            .create(table, parent_owner, input)
            .await
            .unwrap_or_else(|e| panic!("fixture for {}: {e}", table.name));
        if table.name == "teamhub_boards" {
            world
                .board
                .lock()
                .await
                .get_or_insert_with(|| row["id"].as_str().unwrap_or_default().to_owned());
        }
        if table.name == "teamhub_cards" {
            world
                .card
                .lock()
                .await
                .get_or_insert_with(|| row["id"].as_str().unwrap_or_default().to_owned());
        }
        row
    })
}

/// The board a Team Hub row belongs to.
async fn board_of(world: &World, table: &Table, row: &Row) -> String {
    if table.name == "teamhub_boards" {
        return row["id"].as_str().unwrap().to_owned();
    }
    for column in ["board_id", "flow_id"] {
        if let Some(board) = row.get(column).and_then(Value::as_str) {
            return board.to_owned();
        }
    }
    let card_id = row
        .get("card_id")
        .or(row.get("item_id"))
        .and_then(Value::as_str)
        .expect("a card reference");
    let card = world
        .rows
        .get(&schema::TEAMHUB_CARDS, None, card_id)
        .await
        .unwrap()
        .unwrap();
    card["board_id"].as_str().unwrap().to_owned()
}

/// Whether a client may not choose this column's value (docs/security.md): the system's,
/// an admin's, the caller's own id, or fixed at the server's default.
fn server_chosen(table: &Table, column: &str) -> bool {
    writes::SERVER_COLUMNS
        .iter()
        .any(|(t, _, columns)| *t == table.name && columns.contains(&column))
        || writes::author_columns(table.name).any(|c| c == column)
        || writes::FIXED_COLUMNS
            .iter()
            .any(|(t, columns)| *t == table.name && columns.contains(&column))
        || writes::STATE_RULES
            .iter()
            .any(|r| r.table == table.name && r.column == column)
}

/// A body for inserting another row like the fixture (same team or board, fresh unique
/// values, new parents where a unique tuple needs one), as `actor` would send it: columns the
/// server chooses are left to it, states start where a client may start them, and an author
/// column names the actor unless the only insert rule is "this column is the caller" (then it
/// names the fixture's owner, so only the owner may make such a row).
async fn insert_body(world: &World, table: &'static Table, fixture: &Row, actor: &str) -> Value {
    let mut body = fixture.clone();
    for column in table.columns {
        // A fixed column keeps what the insert chose, unless the server's default fills it
        // (a support session's window).
        let chosen_at_insert = !["started_at", "expires_at"].contains(&column.name)
            && writes::FIXED_COLUMNS
                .iter()
                .any(|(t, columns)| *t == table.name && columns.contains(&column.name));
        let author = writes::author_columns(table.name).any(|c| c == column.name);
        if server_chosen(table, column.name) && !chosen_at_insert && !author {
            body.remove(column.name);
        }
        // Only the author may insert (no team or flow rule admits others).
        let own_rule = table
            .policy
            .iter()
            .filter(|rule| rule.ops.contains(&schema::Op::Insert))
            .all(|rule| {
                matches!(rule.who, schema::Who::Owner(c) | schema::Who::SuperAdmin(c) if c == column.name)
            });
        if author && !own_rule && !actor.is_empty() {
            body.insert(column.name.into(), json!(actor));
        }
    }
    for rule in writes::STATE_RULES.iter().filter(|r| r.table == table.name) {
        let start = match rule.start[0] {
            "true" => json!(true),
            other => json!(other),
        };
        body.insert(rule.column.into(), start);
    }
    if let Some(pk) = table.primary_key()
        && pk.default != DefaultValue::None
    {
        body.remove(pk.name);
    }
    body.remove(scaliyo_app::layout::ROWID);
    for unique in table.uniques {
        for part in unique.parts {
            let column = table.column(part.column()).unwrap();
            if matches!(table.scope, Scope::Owner(c) if c == column.name) {
                continue;
            }
            let value = match table.foreign_key(column.name) {
                // A card is assigned only to a member of its flow: the fixture's (the board's
                // owner) is kept, and the new card made for `card_id` makes the tuple new.
                Some(_) if table.name == "teamhub_card_members" && column.name == "user_id" => {
                    continue;
                }
                // Users are named freely: a fresh one makes the tuple new.
                Some(fk) if fk.table == AUTH_USERS || fk.table == "profiles" => {
                    json!(uuid::Uuid::new_v4().to_string())
                }
                Some(fk) if ["teams", "teamhub_boards"].contains(&fk.table) => continue,
                Some(fk) => {
                    let parent = create_fixture(world, schema::table(fk.table).unwrap()).await;
                    parent[fk.references].clone()
                }
                // A profile's address is its owner's verified one: kept.
                None if writes::VERIFIED_EMAIL_COLUMNS.contains(&(table.name, column.name)) => {
                    continue;
                }
                None if column.name.contains("email") => {
                    json!(format!("{}@example.com", unique_text()))
                }
                None if column.ty == ColumnType::Text && column.check == Check::None => {
                    json!(unique_text())
                }
                None => continue,
            };
            body.insert(column.name.into(), value);
        }
    }
    if table.name == "config_settings" {
        body.insert("key".into(), json!(unique_text()));
    }
    Value::Object(body)
}

/// A harmless change for an update: it always changes something a client may change, so a
/// check of an allowed update proves a write and a denied one can be re-read as unchanged.
fn update_body(table: &Table, fixture: &Row) -> Value {
    let free = |column: &schema::Column| {
        !(column.primary_key
            || table.foreign_key(column.name).is_some()
            || matches!(table.scope, Scope::Owner(c) | Scope::OwnerOf(c) if c == column.name)
            || table
                .uniques
                .iter()
                .any(|u| u.parts.iter().any(|p| p.column() == column.name))
            || server_chosen(table, column.name)
            || schema::is_secret(table.name, column.name)
            || column.name.ends_with("_at")
            || column.name == "email"
            || column.name == "type")
    };
    for column in table.columns.iter().filter(|c| free(c)) {
        if column.ty == ColumnType::Text && column.check == Check::None {
            return json!({ column.name: "changed" });
        }
    }
    for column in table.columns.iter().filter(|c| free(c)) {
        match (column.ty, column.check) {
            (ColumnType::Int, Check::None) => {
                return json!({ column.name: fixture[column.name].as_i64().unwrap_or(0) + 1 });
            }
            (ColumnType::Boolean, _) => {
                return json!({ column.name: !fixture[column.name].as_bool().unwrap_or(false) });
            }
            (ColumnType::Text, Check::OneOf(values)) => {
                // Never towards "owner": only a flow's owner grants that (its own check).
                let other = values
                    .iter()
                    .find(|v| fixture[column.name] != **v && **v != "owner");
                if let Some(other) = other {
                    return json!({ column.name: other });
                }
            }
            (ColumnType::Jsonb, _) => return json!({ column.name: { "changed": true } }),
            _ => {}
        }
    }
    // Tables of keys only (a card's members): move a timestamp a client may set.
    let moved = table.columns.iter().find(|c| {
        c.ty == ColumnType::Timestamptz && !server_chosen(table, c.name) && !c.primary_key
    });
    match moved {
        Some(column) => json!({ column.name: "2027-01-01T00:00:00.000000Z" }),
        None => panic!(
            "{}: no column a client may change was found for the update check",
            table.name
        ),
    }
}

fn allowed(table: &str, op: char, actor: &str, reply: &Reply) -> bool {
    match reply.status {
        200 | 201 | 204 => true,
        // The owner signed up already: a second profile of the same user is a conflict, met
        // after the insert rule admitted it (a denied insert is a 403 before any write).
        409 if table == "profiles" && actor == "owner" && op == 'I' => true,
        // Elsewhere a conflict is not a permission: the bodies use fresh unique values, so a
        // 409 counts as a mismatch when an allow was expected.
        401 | 403 | 404 | 409 => false,
        400 if reply.code() == "invalid_reference" => false,
        other => panic!("{table} {op} as {actor}: unexpected {other} {}", reply.body),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_operation_and_actor_is_allowed_or_denied_as_the_seed_says() {
    let local = RunningLocal::start().await;
    let rows = local.system.access.rows().clone();
    let mut checked = 0;
    let mut mismatches = Vec::new();
    let mut per_actor: BTreeMap<&str, usize> = BTreeMap::new();

    for table in schema::TABLES {
        let actors = actors_for(table);
        for actor in &actors {
            for op in ['S', 'U', 'I', 'D'] {
                // A fresh world per check: deletes and inserts must not leak into the next.
                let address = format!("owner-{}@example.com", uuid::Uuid::new_v4().simple());
                let owner = Client::user(&local, Role::Client, Some(&address));
                owner.sign_up().await;
                if table.name.starts_with("support_") {
                    let profiles = &schema::PROFILES;
                    rows.update(
                        profiles,
                        Some(owner.id()),
                        owner.id(),
                        json!({ "is_super_admin": true })
                            .as_object()
                            .unwrap()
                            .clone(),
                    )
                    .await
                    .unwrap();
                }
                let mut world = World {
                    rows: rows.clone(),
                    owner: owner.clone(),
                    team: None,
                    board: Default::default(),
                    card: Default::default(),
                };
                let member = Client::user(&local, Role::Client, None);
                member.sign_up().await;
                if TEAM_TABLES.contains(&table.name) {
                    let teams = &schema::TEAMS;
                    let team = rows
                        .create(
                            teams,
                            None,
                            json!({ "name": "Team", "owner_id": owner.id() })
                                .as_object()
                                .unwrap()
                                .clone(),
                        )
                        .await
                        .unwrap();
                    let team_id = team["id"].as_str().unwrap().to_owned();
                    let members = &schema::TEAM_MEMBERS;
                    rows.create(
                        members,
                        None,
                        json!({ "team_id": team_id, "user_id": member.id() })
                            .as_object()
                            .unwrap()
                            .clone(),
                    )
                    .await
                    .unwrap();
                    world.team = Some(team_id);
                }
                let fixture = if table.name == "teams" {
                    rows.get(table, None, world.team.as_deref().unwrap())
                        .await
                        .unwrap()
                        .unwrap()
                } else {
                    create_fixture(&world, table).await
                };
                let id = fixture
                    .get(
                        table
                            .primary_key()
                            .map(|c| c.name)
                            .unwrap_or(scaliyo_app::layout::ROWID),
                    )
                    .and_then(Value::as_str)
                    .unwrap()
                    .to_owned();
                let client = match *actor {
                    "owner" => owner.clone(),
                    "other" => Client::user(&local, Role::Client, None),
                    "anon" => Client::anonymous(&local),
                    "admin" => Client::user(&local, Role::Admin, None),
                    "member" => member.clone(),
                    "invitee" => Client::user(
                        &local,
                        Role::Client,
                        Some(&format!("invitee-{}@example.com", owner.id())),
                    ),
                    flow_role => {
                        let client = Client::user(&local, Role::Client, None);
                        let board = board_of(&world, table, &fixture).await;
                        let role = match flow_role {
                            "viewer" => "viewer",
                            "fmember" => "member",
                            _ => "admin",
                        };
                        let members = &schema::TEAMHUB_FLOW_MEMBERS;
                        rows.create(
                            members,
                            None,
                            json!({ "flow_id": board, "user_id": client.id(), "role": role })
                                .as_object()
                                .unwrap()
                                .clone(),
                        )
                        .await
                        .unwrap();
                        client
                    }
                };
                let path = format!("/v1/{}/{}", table.name, id);
                let reply = match op {
                    'S' => client.get(&path).await,
                    'U' => client.patch(&path, update_body(table, &fixture)).await,
                    'I' => {
                        client
                            .post(
                                &format!("/v1/{}", table.name),
                                insert_body(&world, table, &fixture, client.id()).await,
                            )
                            .await
                    }
                    _ => client.delete(&path).await,
                };
                let got = allowed(table.name, op, actor, &reply);
                let want = expected(table.name, actor).contains(op);
                // The verdict is the store's, not only the status: a denied update or delete
                // left the row as it was; an allowed one changed or removed it.
                let partition = match table.scope {
                    Scope::Owner(_) | Scope::OwnerOf(_) => Some(owner.id()),
                    Scope::Shared => None,
                };
                let stored = rows.get(table, partition, &id).await.unwrap();
                let held = match (op, got) {
                    ('U', false) | ('D', false) | ('S', _) | ('I', _) => {
                        stored.as_ref() == Some(&fixture)
                    }
                    ('U', true) => stored.as_ref().is_some_and(|row| {
                        update_body(table, &fixture)
                            .as_object()
                            .is_some_and(|patch| patch.iter().all(|(k, v)| &row[k] == v))
                    }),
                    _ => stored.is_none(),
                };
                if !held {
                    mismatches.push(format!(
                        "{} {op} as {actor}: answered {} but the stored row says otherwise: {stored:?}",
                        table.name, reply.status
                    ));
                }
                checked += 1;
                *per_actor.entry(actor).or_default() += 1;
                if got != want {
                    mismatches.push(format!(
                        "{} {op} as {actor}: expected {}, got {} {}",
                        table.name,
                        if want { "allow" } else { "deny" },
                        reply.status,
                        reply.body
                    ));
                }
            }
        }
    }
    println!(
        "policy matrix: {checked} checks over {} tables ({per_actor:?})",
        schema::TABLES.len()
    );
    let planned: usize = schema::TABLES.iter().map(|t| actors_for(t).len() * 4).sum();
    assert_eq!(
        checked, planned,
        "every table, actor and operation is checked"
    );
    assert!(checked > 1000, "{checked} checks");
    assert!(
        mismatches.is_empty(),
        "{} of {checked} checks disagree with the seed:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
