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
