//! PostgreSQL databases for tests, one per test, so that tests can run in
//! parallel. Built with the `testing` feature.
//!
//! The server is the one that the environment variable
//! [`POSTGRES_URL_VARIABLE`] names, for example
//! `postgres://mailgate:secret@127.0.0.1:5432/mailgate`; its role needs the
//! `CREATEDB` privilege. `scripts/postgres-for-tests.sh` starts such a
//! server. Without the variable, PostgreSQL tests print a line saying they
//! are skipped, except when the variable `CI` is set: there a missing URL
//! fails the test.
//!
//! Every function here that talks to the server does so on a thread of its
//! own, so that async tests can call it too.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use postgres::{Client, NoTls};

use crate::postgresql::PostgresUrl;

/// The environment variable with the URL of the test server.
pub const POSTGRES_URL_VARIABLE: &str = "MAILGATE_POSTGRES_URL";

/// Returns the URL of the test server, or `None` after printing that the
/// test `test_name` is skipped.
///
/// # Panics
///
/// When the variable is unset or empty while `CI` is set.
pub fn server_url(test_name: &str) -> Option<String> {
    let url = std::env::var(POSTGRES_URL_VARIABLE).ok().filter(|url| !url.trim().is_empty());
    if url.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!(
                "{POSTGRES_URL_VARIABLE} is not set, but CI is: the PostgreSQL test {test_name} must run there; \
                 run the tests through scripts/postgres-for-tests.sh"
            );
        }
        println!("skipped: {test_name} needs PostgreSQL; set {POSTGRES_URL_VARIABLE} or use scripts/postgres-for-tests.sh");
    }
    url
}

/// A new, empty database on the test server, dropped with all its
/// connections when this value is dropped.
pub struct TestDatabase {
    server_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates a database for the test `test_name`, or returns `None` when
    /// the test is skipped, as [`server_url`] decides.
    ///
    /// # Panics
    ///
    /// When the server URL is invalid or the database cannot be created.
    pub fn create(test_name: &str) -> Option<TestDatabase> {
        let server_url = server_url(test_name)?;
        let name = unique_name(test_name);
        let url = with_database(&server_url, &name);

        on_own_thread(|| {
            let mut client = connect(&server_url);
            client
                .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .unwrap_or_else(|error| panic!("cannot create test database {name}: {error}"));
        });

        Some(TestDatabase { server_url, name, url })
    }

    /// Returns the URL of this database, password included.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Returns the parsed URL of this database.
    pub fn postgres_url(&self) -> PostgresUrl {
        PostgresUrl::parse(&self.url).expect("test database URL is valid")
    }

    /// Returns the name of this database.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `sql`, which may hold several statements, on a connection of its
    /// own.
    ///
    /// # Panics
    ///
    /// When the statements fail.
    pub fn execute(&self, sql: &str) {
        on_own_thread(|| {
            connect(&self.url).batch_execute(sql).unwrap_or_else(|error| panic!("`{sql}` failed: {error}"));
        });
    }

    /// Runs `sql`, which selects one `bigint`, and returns it.
    ///
    /// # Panics
    ///
    /// When the query fails or returns no `bigint`.
    pub fn query_i64(&self, sql: &str) -> i64 {
        on_own_thread(|| {
            let row = connect(&self.url).query_one(sql, &[]).unwrap_or_else(|error| panic!("`{sql}` failed: {error}"));
            row.get(0)
        })
    }

    /// Ends every other session on this database, as a restart of the
    /// server does, and returns how many were ended.
    pub fn terminate_connections(&self) -> i64 {
        self.query_i64(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let result = on_own_thread(|| {
            let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
            try_connect(&self.server_url)?.batch_execute(&sql).map_err(|error| error.to_string())
        });
        if let Err(error) = result {
            eprintln!("cannot drop test database {}: {error}", self.name);
        }
    }
}

fn connect(url: &str) -> Client {
    try_connect(url).unwrap_or_else(|error| panic!("{error}"))
}

fn try_connect(url: &str) -> Result<Client, String> {
    let url = PostgresUrl::parse(url).map_err(|error| format!("{POSTGRES_URL_VARIABLE}: {error}"))?;
    url.config().connect(NoTls).map_err(|error| format!("cannot connect to {url}: {error}"))
}

/// Builds a database name from the test name, the process id, the time and
/// a counter, within PostgreSQL's 63-byte limit for names.
fn unique_name(test_name: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);

    let stem: String = test_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .take(24)
        .collect();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.subsec_nanos());
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);

    format!("mgtest_{stem}_{}_{nanos}_{counter}", std::process::id())
}

/// Replaces the database in the path of `url` with `name`, keeping the
/// query string.
fn with_database(url: &str, name: &str) -> String {
    let authority_start = url.find("://").map_or(0, |index| index + 3);
    let rest = &url[authority_start..];
    let path_start = authority_start + rest.find(['/', '?']).unwrap_or(rest.len());
    let query_start = url[path_start..].find('?').map_or(url.len(), |index| path_start + index);

    format!("{}/{name}{}", &url[..path_start], &url[query_start..])
}

/// Runs `work` on a new thread and returns its result. A panic in `work`
/// goes on in the caller.
fn on_own_thread<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| match scope.spawn(work).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_replaces_path_only() {
        assert_eq!(with_database("postgres://u:p@127.0.0.1:5432/mailgate", "t1"), "postgres://u:p@127.0.0.1:5432/t1");
        assert_eq!(
            with_database("postgres://u:p@127.0.0.1:5432/mailgate?connect_timeout=5", "t1"),
            "postgres://u:p@127.0.0.1:5432/t1?connect_timeout=5"
        );
        assert_eq!(with_database("postgres://u@localhost", "t1"), "postgres://u@localhost/t1");
        assert_eq!(with_database("postgres://u@localhost?sslmode=disable", "t1"), "postgres://u@localhost/t1?sslmode=disable");
    }

    #[test]
    fn unique_names_fit_and_differ() {
        let first = unique_name("store::sqlite::a_very_long_test_name_that_goes_on_and_on");
        let second = unique_name("store::sqlite::a_very_long_test_name_that_goes_on_and_on");

        assert_ne!(first, second);
        assert!(first.len() <= 63, "{first}");
        assert!(first.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{first}");
    }
}
