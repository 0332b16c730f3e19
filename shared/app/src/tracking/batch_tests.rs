//! The batched apply against the hit-at-a-time apply, on the embedded store: for any hits on
//! one message (opens, clicks on two links, the honeypot, a record of the wrong kind; people,
//! gateways and scanners; seconds or a minute apart), applying them together stores the same
//! rows, verdicts, link counts, day counters and first flags as applying them one after the
//! other — also when part of them was applied before (a replay after a crash). And after a
//! drain in batches cut anywhere, the live day figures equal the materialised view's
//! recomputation from the stored rows.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;
use scaliyo_domain::tracking::Hit;
use scaliyo_embedded::RedbTable;
use scaliyo_store::{Item, ManualClock, WriteOp};

use super::{HitOutcome, HitRecord, RecordKind, Token, Tracking, event_id_at};
use crate::analytics::counter_key;
use crate::layout;
use crate::rows::Rows;
use crate::send::token_key;

const MESSAGE: &str = "0199a1b2-0000-7000-8000-000000000001";
const LINKS: [&str; 2] = [
    "0199a1b2-0000-7000-8000-0000000000a1",
    "0199a1b2-0000-7000-8000-0000000000a2",
];
/// The open's token (without a send time: the message is read for it), the links', the
/// honeypot's.
const TOKENS: [&str; 4] = [
    "open-token-000000000000",
    "link-token-a00000000000",
    "link-token-b00000000000",
    "honeypot-token-00000000",
];
const AGENTS: [Option<&str>; 4] = [
    Some(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
    ),
    Some("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)"),
    Some("python-requests/2.31"),
    None,
];
const ADDRESSES: [&str; 4] = ["203.0.113.7", "203.0.113.8", "198.51.100.20", "2001:db8::5"];

fn sent_at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
}

struct Fixture {
    tracking: Tracking,
    rows: Rows,
    owner: OwnerId,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let clock = Arc::new(ManualClock::new(sent_at() + Duration::hours(1)));
        let table = RedbTable::open(&dir.path().join("store.redb"), clock.clone())
            .expect("the embedded store opens");
        let rows = Rows::new(Arc::new(table), clock.clone());
        let owner: OwnerId = "0199a1b2-0000-7000-8000-0000000000ff"
            .parse()
            .expect("an owner id");
        let owner_text = owner.to_string();
        let mut ops = vec![WriteOp::put(
            Item::new(&layout::row_key(
                &schema::EMAIL_MESSAGES,
                Some(&owner_text),
                MESSAGE,
            ))
            .with(layout::TABLE_ATTR, schema::EMAIL_MESSAGES.name)
            .with("id", MESSAGE)
            .with("created_at", crate::rows::timestamp_text(sent_at())),
        )];
        for link in LINKS {
            ops.push(WriteOp::put(
                Item::new(&layout::row_key(
                    &schema::EMAIL_LINKS,
                    Some(&owner_text),
                    link,
                ))
                .with(layout::TABLE_ATTR, schema::EMAIL_LINKS.name)
                .with("id", link)
                .with("click_count", 0),
            ));
        }
        for (n, token) in TOKENS.iter().enumerate() {
            let mut item = Item::new(&token_key(token))
                .with("kind", if n == 0 { "open" } else { "click" })
                .with("owner", owner_text.as_str())
                .with("message_id", MESSAGE)
                .with("email", "ada@example.com");
            if n > 0 {
                item.set("sent_at", sent_at().timestamp());
                item.set("destination", "https://example.com/pricing");
            }
            if let Some(link) = LINKS.get(n.wrapping_sub(1)).filter(|_| n > 0) {
                item.set("link_id", *link);
            }
            if n == 3 {
                item.set("honeypot", true);
            }
            ops.push(WriteOp::put(item));
        }
        rows.store()
            .transact_write(ops)
            .await
            .expect("the fixture is stored");
        Self {
            tracking: Tracking::new(rows.clone(), clock),
            rows,
            owner,
            _dir: dir,
        }
    }

    /// The first link deleted (with its message on the way out): its clicks keep their
    /// events, and count in no link.
    async fn without_first_link(self) -> Self {
        let key = layout::row_key(
            &schema::EMAIL_LINKS,
            Some(&self.owner.to_string()),
            LINKS[0],
        );
        self.rows
            .store()
            .transact_write(vec![WriteOp::delete(key)])
            .await
            .expect("the link is deleted");
        self
    }

    async fn group(&self, records: &[HitRecord]) -> Vec<(Arc<Token>, HitRecord)> {
        let mut group = Vec::new();
        for record in records {
            let token = self
                .tracking
                .resolve(&record.token)
                .await
                .expect("the token resolves")
                .expect("the token is known");
            group.push((token, record.clone()));
        }
        group
    }

    /// Everything applying hits may have written: the event rows, the links, the day's
    /// counters, the message (its first flags).
    async fn state(&self, records: &[HitRecord]) -> Vec<Option<Item>> {
        let owner = self.owner.to_string();
        let mut keys = vec![
            layout::row_key(&schema::EMAIL_MESSAGES, Some(&owner), MESSAGE),
            counter_key(self.owner, &crate::rows::timestamp_text(sent_at())[..10]),
        ];
        keys.extend(
            LINKS
                .iter()
                .map(|link| layout::row_key(&schema::EMAIL_LINKS, Some(&owner), link)),
        );
        keys.extend(records.iter().filter_map(|record| {
            let id = record.event_id.as_deref()?;
            Some(layout::row_key(&schema::EMAIL_EVENTS, Some(&owner), id))
        }));
        let mut state = Vec::new();
        for key in keys {
            state.push(self.rows.store().get(&key).await.expect("a read"));
        }
        state
    }
}

