//! The `Table` conformance suite: the same functions run against `RedbTable` and
//! `DynamoTable` (on DynamoDB Local), so both backends mean the same thing.

use std::sync::Arc;
use std::time::Duration;

use scaliyo_store::{
    BatchOp, CmpOp, Condition, Index, Item, Key, Query, SortCondition, StoreError, Table, Update,
    Value, WriteOp,
};

fn key(pk: &str, sk: &str) -> Key {
    Key::new(pk, sk)
}

fn sort_keys(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| i.str("SK").map(str::to_owned))
        .collect()
}

pub async fn a_missing_item_reads_as_none(table: Arc<dyn Table>) {
    assert_eq!(table.get(&key("P#none", "S#none")).await.unwrap(), None);
}

/// 100 keys in one request, answered in the order asked (present, absent, repeated), and
/// the limit enforced.
pub async fn a_batch_get_answers_every_key_in_order(table: Arc<dyn Table>) {
    let partition = format!("P#bget-{}", uuid::Uuid::new_v4());
    let items: Vec<Item> = (0..60)
        .map(|i| Item::new(&key(&partition, &format!("S#{i:03}"))).with("n", i as i64))
        .collect();
    table
        .batch_write(items.iter().cloned().map(BatchOp::Put).collect())
        .await
        .unwrap();
    let mut keys: Vec<Key> = (0..98)
        .map(|i| key(&partition, &format!("S#{:03}", 97 - i)))
        .collect();
    keys.push(key(&partition, "S#005"));
    keys.push(key(&partition, "S#005"));
    let found = table.batch_get(&keys).await.unwrap();
    assert_eq!(found.len(), 100);
    for (k, item) in keys.iter().zip(&found) {
        let n: i64 = k.sk[2..].parse().unwrap();
        match item {
            Some(item) => {
                assert!(n < 60, "{k:?}");
                assert_eq!(item.i64("n"), Some(n));
            }
            None => assert!(n >= 60, "{k:?} is missing"),
        }
    }
    assert_eq!(
        table.batch_get(&[]).await.unwrap(),
        Vec::<Option<Item>>::new()
    );
    let too_many: Vec<Key> = (0..101)
        .map(|i| key(&partition, &format!("S#{i}")))
        .collect();
    assert!(matches!(
        table.batch_get(&too_many).await,
        Err(StoreError::Invalid(_))
    ));
}

pub async fn put_then_get_round_trips_every_value_type(table: Arc<dyn Table>) {
    let mut nested = std::collections::BTreeMap::new();
    nested.insert(
        "inner".to_owned(),
        Value::L(vec![Value::from(1), Value::from("two"), Value::Null]),
    );
    let item = Item::new(&key("P#types", "S#1"))
        .with("text", "héllo")
        .with("int", 42)
        .with("negative", -7)
        .with("float", 0.7)
        .with("flag", true)
        .with("nothing", Value::Null)
        .with("bytes", Value::B(vec![0, 1, 2, 255]))
        .with("map", Value::M(nested))
        .with("empty_list", Value::L(vec![]));
    table
        .transact_write(vec![WriteOp::put(item.clone())])
        .await
        .unwrap();
    assert_eq!(table.get(&key("P#types", "S#1")).await.unwrap(), Some(item));
}

pub async fn a_conditional_put_rejects_an_existing_key(table: Arc<dyn Table>) {
    let first = Item::new(&key("P#cond", "S#1")).with("version", 1);
    table
        .transact_write(vec![WriteOp::put_new(first.clone())])
        .await
        .unwrap();
    let second = Item::new(&key("P#cond", "S#1")).with("version", 2);
    let refused = table.transact_write(vec![WriteOp::put_new(second)]).await;
    assert_eq!(refused, Err(StoreError::ConditionFailed { index: Some(0) }));
    assert_eq!(table.get(&key("P#cond", "S#1")).await.unwrap(), Some(first));
}

