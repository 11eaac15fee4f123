//! One fresh database per test: [`pgtide::testing::TestDatabase`] on the throwaway server,
//! with `migrations-fixtures/` applied.
//!
//! The per-test database logic (template per content of the migrations, unique names, the
//! copy, the drop when the test ends) has one owner, `pgtide::testing`, which users get
//! too; this module only finds the throwaway server and adds the PgBouncer mode. Every
//! connection it makes goes through pgtide's connect path, with the library's TLS rules.

use anyhow::Context;
use pgtide::config::Config;
use pgtide::testing::TestDatabase;
use sqlx::PgConnection;

use crate::server::{Server, ServerState, workspace_root};

/// Prefix of every per-test database; `cargo xtask test` drops leftovers by this prefix.
pub const TEST_DB_PREFIX: &str = pgtide::testing::TEST_DATABASE_PREFIX;

/// A database of its own for one test, with `migrations-fixtures/` applied. Dropped (forcibly)
/// when the value is dropped.
pub struct TestDb {
    db: TestDatabase,
    server: ServerState,
    /// Set when `PGTIDE_TEST_VIA=pgbouncer`: [`url`](Self::url) goes through it.
    bouncer: Option<crate::Bouncer>,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("name", &self.name())
            .finish()
    }
}

impl TestDb {
    /// Creates a fresh database with the fixtures applied.
    ///
    /// Fails (and so fails the test) when no throwaway server is running.
    pub async fn new() -> anyhow::Result<Self> {
        let server = Server::discover().await?.state;
        let db = TestDatabase::on_server(
            &admin_config(&server)?,
            workspace_root().join("migrations-fixtures"),
        )
        .await
        .context("creating a test database on the throwaway server")?;
        let bouncer = if crate::pgbouncer::via_pgbouncer() {
            Some(crate::Bouncer::shared().await?)
        } else {
            None
        };
        Ok(Self {
            db,
            server,
            bouncer,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        self.db.name()
    }

    /// The server this database lives on.
    pub fn server(&self) -> &ServerState {
        &self.server
    }

    /// `postgres://` URL of this database (superuser, with password): through the shared
    /// PgBouncer (marked `?pgbouncer=true`) when `PGTIDE_TEST_VIA=pgbouncer`, else direct.
    pub fn url(&self) -> String {
        match &self.bouncer {
            Some(bouncer) => bouncer.url(self.name()),
            None => self.direct_url(),
        }
    }

    /// `postgres://` URL of this database on the server itself, never through PgBouncer.
    pub fn direct_url(&self) -> String {
        self.server.url(self.name())
    }

    /// Whether [`url`](Self::url) goes through PgBouncer (`PGTIDE_TEST_VIA=pgbouncer`).
    pub fn via_pgbouncer(&self) -> bool {
        self.bouncer.is_some()
    }

    /// The PgBouncer [`url`](Self::url) goes through, when `PGTIDE_TEST_VIA=pgbouncer`.
    pub fn bouncer(&self) -> Option<&crate::Bouncer> {
        self.bouncer.as_ref()
    }

    /// A plain sqlx connection to this database, for setting up and inspecting state
    /// (always direct: setting up is not what a test through PgBouncer tests), made by
    /// pgtide's connect path with the server's own session defaults.
    pub async fn connect(&self) -> anyhow::Result<PgConnection> {
        self.db
            .connect()
            .await
            .with_context(|| format!("connecting to test database {}", self.name()))
    }
}

/// The throwaway server's superuser on its `postgres` database, as the configuration loader
/// reads a URL (the same rules an application's configuration gets).
fn admin_config(server: &ServerState) -> anyhow::Result<Config> {
    Config::loader()
        .no_file_search()
        .env([("DATABASE_URL", server.url("postgres"))])
        .load()
        .context("reading the throwaway server's URL")
}
