use std::sync::Arc;

use super::*;

fn record(n: usize) -> String {
    format!("{{\"n\":{n}}}")
}

async fn drain(journal: &FileJournal) -> Vec<String> {
    let mut all = Vec::new();
    loop {
        let batch = journal.read(100).await.expect("read");
        if batch.records.is_empty() {
            return all;
        }
        all.extend(batch.records);
        journal.commit(batch.end).await.expect("commit");
    }
}

#[tokio::test]
async fn appended_records_are_read_in_order_once_and_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("dir");
    let journal = Arc::new(FileJournal::open(dir.path()).expect("open"));
    let appends: Vec<_> = (0..300)
        .map(|n| {
            let journal = journal.clone();
            tokio::spawn(async move { journal.append(record(n)).await })
        })
        .collect();
    for append in appends {
        append.await.expect("task").expect("append");
    }
    assert!(journal.pending_bytes() > 0);
    let first = journal.read(120).await.expect("read");
    assert_eq!(first.records.len(), 120);
    journal.commit(first.end).await.expect("commit");
    // Read but not committed: read again after a restart.
    let unapplied = journal.read(10).await.expect("read");
    assert_eq!(unapplied.records.len(), 10);
    drop(journal);

    let journal = FileJournal::open(dir.path()).expect("reopen");
    let rest = drain(&journal).await;
    assert_eq!(rest.len(), 180);
    assert_eq!(rest[..10], unapplied.records[..]);
    let mut all: Vec<String> = first.records.into_iter().chain(rest).collect();
    all.sort();
    let mut expected: Vec<String> = (0..300).map(record).collect();
    expected.sort();
    assert_eq!(all, expected);
    assert!(journal.is_drained());
    assert_eq!(journal.pending_bytes(), 0);
}

#[tokio::test]
async fn a_torn_tail_is_cut_off_and_later_appends_are_read() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let journal = FileJournal::open(dir.path()).expect("open");
        journal.append(record(1)).await.expect("append");
    }
    // A crash in the middle of a write: half a frame at the end.
    let path = segment_path(dir.path(), 1);
    let mut bytes = std::fs::read(&path).expect("segment");
    let mut torn = Vec::new();
    frame::encode(record(2).as_bytes(), &mut torn);
    bytes.extend_from_slice(&torn[..torn.len() / 2]);
    std::fs::write(&path, bytes).expect("write");

    let journal = FileJournal::open(dir.path()).expect("reopen");
    journal.append(record(3)).await.expect("append");
    assert_eq!(drain(&journal).await, vec![record(1), record(3)]);
}

#[tokio::test]
async fn applied_segments_are_deleted_and_reading_crosses_segments() {
    let dir = tempfile::tempdir().expect("dir");
    let journal = FileJournal::open(dir.path()).expect("open");
    // Records of 60 KiB: a segment (64 MiB) fills after about 1,100 of them.
    let big = "x".repeat(60 * 1024);
    for _ in 0..1_200 {
        journal.append(big.clone()).await.expect("append");
    }
    journal.append(record(7)).await.expect("append");
    assert_eq!(segments(dir.path()).expect("segments").len(), 2);
    let all = drain(&journal).await;
    assert_eq!(all.len(), 1_201);
    assert_eq!(all.last(), Some(&record(7)));
    assert_eq!(segments(dir.path()).expect("segments"), vec![2]);
}

#[tokio::test]
async fn an_oversized_record_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let journal = FileJournal::open(dir.path()).expect("open");
    let refused = journal.append("x".repeat(frame::MAX_RECORD + 1)).await;
    assert!(matches!(refused, Err(JournalError::Invalid(_))));
    assert!(journal.is_drained());
}

#[tokio::test]
async fn a_waiting_reader_wakes_when_a_record_is_durable() {
    let dir = tempfile::tempdir().expect("dir");
    let journal = Arc::new(FileJournal::open(dir.path()).expect("open"));
    let reader = {
        let journal = journal.clone();
        tokio::spawn(async move {
            journal.wait_for_records().await;
            journal.read(10).await.expect("read").records
        })
    };
    tokio::task::yield_now().await;
    journal.append(record(5)).await.expect("append");
    let records = tokio::time::timeout(std::time::Duration::from_secs(5), reader)
        .await
        .expect("woken")
        .expect("task");
    assert_eq!(records, vec![record(5)]);
}

#[tokio::test]
async fn durable_bytes_grow_with_appends_and_not_with_applying() {
    let dir = tempfile::tempdir().expect("dir");
    let journal = FileJournal::open(dir.path()).expect("open");
    let empty = journal.durable_bytes();
    journal.append(record(1)).await.expect("append");
    let one = journal.durable_bytes();
    assert!(one > empty);
    assert_eq!(one - empty, journal.pending_bytes());
    drain(&journal).await;
    assert_eq!(journal.durable_bytes(), one);
    journal.append(record(2)).await.expect("append");
    assert!(journal.durable_bytes() > one);
}

#[tokio::test]
async fn appends_are_refused_while_the_unapplied_backlog_is_at_its_bound_and_taken_once_applied() {
    let dir = tempfile::tempdir().expect("dir");
    let one_record = {
        let probe = tempfile::tempdir().expect("dir");
        let journal = FileJournal::open(probe.path()).expect("open");
        journal.append(record(0)).await.expect("append");
        journal.pending_bytes()
    };
    let journal = FileJournal::open(dir.path())
        .expect("open")
        .with_max_pending_bytes(3 * one_record);
    for n in 0..3 {
        journal.append(record(n)).await.expect("under the bound");
    }
    match journal.append(record(3)).await {
        Err(JournalError::Full(message)) => assert!(message.contains("wait to be applied")),
        other => panic!("a full journal refuses the append: {other:?}"),
    }
    assert_eq!(journal.pending_bytes(), 3 * one_record, "nothing was added");
    assert_eq!(drain(&journal).await, vec![record(0), record(1), record(2)]);
    journal
        .append(record(4))
        .await
        .expect("applied: room again");
    assert_eq!(drain(&journal).await, vec![record(4)]);
}
