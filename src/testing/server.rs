//! Which server the test databases go on: `DATABASE_URL`, else the throwaway server this
//! repository's `cargo xtask db up` records in `PGTIDE_DB_STATE`.

use std::str::FromStr;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgConnectOptions;

use super::TestingError;
use crate::config::Config;

/// A server reachable as a role that may create databases.
pub(super) struct TestServer {
    /// Admin options (the database in them is where we connect to create others).
    options: PgConnectOptions,
    /// The URL, password included: only ever handed to the config loader.
    url: SecretString,
    /// `DATABASE_URL` or the state file's path, for messages.
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

    fn from_url(url: SecretString, from: String) -> Result<Self, TestingError> {
        // sqlx's parse errors do not quote the URL.
        let options = PgConnectOptions::from_str(url.expose_secret()).map_err(|e| {
            TestingError::NoServer {
                reason: format!("{from} is not a PostgreSQL URL: {e}"),
            }
        })?;
        Ok(Self { options, url, from })
    }

    /// Options for `database` on this server.
    pub(super) fn options(&self, database: &str) -> PgConnectOptions {
        self.options.clone().database(database)
    }

    /// The admin options as given (for creating and dropping databases).
    pub(super) fn admin_options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// A pgtide [`Config`] for `database` on this server.
    pub(super) fn config_for(&self, database: &str) -> Result<Config, TestingError> {
        Ok(Config::loader()
            .no_file_search()
            .env([("DATABASE_URL", self.url.expose_secret())])
            .set("database", database)
            .load()?)
    }
}

#[derive(serde::Deserialize)]
struct State {
    host: String,
    port: u16,
    user: String,
    password: SecretString,
}
