//! One fresh database per test, cloned from a template that has the fixtures applied.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::Context;
use sqlx::{Connection, PgConnection};

use crate::server::{Server, ServerState, workspace_root};

/// Prefix of every per-test database; `cargo xtask test` drops leftovers by this prefix.
pub const TEST_DB_PREFIX: &str = "pgtide_t_";
/// Advisory lock key that serialises template creation and cloning across test processes.
const TEMPLATE_LOCK: i64 = 0x7067_7469_6465; // "pgtide"
/// Prefix of the template databases, one per content of `migrations-fixtures/`.
const TEMPLATE_PREFIX: &str = "pgtide_tpl_";
/// How long dropping a test database may take before `Drop` gives up (a hung server must not
/// hang the test; `cargo xtask test` drops leftovers of dead processes).
const DROP_TIMEOUT: Duration = Duration::from_secs(10);

/// A database of its own for one test, with `migrations-fixtures/` applied. Dropped (forcibly)
/// when the value is dropped.
pub struct TestDb {
    name: String,
    server: ServerState,
    /// Set when `PGTIDE_TEST_VIA=pgbouncer`: [`url`](Self::url) goes through it.
    bouncer: Option<crate::Bouncer>,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("name", &self.name).finish()
    }
}

impl TestDb {
    /// Creates a fresh database with the fixtures applied.
    ///
    /// Fails (and so fails the test) when no throwaway server is running.
    pub async fn new() -> anyhow::Result<Self> {
        let server = Server::discover().await?.state;
        let migrations = workspace_root().join("migrations-fixtures");
        let template = ensure_template(&server, &migrations).await?;
        let name = unique_name();
        let mut admin = PgConnection::connect(&server.url("postgres"))
            .await
            .context("connecting to the throwaway server as superuser")?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(TEMPLATE_LOCK)
            .execute(&mut admin)
            .await?;
        let created = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            r#"CREATE DATABASE "{name}" TEMPLATE "{template}""#
        )))
        .execute(&mut admin)
        .await;
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(TEMPLATE_LOCK)
            .execute(&mut admin)
            .await?;
        created.with_context(|| format!("creating test database {name}"))?;
        let bouncer = if crate::pgbouncer::via_pgbouncer() {
            Some(crate::Bouncer::shared().await?)
        } else {
            None
        };
        Ok(Self {
            name,
            server,
            bouncer,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server this database lives on.
    pub fn server(&self) -> &ServerState {
        &self.server
    }

    /// `postgres://` URL of this database (superuser, with password): through the shared
    /// PgBouncer (marked `?pgbouncer=true`) when `PGTIDE_TEST_VIA=pgbouncer`, else direct.
    pub fn url(&self) -> String {
        match &self.bouncer {
            Some(bouncer) => bouncer.url(&self.name),
            None => self.direct_url(),
        }
    }

    /// `postgres://` URL of this database on the server itself, never through PgBouncer.
    pub fn direct_url(&self) -> String {
        self.server.url(&self.name)
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
    /// (always direct: setting up is not what a test through PgBouncer tests).
    pub async fn connect(&self) -> anyhow::Result<PgConnection> {
        PgConnection::connect(&self.direct_url())
            .await
            .with_context(|| format!("connecting to test database {}", self.name))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let url = self.server.url("postgres");
        let sql = format!(r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#, self.name);
        // Runs on its own thread and runtime: Drop may be called inside or outside a runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                tokio::time::timeout(DROP_TIMEOUT, async {
                    let mut conn = PgConnection::connect(&url).await.ok()?;
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
    }
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{TEST_DB_PREFIX}{}_{}_{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates (once per fixture content) the template database, and returns its name.
async fn ensure_template(server: &ServerState, migrations: &PathBuf) -> anyhow::Result<String> {
    let name = format!("{TEMPLATE_PREFIX}{:016x}", fixtures_hash(migrations)?);
    let mut admin = PgConnection::connect(&server.url("postgres")).await?;
    if template_exists(&mut admin, &name).await? {
        return Ok(name);
    }
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut admin)
        .await?;
    let result = async {
        if template_exists(&mut admin, &name).await? {
            return Ok(());
        }
        drop_old_templates(&mut admin, &name).await?;
        // A half-built template from a crashed run is not marked as template: replace it.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
        )))
        .execute(&mut admin)
        .await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .execute(&mut admin)
            .await?;
        let mut conn = PgConnection::connect(&server.url(&name)).await?;
        let migrator = sqlx::migrate::Migrator::new(migrations.as_path())
            .await
            .with_context(|| format!("reading migrations in {}", migrations.display()))?;
        migrator
            .run(&mut conn)
            .await
            .context("applying migrations-fixtures to the template database")?;
        conn.close().await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            r#"ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"#
        )))
        .execute(&mut admin)
        .await?;
        anyhow::Ok(())
    }
    .await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut admin)
        .await?;
    result?;
    Ok(name)
}

/// FNV-1a over the fixture files' names and contents: stable across Rust versions.
fn fixtures_hash(dir: &PathBuf) -> anyhow::Result<u64> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for entry in entries {
        let bytes = std::fs::read(entry.path())?;
        for byte in entry.file_name().as_encoded_bytes().iter().chain(&bytes) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    Ok(hash)
}

/// Drops the templates of other fixture contents (earlier versions of `migrations-fixtures/`),
/// so they do not pile up. Every test process of one run computes the same current name, and
/// this runs under the template lock, so only stale templates go.
async fn drop_old_templates(admin: &mut PgConnection, current: &str) -> anyhow::Result<()> {
    let old: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND datname <> $2",
    )
    .bind(TEMPLATE_PREFIX)
    .bind(current)
    .fetch_all(&mut *admin)
    .await?;
    for name in old {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            r#"ALTER DATABASE "{name}" WITH IS_TEMPLATE false"#
        )))
        .execute(&mut *admin)
        .await
        .with_context(|| format!("unmarking old template {name}"))?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
        )))
        .execute(&mut *admin)
        .await
        .with_context(|| format!("dropping old template {name}"))?;
    }
    Ok(())
}

async fn template_exists(admin: &mut PgConnection, name: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)",
    )
    .bind(name)
    .fetch_one(admin)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn templates_of_older_fixtures_are_dropped_the_current_one_kept() -> anyhow::Result<()> {
        let server = Server::discover().await?.state;
        let migrations = workspace_root().join("migrations-fixtures");
        let current = ensure_template(&server, &migrations).await?;
        let stale = format!("{TEMPLATE_PREFIX}stale_{}", std::process::id());
        let mut admin = PgConnection::connect(&server.url("postgres")).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            r#"CREATE DATABASE "{stale}" IS_TEMPLATE true ALLOW_CONNECTIONS false"#
        )))
        .execute(&mut admin)
        .await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(TEMPLATE_LOCK)
            .execute(&mut admin)
            .await?;
        let dropped = drop_old_templates(&mut admin, &current).await;
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(TEMPLATE_LOCK)
            .execute(&mut admin)
            .await?;
        dropped?;
        let left: Vec<String> =
            sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
                .bind(TEMPLATE_PREFIX)
                .fetch_all(&mut admin)
                .await?;
        assert_eq!(left, vec![current]);
        Ok(())
    }
}
