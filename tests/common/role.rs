//! A login role of its own for a test database, and configs that connect as it: the setup the
//! credential-rotation tests (credentials, registry) share.

use pgtide::SecretString;
use pgtide::config::{Config, PoolSize, SslMode};
use pgtide_testkit::TestDb;
use sqlx::PgConnection;

use super::unique_app_name;

/// A `LOGIN` role named after the test database (`<prefix>_<db>`), so tests never share one.
pub struct TestRole {
    /// The role's name (a plain identifier).
    pub name: String,
}

impl TestRole {
    /// Creates the role with `password`.
    pub async fn create(
        db: &TestDb,
        admin: &mut PgConnection,
        prefix: &str,
        password: &str,
    ) -> anyhow::Result<Self> {
        let name = format!(
            "{prefix}_{}",
            db.name().replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE ROLE {name} LOGIN PASSWORD '{password}'"
        )))
        .execute(admin)
        .await?;
        Ok(Self { name })
    }

    /// Rotates the role's password on the server.
    pub async fn set_password(
        &self,
        admin: &mut PgConnection,
        password: &str,
    ) -> anyhow::Result<()> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "ALTER ROLE {} PASSWORD '{password}'",
            self.name
        )))
        .execute(admin)
        .await?;
        Ok(())
    }
}

/// A config for `db` as `user` with `password`, pool `1..=max`, under `app` (a fresh
/// application name when `None`).
pub fn config_as(
    db: &TestDb,
    user: &str,
    password: &str,
    max: u32,
    app: Option<&str>,
) -> anyhow::Result<Config> {
    let s = db.server();
    Ok(Config::builder()
        .host(s.host.clone())
        .port(s.port)
        .database(db.name())
        .user(user)
        .password(SecretString::from(password))
        .ssl_mode(SslMode::Disable)
        .application_name(app.map_or_else(unique_app_name, str::to_owned))
        .pool_size(PoolSize::new(1, max)?)
        .build()?)
}