/// One generated hit: which token, seconds after the previous hit, agent, address, HEAD.
type Generated = (usize, i64, usize, usize, bool);

fn records(generated: &[Generated]) -> Vec<HitRecord> {
    let mut at = sent_at() + Duration::hours(1);
    generated
        .iter()
        .map(|&(token, gap, agent, address, head)| {
            at += Duration::milliseconds(gap);
            let hit = Hit {
                kind: None,
                method: if head { "HEAD" } else { "GET" },
                user_agent: AGENTS[agent],
                ip: ADDRESSES[address].parse().ok(),
                purpose: None,
                seconds_since_sent: None,
            };
            // Token 4 is a click recorded on the open's token: not tracked.
            let (kind, token) = match token {
                0 => (RecordKind::Open, TOKENS[0]),
                4 => (RecordKind::Click, TOKENS[0]),
                n => (RecordKind::Click, TOKENS[n]),
            };
            let mut record = HitRecord::new(kind, token, &hit, at);
            record.event_id = Some(event_id_at(at));
            record
        })
        .collect()
}

fn hits() -> impl Strategy<Value = Vec<Generated>> {
    // Gaps from the same millisecond to 70 s (past the history's minute).
    let gap = prop_oneof![0i64..50, 0i64..15_000, 55_000i64..70_000];
    prop::collection::vec(
        (
            0usize..5,
            gap,
            0usize..4,
            0usize..4,
            prop::bool::weighted(0.1),
        ),
        1..130,
    )
}

async fn compare(generated: Vec<Generated>, applied_before: usize) {
    compare_on(generated, applied_before, false).await;
}

