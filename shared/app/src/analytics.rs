//! `email_analytics_summary` with the materialised view's exact semantics — per owner and DATE
//! of the message's `created_at`: `total_sent` (messages), `unique_opens` / `unique_clicks`
//! (messages with at least one non-bot event of that type), `total_open_events` /
//! `total_click_events` (non-bot events) — kept current as events arrive, and rebuilt from the
//! raw rows every 10 minutes to correct any drift.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;
use scaliyo_store::{
    Condition, Index, Item, Key, Query, SortCondition, StoreError, Update, WriteOp,
};
use serde_json::{Value, json};

use crate::layout;
use crate::rows::{ListRequest, Row, RowError, Rows};

pub const FIELDS: [&str; 5] = [
    "total_sent",
    "unique_opens",
    "unique_clicks",
    "total_open_events",
    "total_click_events",
];

pub fn counter_key(owner: OwnerId, date: &str) -> Key {
    Key::new(layout::owner_partition(owner), format!("analytics#{date}"))
}

/// Which owners had activity on a day: the rebuild's work list.
pub fn active_key(date: &str, owner: OwnerId) -> Key {
    Key::new(format!("ANALYTICS#{date}"), owner.to_string())
}

/// The date of a message, from its `created_at`.
pub fn message_date(message: &Row) -> Option<String> {
    message["created_at"]
        .as_str()
        .map(|t| t.chars().take(10).collect())
}

/// The actions that count a new message (in the transaction that records it).
pub fn on_message_ops(owner: OwnerId, date: &str) -> Vec<WriteOp> {
    vec![
        WriteOp::update(counter_key(owner, date), Update::new().add("total_sent", 1)),
        WriteOp::update(
            active_key(date, owner),
            Update::new().set("owner", owner.to_string()),
        ),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventKind {
    Open,
    Click,
    /// A person's reply (issue 22): not a view column; counted beside the view's figures.
    Reply,
}

impl EventKind {
    fn flag(self) -> &'static str {
        match self {
            EventKind::Open => "_first_open",
            EventKind::Click => "_first_click",
            EventKind::Reply => "_first_reply",
        }
    }

    fn unique(self) -> &'static str {
        match self {
            EventKind::Open => "unique_opens",
            EventKind::Click => "unique_clicks",
            EventKind::Reply => "unique_replies",
        }
    }

    fn total(self) -> &'static str {
        match self {
            EventKind::Open => "total_open_events",
            EventKind::Click => "total_click_events",
            EventKind::Reply => "total_replies",
        }
    }
}

/// What the live counters need of a message: its id, when it was created (its date is the
/// summary's), and which kinds of event it has already had a first of.
#[derive(Debug, Clone, PartialEq)]
pub struct CountedMessage {
    pub id: String,
    pub created_at: String,
    pub first_open: bool,
    pub first_click: bool,
    pub first_reply: bool,
}

impl CountedMessage {
    /// From the message's stored item (no conversion of its body into a row).
    pub fn from_item(item: &Item) -> Option<Self> {
        Some(Self {
            id: item.str("id")?.to_owned(),
            created_at: item.str("created_at")?.to_owned(),
            first_open: item.get(EventKind::Open.flag()).is_some(),
            first_click: item.get(EventKind::Click.flag()).is_some(),
            first_reply: item.get(EventKind::Reply.flag()).is_some(),
        })
    }

    /// From a message row as the API shows it (which does not show the first-event flags).
    pub fn from_row(row: &Row) -> Option<Self> {
        Some(Self {
            id: row["id"].as_str()?.to_owned(),
            created_at: row["created_at"].as_str()?.to_owned(),
            first_open: false,
            first_click: false,
            first_reply: false,
        })
    }

    pub fn date(&self) -> String {
        self.created_at.chars().take(10).collect()
    }

    fn had_first(&self, kind: EventKind) -> bool {
        match kind {
            EventKind::Open => self.first_open,
            EventKind::Click => self.first_click,
            EventKind::Reply => self.first_reply,
        }
    }

    fn mark_first(&mut self, kind: EventKind) {
        match kind {
            EventKind::Open => self.first_open = true,
            EventKind::Click => self.first_click = true,
            EventKind::Reply => self.first_reply = true,
        }
    }
}

/// Counts one event live. Bots count nowhere (as in the view); the first non-bot event of a
/// kind on a message flips the message's flag and adds to the unique count in the same
/// transaction, so repeats and races never count twice.
pub async fn on_event(
    rows: &Rows,
    owner: OwnerId,
    message: &Row,
    kind: EventKind,
    is_bot: bool,
) -> Result<(), RowError> {
    let message = CountedMessage::from_row(message);
    on_event_with(rows, owner, message.as_ref(), kind, is_bot, Vec::new()).await
}