pub async fn a_transaction_whose_last_condition_fails_writes_nothing_and_names_it(
    table: Arc<dyn Table>,
) {
    table
        .transact_write(vec![WriteOp::put(
            Item::new(&key("P#tx", "S#guard")).with("open", false),
        )])
        .await
        .unwrap();
    let result = table
        .transact_write(vec![
            WriteOp::put(Item::new(&key("P#tx", "S#a")).with("n", 1)),
            WriteOp::update(key("P#tx", "S#b"), Update::new().add("n", 5)),
            WriteOp::delete(key("P#tx", "S#guard")),
            WriteOp::check(key("P#tx", "S#guard"), Condition::eq("open", true)),
        ])
        .await;
    // The guard is both deleted and checked: DynamoDB refuses two actions on one item.
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");

    let result = table
        .transact_write(vec![
            WriteOp::put(Item::new(&key("P#tx", "S#a")).with("n", 1)),
            WriteOp::update(key("P#tx", "S#b"), Update::new().add("n", 5)),
            WriteOp::delete(key("P#tx", "S#c")),
            WriteOp::check(key("P#tx", "S#guard"), Condition::eq("open", true)),
        ])
        .await;
    assert_eq!(result, Err(StoreError::ConditionFailed { index: Some(3) }));
    assert_eq!(table.get(&key("P#tx", "S#a")).await.unwrap(), None);
    assert_eq!(table.get(&key("P#tx", "S#b")).await.unwrap(), None);

    table
        .transact_write(vec![
            WriteOp::put(Item::new(&key("P#tx", "S#a")).with("n", 1)),
            WriteOp::update(key("P#tx", "S#b"), Update::new().add("n", 5)),
            WriteOp::check(key("P#tx", "S#guard"), Condition::eq("open", false)),
        ])
        .await
        .unwrap();
    assert_eq!(
        table
            .get(&key("P#tx", "S#b"))
            .await
            .unwrap()
            .and_then(|i| i.i64("n")),
        Some(5)
    );
}

pub async fn updates_set_remove_add_and_return_the_new_item(table: Arc<dyn Table>) {
    let k = key("P#upd", "S#1");
    let created = table
        .update(&k, Update::new().set("name", "a").add("count", 2), None)
        .await
        .unwrap();
    assert_eq!(created.str("name"), Some("a"));
    assert_eq!(created.i64("count"), Some(2));
    let updated = table
        .update(
            &k,
            Update::new()
                .set_if_absent("name", "ignored")
                .set_if_absent("born", "now")
                .remove("name")
                .add("count", 3),
            Some(Condition::item_exists()),
        )
        .await;
    // REMOVE and SET of one attribute in one update is refused by DynamoDB; both agree.
    assert!(
        matches!(updated, Err(StoreError::Invalid(_))),
        "{updated:?}"
    );
    let updated = table
        .update(
            &k,
            Update::new()
                .set_if_absent("name", "ignored")
                .set_if_absent("born", "now")
                .add("count", 3),
            None,
        )
        .await
        .unwrap();
    assert_eq!(updated.str("name"), Some("a"));
    assert_eq!(updated.str("born"), Some("now"));
    assert_eq!(updated.i64("count"), Some(5));
    let removed = table
        .update(&k, Update::new().remove("born"), None)
        .await
        .unwrap();
    assert_eq!(removed.get("born"), None);

    let refused = table
        .update(
            &key("P#upd", "S#missing"),
            Update::new().add("count", 1),
            Some(Condition::item_exists()),
        )
        .await;
    assert_eq!(refused, Err(StoreError::ConditionFailed { index: Some(0) }));
    assert_eq!(table.get(&key("P#upd", "S#missing")).await.unwrap(), None);
}

pub async fn conditions_compose_with_and_or_not_and_comparisons(table: Arc<dyn Table>) {
    let k = key("P#logic", "S#1");
    table
        .transact_write(vec![WriteOp::put(
            Item::new(&k)
                .with("status", "pending")
                .with("attempts", 2)
                .with("name", "scaliyo"),
        )])
        .await
        .unwrap();
    let holds = [
        Condition::eq("status", "pending").and(Condition::cmp("attempts", CmpOp::Lt, 3)),
        Condition::eq("status", "sent").or(Condition::cmp("attempts", CmpOp::Ge, 2)),
        Condition::eq("status", "sent").not(),
        Condition::Between("attempts".into(), Value::from(1), Value::from(2)),
        Condition::BeginsWith("name".into(), "scal".into()),
        Condition::cmp("attempts", CmpOp::Ne, 5),
        Condition::NotExists("lease".into()).and(Condition::Exists("name".into())),
        Condition::cmp("status", CmpOp::Lt, "processing"),
    ];
    for condition in holds {
        table
            .transact_write(vec![WriteOp::check(k.clone(), condition.clone())])
            .await
            .unwrap_or_else(|e| panic!("{condition:?} should hold: {e}"));
    }
    let fails = [
        Condition::eq("status", "pending").and(Condition::cmp("attempts", CmpOp::Gt, 2)),
        Condition::cmp("attempts", CmpOp::Le, 1),
        Condition::Exists("lease".into()),
        // A number never equals a string.
        Condition::eq("attempts", "2"),
    ];
    for condition in fails {
        let result = table
            .transact_write(vec![WriteOp::check(k.clone(), condition.clone())])
            .await;
        assert_eq!(
            result,
            Err(StoreError::ConditionFailed { index: Some(0) }),
            "{condition:?}"
        );
    }
}