async fn compare_on(generated: Vec<Generated>, applied_before: usize, link_gone: bool) {
    let records = records(&generated);
    let fixture = || async {
        let fixture = Fixture::new().await;
        if link_gone {
            fixture.without_first_link().await
        } else {
            fixture
        }
    };
    let one_by_one = fixture().await;
    let group = one_by_one.group(&records).await;
    let expected = one_by_one
        .tracking
        .apply_one_by_one(&group)
        .await
        .expect("applied one by one");

    let batched = fixture().await;
    let group = batched.group(&records).await;
    let replayed = applied_before.min(group.len());
    let before = batched
        .tracking
        .apply_one_by_one(&group[..replayed])
        .await
        .expect("the first part applied");
    let outcomes = batched
        .tracking
        .apply_message(&group)
        .await
        .expect("applied together");

    let mut expected_outcomes: Vec<HitOutcome> = before
        .iter()
        .map(|outcome| match outcome {
            HitOutcome::Stored(_) | HitOutcome::Duplicate => HitOutcome::Duplicate,
            HitOutcome::NotTracked => HitOutcome::NotTracked,
        })
        .collect();
    expected_outcomes.extend(expected[replayed..].iter().cloned());
    assert_eq!(outcomes, expected_outcomes);
    assert_eq!(
        batched.state(&records).await,
        one_by_one.state(&records).await
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn hits_applied_together_are_stored_as_one_by_one(generated in hits()) {
        runtime().block_on(compare(generated, 0));
    }

    #[test]
    fn a_batch_applied_again_after_part_of_it_counts_the_rest_once(
        generated in hits(),
        applied_before in 0usize..130,
    ) {
        runtime().block_on(compare(generated, applied_before));
    }
}

/// The journal applied as the applier does it — in batches cut anywhere, the first batch
/// applied again at the end when `replay` (a crash before the checkpoint) — then the live day
/// figures against the materialised view's recomputation from the stored rows.
async fn drained_figures_equal_the_views(
    generated: Vec<Generated>,
    cuts: Vec<usize>,
    replay: bool,
) {
    let fixture = Fixture::new().await;
    let records = records(&generated);
    let mut cuts: Vec<usize> = cuts.into_iter().map(|cut| cut.min(records.len())).collect();
    cuts.extend([0, records.len()]);
    cuts.sort_unstable();
    cuts.dedup();
    for batch in cuts.windows(2) {
        fixture
            .tracking
            .apply(&records[batch[0]..batch[1]])
            .await
            .expect("a batch applied");
    }
    if replay && cuts.len() > 1 {
        let again = fixture
            .tracking
            .apply(&records[..cuts[1]])
            .await
            .expect("the batch applied again");
        assert_eq!(again.stored, 0, "a replayed batch stores nothing new");
    }
    let date = crate::rows::timestamp_text(sent_at())[..10].to_owned();
    let live = fixture
        .rows
        .store()
        .get(&counter_key(fixture.owner, &date))
        .await
        .expect("a read")
        .unwrap_or_else(|| Item::new(&counter_key(fixture.owner, &date)));
    let rebuilt =
        crate::analytics::rebuild(&fixture.rows, fixture.owner, std::slice::from_ref(&date))
            .await
            .expect("recomputed from the rows");
    // `total_sent` is counted by the send, which the fixture does not make.
    for field in crate::analytics::FIELDS
        .iter()
        .filter(|f| **f != "total_sent")
    {
        assert_eq!(
            live.i64(field).unwrap_or(0),
            rebuilt[&date][field],
            "{field}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn live_figures_after_a_drain_equal_the_views_recomputation(
        generated in hits(),
        cuts in prop::collection::vec(0usize..130, 0..4),
        replay in any::<bool>(),
    ) {
        runtime().block_on(drained_figures_equal_the_views(generated, cuts, replay));
    }
}

#[test]
fn a_message_with_more_hits_than_a_transaction_holds_is_stored_in_several_commits() {
    // 260 people's clicks a minute apart on alternate links: every one stored and counted.
    let generated: Vec<Generated> = (0..260).map(|n| (1 + n % 2, 61_000, 0, 0, false)).collect();
    runtime().block_on(compare(generated, 0));
}

#[test]
fn clicks_on_a_deleted_link_keep_their_events_when_applied_together() {
    let generated: Vec<Generated> = (0..12).map(|n| (1 + n % 2, 61_000, 0, 0, false)).collect();
    runtime().block_on(compare_on(generated, 0, true));
}
