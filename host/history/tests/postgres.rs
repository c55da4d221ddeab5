//! Behaviour that only the PostgreSQL backend has: several stores migrating
//! one database at once, reconnecting after a lost connection, URLs in
//! errors without their password, and text with NUL characters.

mod common;

use std::sync::{Arc, Barrier};

use common::{quarterly_report, simple, start};
use mailgate_history::testing::TestDatabase;
use mailgate_history::{HistoryError, HistoryQuery, HistoryStore, PostgresUrl, RecordKey, SCHEMA_VERSION};

const STORES: usize = 4;

#[test]
fn concurrent_opens_migrate_once() {
    let Some(database) = TestDatabase::create("postgres::concurrent_opens_migrate_once") else { return };
    let url = database.postgres_url();
    let barrier = Arc::new(Barrier::new(STORES));

    let threads: Vec<_> = (0..STORES)
        .map(|_| {
            let url = url.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                HistoryStore::open_postgres(&url)
            })
        })
        .collect();
    let stores: Vec<HistoryStore> = threads.into_iter().map(|thread| thread.join().unwrap().unwrap()).collect();

    assert_eq!(database.query_i64("SELECT count(*) FROM schema_migrations"), i64::from(SCHEMA_VERSION));
    for store in &stores {
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    }
}

#[test]
fn lost_connection_is_reopened() {
    let Some(database) = TestDatabase::create("postgres::lost_connection_is_reopened") else { return };
    let store = HistoryStore::open_postgres(&database.postgres_url()).unwrap();
    store.record(&quarterly_report()).unwrap();

    assert_eq!(database.terminate_connections(), 1, "the store's connection is ended");
    let id = store.record(&simple("AFTERLOSS001", start(), "a@example.com", &["b@example.org"])).unwrap();

    assert_eq!(store.get(&RecordKey::Id(id)).unwrap().unwrap().queue_id, "AFTERLOSS001");
    assert_eq!(database.terminate_connections(), 1);
    assert_eq!(store.count(&HistoryQuery::default()).unwrap(), 2, "a read after a loss reconnects too");
    assert_eq!(database.query_i64("SELECT count(*) FROM messages"), 2, "nothing is written twice");
}

#[test]
fn unreachable_server_error_hides_password() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = PostgresUrl::parse(&format!("postgres://mailgate:s3cret-pw@127.0.0.1:{port}/history?connect_timeout=5")).unwrap();

    let error = HistoryStore::open_postgres(&url).err().unwrap();

    assert!(matches!(error, HistoryError::Open { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&format!("postgres://mailgate@127.0.0.1:{port}/history")), "{message}");
    assert!(!message.contains("s3cret-pw"), "{message}");
    assert!(!format!("{error:?}").contains("s3cret-pw"), "{error:?}");
}

#[test]
fn nul_characters_become_replacement() {
    let Some(database) = TestDatabase::create("postgres::nul_characters_become_replacement") else { return };
    let store = HistoryStore::open_postgres(&database.postgres_url()).unwrap();
    let mut record = simple("NULINTEXT001", start(), "a@example.com", &["b@example.org"]);
    record.subject = Some("before\0after".to_string());
    record.defects = vec!["NUL\0in header".to_string()];

    let id = store.record(&record).unwrap();
    let loaded = store.get(&RecordKey::Id(id)).unwrap().unwrap();
    let found = store.count(&HistoryQuery { subject: Some("e\0a".to_string()), ..Default::default() }).unwrap();

    assert_eq!(loaded.subject.as_deref(), Some("before\u{FFFD}after"));
    assert_eq!(loaded.defects, ["NUL\u{FFFD}in header"]);
    assert_eq!(found, 1, "a filter value with NUL matches the stored text");
}
