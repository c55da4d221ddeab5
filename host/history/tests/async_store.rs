//! The async store under concurrent use from tokio tasks, against each
//! backend.

mod common;

use chrono::Duration;
use common::{TestCase, TestLocation, backend_tests, quarterly_report, simple, start};
use mailgate_history::{HistoryQuery, RecordKey};

const TASKS: usize = 8;
const RECORDS_PER_TASK: usize = 25;

backend_tests!(async: concurrent_records_all_stored, async_methods_match_blocking_store);

async fn concurrent_records_all_stored(case: TestCase) {
    let Some(location) = TestLocation::create(case) else { return };
    let store = location.open_async().await.unwrap();

    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for index in 0..RECORDS_PER_TASK {
                let mut record = quarterly_report();
                record.queue_id = format!("T{task:02}R{index:03}");
                record.received_at = start() + Duration::seconds((task * RECORDS_PER_TASK + index) as i64);
                record.rcpt_to = vec![format!("task{task}@example.org")];
                ids.push(store.record(record).await.unwrap());
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }

    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), TASKS * RECORDS_PER_TASK, "record ids are unique");
    assert_eq!(store.count(HistoryQuery::default()).await.unwrap(), (TASKS * RECORDS_PER_TASK) as u64);
    for task in 0..TASKS {
        let query = HistoryQuery { recipient: Some(format!("task{task}@example.org")), ..Default::default() };
        assert_eq!(store.count(query).await.unwrap(), RECORDS_PER_TASK as u64, "records of task {task}");
    }
    let loaded = store.get(RecordKey::QueueId("T03R007".to_string())).await.unwrap().unwrap();
    assert_eq!(loaded.rcpt_to, ["task3@example.org"]);
    assert_eq!(loaded.attachments, quarterly_report().attachments);
}

async fn async_methods_match_blocking_store(case: TestCase) {
    let Some(location) = TestLocation::create(case) else { return };
    let store = location.open_async().await.unwrap();
    let old = simple("OLDMESSAGE01", start() - Duration::days(90), "a@example.com", &["b@example.org"]);
    let id = store.record(quarterly_report()).await.unwrap();
    store.record(old).await.unwrap();

    let summaries = store.query(HistoryQuery::default()).await.unwrap();
    let pruned = store.prune(start() - Duration::days(1)).await.unwrap();

    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[0].id, id);
    assert_eq!(pruned, 1);
    assert_eq!(store.get(RecordKey::Id(id)).await.unwrap(), Some(quarterly_report()));
    let blocking = store.clone();
    let count = tokio::task::spawn_blocking(move || blocking.blocking().count(&HistoryQuery::default())).await.unwrap();
    assert_eq!(count.unwrap(), 1);
}

#[tokio::test]
async fn open_failure_is_returned() {
    let directory = tempfile::tempdir().unwrap();

    let result = mailgate_history::AsyncHistoryStore::open_sqlite(directory.path().join("missing").join("history.sqlite")).await;

    assert!(matches!(result, Err(mailgate_history::HistoryError::Open { .. })));
}
