//! Team Hub end to end over HTTP on the local system, as the frontend drives it
//! (docs/teamhub.md): the system templates every deployment has, a board built from one in
//! one go, the card history the server writes (never the client), the flow-role rules of
//! comments and assignments, and a board saved as the user's own template.

use std::sync::Arc;

use scaliyo_app::board_templates::BoardTemplates;
use scaliyo_app::rows::Rows;
use scaliyo_domain::ids::Role;
use scaliyo_domain::teamhub::SYSTEM_TEMPLATES;
use scaliyo_store::SystemClock;
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::{Value, json};

fn sales_sprint() -> &'static str {
    SYSTEM_TEMPLATES
        .iter()
        .find(|t| t.name == "Sales Sprint")
        .map(|t| t.id)
        .unwrap_or_default()
}

fn names(rows: &Value, column: &str) -> Vec<String> {
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r[column].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A card's history, oldest first, as (action, user).
async fn history(client: &Client, card: &str) -> Vec<(String, String)> {
    let reply = client
        .get(&format!("/v1/teamhub_activity?card_id={card}"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut entries: Vec<(String, String, String)> = reply.body["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["created_at"].as_str().unwrap_or_default().to_owned(),
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["user_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    entries.sort();
    entries.into_iter().map(|(_, a, u)| (a, u)).collect()
}

#[tokio::test]
async fn every_deployment_has_the_three_system_templates_readable_signed_out() {
    let local = RunningLocal::start().await;
    let anonymous = Client::anonymous(&local);
    let reply = anonymous.get("/v1/teamhub_flow_templates").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut found = names(&reply.body["data"], "name");
    found.sort();
    assert_eq!(
        found,
        ["Basic Workflow", "Project Delivery", "Sales Sprint"]
    );
    for template in reply.body["data"].as_array().into_iter().flatten() {
        assert_eq!(template["type"], "system");
        assert!(!template["structure_json"]["lists"][0]["name"].is_null());
    }
    // Seeding again writes nothing: the store holds them.
    let written = BoardTemplates::ensure_system_templates(local.system.access.rows())
        .await
        .expect("seed");
    assert_eq!(written, 0);
}

/// The same seeding on DynamoDB Local (the api function's cold start).
#[tokio::test]
async fn the_system_templates_are_seeded_once_on_dynamodb() {
    let Some(config) = scaliyo_tests::emulators::dynamodb().await else {
        return;
    };
    let table = scaliyo_tests::emulators::new_table(&config, "teamhub").await;
    let rows = Rows::new(Arc::new(table), Arc::new(SystemClock));
    assert_eq!(
        BoardTemplates::ensure_system_templates(&rows).await.ok(),
        Some(3)
    );
    assert_eq!(
        BoardTemplates::ensure_system_templates(&rows).await.ok(),
        Some(0)
    );
    let stored = rows
        .get(
            &scaliyo_domain::schema::TEAMHUB_FLOW_TEMPLATES,
            None,
            sales_sprint(),
        )
        .await
        .expect("read")
        .expect("seeded");
    assert_eq!(stored["structure_json"]["lists"][0]["name"], "Prospects");
}

#[tokio::test]
async fn a_board_from_a_template_its_history_and_a_board_saved_as_a_template() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, Some("ada@example.com"));
    let bob = Client::user(&local, Role::Client, Some("bob@example.com"));
    let cy = Client::user(&local, Role::Client, Some("cy@example.com"));
    let eve = Client::user(&local, Role::Client, Some("eve@example.com"));
    for user in [&ada, &bob, &cy, &eve] {
        user.sign_up().await;
    }

    // Bad requests change nothing.
    let no_name = ada
        .post(
            "/v1/teamhub/boards/from-template",
            json!({ "template_id": sales_sprint() }),
        )
        .await;
    assert_eq!(no_name.status, 400, "{}", no_name.body);
    let unknown = ada
        .post(
            "/v1/teamhub/boards/from-template",
            json!({ "template_id": uuid::Uuid::new_v4(), "name": "X" }),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let blank = ada
        .post(
            "/v1/teamhub/boards/from-template",
            json!({ "template_id": sales_sprint(), "name": "  " }),
        )
        .await;
    assert_eq!(blank.code(), "invalid", "{}", blank.body);
    let boards = ada.get("/v1/teamhub_boards").await;
    assert_eq!(boards.body["data"], json!([]), "{}", boards.body);

    // The board, its lists in order, its starter cards and Ada's owner membership.
    let built = ada
        .post(
            "/v1/teamhub/boards/from-template",
            json!({ "template_id": sales_sprint(), "name": "Q1 sprint" }),
        )
        .await;
    assert_eq!(built.status, 201, "{}", built.body);
    let board = built.body["board"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(built.body["board"]["name"], "Q1 sprint");
    assert_eq!(built.body["board"]["template_id"], sales_sprint());
    assert_eq!(built.body["board"]["created_by"], ada.id());
    let lists = ada
        .get(&format!("/v1/teamhub_lists?board_id={board}"))
        .await;
    let mut stored: Vec<(i64, String)> = lists.body["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|l| {
            (
                l["position"].as_i64().unwrap_or(-1),
                l["name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    stored.sort();
    let stored: Vec<&str> = stored.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(
        stored,
        [
            "Prospects",
            "Contacted",
            "Meeting Booked",
            "Proposal Sent",
            "Won",
            "Lost"
        ]
    );
    let cards = ada
        .get(&format!("/v1/teamhub_cards?board_id={board}"))
        .await;
    assert_eq!(cards.body["data"].as_array().map(Vec::len), Some(3));
    let members = ada
        .get(&format!("/v1/teamhub_flow_members?flow_id={board}"))
        .await;
    assert_eq!(members.body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(members.body["data"][0]["user_id"], ada.id());
    assert_eq!(members.body["data"][0]["role"], "owner");

    let card = built.body["cards"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let contacted = built.body["lists"][1]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        history(&ada, &card).await,
        [("card.created".to_owned(), ada.id().to_owned())]
    );

    // Bob joins as a member, Cy as a viewer.
    for (user, role) in [(&bob, "member"), (&cy, "viewer")] {
        let added = ada
            .post(
                "/v1/teamhub_flow_members",
                json!({ "flow_id": board, "user_id": user.id(), "role": role }),
            )
            .await;
        assert_eq!(added.status, 201, "{}", added.body);
    }

    // Bob moves the card and comments; Ada assigns him and archives it.
    let moved = bob
        .patch(
            &format!("/v1/teamhub_cards/{card}"),
            json!({ "list_id": contacted, "position": 1 }),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let reordered = bob
        .patch(
            &format!("/v1/teamhub_cards/{card}"),
            json!({ "position": 0 }),
        )
        .await;
    assert_eq!(reordered.status, 200, "{}", reordered.body);
    let comment = bob
        .post(
            "/v1/teamhub_comments",
            json!({ "card_id": card, "content": "Called them, follow-up Friday" }),
        )
        .await;
    assert_eq!(comment.status, 201, "{}", comment.body);
    let assigned = ada
        .post(
            "/v1/teamhub_card_members",
            json!({ "card_id": card, "user_id": bob.id() }),
        )
        .await;
    assert_eq!(assigned.status, 201, "{}", assigned.body);
    let archived = ada
        .patch(
            &format!("/v1/teamhub_cards/{card}"),
            json!({ "is_archived": true }),
        )
        .await;
    assert_eq!(archived.status, 200, "{}", archived.body);
    let unassigned = ada
        .delete(&format!(
            "/v1/teamhub_card_members/{}",
            assigned.body["id"].as_str().unwrap_or_default()
        ))
        .await;
    assert!(
        unassigned.status == 204 || unassigned.status == 200,
        "{}",
        unassigned.body
    );
    let actions: Vec<(String, String)> = history(&cy, &card).await;
    assert_eq!(
        actions,
        [
            ("card.created".to_owned(), ada.id().to_owned()),
            ("card.moved".to_owned(), bob.id().to_owned()),
            ("comment.added".to_owned(), bob.id().to_owned()),
            ("member.added".to_owned(), ada.id().to_owned()),
            ("card.archived".to_owned(), ada.id().to_owned()),
            ("member.removed".to_owned(), ada.id().to_owned()),
        ]
    );

    // The history is the server's: nobody writes it, not even the flow's owner.
    let forged = ada
        .post(
            "/v1/teamhub_activity",
            json!({ "card_id": card, "action": "card.created" }),
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(forged.code(), "server_owned");
    // A viewer reads but does not comment; a card goes only to members of its flow; an
    // outsider sees nothing.
    let viewer_comment = cy
        .post(
            "/v1/teamhub_comments",
            json!({ "card_id": card, "content": "hi" }),
        )
        .await;
    assert_eq!(viewer_comment.status, 403, "{}", viewer_comment.body);
    let outsider = ada
        .post(
            "/v1/teamhub_card_members",
            json!({ "card_id": card, "user_id": eve.id() }),
        )
        .await;
    assert_eq!(outsider.status, 400, "{}", outsider.body);
    assert_eq!(
        eve.get(&format!("/v1/teamhub_activity?card_id={card}"))
            .await
            .body["data"],
        json!([])
    );
    // A card stays on its board: a list of another board (Ada's second one) is refused.
    let other = ada
        .post("/v1/teamhub_boards", json!({ "name": "Elsewhere" }))
        .await;
    let other_list = ada
        .post(
            "/v1/teamhub_lists",
            json!({ "board_id": other.body["id"], "name": "Foreign" }),
        )
        .await;
    assert_eq!(other_list.status, 201, "{}", other_list.body);
    let crossed = ada
        .patch(
            &format!("/v1/teamhub_cards/{card}"),
            json!({ "list_id": other_list.body["id"] }),
        )
        .await;
    assert_eq!(crossed.status, 400, "{}", crossed.body);
    // Bob edits only his own comment.
    let comment_id = comment.body["id"].as_str().unwrap_or_default();
    let not_hers = ada
        .patch(
            &format!("/v1/teamhub_comments/{comment_id}"),
            json!({ "content": "edited" }),
        )
        .await;
    assert_eq!(not_hers.status, 403, "{}", not_hers.body);

    // The board as Ada's template: its lists, its open cards where they are now.
    let saved = ada
        .post(
            &format!("/v1/teamhub/boards/{board}/save-as-template"),
            json!({ "name": "My sprint" }),
        )
        .await;
    assert_eq!(saved.status, 201, "{}", saved.body);
    assert_eq!(saved.body["type"], "user");
    assert_eq!(saved.body["created_by"], ada.id());
    let structure = &saved.body["structure_json"];
    assert_eq!(structure["lists"].as_array().map(Vec::len), Some(6));
    let titles: Vec<String> = structure["lists"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| names(&l["cards"], "title"))
        .collect();
    assert_eq!(
        titles.len(),
        2,
        "the archived card is not in it: {titles:?}"
    );
    let template = saved.body["id"].as_str().unwrap_or_default().to_owned();
    // Only Ada sees it and builds from it; Eve may not save a board she cannot see.
    assert_eq!(
        eve.get(&format!("/v1/teamhub_flow_templates/{template}"))
            .await
            .status,
        404
    );
    let foreign = eve
        .post(
            "/v1/teamhub/boards/from-template",
            json!({ "template_id": template, "name": "Mine" }),
        )
        .await;
    assert_eq!(foreign.status, 404, "{}", foreign.body);
    let not_visible = eve
        .post(
            &format!("/v1/teamhub/boards/{board}/save-as-template"),
            json!({ "name": "Stolen" }),
        )
        .await;
    assert_eq!(not_visible.status, 404, "{}", not_visible.body);
    let again = ada
        .post(
            "/v1/teamhub/boards/from-template",
            json!({ "template_id": template, "name": "Q2 sprint" }),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body["cards"].as_array().map(Vec::len), Some(2));

    // A template written through the data API is a board's shape, within bounds.
    let malformed = ada
        .post(
            "/v1/teamhub_flow_templates",
            json!({ "name": "Odd", "type": "user", "structure_json": { "lists": [{ "title": "x" }] } }),
        )
        .await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    let system = ada
        .post(
            "/v1/teamhub_flow_templates",
            json!({ "name": "Mine", "type": "system" }),
        )
        .await;
    assert_eq!(system.status, 403, "{}", system.body);
}

#[tokio::test]
async fn a_board_made_through_the_data_api_has_its_owner_membership() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, Some("ada@example.com"));
    ada.sign_up().await;
    let board = ada
        .post("/v1/teamhub_boards", json!({ "name": "Plain" }))
        .await;
    assert_eq!(board.status, 201, "{}", board.body);
    let id = board.body["id"].as_str().unwrap_or_default();
    let members = ada
        .get(&format!("/v1/teamhub_flow_members?flow_id={id}"))
        .await;
    assert_eq!(members.body["data"][0]["role"], "owner", "{}", members.body);
    // Deleting the board takes the membership with it (ON DELETE CASCADE).
    assert!(ada.delete(&format!("/v1/teamhub_boards/{id}")).await.status < 300);
    let members = ada
        .get(&format!("/v1/teamhub_flow_members?flow_id={id}"))
        .await;
    assert_eq!(members.body["data"], json!([]));
}
