//! From a validated [`Config`] to sqlx connect options, and one connection with a deadline.
//!
//! This is the only place the password is exposed: it goes straight into
//! [`PgConnectOptions`], whose `Debug` does not print it either.
//!
//! Session settings (`statement_timeout`, `lock_timeout`,
//! `idle_in_transaction_session_timeout`, `search_path` and any extra GUC) travel in the
//! startup packet's `options` (`-c name=value`), so they cost no round trip and the server
//! reports their source as `client` in `pg_settings`.
//!
//! sqlx itself falls back to libpq's `PG*` environment variables for values the options do
//! not set; every value pgtide's configuration holds is set explicitly here, so the
//! configuration wins.

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, PgConnection};

use crate::config::{Config, SessionSettings, SslMode};
use crate::error::{Error, Result};

/// sqlx connect options for `config`.
pub(crate) fn connect_options(config: &Config) -> PgConnectOptions {
    let c = config.connection();
    let tls = config.tls();
    let mut options = PgConnectOptions::new_without_pgpass()
        .host(&c.host)
        .port(c.port)
        .username(&c.user)
        .password(c.password.expose_secret())
        .database(&c.database)
        .application_name(&c.application_name)
        .ssl_mode(ssl_mode(tls.mode));
    if let Some(root) = &tls.root_cert {
        options = options.ssl_root_cert(root);
    }
    if let Some(cert) = &tls.client_cert {
        options = options.ssl_client_cert(cert);
    }
    if let Some(key) = &tls.client_key {
        options = options.ssl_client_key(key);
    }
    let settings = startup_settings(config.session());
    if settings.is_empty() {
        options
    } else {
        options.options(settings)
    }
}

/// The session settings as `(name, value)` startup options.
pub(crate) fn startup_settings(session: &SessionSettings) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in [
        ("statement_timeout", session.statement_timeout),
        ("lock_timeout", session.lock_timeout),
        (
            "idle_in_transaction_session_timeout",
            session.idle_in_transaction_session_timeout,
        ),
    ] {
        if let Some(value) = value {
            out.push((name.to_owned(), millis(value)));
        }
    }
    if let Some(path) = &session.search_path {
        out.push(("search_path".to_owned(), path.clone()));
    }
    for (name, value) in &session.extra {
        out.push((name.clone(), value.clone()));
    }
    out
}

/// A duration as PostgreSQL milliseconds, rounded up: `0` would mean "no limit".
pub(crate) fn millis(d: Duration) -> String {
    let ms = d.as_millis() + u128::from(!d.subsec_nanos().is_multiple_of(1_000_000));
    format!("{}ms", ms.max(1))
}

fn ssl_mode(mode: SslMode) -> PgSslMode {
    match mode {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Allow => PgSslMode::Allow,
        SslMode::Prefer => PgSslMode::Prefer,
        SslMode::Require => PgSslMode::Require,
        SslMode::VerifyCa => PgSslMode::VerifyCa,
        SslMode::VerifyFull => PgSslMode::VerifyFull,
    }
}

/// Opens one connection, failing with [`Error::Timeout`] after `timeout` (TCP, TLS and
/// authentication together: sqlx has no connect timeout of its own).
pub(crate) async fn connect(options: &PgConnectOptions, timeout: Duration) -> Result<PgConnection> {
    match tokio::time::timeout(timeout, options.connect()).await {
        Ok(result) => result.map_err(Error::from),
        Err(_) => Err(Error::timeout(
            format!(
                "connecting to {}:{} after {timeout:?}",
                options.get_host(),
                options.get_port()
            ),
            None,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_up_and_never_zero() {
        assert_eq!(millis(Duration::from_millis(200)), "200ms");
        assert_eq!(millis(Duration::from_micros(1500)), "2ms");
        assert_eq!(millis(Duration::from_nanos(1)), "1ms");
    }
}
