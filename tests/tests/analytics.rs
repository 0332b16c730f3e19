//! Live analytics equal a direct recomputation from the rows, for any sequence of sends and
//! events (bots, repeats, out of order), and the scheduled rebuild agrees with both.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use scaliyo_app::analytics::{self, EventKind};
use scaliyo_app::rows::{Row, Rows};
use scaliyo_domain::schema;
use scaliyo_embedded::RedbTable;
use scaliyo_store::SystemClock;
use serde_json::json;

#[derive(Debug, Clone)]
enum Step {
    Send {
        message: usize,
        day: u32,
    },
    Event {
        message: usize,
        click: bool,
        bot: bool,
    },
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        (0..6usize, 1..4u32).prop_map(|(message, day)| Step::Send { message, day }),
        (0..6usize, any::<bool>(), any::<bool>()).prop_map(|(message, click, bot)| Step::Event {
            message,
            click,
            bot
        }),
    ];
    proptest::collection::vec(step, 1..40)
}

type Figures = BTreeMap<String, BTreeMap<&'static str, i64>>;

/// The materialised view's SQL, applied to the generated rows directly.
fn expected(messages: &BTreeMap<usize, String>, events: &[(usize, bool, bool)]) -> Figures {
    let mut out = Figures::new();
    for (id, date) in messages {
        let day = out
            .entry(date.clone())
            .or_insert_with(|| analytics::FIELDS.iter().map(|f| (*f, 0)).collect());
        *day.get_mut("total_sent").unwrap() += 1;
        let human: Vec<&(usize, bool, bool)> = events
            .iter()
            .filter(|(m, _, bot)| m == id && !bot)
            .collect();
        let opens = human.iter().filter(|(_, click, _)| !click).count() as i64;
        let clicks = human.iter().filter(|(_, click, _)| *click).count() as i64;
        *day.get_mut("total_open_events").unwrap() += opens;
        *day.get_mut("total_click_events").unwrap() += clicks;
        *day.get_mut("unique_opens").unwrap() += i64::from(opens > 0);
        *day.get_mut("unique_clicks").unwrap() += i64::from(clicks > 0);
    }
    out
}

fn as_figures(days: &[serde_json::Value]) -> Figures {
    days.iter()
        .map(|d| {
            let figures = analytics::FIELDS
                .iter()
                .map(|f| (*f, d[*f].as_i64().unwrap_or(0)))
                .collect();
            (d["analytics_date"].as_str().unwrap().to_owned(), figures)
        })
        .collect()
}

async fn run(steps: Vec<Step>) -> (Figures, Figures, Figures) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(RedbTable::open(&dir.path().join("a.redb"), Arc::new(SystemClock)).unwrap());
    let rows = Rows::new(store.clone(), Arc::new(SystemClock));
    let owner = scaliyo_domain::ids::OwnerId::new_random();
    let messages_table = &schema::EMAIL_MESSAGES;
    let events_table = &schema::EMAIL_EVENTS;
    let mut messages: BTreeMap<usize, (String, Row)> = BTreeMap::new();
    let mut events = Vec::new();
    for step in steps {
        match step {
            Step::Send { message, day } => {
                if messages.contains_key(&message) {
                    continue;
                }
                let date = format!("2026-11-{:02}", day);
                let row = rows
                    .prepare(
                        messages_table,
                        json!({ "id": uuid::Uuid::new_v4().to_string(), "lead_id": uuid::Uuid::new_v4().to_string(), "owner_id": owner, "provider": "smtp", "to_email": "a@b.c", "created_at": format!("{date}T10:00:00Z") })
                            .as_object()
                            .cloned()
                            .unwrap(),
                    )
                    .unwrap();
                let mut ops = rows.insert_ops(messages_table, None, &row, false).unwrap();
                ops.extend(analytics::on_message_ops(owner, &date));
                store.transact_write_for_test(ops).await;
                messages.insert(message, (date, row));
            }
            Step::Event {
                message,
                click,
                bot,
            } => {
                // An event for a message not sent yet arrives "out of order": it is dropped,
                // as a token for an unknown message records nothing.
                let Some((_, row)) = messages.get(&message) else {
                    continue;
                };
                let event = rows
                    .prepare(
                        events_table,
                        json!({ "message_id": row["id"], "event_type": if click { "click" } else { "open" }, "is_bot": bot }).as_object().cloned().unwrap(),
                    )
                    .unwrap();
                store
                    .transact_write_for_test(
                        rows.insert_ops(events_table, Some(&owner.to_string()), &event, false)
                            .unwrap(),
                    )
                    .await;
                let kind = if click {
                    EventKind::Click
                } else {
                    EventKind::Open
                };
                analytics::on_event(&rows, owner, row, kind, bot)
                    .await
                    .unwrap();
                events.push((message, click, bot));
            }
        }
    }
    let dates: BTreeMap<usize, String> =
        messages.iter().map(|(k, (d, _))| (*k, d.clone())).collect();
    let want = expected(&dates, &events);
    let live = as_figures(
        &analytics::summary(&rows, owner, "2026-11-01", "2026-11-30")
            .await
            .unwrap(),
    );
    let all_days: Vec<String> = (1..4).map(|d| format!("2026-11-{d:02}")).collect();
    let rebuilt = analytics::rebuild(&rows, owner, &all_days).await.unwrap();
    let rebuilt: Figures = rebuilt
        .into_iter()
        .filter(|(_, f)| f.values().any(|v| *v != 0))
        .collect();
    (want, live, rebuilt)
}

trait ForTest {
    async fn transact_write_for_test(&self, ops: Vec<scaliyo_store::WriteOp>);
}

impl ForTest for RedbTable {
    async fn transact_write_for_test(&self, ops: Vec<scaliyo_store::WriteOp>) {
        use scaliyo_store::Table;
        self.transact_write(ops).await.unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn live_counters_equal_a_recomputation_from_the_rows(steps in steps()) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (want, live, rebuilt) = runtime.block_on(run(steps));
        prop_assert_eq!(&live, &want);
        prop_assert_eq!(&rebuilt, &want);
    }
}