/// `ADD` guarded by `< limit`: 50 concurrent tasks stop exactly at the limit.
pub async fn add_with_a_limit_stops_exactly_at_the_limit_under_50_tasks(table: Arc<dyn Table>) {
    const LIMIT: i64 = 30;
    let k = key("P#quota", "S#month");
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let table = table.clone();
        let k = k.clone();
        tasks.push(tokio::spawn(async move {
            let limit =
                Condition::NotExists("used".into()).or(Condition::cmp("used", CmpOp::Lt, LIMIT));
            loop {
                match table
                    .update(&k, Update::new().add("used", 1), Some(limit.clone()))
                    .await
                {
                    Ok(_) => return true,
                    Err(StoreError::ConditionFailed { .. }) => return false,
                    Err(e) if e.is_retryable() => continue,
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    let mut granted = 0;
    for task in tasks {
        if task.await.unwrap() {
            granted += 1;
        }
    }
    assert_eq!(granted, LIMIT);
    assert_eq!(
        table.get(&k).await.unwrap().and_then(|i| i.i64("used")),
        Some(LIMIT)
    );
}

async fn query_all(table: &dyn Table, query: Query, page_size: u32) -> (Vec<String>, usize) {
    let mut cursor = None;
    let mut keys = Vec::new();
    let mut pages = 0;
    loop {
        let page = table
            .query(query.clone().limit(page_size).after(cursor))
            .await
            .unwrap();
        pages += 1;
        keys.extend(sort_keys(&page.items));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return (keys, pages),
        }
        assert!(pages < 100, "pagination does not end");
    }
}

/// Every sort-key condition, forward and backward, paged 4 at a time through ≥ 3 pages.
pub async fn sort_key_conditions_in_both_directions_paginate(table: Arc<dyn Table>) {
    let items: Vec<BatchOp> = (0..25)
        .map(|i| BatchOp::Put(Item::new(&key("P#sorted", &format!("S#{i:03}"))).with("i", i)))
        .collect();
    table.batch_write(items).await.unwrap();
    table
        .batch_write(vec![BatchOp::Put(Item::new(&key(
            "P#sorted-other",
            "S#005",
        )))])
        .await
        .unwrap();
    let all: Vec<String> = (0..25).map(|i| format!("S#{i:03}")).collect();
    let cases: Vec<(Option<SortCondition>, Vec<String>)> = vec![
        (None, all.clone()),
        (
            Some(SortCondition::Eq("S#007".into())),
            vec!["S#007".into()],
        ),
        (Some(SortCondition::Lt("S#005".into())), all[..5].to_vec()),
        (Some(SortCondition::Le("S#005".into())), all[..6].to_vec()),
        (Some(SortCondition::Gt("S#020".into())), all[21..].to_vec()),
        (Some(SortCondition::Ge("S#020".into())), all[20..].to_vec()),
        (
            Some(SortCondition::Between("S#003".into(), "S#016".into())),
            all[3..=16].to_vec(),
        ),
        (
            Some(SortCondition::BeginsWith("S#01".into())),
            all[10..20].to_vec(),
        ),
    ];
    for (condition, expected) in cases {
        let mut query = Query::partition(Index::Table, "P#sorted");
        if let Some(c) = condition.clone() {
            query = query.sort(c);
        }
        let (forward, pages) = query_all(table.as_ref(), query.clone(), 4).await;
        assert_eq!(forward, expected, "forward {condition:?}");
        if expected.len() > 8 {
            assert!(pages >= 3, "{condition:?} took {pages} pages");
        }
        let (backward, _) = query_all(table.as_ref(), query.backward(), 4).await;
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(backward, reversed, "backward {condition:?}");
    }
    // A page size dividing the count exactly must still end.
    let (keys, _) = query_all(
        table.as_ref(),
        Query::partition(Index::Table, "P#sorted"),
        5,
    )
    .await;
    assert_eq!(keys.len(), 25);
}

pub async fn a_malformed_cursor_is_an_invalid_request(table: Arc<dyn Table>) {
    let query = Query::partition(Index::Table, "P#x")
        .after(Some(scaliyo_store::Cursor("not-a-cursor!".into())));
    assert!(matches!(
        table.query(query).await,
        Err(StoreError::Invalid(_))
    ));
}

/// A GSI holds an item only while it carries both index attributes (a sparse index).
pub async fn a_sparse_index_follows_its_attribute(table: Arc<dyn Table>) {
    let k = key("P#sparse", "S#1");
    let in_index = |table: Arc<dyn Table>| async move {
        let page = table
            .query(Query::partition(Index::Gsi3, "due#0").sort(SortCondition::Le("2026-12".into())))
            .await
            .unwrap();
        sort_keys(&page.items) == vec!["S#1".to_owned()]
    };
    let absent = |table: Arc<dyn Table>| async move {
        table
            .query(Query::partition(Index::Gsi3, "due#0"))
            .await
            .unwrap()
            .items
            .is_empty()
    };
    table
        .transact_write(vec![WriteOp::put(Item::new(&k).with("status", "done"))])
        .await
        .unwrap();
    assert!(absent(table.clone()).await);
    table
        .update(
            &k,
            Update::new()
                .set("GSI3PK", "due#0")
                .set("GSI3SK", "2026-11-27T10:00:00Z#1"),
            None,
        )
        .await
        .unwrap();
    assert!(
        crate::eventually(Duration::from_secs(5), || in_index(table.clone())).await,
        "item did not enter the index"
    );
    table
        .update(&k, Update::new().remove("GSI3PK").remove("GSI3SK"), None)
        .await
        .unwrap();
    assert!(
        crate::eventually(Duration::from_secs(5), || absent(table.clone())).await,
        "item did not leave the index"
    );
    assert!(table.get(&k).await.unwrap().is_some());
}

pub async fn gsi_queries_paginate_and_order_by_the_index_sort_key(table: Arc<dyn Table>) {
    let ops: Vec<BatchOp> = (0..12)
        .map(|i| {
            BatchOp::Put(
                Item::new(&key(&format!("U#{}", i % 3), &format!("lead#{i:02}")))
                    .with("GSI1PK", "idx_leads_score#owner")
                    .with("GSI1SK", format!("{:05}#{i:02}", 100 - i)),
            )
        })
        .collect();
    table.batch_write(ops).await.unwrap();
    let query = Query::partition(Index::Gsi1, "idx_leads_score#owner").backward();
    let mut all = Vec::new();
    let ok = crate::eventually(Duration::from_secs(5), || {
        let table = table.clone();
        let query = query.clone();
        async move { query_all(table.as_ref(), query, 5).await.0.len() == 12 }
    })
    .await;
    assert!(ok, "the index did not catch up");
    let mut cursor = None;
    loop {
        let page = table
            .query(query.clone().limit(5).after(cursor))
            .await
            .unwrap();
        all.extend(
            page.items
                .iter()
                .filter_map(|i| i.str("GSI1SK").map(str::to_owned)),
        );
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..12).map(|i| format!("{:05}#{i:02}", 100 - i)).collect();
    expected.sort();
    expected.reverse();
    assert_eq!(all, expected);
}

pub async fn counts_answer_what_a_query_would_return_on_the_table_and_an_index(
    table: Arc<dyn Table>,
) {
    // 1,300 items: more than one DynamoDB page of counted keys would hold at this size.
    let big = "x".repeat(900);
    let ops: Vec<BatchOp> = (0..1300)
        .map(|i| {
            BatchOp::Put(
                Item::new(&key("P#count", &format!("leads#{i:04}")))
                    .with("GSI3PK", if i % 4 == 0 { "by#Qualified" } else { "by#New" })
                    .with("GSI3SK", format!("{i:04}"))
                    .with("padding", big.as_str()),
            )
        })
        .collect();
    table.batch_write(ops).await.unwrap();
    table
        .batch_write(vec![BatchOp::Put(
            Item::new(&key("P#count", "other#1")).with("GSI3PK", "by#Qualified#not"),
        )])
        .await
        .unwrap();
    let on_table = Query::partition(Index::Table, "P#count")
        .sort(SortCondition::BeginsWith("leads#".into()))
        .limit(7);
    assert_eq!(table.count(on_table).await.unwrap(), 1300);
    let qualified = Query::partition(Index::Gsi3, "by#Qualified");
    let ok = crate::eventually(Duration::from_secs(5), || {
        let (table, qualified) = (table.clone(), qualified.clone());
        async move { table.count(qualified).await.ok() == Some(325) }
    })
    .await;
    assert!(ok, "325 of 1,300 are in by#Qualified");
    let after = qualified.clone().sort(SortCondition::Gt("0100".into()));
    assert_eq!(table.count(after).await.unwrap(), 299, "Gt leaves 0100 out");
    let between = qualified.sort(SortCondition::Between("0100".into(), "0200".into()));
    assert_eq!(table.count(between).await.unwrap(), 26);
    let none = Query::partition(Index::Gsi3, "by#Lost");
    assert_eq!(table.count(none).await.unwrap(), 0);
}

pub async fn a_batch_of_60_items_is_written_and_deleted(table: Arc<dyn Table>) {
    let puts: Vec<BatchOp> = (0..60)
        .map(|i| BatchOp::Put(Item::new(&key("P#batch", &format!("S#{i:02}"))).with("i", i)))
        .collect();
    table.batch_write(puts).await.unwrap();
    let (keys, _) = query_all(
        table.as_ref(),
        Query::partition(Index::Table, "P#batch"),
        100,
    )
    .await;
    assert_eq!(keys.len(), 60);
    let deletes: Vec<BatchOp> = (0..60)
        .map(|i| BatchOp::Delete(key("P#batch", &format!("S#{i:02}"))))
        .collect();
    table.batch_write(deletes).await.unwrap();
    let (keys, _) = query_all(
        table.as_ref(),
        Query::partition(Index::Table, "P#batch"),
        100,
    )
    .await;
    assert!(keys.is_empty());
}

pub async fn limits_are_the_same_as_dynamodb(table: Arc<dyn Table>) {
    let too_many: Vec<WriteOp> = (0..101)
        .map(|i| WriteOp::put(Item::new(&key("P#lim", &format!("S#{i}")))))
        .collect();
    assert!(matches!(
        table.transact_write(too_many).await,
        Err(StoreError::Invalid(_))
    ));
    let huge = Item::new(&key("P#lim", "S#huge")).with("blob", "x".repeat(401 * 1024));
    assert!(matches!(
        table.transact_write(vec![WriteOp::put(huge)]).await,
        Err(StoreError::Invalid(_))
    ));
    let duplicate = vec![
        BatchOp::Put(Item::new(&key("P#lim", "S#d"))),
        BatchOp::Delete(key("P#lim", "S#d")),
    ];
    let refused = table.batch_write(duplicate).await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    assert_eq!(table.get(&key("P#lim", "S#d")).await.unwrap(), None);
}

pub async fn expired_items_read_as_absent(table: Arc<dyn Table>) {
    let past = chrono::Utc::now().timestamp() - 60;
    let future = chrono::Utc::now().timestamp() + 3600;
    table
        .batch_write(vec![
            BatchOp::Put(Item::new(&key("P#ttl", "S#old")).with(scaliyo_store::table::TTL, past)),
            BatchOp::Put(Item::new(&key("P#ttl", "S#new")).with(scaliyo_store::table::TTL, future)),
        ])
        .await
        .unwrap();
    assert_eq!(table.get(&key("P#ttl", "S#old")).await.unwrap(), None);
    assert!(table.get(&key("P#ttl", "S#new")).await.unwrap().is_some());
    let page = table
        .query(Query::partition(Index::Table, "P#ttl"))
        .await
        .unwrap();
    assert_eq!(sort_keys(&page.items), vec!["S#new".to_owned()]);
}

pub async fn a_conditional_delete_only_deletes_when_the_condition_holds(table: Arc<dyn Table>) {
    let k = key("P#del", "S#1");
    table
        .transact_write(vec![WriteOp::put(Item::new(&k).with("status", "pending"))])
        .await
        .unwrap();
    let refused = table
        .transact_write(vec![WriteOp::Delete {
            key: k.clone(),
            condition: Some(Condition::eq("status", "sent")),
        }])
        .await;
    assert_eq!(refused, Err(StoreError::ConditionFailed { index: Some(0) }));
    table
        .transact_write(vec![WriteOp::Delete {
            key: k.clone(),
            condition: Some(Condition::eq("status", "pending")),
        }])
        .await
        .unwrap();
    assert_eq!(table.get(&k).await.unwrap(), None);
}

/// A journal's consumer writes without waiting for the disk and syncs before it moves on:
/// its writes are visible and conditional at once, and a sync answers.
pub async fn unsynced_writes_are_read_at_once_and_conditions_see_them(table: Arc<dyn Table>) {
    let key = Key::new("U#unsynced", "email_events#1");
    table
        .transact_write_unsynced(vec![WriteOp::put_new(Item::new(&key).with("n", 1))])
        .await
        .expect("an unsynced put");
    let read = table.get(&key).await.expect("a read");
    assert_eq!(read.and_then(|item| item.i64("n")), Some(1));
    let again = table
        .transact_write_unsynced(vec![WriteOp::put_new(Item::new(&key).with("n", 2))])
        .await;
    assert!(
        matches!(again, Err(StoreError::ConditionFailed { .. })),
        "{again:?}"
    );
    table.sync().await.expect("a sync");
    table.sync().await.expect("a sync with nothing to sync");
}

/// Generates one `#[tokio::test]` per conformance function for a backend.
/// Several unconditioned adds to one item in a transaction (rows counted into one tally) are
/// written as their sum; a failed condition after them is still named at the caller's index;
/// an add beside any other action on the same item is refused as before.
pub async fn adds_to_one_item_in_a_transaction_are_summed(table: Arc<dyn Table>) {
    let tally = key("P#sum", "S#tally");
    table
        .transact_write(vec![
            WriteOp::update(tally.clone(), Update::new().add("n", 1)),
            WriteOp::put(Item::new(&key("P#sum", "S#a")).with("x", 1)),
            WriteOp::update(tally.clone(), Update::new().add("n", 2).add("m", 1)),
            WriteOp::update(tally.clone(), Update::new().add("n", -1)),
        ])
        .await
        .unwrap();
    let item = table.get(&tally).await.unwrap().unwrap();
    assert_eq!((item.i64("n"), item.i64("m")), (Some(2), Some(1)));

    let refused = table
        .transact_write(vec![
            WriteOp::update(tally.clone(), Update::new().add("n", 1)),
            WriteOp::update(tally.clone(), Update::new().add("n", 1)),
            WriteOp::put_new(Item::new(&key("P#sum", "S#b"))),
            WriteOp::update(tally.clone(), Update::new().add("n", 1)),
            WriteOp::put_new(Item::new(&key("P#sum", "S#a"))),
        ])
        .await;
    assert_eq!(refused, Err(StoreError::ConditionFailed { index: Some(4) }));
    let item = table.get(&tally).await.unwrap().unwrap();
    assert_eq!(
        item.i64("n"),
        Some(2),
        "nothing of a refused transaction is written"
    );

    let mixed = table
        .transact_write(vec![
            WriteOp::update(tally.clone(), Update::new().add("n", 1)),
            WriteOp::update(tally.clone(), Update::new().set("y", 1)),
        ])
        .await;
    assert!(matches!(mixed, Err(StoreError::Invalid(_))), "{mixed:?}");
}

#[macro_export]
macro_rules! table_conformance_tests {
    ($backend:ident) => {
        $crate::table_conformance_tests!(@each $backend,
            a_missing_item_reads_as_none,
            a_batch_get_answers_every_key_in_order,
            put_then_get_round_trips_every_value_type,
            a_conditional_put_rejects_an_existing_key,
            a_transaction_whose_last_condition_fails_writes_nothing_and_names_it,
            updates_set_remove_add_and_return_the_new_item,
            conditions_compose_with_and_or_not_and_comparisons,
            add_with_a_limit_stops_exactly_at_the_limit_under_50_tasks,
            sort_key_conditions_in_both_directions_paginate,
            a_malformed_cursor_is_an_invalid_request,
            a_sparse_index_follows_its_attribute,
            gsi_queries_paginate_and_order_by_the_index_sort_key,
            counts_answer_what_a_query_would_return_on_the_table_and_an_index,
            a_batch_of_60_items_is_written_and_deleted,
            limits_are_the_same_as_dynamodb,
            expired_items_read_as_absent,
            a_conditional_delete_only_deletes_when_the_condition_holds,
            unsynced_writes_are_read_at_once_and_conditions_see_them,
            adds_to_one_item_in_a_transaction_are_summed
        );
    };
    (@each $backend:ident, $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                if let Some(table) = $backend().await {
                    $crate::table_conformance::$name(table).await;
                }
            }
        )+
    };
}