/// [`on_event`], committed together with `extra` actions (the event row itself), so a hit
/// costs one commit. A message read with its flag already set goes straight to the repeat's
/// transaction (the flag is never cleared, so that read cannot be stale the wrong way).
pub async fn on_event_with(
    rows: &Rows,
    owner: OwnerId,
    message: Option<&CountedMessage>,
    kind: EventKind,
    is_bot: bool,
    extra: Vec<WriteOp>,
) -> Result<(), RowError> {
    let counted = match (is_bot, message) {
        (false, Some(message)) => Some((
            layout::row_key(
                &schema::EMAIL_MESSAGES,
                Some(&owner.to_string()),
                &message.id,
            ),
            message.date(),
            message.had_first(kind),
        )),
        _ => None,
    };
    let Some((message_key, date, had_first)) = counted else {
        if !extra.is_empty() {
            rows.store().transact_write(extra).await?;
        }
        return Ok(());
    };
    let counter = counter_key(owner, &date);
    let repeat = |extra: Vec<WriteOp>| {
        let mut ops = vec![WriteOp::update(
            counter.clone(),
            Update::new().add(kind.total(), 1),
        )];
        ops.extend(extra);
        ops
    };
    if had_first {
        rows.store().transact_write(repeat(extra)).await?;
        return Ok(());
    }
    let mut first = vec![
        WriteOp::Update {
            key: message_key,
            update: Update::new().set(kind.flag(), true),
            condition: Some(Condition::item_exists().and(Condition::NotExists(kind.flag().into()))),
        },
        WriteOp::update(
            counter.clone(),
            Update::new().add(kind.unique(), 1).add(kind.total(), 1),
        ),
        WriteOp::update(
            active_key(&date, owner),
            Update::new().set("owner", owner.to_string()),
        ),
    ];
    first.extend(extra.iter().cloned());
    match rows.store().transact_write(first).await {
        Ok(()) => Ok(()),
        Err(StoreError::ConditionFailed { index: Some(0) }) => {
            rows.store().transact_write(repeat(extra)).await?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Several non-bot events of one message counted in one commit (the tracking applier's
/// batches): the same figures as [`on_event_with`] once per event, as one update of the day's
/// counters, one of the message's first-event flags and one of the day's active owners.
#[derive(Debug, Clone)]
pub struct MessageTally {
    owner: OwnerId,
    message: CountedMessage,
    totals: BTreeMap<EventKind, i64>,
    firsts: Vec<EventKind>,
}

impl MessageTally {
    pub fn new(owner: OwnerId, message: CountedMessage) -> Self {
        Self {
            owner,
            message,
            totals: BTreeMap::new(),
            firsts: Vec::new(),
        }
    }

    /// One more non-bot event of this kind.
    pub fn count(&mut self, kind: EventKind) {
        *self.totals.entry(kind).or_default() += 1;
        if !self.message.had_first(kind) {
            self.message.mark_first(kind);
            self.firsts.push(kind);
        }
    }

    /// The counts so far are committed: the next commit starts from zero (the message's
    /// flags stay as they are now).
    pub fn committed(&mut self) {
        self.totals.clear();
        self.firsts.clear();
    }

    /// The actions that count the events so far (none when there are none).
    pub fn ops(&self) -> Vec<WriteOp> {
        if self.totals.is_empty() {
            return Vec::new();
        }
        let date = self.message.date();
        let mut counters = Update::new();
        for (kind, total) in &self.totals {
            counters = counters.add(kind.total(), *total);
        }
        for kind in &self.firsts {
            counters = counters.add(kind.unique(), 1);
        }
        let mut ops = vec![WriteOp::update(counter_key(self.owner, &date), counters)];
        if !self.firsts.is_empty() {
            let mut flags = Update::new();
            let mut condition = Condition::item_exists();
            for kind in &self.firsts {
                flags = flags.set(kind.flag(), true);
                condition = condition.and(Condition::NotExists(kind.flag().into()));
            }
            ops.push(WriteOp::Update {
                key: layout::row_key(
                    &schema::EMAIL_MESSAGES,
                    Some(&self.owner.to_string()),
                    &self.message.id,
                ),
                update: flags,
                condition: Some(condition),
            });
            ops.push(WriteOp::update(
                active_key(&date, self.owner),
                Update::new().set("owner", self.owner.to_string()),
            ));
        }
        ops
    }
}

/// One day's figures.
pub type Summary = BTreeMap<String, BTreeMap<&'static str, i64>>;

/// Recomputes an owner's figures for the given dates from the raw rows, and writes them.
pub async fn rebuild(rows: &Rows, owner: OwnerId, dates: &[String]) -> Result<Summary, RowError> {
    let (messages, events) = (&schema::EMAIL_MESSAGES, &schema::EMAIL_EVENTS);
    let mut summary: Summary = dates
        .iter()
        .map(|d| (d.clone(), FIELDS.iter().map(|f| (*f, 0)).collect()))
        .collect();
    let owner_text = owner.to_string();
    let mut cursor = None;
    loop {
        let page = rows
            .list(
                messages,
                Some(&owner_text),
                ListRequest {
                    limit: 100,
                    cursor,
                    ..Default::default()
                },
            )
            .await?;
        for message in &page.rows {
            let Some(date) = message_date(message) else {
                continue;
            };
            let Some(day) = summary.get_mut(&date) else {
                continue;
            };
            *day.entry("total_sent").or_default() += 1;
            let id = message["id"].as_str().unwrap_or_default().to_owned();
            let (mut opens, mut clicks) = (0, 0);
            let mut event_cursor = None;
            loop {
                let request = ListRequest {
                    index: Some("idx_email_events_message".into()),
                    equals: vec![id.clone()],
                    limit: 100,
                    cursor: event_cursor,
                    ..Default::default()
                };
                let page = rows.list(events, Some(&owner_text), request).await?;
                for event in page.rows.iter().filter(|e| e["is_bot"] != json!(true)) {
                    match event["event_type"].as_str() {
                        Some("open") => opens += 1,
                        Some("click") => clicks += 1,
                        _ => {}
                    }
                }
                match page.next {
                    Some(next) => event_cursor = Some(next),
                    None => break,
                }
            }
            *day.entry("total_open_events").or_default() += opens;
            *day.entry("total_click_events").or_default() += clicks;
            *day.entry("unique_opens").or_default() += i64::from(opens > 0);
            *day.entry("unique_clicks").or_default() += i64::from(clicks > 0);
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut ops = Vec::new();
    for (date, figures) in &summary {
        let mut update = Update::new();
        for field in FIELDS {
            update = update.set(field, figures.get(field).copied().unwrap_or(0));
        }
        ops.push(WriteOp::update(counter_key(owner, date), update));
    }
    for chunk in ops.chunks(scaliyo_store::table::MAX_TRANSACTION_ITEMS) {
        rows.store().transact_write(chunk.to_vec()).await?;
    }
    Ok(summary)
}

/// The scheduled rebuild: every owner active today or yesterday, both days.
pub async fn rebuild_recent(rows: &Rows, today: NaiveDate) -> Result<usize, RowError> {
    let days: Vec<String> = [today.pred_opt().unwrap_or(today), today]
        .iter()
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect();
    let mut owners = std::collections::BTreeSet::new();
    for day in &days {
        let mut cursor = None;
        loop {
            let page = rows
                .store()
                .query(
                    Query::partition(Index::Table, format!("ANALYTICS#{day}"))
                        .limit(500)
                        .after(cursor),
                )
                .await?;
            owners.extend(
                page.items
                    .iter()
                    .filter_map(|i| i.str("owner").and_then(|o| o.parse::<OwnerId>().ok())),
            );
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    for owner in &owners {
        rebuild(rows, *owner, &days).await?;
    }
    Ok(owners.len())
}

/// The figures of an owner between two dates (inclusive), one object per day with activity.
pub async fn summary(
    rows: &Rows,
    owner: OwnerId,
    from: &str,
    to: &str,
) -> Result<Vec<Value>, RowError> {
    let page = rows
        .store()
        .query(
            Query::partition(Index::Table, layout::owner_partition(owner))
                .sort(SortCondition::Between(
                    format!("analytics#{from}"),
                    format!("analytics#{to}"),
                ))
                .limit(400),
        )
        .await?;
    Ok(page
        .items
        .iter()
        .filter_map(|item| {
            let date = item.str("SK")?.strip_prefix("analytics#")?.to_owned();
            let mut day = json!({ "owner_id": owner, "analytics_date": date });
            for field in FIELDS {
                day[field] = json!(item.i64(field).unwrap_or(0));
            }
            // Replies are counted once each as they are recorded (the rebuild leaves them).
            let (sent, replied) = (
                item.i64("total_sent").unwrap_or(0),
                item.i64(EventKind::Reply.unique()).unwrap_or(0),
            );
            day["unique_replies"] = json!(replied);
            day["total_replies"] = json!(item.i64(EventKind::Reply.total()).unwrap_or(0));
            day["reply_rate"] = json!(if sent > 0 {
                replied as f64 / sent as f64
            } else {
                0.0
            });
            Some(day)
        })
        .collect())
}
