use super::*;
use serde_json::json;

/// The example workflow.
pub fn example() -> Value {
    json!([
        {"id":"t1","type":"trigger.lead_event","config":{"event":"lead.created","filter":{"all":[{"field":"status","op":"eq","value":"New"}]},
          "reentry":"never","exit_on":["email.replied","lead.unsubscribed","email.bounced","status:Converted","status:Lost"],
          "send_window":{"tz":"lead","fallback_tz":"Europe/Berlin","days":[1,2,3,4,5],"start":"09:00","end":"17:00"}},"next":"e1"},
        {"id":"e1","type":"action.send_email","config":{"template_id":"00000000-0000-4000-8000-000000000001"},"next":"w1"},
        {"id":"w1","type":"wait.event","config":{"events":["email.opened","email.clicked"],"message_of":"e1","timeout":{"amount":3,"unit":"days"}},
          "branches":[{"key":"matched","next":"e2"},{"key":"timeout","next":"e3"}]},
        {"id":"e2","type":"action.send_email","config":{"template_id":"00000000-0000-4000-8000-000000000002"},"next":"u1"},
        {"id":"e3","type":"action.send_email","config":{"template_id":"00000000-0000-4000-8000-000000000003"},"next":"u1"},
        {"id":"u1","type":"action.update_lead","config":{"status":"Contacted","score_add":10},"next":null}
    ])
}

fn refused(nodes: Value) -> GraphError {
    Graph::parse(&nodes).expect_err("refused")
}

#[test]
fn the_example_parses() {
    let graph = Graph::parse(&example()).unwrap();
    assert_eq!(graph.trigger().event.as_deref(), Some("lead.created"));
    assert!(graph.exits_on("email.replied"));
    assert!(graph.exits_on("email.unsubscribed"));
    assert!(graph.exits_in_status("Lost"));
    assert!(!graph.exits_in_status("Contacted"));
    assert_eq!(graph.template_ids().len(), 3);
    assert!(matches!(
        graph.node("w1").unwrap().kind,
        NodeKind::WaitEvent(_)
    ));
}

#[test]
fn the_builders_names_are_aliases() {
    let graph = Graph::parse(&json!([
        {"id": "a", "type": "status_change", "config": {"to_status": "Qualified"}, "next": "b"},
        {"id": "b", "type": "time_elapsed", "config": {"amount": 2, "unit": "hours"}, "next": "c"},
        {"id": "c", "type": "update_status", "config": {"status": "Contacted"}, "next": "d"},
        {"id": "d", "type": "send_email", "config": {"subject": "Hi", "html_body": "<p>x</p>"}}
    ]))
    .unwrap();
    assert_eq!(
        graph.trigger().event.as_deref(),
        Some("lead.status_changed")
    );
    assert!(matches!(
        graph.node("b").unwrap().kind,
        NodeKind::WaitDuration(_)
    ));
    assert!(matches!(
        graph.node("c").unwrap().kind,
        NodeKind::UpdateLead(_)
    ));
}

#[test]
fn refusals_name_the_node() {
    let mut no_trigger = example();
    no_trigger.as_array_mut().unwrap().remove(0);
    assert!(refused(no_trigger).reason.contains("exactly one trigger"));

    let mut dangling = example();
    dangling[5]["next"] = json!("zz");
    assert_eq!(refused(dangling).node, "u1");

    let mut unknown = example();
    unknown[3]["type"] = json!("action.launch_rocket");
    assert_eq!(refused(unknown).node, "e2");

    let mut bad_status = example();
    bad_status[5]["config"]["status"] = json!("Won");
    assert_eq!(refused(bad_status).node, "u1");

    let mut two_triggers = example();
    two_triggers[4] = json!({"id":"e3","type":"trigger.manual","next":"u1"});
    assert_eq!(refused(two_triggers).node, "e3");

    let mut bad_window = example();
    bad_window[0]["config"]["send_window"]["start"] = json!("25:00");
    assert_eq!(refused(bad_window).node, "t1");

    let mut not_a_send = example();
    not_a_send[2]["config"]["message_of"] = json!("u1");
    assert_eq!(refused(not_a_send).node, "w1");
}

#[test]
fn a_loop_needs_a_wait() {
    let spin = json!([
        {"id": "t", "type": "trigger.manual", "next": "a"},
        {"id": "a", "type": "action.update_lead", "config": {"score_add": 1}, "next": "b"},
        {"id": "b", "type": "condition", "branches": [
            {"key": "again", "when": {"field": "score", "op": "lt", "value": 100}, "next": "a"},
            {"key": "done", "next": null}]}
    ]);
    let error = refused(spin.clone());
    assert!(error.reason.contains("loop"), "{error}");
    let mut waiting = spin;
    waiting[2]["branches"][0]["next"] = json!("w");
    waiting.as_array_mut().unwrap().push(
        json!({"id": "w", "type": "wait.duration", "config": {"amount": 1, "unit": "days"}, "next": "a"}),
    );
    Graph::parse(&waiting).unwrap();
}

#[test]
fn only_the_last_condition_branch_is_the_else() {
    let nodes = json!([
        {"id": "t", "type": "trigger.manual", "next": "c"},
        {"id": "c", "type": "condition", "branches": [{"key": "else", "next": null}, {"key": "x", "when": {"all": []}, "next": null}]}
    ]);
    assert_eq!(refused(nodes).node, "c");
}

#[test]
fn split_shares_are_stable_and_follow_the_percentages() {
    let mut counts = [0usize; 2];
    for i in 0..10_000 {
        counts[split_branch(&[20, 80], &format!("run-{i}:s:1"))] += 1;
    }
    assert!((1_700..2_300).contains(&counts[0]), "{counts:?}");
    assert_eq!(split_branch(&[50, 50], "x"), split_branch(&[50, 50], "x"));
}

#[test]
fn parsing_any_json_never_panics() {
    for nodes in [
        json!(null),
        json!(3),
        json!([1]),
        json!([{"id": 1}]),
        json!({"a": []}),
        json!([{"id": "t", "type": "condition", "branches": []}]),
        json!([{"id": "t", "type": "trigger.manual", "next": "t"}]),
    ] {
        let _ = Graph::parse(&nodes);
    }
}

#[test]
fn every_documented_node_type_is_known() {
    for kind in NODE_TYPES {
        let raw = RawNode {
            id: "n".into(),
            kind: (*kind).into(),
            config: Value::Null,
            next: None,
            branches: None,
        };
        if let Err(error) = graph::parse_node(&raw) {
            assert!(
                !error.reason.contains("unknown node type"),
                "{kind}: {error}"
            );
        }
    }
}
