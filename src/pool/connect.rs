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
//!
//! With several hosts or a `target_session_attrs` other than `any`, every new connection
//! goes through a [`Route`] ([`connect_via`]): hosts are tried in order, as libpq does, and
//! a connection is kept only when its server is what `target_session_attrs` asks for (one
//! round trip: `pg_is_in_recovery()` and `transaction_read_only`). When no host is, the
//! error names every host tried and why each was passed over; it is transient (a failover
//! may be under way), so the pool's retry tries the list again.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, PgConnection};

use crate::config::startup::startup_settings;
use crate::config::{Config, SslMode, TargetSessionAttrs};
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

/// The hosts a new connection tries, in order, and what its server must be.
#[derive(Clone, Debug, Default)]
pub(crate) struct Route {
    /// Empty: connect with the options as they are (one host, any server).
    hops: Vec<Hop>,
    attrs: TargetSessionAttrs,
}

/// One host of a [`Route`].
#[derive(Clone, Debug)]
struct Hop {
    /// `host:port`, for errors.
    label: String,
    host: String,
    port: u16,
    /// pgtide's TLS relay for this host (verified TLS, `require_auth`; see `crate::tls`).
    relay: Option<PathBuf>,
}

impl Route {
    /// The route of `config`: trivial (the connect options alone) for one host and
    /// `target_session_attrs = any`.
    pub(crate) fn new(config: &Config) -> Result<Self> {
        let c = config.connection();
        if c.hosts.len() <= 1 && c.target_session_attrs == TargetSessionAttrs::Any {
            return Ok(Self::default());
        }
        let mut hops = Vec::with_capacity(c.hosts.len());
        for h in &c.hosts {
            // Each host gets its own relay when TLS is pgtide's: the certificate must name it.
            let mut one = config.clone();
            one.connection.host = h.host.clone();
            one.connection.port = h.port;
            let relay = crate::tls::route(&one).map_err(|message| Error::Permanent {
                source: sqlx::Error::Configuration(message.into()),
            })?;
            hops.push(Hop {
                label: h.to_string(),
                host: h.host.clone(),
                port: h.port,
                relay,
            });
        }
        Ok(Self {
            hops,
            attrs: c.target_session_attrs,
        })
    }

    fn options(hop: &Hop, base: &PgConnectOptions) -> PgConnectOptions {
        match &hop.relay {
            Some(relay) => base.clone().socket(relay).ssl_mode(PgSslMode::Disable),
            None => base.clone().host(&hop.host).port(hop.port),
        }
    }
}

/// What one host turned out to be.
#[derive(Clone, Copy, Debug)]
struct ServerState {
    in_recovery: bool,
    read_only: bool,
}

impl ServerState {
    /// Whether this server is what `attrs` asks for; `PreferStandby` is the first pass
    /// (a standby).
    fn fits(self, attrs: TargetSessionAttrs) -> bool {
        match attrs {
            TargetSessionAttrs::Any => true,
            TargetSessionAttrs::ReadWrite => !self.read_only,
            TargetSessionAttrs::ReadOnly => self.read_only,
            TargetSessionAttrs::Primary => !self.in_recovery,
            TargetSessionAttrs::Standby | TargetSessionAttrs::PreferStandby => self.in_recovery,
        }
    }

    fn describe(self) -> &'static str {
        match (self.in_recovery, self.read_only) {
            (true, _) => "is a standby (in recovery, read-only)",
            (false, true) => "is a primary whose sessions are read-only",
            (false, false) => "is a primary that accepts writes",
        }
    }
}

/// Opens one connection through `route`: `base` (the pool's options, with the current
/// password) alone when the route is trivial, else each host in order until one's server
/// fits `target_session_attrs`. Each attempt is bounded by `timeout`.
pub(crate) async fn connect_via(
    route: &Route,
    base: &PgConnectOptions,
    timeout: Duration,
) -> Result<PgConnection> {
    if route.hops.is_empty() {
        return connect(base, timeout).await;
    }
    let mut passed_over: Vec<String> = Vec::new();
    // The first error retrying cannot fix, and whether any host failed otherwise.
    let mut fatal: Option<Error> = None;
    let mut otherwise = false;
    // prefer-standby: a server that is not a standby is kept aside, used if none is.
    let mut fallback: Option<PgConnection> = None;
    for hop in &route.hops {
        let options = Route::options(hop, base);
        let mut conn = match connect(&options, timeout).await {
            Ok(conn) => conn,
            Err(err) => {
                passed_over.push(format!("{}: {err}", hop.label));
                if crate::retry::connect_retryable(&err) {
                    otherwise = true;
                } else if fatal.is_none() {
                    fatal = Some(err);
                }
                continue;
            }
        };
        let state = match server_state(&mut conn, timeout).await {
            Ok(state) => state,
            Err(err) => {
                passed_over.push(format!("{}: checking what the server is: {err}", hop.label));
                otherwise = true;
                close_quietly(conn).await;
                continue;
            }
        };
        if state.fits(route.attrs) {
            if let Some(other) = fallback.take() {
                close_quietly(other).await;
            }
            return Ok(conn);
        }
        passed_over.push(format!("{}: {}", hop.label, state.describe()));
        otherwise = true;
        if route.attrs == TargetSessionAttrs::PreferStandby && fallback.is_none() {
            fallback = Some(conn);
        } else {
            close_quietly(conn).await;
        }
    }
    if let Some(conn) = fallback {
        return Ok(conn);
    }
    let message = format!(
        "no host accepted a new connection with target_session_attrs={}: {}",
        route.attrs.as_str(),
        passed_over.join("; ")
    );
    match fatal {
        // Every host failed the same way retrying cannot fix (wrong password, unknown
        // database): that error, with its kind.
        Some(err) if !otherwise => Err(err),
        _ => {
            tracing::debug!(target: "pgtide::pool", "{message}");
            Err(Error::Transient {
                source: sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::NotConnected,
                    message,
                )),
            })
        }
    }
}

/// `pg_is_in_recovery()` and `transaction_read_only`, in one round trip of the simple
/// query protocol (one exchange: behind PgBouncer an extended-protocol statement may have
/// its parse and its execution on different server connections).
async fn server_state(conn: &mut PgConnection, timeout: Duration) -> Result<ServerState> {
    use sqlx::Row as _;
    let query = sqlx::raw_sql(
        "SELECT pg_is_in_recovery()::text AS in_recovery, \
         current_setting('transaction_read_only') AS read_only",
    )
    .fetch_one(conn);
    match tokio::time::timeout(timeout, query).await {
        Ok(Ok(row)) => {
            let on = |name: &str| -> Result<bool> {
                let value: String = row.try_get(name)?;
                Ok(matches!(value.as_str(), "true" | "on"))
            };
            Ok(ServerState {
                in_recovery: on("in_recovery")?,
                read_only: on("read_only")?,
            })
        }
        Ok(Err(err)) => Err(err.into()),
        Err(_) => Err(Error::timeout(
            TimeoutKind::Connect,
            "asking a new connection what its server is",
            None,
        )),
    }
}

/// Closes a connection that is not kept, without waiting long for a polite goodbye.
async fn close_quietly(conn: PgConnection) {
    let _ = tokio::time::timeout(Duration::from_secs(1), sqlx::Connection::close(conn)).await;
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
}
