//! Behaviour that only the PostgreSQL backend has: several stores migrating
//! one database at once, reconnecting after a lost connection or an outage,
//! URLs in errors without their password, and text with NUL characters.

mod common;

use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use common::{quarterly_report, simple, start};
use mailgate_history::testing::TestDatabase;
use mailgate_history::{HistoryError, HistoryQuery, HistoryStore, PostgresUrl, RECONNECT_DELAY, RecordKey, SCHEMA_VERSION};

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
fn outage_fails_calls_until_server_returns() {
    let Some(database) = TestDatabase::create("postgres::outage_fails_calls_until_server_returns") else { return };
    let proxy = CuttableProxy::start(server_address(database.url()));
    let url = PostgresUrl::parse(&with_address(database.url(), proxy.address)).unwrap();
    let store = HistoryStore::open_postgres(&url).unwrap();
    store.record(&quarterly_report()).unwrap();

    proxy.cut();
    let record_error = store.record(&simple("DURINGOUTAGE", start(), "a@example.com", &["b@example.org"])).unwrap_err();
    proxy.restore();
    let delayed_error = store.count(&HistoryQuery::default()).unwrap_err();
    std::thread::sleep(RECONNECT_DELAY + Duration::from_millis(100));
    let id = store.record(&simple("AFTEROUTAGE1", start(), "a@example.com", &["b@example.org"])).unwrap();

    assert!(matches!(record_error, HistoryError::Open { .. }), "{record_error:?}");
    assert!(matches!(delayed_error, HistoryError::Open { .. }), "{delayed_error:?}");
    assert!(delayed_error.to_string().contains("last connection attempt failed"), "no attempt within the delay: {delayed_error}");
    assert_eq!(store.get(&RecordKey::Id(id)).unwrap().unwrap().queue_id, "AFTEROUTAGE1");
    assert_eq!(store.count(&HistoryQuery::default()).unwrap(), 2, "the record during the outage is not stored");
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

/// A TCP proxy on loopback in front of the test server. While it is cut, it
/// closes every connection, as an unreachable server would look to the
/// store.
struct CuttableProxy {
    address: SocketAddr,
    cut: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl CuttableProxy {
    fn start(upstream: SocketAddr) -> CuttableProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let streams = Arc::new(Mutex::new(Vec::new()));

        let (accept_cut, accept_streams) = (Arc::clone(&cut), Arc::clone(&streams));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if accept_cut.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else { continue };
                let mut open = accept_streams.lock().unwrap();
                open.push(client.try_clone().unwrap());
                open.push(server.try_clone().unwrap());
                forward(client.try_clone().unwrap(), server.try_clone().unwrap());
                forward(server, client);
            }
        });

        CuttableProxy { address, cut, streams }
    }

    /// Closes the open connections and every new one until [`Self::restore`].
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for stream in self.streams.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// Copies bytes from `from` to `to` on a thread of its own until either
/// side closes.
fn forward(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(read) = from.read(&mut buffer) {
            if read == 0 || std::io::Write::write_all(&mut to, &buffer[..read]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// Returns the address in `postgres://user:password@HOST:PORT/database`.
fn server_address(url: &str) -> SocketAddr {
    let authority = authority(url);
    let host_port = &url[authority.0..authority.1];
    host_port.to_socket_addrs().unwrap().next().unwrap()
}

/// Replaces `HOST:PORT` in `url` with `address`.
fn with_address(url: &str, address: SocketAddr) -> String {
    let (start, end) = authority(url);
    format!("{}{address}{}", &url[..start], &url[end..])
}

/// Returns where `HOST:PORT` starts and ends in `url`.
fn authority(url: &str) -> (usize, usize) {
    let start = url.rfind('@').map_or(url.find("://").unwrap() + 3, |at| at + 1);
    let end = url[start..].find(['/', '?']).map_or(url.len(), |index| start + index);
    (start, end)
}
