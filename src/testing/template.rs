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
    let owner = owner_mark(migrations);
    let mut admin = server.connect_admin().await?;
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
        drop_older_templates(admin, &owner, &name).await?;
        run(admin, format!(r#"CREATE DATABASE "{name}""#)).await?;
        let mut conn = server.connect(&name).await?;
        migrator
            .run(&mut conn)
            .await
            .map_err(|source| TestingError::Migrations {
                dir: migrations.to_path_buf(),
                source,
            })?;
        let _ = conn.close().await;
        // `owner` is hex: nothing to escape.
        run(
            admin,
            format!(r#"COMMENT ON DATABASE "{name}" IS '{owner}'"#),
        )
        .await?;
        // Marked a template only once complete: the marker of a finished build. No
        // connections: a session on the template would make every copy fail.
        run(
            admin,
            format!(r#"ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"#),
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
    let mut admin = server.connect_admin().await?;
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

/// What marks the templates of one migrations directory (its absolute path, hashed): a
/// template's `COMMENT`, so a changed directory's older templates can be found and dropped.
fn owner_mark(migrations: &Path) -> String {
    let path = std::fs::canonicalize(migrations).unwrap_or_else(|_| migrations.to_path_buf());
    let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("pgtide-testing-template:{hex}")
}

/// Drops the templates built from earlier contents of the same migrations directory (under
/// the lock, so a copy from them is not under way), so they do not pile up on the server.
/// Templates of other directories (other projects, other checkouts) are left alone.
pub(super) async fn drop_older_templates(
    admin: &mut PgConnection,
    owner: &str,
    current: &str,
) -> Result<(), TestingError> {
    let older: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database \
         WHERE starts_with(datname, $1) AND datname <> $2 \
           AND shobj_description(oid, 'pg_database') = $3",
    )
    .bind(TEMPLATE_PREFIX)
    .bind(current)
    .bind(owner)
    .fetch_all(&mut *admin)
    .await
    .map_err(setup("looking for older templates"))?;
    for name in older {
        run(
            admin,
            format!(r#"ALTER DATABASE "{name}" WITH IS_TEMPLATE false"#),
        )
        .await?;
        run(
            admin,
            format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#),
        )
        .await?;
    }
    Ok(())
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
