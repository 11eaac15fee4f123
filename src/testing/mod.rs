//! A fresh database per test, with your migrations applied: what pgtide's own tests use,
//! for yours. Enable the `testing` feature in your dev-dependencies:
//!
//! ```toml
//! [dev-dependencies]
//! pgtide = { version = "0.1", features = ["testing"] }
//! ```
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let db = pgtide::testing::TestDatabase::new("migrations").await?;
//! let pool = db.pool().await?;
//! let n: i64 = pgtide::sqlx::query_scalar("SELECT count(*) FROM authors").fetch_one(&pool).await?;
//! assert_eq!(n, 0);
//! # Ok(()) }
//! ```
//!
//! - **Which server**: `DATABASE_URL`, as a role that may `CREATE DATABASE` (the database
//!   in the URL is only used to connect). Without it, the throwaway server this repository's
//!   `cargo xtask db up` records (`PGTIDE_DB_STATE`, set by `cargo xtask test`). With neither,
//!   or when the server does not answer, [`TestDatabase::new`] fails, naming `DATABASE_URL`:
//!   a test never passes without a database.
//! - **Fast**: the migrations run once per content of the directory, into a template
//!   database named after their checksum (`pgtide_testing_tpl_<checksum>`); each test's database is
//!   a `CREATE DATABASE … TEMPLATE` copy of it, which takes milliseconds. Changing a
//!   migration changes the checksum, so a new template is built. Builds and copies are
//!   serialised across processes with an advisory lock.
//! - **Clean**: the database is dropped (`WITH (FORCE)`) when the [`TestDatabase`] is.

mod error;
mod server;
mod template;

use std::path::Path;

use sqlx::{Connection, PgConnection};

use crate::config::Config;
use crate::pool::Pool;

pub use error::TestingError;
use server::TestServer;

/// Prefix of every test database this module creates (`<prefix><pid>_<n>_<nanos>`: a
/// cleanup job can tell leftovers of dead processes by the pid).
pub const TEST_DATABASE_PREFIX: &str = "pgtide_test_";

/// How long dropping a test database may take before `Drop` gives up (a hung server must not
/// hang the test).
const DROP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A database of its own for one test, cloned from a template with the migrations applied;
/// dropped when this value is. See the [module docs](self).
pub struct TestDatabase {
    name: String,
    server: TestServer,
    config: Config,
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl TestDatabase {
    /// A fresh database with the sqlx-format migrations in `migrations` applied (a path
    /// relative to the working directory, which for `cargo test` is the package's root),
    /// on the server `DATABASE_URL` names (else the throwaway one; see the module docs).
    pub async fn new(migrations: impl AsRef<Path>) -> Result<Self, TestingError> {
        Self::create(TestServer::find()?, migrations.as_ref()).await
    }

    /// As [`new`](Self::new), on the server `admin` connects to: its role must be allowed to
    /// `CREATE DATABASE`, and its database is only used to connect. The test database's
    /// [`config`](Self::config) is `admin` with the database replaced; every connection is
    /// made as pools make them (the same TLS rules).
    pub async fn on_server(
        admin: &Config,
        migrations: impl AsRef<Path>,
    ) -> Result<Self, TestingError> {
        let server = TestServer::from_config(admin.clone(), "the server configuration".into());
        Self::create(server, migrations.as_ref()).await
    }

    async fn create(server: TestServer, migrations: &Path) -> Result<Self, TestingError> {
        let template = template::ensure(&server, migrations).await?;
        let name = unique_name();
        template::clone(&server, &template, &name).await?;
        let config = server.config_for(&name);
        Ok(Self {
            name,
            server,
            config,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A [`Config`] for this database (the server's role and password, the test database).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A pool on this database ([`Pool::connect`] with [`config`](Self::config)).
    pub async fn pool(&self) -> crate::Result<Pool> {
        Pool::connect(&self.config).await
    }

    /// One connection to this database, for setting up and inspecting state: made as a
    /// pool makes one (the same TLS rules), with the server's own session defaults (no
    /// statement or idle-in-transaction timeout).
    pub async fn connect(&self) -> crate::Result<PgConnection> {
        self.server
            .connect(&self.name)
            .await
            .map_err(|err| match err {
                TestingError::Connect { source, .. } => *source,
                other => crate::Error::from(sqlx::Error::Configuration(other.to_string().into())),
            })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let server = &self.server;
        let sql = format!(r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#, self.name);
        // Its own thread and runtime: `Drop` may run inside a runtime or outside any.
        std::thread::scope(|scope| {
            let _ = scope
                .spawn(|| {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    rt.block_on(async {
                        tokio::time::timeout(DROP_TIMEOUT, async {
                            let mut conn = server.connect_admin().await.ok()?;
                            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                                .execute(&mut conn)
                                .await
                                .ok()?;
                            conn.close().await.ok()
                        })
                        .await
                        .ok()
                        .flatten()
                    })
                })
                .join();
        });
    }
}

fn unique_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{TEST_DATABASE_PREFIX}{}_{}_{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
