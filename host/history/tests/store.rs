//! Recording, loading, pruning and reopening a history database, against
//! each backend.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::{TestCase, TestStore, backend_tests, quarterly_report, record_samples, sample_records, simple, start};
use mailgate_history::{HistoryError, HistoryQuery, HistoryStore, RecordId, RecordKey, SCHEMA_VERSION};

backend_tests!(blocking:
    get_by_queue_id_returns_record,
    get_by_record_id_returns_each_record,
    get_unknown_key_returns_none,
    repeated_queue_id_returns_newest,
    received_at_keeps_microseconds,
    oversized_record_is_rejected_whole,
    prune_deletes_old_records_with_lists,
    prune_keeps_record_at_boundary,
    reopened_database_keeps_records,
    newer_schema_is_rejected,
    invalid_stored_outcome_is_reported,
    new_database_has_latest_schema,
    second_store_shares_records,
);

fn get_by_queue_id_returns_record(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    record_samples(&store);

    let loaded = store.get(&RecordKey::QueueId("00000000000A".to_string())).unwrap();

    assert_eq!(loaded, Some(quarterly_report()));
}

fn get_by_record_id_returns_each_record(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    let ids = record_samples(&store);

    for (id, expected) in ids.into_iter().zip(sample_records()) {
        let loaded = store.get(&RecordKey::Id(id)).unwrap();
        assert_eq!(loaded.as_ref(), Some(&expected), "record {id}");
    }
}

fn get_unknown_key_returns_none(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    record_samples(&store);

    assert_eq!(store.get(&RecordKey::QueueId("FFFFFFFFFFFF".to_string())).unwrap(), None);
    assert_eq!(store.get(&RecordKey::QueueId("00000000000a".to_string())).unwrap(), None, "queue ids compare with case");
    assert_eq!(store.get(&RecordKey::Id(RecordId(9999))).unwrap(), None);
}

fn repeated_queue_id_returns_newest(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    let older = simple("REPEATED0001", start(), "old@example.com", &["a@example.org"]);
    let newer = simple("REPEATED0001", start() + Duration::days(200), "new@example.com", &["a@example.org"]);
    store.record(&newer).unwrap();
    store.record(&older).unwrap();

    let loaded = store.get(&RecordKey::QueueId("REPEATED0001".to_string())).unwrap().unwrap();

    assert_eq!(loaded.mail_from, "new@example.com");
}

fn received_at_keeps_microseconds(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    let mut record = simple("NANOSECONDS1", start(), "a@example.com", &["b@example.org"]);
    record.received_at = Utc.timestamp_opt(1_790_000_000, 123_456_789).unwrap();

    let id = store.record(&record).unwrap();
    let loaded = store.get(&RecordKey::Id(id)).unwrap().unwrap();

    assert_eq!(loaded.received_at, Utc.timestamp_opt(1_790_000_000, 123_456_000).unwrap());
}

fn oversized_record_is_rejected_whole(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    let mut record = quarterly_report();
    record.attachments[1].size = u64::MAX;

    let error = store.record(&record).unwrap_err();

    assert!(matches!(error, HistoryError::InvalidRecord { .. }), "{error:?}");
    assert!(error.to_string().contains("00000000000A"), "{error}");
    assert_eq!(store.count(&HistoryQuery::default()).unwrap(), 0);
}

fn prune_deletes_old_records_with_lists(case: TestCase) {
    let Some(TestStore { location, store }) = TestStore::open(case) else { return };
    record_samples(&store);
    let mut old_report = quarterly_report();
    old_report.queue_id = "OLDREPORT001".to_string();
    old_report.received_at = start() - Duration::days(10);
    store.record(&old_report).unwrap();

    let deleted = store.prune(start() - Duration::days(1)).unwrap();

    assert_eq!(deleted, 2);
    assert_eq!(store.count(&HistoryQuery::default()).unwrap(), 4);
    assert_eq!(store.get(&RecordKey::QueueId("00000000000E".to_string())).unwrap(), None);
    assert_eq!(store.get(&RecordKey::QueueId("OLDREPORT001".to_string())).unwrap(), None);
    assert_eq!(store.get(&RecordKey::QueueId("00000000000A".to_string())).unwrap(), Some(quarterly_report()));

    for (table, rows_left) in
        [("recipients", 5), ("rule_results", 4), ("rule_actions", 3), ("part_verdicts", 2), ("attachments", 4), ("defects", 2)]
    {
        assert_eq!(location.count_rows(table), rows_left, "rows left in {table}");
    }
}

