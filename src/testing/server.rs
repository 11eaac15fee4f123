//! Which server the test databases go on: `DATABASE_URL`, else the throwaway server this
//! repository's `cargo xtask db up` records in `PGTIDE_DB_STATE`, else a [`Config`] given in
//! code ([`TestDatabase::on_server`](super::TestDatabase::on_server)).
//!
//! Every connection the harness opens goes through pgtide's own connect path
//! (`pool::connect`): the same TLS rules (`sslmode`, verified certificates, `require_auth`)
//! as the application's pools. Only the refusal of inherited `PGOPTIONS` / `PGSSLROOTCERT`
//! / `PGSSLCERT` / `PGSSLKEY` is left to the pools: setup must work in any environment.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgConnection;

use super::TestingError;
use crate::config::{Config, SessionSettings};

/// A server reachable as a role that may create databases.
pub(super) struct TestServer {
    /// Connects as that role; its database is where databases are created from.
    admin: Config,
    /// `DATABASE_URL`, the state file's path, or "the server configuration": for messages.
    pub(super) from: String,
}

impl TestServer {
    pub(super) fn find() -> Result<Self, TestingError> {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return Self::from_url(SecretString::from(url), "DATABASE_URL".into());
        }
        let Some(state) = std::env::var_os("PGTIDE_DB_STATE") else {
            return Err(TestingError::NoServer {
                reason: "DATABASE_URL is not set".into(),
            });
        };
        let path = std::path::PathBuf::from(state);
        let text = std::fs::read_to_string(&path).map_err(|e| TestingError::NoServer {
            reason: format!(
                "DATABASE_URL is not set and the throwaway server's state file {} cannot be read: {e}",
                path.display()
            ),
        })?;
        let state: State = serde_json::from_str(&text).map_err(|e| TestingError::NoServer {
            reason: format!("{} is not a throwaway server's state: {e}", path.display()),
        })?;
        let url = format!(
            "postgres://{}:{}@{}:{}/postgres",
            utf8_percent_encode(&state.user, NON_ALPHANUMERIC),
            utf8_percent_encode(state.password.expose_secret(), NON_ALPHANUMERIC),
            state.host,
            state.port
        );
        Self::from_url(SecretString::from(url), path.display().to_string())
    }

    /// The server a URL names, read by the configuration loader (so its `sslmode`,
    /// `sslrootcert`... mean what they mean for a pool). A URL without a password takes
    /// `PGPASSWORD`, else none (trust or peer authentication).
    fn from_url(url: SecretString, from: String) -> Result<Self, TestingError> {
        let password = std::env::var("PGPASSWORD").unwrap_or_default();
        let admin = Config::loader()
            .no_file_search()
            .env([
                ("DATABASE_URL", url.expose_secret()),
                ("PGPASSWORD", password.as_str()),
            ])
            .load()?;
        Ok(Self::from_config(admin, from))
    }

    /// The server `admin` connects to, as its role; `admin`'s database is the one to
    /// connect to for creating others.
    pub(super) fn from_config(admin: Config, from: String) -> Self {
        Self { admin, from }
    }

    /// A pgtide [`Config`] for `database` on this server.
    pub(super) fn config_for(&self, database: &str) -> Config {
        let mut config = self.admin.clone();
        config.connection.database = database.to_owned();
        config
    }

    /// One connection to `database`, for setting up and inspecting: through pgtide's connect
    /// path, with the server's own session defaults (no statement or idle timeouts).
    pub(super) async fn connect(&self, database: &str) -> Result<PgConnection, TestingError> {
        let mut config = self.config_for(database);
        config.session = SessionSettings {
            statement_timeout: None,
            lock_timeout: None,
            idle_in_transaction_session_timeout: None,
            ..config.session
        };
        let connect = async {
            // Setup connections do not refuse inherited `PGOPTIONS`/`PGSSLROOTCERT`...: a
            // test may run with them set to prove a pool refuses them.
            let options = crate::pool::connect::connect_options_as_configured(&config)?;
            crate::pool::connect::connect(&options, config.connection().connect_timeout).await
        };
        connect.await.map_err(|source| TestingError::Connect {
            from: self.from.clone(),
            source: Box::new(source),
        })
    }

    /// A connection to the admin database (for creating and dropping databases).
    pub(super) async fn connect_admin(&self) -> Result<PgConnection, TestingError> {
        self.connect(&self.admin.connection().database).await
    }
}

#[derive(serde::Deserialize)]
struct State {
    host: String,
    port: u16,
    user: String,
    password: SecretString,
}
