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
//! not set, read from the process behind the configuration loader's back. Every value
//! pgtide's configuration holds is set explicitly here, so the configuration wins over
//! `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`, `PGAPPNAME`. Two
//! kinds sqlx 0.9 gives no way to leave out are refused instead ([`inherited_env`]):
//! `PGOPTIONS` (sqlx adds it in front of the session settings of every connection), and
//! `PGSSLROOTCERT` / `PGSSLCERT` / `PGSSLKEY` when the configuration does not set the same
//! file and TLS is not disabled. Put those settings in the configuration instead (the loader
//! reads the certificate variables itself when asked to read the environment).
//!
//! Behind PgBouncer (`pgbouncer = true`) nothing is sent at startup and the statement cache
//! is off: see [`crate::pgbouncer`].

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, PgConnection};

use crate::config::{Config, SessionSettings, SslMode};
use crate::error::{Error, Result, TimeoutKind};

/// sqlx connect options for `config`; fails when the process environment holds settings
/// sqlx would add behind the configuration's back (see the module docs).
pub(crate) fn connect_options(config: &Config) -> Result<PgConnectOptions> {
    inherited_env(config, |name| std::env::var_os(name))?;
    connect_options_as_configured(config)
}

/// As [`connect_options`], without refusing the inherited variables (sqlx still applies
/// them): for `pgtide::testing`'s setup connections, which must work in whatever environment
/// a test runs, as they did over plain sqlx. Pools always refuse.
pub(crate) fn connect_options_as_configured(config: &Config) -> Result<PgConnectOptions> {
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
    // Verified TLS and `require_auth` go through pgtide's relay (see `crate::tls`).
    if let Some(relay) = crate::tls::route(config).map_err(|message| Error::Permanent {
        source: sqlx::Error::Configuration(message.into()),
    })? {
        options = options.socket(relay).ssl_mode(PgSslMode::Disable);
    }
    if c.pgbouncer {
        // PgBouncer refuses startup `options`; the settings are applied per transaction
        // instead, and statements are not cached (see `crate::pgbouncer`).
        return Ok(options.statement_cache_capacity(0));
    }
    let settings = startup_settings(config.session());
    Ok(if settings.is_empty() {
        options
    } else {
        options.options(settings)
    })
}

/// Refuses process environment variables that sqlx 0.9 reads into every connection's options
/// and that setting the options explicitly cannot undo. `var` looks one up (the process
/// environment, or a map in tests). Names the variable, never its value.
pub(crate) fn inherited_env(
    config: &Config,
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<()> {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    let tls = config.tls();
    let mut refused = Vec::new();
    if set("PGOPTIONS") {
        refused.push("PGOPTIONS");
    }
    if tls.mode != SslMode::Disable {
        for (name, configured) in [
            ("PGSSLROOTCERT", tls.root_cert.is_some()),
            ("PGSSLCERT", tls.client_cert.is_some()),
            ("PGSSLKEY", tls.client_key.is_some()),
        ] {
            if set(name) && !configured {
                refused.push(name);
            }
        }
    }
    if refused.is_empty() {
        return Ok(());
    }
    Err(Error::Permanent {
        source: sqlx::Error::Configuration(
            format!(
                "the process environment sets {}, which sqlx would apply to every connection \
                 behind the configuration's back (it offers no way to leave them out): unset \
                 {}, and put what you need in the configuration (session settings, \
                 sslrootcert/sslcert/sslkey)",
                refused.join(", "),
                if refused.len() == 1 { "it" } else { "them" },
            )
            .into(),
        ),
    })
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
            // Defensive: validation refuses larger values; clamped rather than have the
            // server refuse every connection with a FATAL.
            out.push((name.to_owned(), millis(value.min(MAX_SESSION_TIMEOUT))));
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

/// PostgreSQL's largest session timeout: `INT_MAX` milliseconds.
pub(crate) const MAX_SESSION_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

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
            TimeoutKind::Connect,
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

    fn config(mode: SslMode) -> Config {
        Config::builder()
            .host("db.example")
            .database("app")
            .user("app")
            .password(secrecy::SecretString::from("pw"))
            .pool_size(crate::config::PoolSize::new(1, 2).unwrap())
            .ssl_mode(mode)
            .build()
            .unwrap()
    }

    fn env(
        vars: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<std::ffi::OsString> {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.into())
    }

    #[test]
    fn inherited_pgoptions_and_certificates_are_refused_by_name() {
        let err = inherited_env(
            &config(SslMode::Disable),
            env(&[("PGOPTIONS", "-c search_path=x")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("sets PGOPTIONS"), "{err}");
        assert!(
            !err.contains("search_path=x"),
            "the value is not shown: {err}"
        );
        let err = inherited_env(
            &config(SslMode::Require),
            env(&[("PGSSLROOTCERT", "/tmp/ca.pem"), ("PGSSLKEY", "/tmp/k.pem")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("sets PGSSLROOTCERT, PGSSLKEY"), "{err}");
        // Harmless: TLS off, empty values, nothing set.
        inherited_env(
            &config(SslMode::Disable),
            env(&[("PGSSLROOTCERT", "/tmp/ca.pem")]),
        )
        .unwrap();
        inherited_env(&config(SslMode::Require), env(&[("PGOPTIONS", "")])).unwrap();
        inherited_env(&config(SslMode::Require), env(&[])).unwrap();
    }

    #[test]
    fn session_timeouts_are_clamped_to_the_server_limit() {
        let session = SessionSettings {
            statement_timeout: Some(Duration::from_secs(10 * 365 * 24 * 3600)),
            ..SessionSettings::default()
        };
        let settings = startup_settings(&session);
        assert_eq!(
            settings[0],
            ("statement_timeout".to_owned(), "2147483647ms".to_owned())
        );
    }

    #[test]
    fn millis_round_up_and_never_zero() {
        assert_eq!(millis(Duration::from_millis(200)), "200ms");
        assert_eq!(millis(Duration::from_micros(1500)), "2ms");
        assert_eq!(millis(Duration::from_nanos(1)), "1ms");
    }
}
