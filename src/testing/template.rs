//! Template databases: the migrations applied once per content of the directory, copied
//! for each test.

use std::path::Path;

use sha2::{Digest, Sha256};
use sqlx::migrate::Migrator;
use sqlx::{Connection, PgConnection};

use super::TestingError;
use super::server::TestServer;

/// Advisory lock key serialising template builds and copies across processes.
const LOCK: i64 = 0x7067_7469_6465_7573; // "pgtideus"
/// Prefix of the template databases.
pub(super) const TEMPLATE_PREFIX: &str = "pgtide_testing_tpl_";

/// The template for `migrations`, built if this content has none yet; returns its name.
pub(super) async fn ensure(server: &TestServer, migrations: &Path) -> Result<String, TestingError> {
    let migrator = Migrator::new(migrations.to_path_buf())
        .await
        .map_err(|source| TestingError::Migrations {
            dir: migrations.to_path_buf(),
            source,
        })?;
    let name = format!("{TEMPLATE_PREFIX}{}", checksum(&migrator));
    let mut admin = admin(server).await?;
    locked(&mut admin, async |admin| {
        let ready: Option<bool> =
            sqlx::query_scalar("SELECT datistemplate FROM pg_database WHERE datname = $1")
                .bind(&name)
                .fetch_optional(&mut *admin)
                .await
                .map_err(setup("looking for the template"))?;
        match ready {
            Some(true) => return Ok(()),
            // Left half-built by a process that died: build it again.
            Some(false) => run(admin, format!(r#"DROP DATABASE "{name}" WITH (FORCE)"#)).await?,
            None => {}
        }
        run(admin, format!(r#"CREATE DATABASE "{name}""#)).await?;
        let mut conn = PgConnection::connect_with(&server.options(&name))
            .await
            .map_err(setup("connecting to the new template"))?;
        migrator
            .run(&mut conn)
            .await
            .map_err(|source| TestingError::Migrations {
                dir: migrations.to_path_buf(),
                source,
            })?;
        let _ = conn.close().await;
        // Marked a template only once complete: the marker of a finished build.
        run(
            admin,
            format!(r#"ALTER DATABASE "{name}" WITH IS_TEMPLATE true"#),
        )
        .await
    })
    .await?;
    let _ = admin.close().await;
    Ok(name)
}

/// `CREATE DATABASE name TEMPLATE template` (under the lock: a copy fails while another
/// session is connected to the template, e.g. one building it).
pub(super) async fn clone(
    server: &TestServer,
    template: &str,
    name: &str,
) -> Result<(), TestingError> {
    let mut admin = admin(server).await?;
    locked(&mut admin, async |admin| {
        run(
            admin,
            format!(r#"CREATE DATABASE "{name}" TEMPLATE "{template}""#),
        )
        .await
    })
    .await?;
    let _ = admin.close().await;
    Ok(())
}

/// sqlx's own checksums of every migration, with their versions, hashed: any change to a
/// migration (or a new one) gives a new template.
fn checksum(migrator: &Migrator) -> String {
    let mut hash = Sha256::new();
    for m in migrator.iter() {
        hash.update(m.version.to_le_bytes());
        hash.update([m.migration_type.is_down_migration() as u8]);
        hash.update(&m.checksum);
    }
    hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn admin(server: &TestServer) -> Result<PgConnection, TestingError> {
    PgConnection::connect_with(server.admin_options())
        .await
        .map_err(|source| TestingError::Connect {
            from: server.from.clone(),
            source,
        })
}

async fn locked<T>(
    admin: &mut PgConnection,
    work: impl AsyncFnOnce(&mut PgConnection) -> Result<T, TestingError>,
) -> Result<T, TestingError> {
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(LOCK)
        .execute(&mut *admin)
        .await
        .map_err(setup("taking the template lock"))?;
    let result = work(admin).await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK)
        .execute(&mut *admin)
        .await
        .map_err(setup("releasing the template lock"))?;
    result
}

async fn run(admin: &mut PgConnection, sql: String) -> Result<(), TestingError> {
    let what = sql.clone();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(admin)
        .await
        .map(|_| ())
        .map_err(|source| TestingError::Setup { what, source })
}

fn setup(what: &'static str) -> impl FnOnce(sqlx::Error) -> TestingError {
    move |source| TestingError::Setup {
        what: what.into(),
        source,
    }
}