fn prune_keeps_record_at_boundary(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    record_samples(&store);

    assert_eq!(store.prune(start() - Duration::days(30)).unwrap(), 0);
    assert_eq!(store.prune(start() - Duration::days(30) + Duration::microseconds(1)).unwrap(), 1);
    assert_eq!(store.prune(start() - Duration::days(30)).unwrap(), 0);
}

fn reopened_database_keeps_records(case: TestCase) {
    let Some(TestStore { location, store }) = TestStore::open(case) else { return };
    let ids = record_samples(&store);
    drop(store);

    let reopened = location.open().unwrap();

    assert_eq!(reopened.count(&HistoryQuery::default()).unwrap(), 5);
    assert_eq!(reopened.get(&RecordKey::Id(ids[0])).unwrap(), Some(quarterly_report()));
    assert_eq!(reopened.schema_version().unwrap(), SCHEMA_VERSION);
    let next = reopened.record(&simple("AFTERREOPEN1", start(), "a@example.com", &["b@example.org"])).unwrap();
    assert!(next > ids[4], "record ids keep growing after a reopen");
    assert_eq!(location.count_rows("schema_migrations"), i64::from(SCHEMA_VERSION));
}

fn newer_schema_is_rejected(case: TestCase) {
    let Some(TestStore { location, store }) = TestStore::open(case) else { return };
    drop(store);
    location.add_schema_migration(SCHEMA_VERSION + 1);

    let error = location.open().err().unwrap();

    let HistoryError::SchemaTooNew { found, supported, .. } = &error else {
        panic!("expected SchemaTooNew, got {error:?}");
    };
    assert_eq!(*found, SCHEMA_VERSION + 1);
    assert_eq!(*supported, SCHEMA_VERSION);
    assert!(error.to_string().contains(&location.display_name()), "{error}");
}

fn invalid_stored_outcome_is_reported(case: TestCase) {
    let Some(TestStore { location, store }) = TestStore::open(case) else { return };
    let id = store.record(&simple("BADOUTCOME01", start(), "a@example.com", &["b@example.org"])).unwrap();
    location.execute(&format!("UPDATE messages SET outcome_kind = 'quarantined' WHERE id = {id}"));

    let error = store.get(&RecordKey::Id(id)).unwrap_err();

    assert!(matches!(error, HistoryError::InvalidStoredValue { column: "messages.outcome_kind", .. }), "{error:?}");
    assert!(error.to_string().contains("quarantined"), "{error}");
}

fn new_database_has_latest_schema(case: TestCase) {
    let Some(TestStore { location, store }) = TestStore::open(case) else { return };

    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(location.count_rows("schema_migrations"), i64::from(SCHEMA_VERSION));
    assert_eq!(location.count_rows("messages"), 0);
}

fn second_store_shares_records(case: TestCase) {
    let Some(TestStore { location, store }) = TestStore::open(case) else { return };
    let second = location.open().unwrap();

    let first_id = store.record(&simple("FIRSTNODE001", start(), "a@example.com", &["b@example.org"])).unwrap();
    let second_id = second.record(&simple("SECONDNODE01", start(), "a@example.com", &["b@example.org"])).unwrap();

    assert_ne!(first_id, second_id);
    assert_eq!(store.count(&HistoryQuery::default()).unwrap(), 2);
    assert_eq!(second.get(&RecordKey::Id(first_id)).unwrap().unwrap().queue_id, "FIRSTNODE001");
    assert_eq!(location.count_rows("schema_migrations"), i64::from(SCHEMA_VERSION), "the second open migrates nothing");
}

#[test]
fn sqlite_database_uses_wal() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("history.sqlite");
    let _store = HistoryStore::open_sqlite(&path).unwrap();

    let connection = rusqlite::Connection::open(&path).unwrap();
    let journal_mode: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();

    assert_eq!(journal_mode, "wal");
}

#[test]
fn open_in_missing_directory_names_path() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("missing").join("history.sqlite");

    let error = HistoryStore::open_sqlite(&path).err().unwrap();

    assert!(matches!(error, HistoryError::Open { .. }), "{error:?}");
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
}

#[test]
fn open_non_database_file_fails() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("history.sqlite");
    std::fs::write(&path, b"this is not an SQLite database, only some text that is long enough").unwrap();

    let error = HistoryStore::open_sqlite(&path).err().unwrap();

    assert!(matches!(error, HistoryError::Open { .. }), "{error:?}");
}

