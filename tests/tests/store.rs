//! The `Table` conformance suite against both backends: the embedded redb store (always) and
//! DynamoDB Local (started by scripts/test).

mod embedded {
    use std::sync::Arc;

    use scaliyo_embedded::RedbTable;
    use scaliyo_store::{SystemClock, Table};

    async fn backend() -> Option<Arc<dyn Table>> {
        // Opening must work: a failure here fails every test instead of skipping them all.
        let dir = tempfile::tempdir().expect("a temporary directory");
        let table = RedbTable::open(&dir.path().join("store.redb"), Arc::new(SystemClock))
            .expect("the embedded store opens");
        // The directory must outlive the table: leak it for the test's lifetime.
        std::mem::forget(dir);
        Some(Arc::new(table))
    }

    scaliyo_tests::table_conformance_tests!(backend);
    scaliyo_tests::rows_conformance_tests!(backend);

    /// Unsynced writes become durable with a sync, or with any durable write after them.
    #[tokio::test]
    async fn unsynced_writes_are_there_after_a_sync_and_reopening() {
        use scaliyo_store::{Item, Key, WriteOp};
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("store.redb");
        let keys: Vec<Key> = (0..4)
            .map(|n| Key::new("U#1", format!("email_events#{n}")))
            .collect();
        {
            let table = RedbTable::open(&path, Arc::new(SystemClock)).expect("opens");
            let put = |n: usize| vec![WriteOp::put(Item::new(&keys[n]).with("n", n as i64))];
            table
                .transact_write_unsynced(put(0))
                .await
                .expect("unsynced");
            table.sync().await.expect("synced");
            table
                .transact_write_unsynced(put(1))
                .await
                .expect("unsynced");
            table.transact_write(put(2)).await.expect("durable");
            table
                .transact_write_unsynced(put(3))
                .await
                .expect("unsynced");
            table.sync().await.expect("synced");
        }
        let table = RedbTable::open(&path, Arc::new(SystemClock)).expect("opens again");
        for (n, key) in keys.iter().enumerate() {
            let item = table.get(key).await.expect("a read");
            assert_eq!(item.and_then(|i| i.i64("n")), Some(n as i64), "item {n}");
        }
    }

    #[tokio::test]
    async fn data_is_still_there_after_reopening() {
        use scaliyo_store::{Item, Key, WriteOp};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        let key = Key::new("U#1", "leads#1");
        {
            let table = RedbTable::open(&path, Arc::new(SystemClock)).unwrap();
            table
                .transact_write(vec![WriteOp::put(Item::new(&key).with("name", "Ada"))])
                .await
                .unwrap();
        }
        let table = RedbTable::open(&path, Arc::new(SystemClock)).unwrap();
        assert_eq!(
            table
                .get(&key)
                .await
                .unwrap()
                .and_then(|i| i.str("name").map(str::to_owned)),
            Some("Ada".into())
        );
    }
}

mod dynamodb {
    use std::sync::Arc;

    use scaliyo_aws::{DynamoTable, create_table};
    use scaliyo_store::Table;
    use scaliyo_tests::emulators;

    async fn backend() -> Option<Arc<dyn Table>> {
        let config = emulators::dynamodb().await?;
        let client = aws_sdk_dynamodb::Client::new(&config);
        let name = emulators::unique_name("conformance");
        create_table(&client, &name)
            .await
            .expect("create the test table in DynamoDB Local");
        eprintln!("running against DynamoDB table {name}");
        Some(Arc::new(DynamoTable::new(client, name)))
    }

    scaliyo_tests::table_conformance_tests!(backend);
    scaliyo_tests::rows_conformance_tests!(backend);
}

/// What DynamoDB Local does not do: refuse a transaction for a conflict with another one on
/// the same item (it runs them one after the other). A stand-in for the DynamoDB endpoint
/// answers `TransactWriteItems` as DynamoDB does under contention, so the adapter's sending
/// again is seen: refused twice then written, and refused every time then handed back.
mod dynamodb_conflicts {
    use scaliyo_aws::DynamoTable;
    use scaliyo_store::{Item, Key, StoreError, Table, WriteOp};
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const TRANSACT: &str = "DynamoDB_20120810.TransactWriteItems";

    /// DynamoDB's answer to a transaction cancelled because another one held an item.
    fn conflict() -> ResponseTemplate {
        ResponseTemplate::new(400)
            .insert_header("content-type", "application/x-amz-json-1.0")
            .set_body_json(serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]",
                "CancellationReasons": [
                    { "Code": "None" },
                    { "Code": "TransactionConflict", "Message": "Transaction is ongoing for the item" }
                ]
            }))
    }

    async fn table(server: &MockServer) -> DynamoTable {
        let config = scaliyo_aws::emulator_config(&server.uri()).await;
        DynamoTable::new(aws_sdk_dynamodb::Client::new(&config), "scaliyo-test")
    }

    fn two_writes() -> Vec<WriteOp> {
        vec![
            WriteOp::put(Item::new(&Key::new("U#a", "leads#1")).with("name", "Ada")),
            WriteOp::update(
                Key::new("U#a", "counter#rows#leads"),
                scaliyo_store::Update::new().add("count", 1),
            ),
        ]
    }

    #[tokio::test]
    async fn a_transaction_refused_for_a_conflict_is_sent_again_until_it_is_written() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header("x-amz-target", TRANSACT))
            .respond_with(conflict())
            .up_to_n_times(2)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(header("x-amz-target", TRANSACT))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/x-amz-json-1.0")
                    .set_body_json(serde_json::json!({})),
            )
            .with_priority(2)
            .mount(&server)
            .await;
        table(&server)
            .await
            .transact_write(two_writes())
            .await
            .expect("written on the third attempt");
        let sent = server.received_requests().await.unwrap_or_default();
        assert_eq!(sent.len(), 3, "two refusals, then the write");
        // The same transaction each time (the SDK gives each call its own idempotency
        // token: a cancelled transaction wrote nothing, so there is nothing to deduplicate).
        let actions: Vec<serde_json::Value> = sent
            .iter()
            .map(|request| {
                let mut body: serde_json::Value =
                    serde_json::from_slice(&request.body).unwrap_or_default();
                if let Some(body) = body.as_object_mut() {
                    body.remove("ClientRequestToken");
                }
                body
            })
            .collect();
        assert!(
            actions[0]["TransactItems"]
                .as_array()
                .is_some_and(|items| items.len() == 2)
        );
        assert!(actions.windows(2).all(|pair| pair[0] == pair[1]));
    }

    #[tokio::test]
    async fn a_conflict_that_outlasts_the_attempts_reaches_the_caller_as_retryable() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header("x-amz-target", TRANSACT))
            .respond_with(conflict())
            .mount(&server)
            .await;
        let error = table(&server)
            .await
            .transact_write(two_writes())
            .await
            .expect_err("refused every time");
        assert_eq!(error, StoreError::TransactionConflict);
        assert!(error.is_retryable());
        let sent = server.received_requests().await.unwrap_or_default();
        assert_eq!(sent.len(), 8, "the first attempt and seven more");
    }
}
