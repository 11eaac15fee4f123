//! The type-state builder: `build()` exists only once a password and a pool size are given.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use super::duration::format_duration;
use super::keys;
use super::provenance::Source;
use super::settings::{
    CodegenSettings, Config, ConnectionSettings, HealthCheck, HostPort, PoolSettings,
    RetrySettings, SessionSettings, SslMode, TargetSessionAttrs, TlsSettings,
};
use super::startup::{MAX_SESSION_TIMEOUT, whole_millis};
use super::{ConfigError, PoolSize, RequireAuth};

/// Type-state marker: no password given yet.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPassword;

/// Type-state marker: no pool size given yet.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPoolSize;

/// Builds a [`Config`] in code. `P` and `S` record whether [`password`](Self::password)
/// and [`pool_size`](Self::pool_size) have been called; [`build`](ConfigBuilder::build)
/// exists only for `ConfigBuilder<SecretString, PoolSize>`.
///
/// ```compile_fail
/// use pgtide::config::Config;
/// // no password, no pool size: `build` does not exist
/// let config = Config::builder().host("localhost").build();
/// ```
#[must_use]
pub struct ConfigBuilder<P = NoPassword, S = NoPoolSize> {
    password: P,
    size: S,
    pub(super) draft: Draft,
}

impl<P, S> std::fmt::Debug for ConfigBuilder<P, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("draft", &self.draft)
            .finish_non_exhaustive()
    }
}

/// Everything but the two type-checked values; validated by `build`.
/// The loader fills it in directly and then runs the same `build`: one validation path.
#[derive(Debug, Clone)]
pub(super) struct Draft {
    pub(super) profile: String,
    /// Hosts in order (key `host`: one, a list, or `a,b`).
    pub(super) hosts: Vec<String>,
    /// One port for all hosts, or one per host.
    pub(super) ports: Vec<u16>,
    pub(super) target_session_attrs: TargetSessionAttrs,
    pub(super) database: Option<String>,
    pub(super) user: String,
    pub(super) application_name: Option<String>,
    pub(super) connect_timeout: Duration,
    pub(super) ssl_mode: Option<SslMode>,
    pub(super) root_cert: Option<PathBuf>,
    pub(super) client_cert: Option<PathBuf>,
    pub(super) client_key: Option<PathBuf>,
    pub(super) require_auth: Option<RequireAuth>,
    pub(super) session: SessionSettings,
    pub(super) pool: PoolSettings,
    pub(super) retry: RetrySettings,
    pub(super) codegen: CodegenSettings,
    pub(super) pgbouncer: bool,
    pub(super) storage: super::storage::StorageSettings,
}

impl Draft {
    /// Every field empty or zero: the key table's defaults are applied on top
    /// ([`keys::default_draft`]); nothing here is a default.
    pub(super) fn blank() -> Self {
        Self {
            profile: "default".into(),
            hosts: Vec::new(),
            ports: Vec::new(),
            target_session_attrs: TargetSessionAttrs::Any,
            database: None,
            user: String::new(),
            application_name: None,
            connect_timeout: Duration::ZERO,
            pgbouncer: false,
            storage: Default::default(),
            ssl_mode: None,
            root_cert: None,
            client_cert: None,
            client_key: None,
            require_auth: None,
            session: SessionSettings {
                statement_timeout: None,
                lock_timeout: None,
                idle_in_transaction_session_timeout: None,
                search_path: None,
                extra: BTreeMap::new(),
            },
            pool: PoolSettings {
                size: PoolSize::default(),
                acquire_timeout: Duration::ZERO,
                idle_timeout: None,
                max_lifetime: None,
                health_check: HealthCheck::Never,
            },
            retry: RetrySettings {
                attempts: 0,
                base_delay: Duration::ZERO,
                max_delay: Duration::ZERO,
                jitter: false,
                budget: Duration::ZERO,
            },
            codegen: CodegenSettings {
                queries: PathBuf::new(),
                sqlx_dir: PathBuf::new(),
                out: PathBuf::new(),
                types: BTreeMap::new(),
                derives: Vec::new(),
            },
        }
    }
}

impl Config {
    /// Starts a builder with the documented defaults.
    pub fn builder() -> ConfigBuilder<NoPassword, NoPoolSize> {
        ConfigBuilder {
            password: NoPassword,
            size: NoPoolSize,
            draft: keys::default_draft(),
        }
    }
}

impl<S> ConfigBuilder<NoPassword, S> {
    /// The password, as a secret: a plain `&str` or `String` is not accepted.
    pub fn password(self, password: SecretString) -> ConfigBuilder<SecretString, S> {
        ConfigBuilder {
            password,
            size: self.size,
            draft: self.draft,
        }
    }
}

impl<P> ConfigBuilder<P, NoPoolSize> {
    /// The pool's bounds, checked by [`PoolSize::new`].
    pub fn pool_size(self, size: PoolSize) -> ConfigBuilder<P, PoolSize> {
        ConfigBuilder {
            password: self.password,
            size,
            draft: self.draft,
        }
    }
}

impl<P, S> ConfigBuilder<P, S> {
    /// Host name, IP address or Unix socket directory. Default `localhost`.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.draft.hosts = vec![host.into()];
        self
    }
    /// Several hosts, tried in order for each new connection (see
    /// [`target_session_attrs`](Self::target_session_attrs)).
    pub fn hosts<H: Into<String>>(mut self, hosts: impl IntoIterator<Item = H>) -> Self {
        self.draft.hosts = hosts.into_iter().map(Into::into).collect();
        self
    }
    /// TCP port, for every host. Default `5432`; `0` is rejected by `build`.
    pub fn port(mut self, port: u16) -> Self {
        self.draft.ports = vec![port];
        self
    }
    /// One port per host, in the order of [`hosts`](Self::hosts) (libpq's rule: one port
    /// for all hosts, or exactly one per host).
    pub fn ports(mut self, ports: impl IntoIterator<Item = u16>) -> Self {
        self.draft.ports = ports.into_iter().collect();
        self
    }
    /// What a server must be for a new connection to keep it (libpq's
    /// `target_session_attrs`); hosts are tried in order. Default
    /// [`TargetSessionAttrs::Any`].
    pub fn target_session_attrs(mut self, attrs: TargetSessionAttrs) -> Self {
        self.draft.target_session_attrs = attrs;
        self
    }
    /// Database name. Default: the user name.
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.draft.database = Some(database.into());
        self
    }
    /// Role name. Default `postgres`.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.draft.user = user.into();
        self
    }
    /// `application_name`. Default: the running binary's file name.
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.draft.application_name = Some(name.into());
        self
    }
    /// Time allowed to establish one connection. Default 5 s; must be > 0.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.draft.connect_timeout = timeout;
        self
    }
    /// Connecting through PgBouncer in transaction mode (see [`crate::pgbouncer`]).
    /// Default `false`.
    pub fn pgbouncer(mut self, on: bool) -> Self {
        self.draft.pgbouncer = on;
        self
    }
    /// `sslmode`. Default: `require` for remote hosts, `prefer` on loopback and sockets.
    pub fn ssl_mode(mut self, mode: SslMode) -> Self {
        self.draft.ssl_mode = Some(mode);
        self
    }
    /// CA certificate(s) to verify the server with: the only certificates trusted (libpq's
    /// rule), or `system` for the operating system's bundle (with `verify-full` only).
    pub fn ssl_root_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.draft.root_cert = Some(path.into());
        self
    }
    /// Client certificate and key, for certificate authentication.
    pub fn ssl_client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.draft.client_cert = Some(cert.into());
        self.draft.client_key = Some(key.into());
        self
    }
    /// Which authentication requests the server may make (libpq's `require_auth`); enforced
    /// on the connection itself. Default: `scram-sha-256` only for a remote host whose
    /// certificate is not verified, any otherwise.
    pub fn require_auth(mut self, methods: RequireAuth) -> Self {
        self.draft.require_auth = Some(methods);
        self
    }
    /// `statement_timeout`; `None` keeps the server default. Default 30 s.
    pub fn statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.draft.session.statement_timeout = timeout;
        self
    }
    /// `lock_timeout`; `None` keeps the server default (the default).
    pub fn lock_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.draft.session.lock_timeout = timeout;
        self
    }
    /// `idle_in_transaction_session_timeout`; `None` keeps the server default. Default 60 s.
    pub fn idle_in_transaction_session_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.draft.session.idle_in_transaction_session_timeout = timeout;
        self
    }
    /// `search_path`, e.g. `"app, public"`.
    pub fn search_path(mut self, path: impl Into<String>) -> Self {
        self.draft.session.search_path = Some(path.into());
        self
    }
    /// Any other session setting, by GUC name (`work_mem`, `TimeZone`, ...).
    pub fn session_setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.draft.session.extra.insert(name.into(), value.into());
        self
    }
    /// Longest a caller waits for a pooled connection. Default 10 s; must be > 0.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.draft.pool.acquire_timeout = timeout;
        self
    }
    /// Idle connections above the minimum close after this long; `None`: never. Default 5 min.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.draft.pool.idle_timeout = timeout;
        self
    }
    /// Connections are replaced after this long; `None`: never. Default 30 min.
    pub fn max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.draft.pool.max_lifetime = lifetime;
        self
    }
    /// When to check a connection before handing it out. Default: after 30 s idle.
    pub fn health_check(mut self, check: HealthCheck) -> Self {
        self.draft.pool.health_check = check;
        self
    }
    /// Retry policy for connecting and idempotent work. Default: 3 attempts, 100 ms..2 s.
    pub fn retry(mut self, retry: RetrySettings) -> Self {
        self.draft.retry = retry;
        self
    }
    /// Sets the retry attempts (1 = no retry), keeping the other retry settings.
    pub fn retry_attempts(mut self, attempts: u32) -> Self {
        self.draft.retry.attempts = attempts;
        self
    }
    /// Delay before the first retry; doubles each time. Default 100 ms; must be > 0.
    pub fn retry_base_delay(mut self, delay: Duration) -> Self {
        self.draft.retry.base_delay = delay;
        self
    }
    /// Upper bound of one retry delay. Default 2 s; must be ≥ the base delay.
    pub fn retry_max_delay(mut self, delay: Duration) -> Self {
        self.draft.retry.max_delay = delay;
        self
    }
    /// Randomise retry delays (full jitter). Default on.
    pub fn retry_jitter(mut self, jitter: bool) -> Self {
        self.draft.retry.jitter = jitter;
        self
    }
    /// Total time all attempts together may take. Default 10 s; must be > 0.
    pub fn retry_budget(mut self, budget: Duration) -> Self {
        self.draft.retry.budget = budget;
        self
    }
    /// The profile name the built [`Config`] reports. Default `default`.
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.draft.profile = profile.into();
        self
    }
}

impl ConfigBuilder<SecretString, PoolSize> {
    /// Validates the remaining values and returns the configuration. An error names the
    /// key, the profile and that the value was set in code
    /// ([`ConfigError::Value`] with [`Source::Code`]).
    pub fn build(self) -> Result<Config, ConfigError> {
        let profile = self.draft.profile.clone();
        self.check().map_err(|error| match error {
            ConfigError::Invalid { key, message } => {
                ConfigError::value(key, &profile, Source::Code, message)
            }
            other => other,
        })
    }

    /// The validation itself, shared with the loader, which attaches each key's source.
    pub(super) fn check(self) -> Result<Config, ConfigError> {
        let d = self.draft;
        let hosts = check_hosts(&d.hosts, &d.ports)?;
        if d.user.trim().is_empty() {
            return Err(ConfigError::invalid(
                "user",
                "must not be empty: give a role name",
            ));
        }
        if d.database.as_ref().is_some_and(|db| db.trim().is_empty()) {
            return Err(ConfigError::invalid(
                "database",
                "must not be empty: give a database name, or leave it out to use the user name",
            ));
        }
        for name in d.session.extra.keys() {
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            if !valid {
                return Err(ConfigError::invalid(
                    format!("settings.{name}"),
                    "a setting name has only letters, digits, `_` and `.`",
                ));
            }
            if let Some(own) = OWN_KEYS.iter().find(|k| k.eq_ignore_ascii_case(name)) {
                return Err(ConfigError::invalid(
                    format!("settings.{name}"),
                    format!(
                        "`{own}` has its own key, which would be sent beside this one: set `{own}` instead"
                    ),
                ));
            }
            if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                return Err(ConfigError::invalid(
                    format!("settings.{name}"),
                    "is a connection parameter, not a session setting",
                ));
            }
        }
        if d.connect_timeout.is_zero() {
            // libpq reads 0 as "wait forever"; pgtide bounds every connection attempt.
            return Err(ConfigError::invalid(
                "connect_timeout",
                "must be greater than zero: pgtide needs a bounded connect timeout (libpq's 0, \
                 wait forever, is not supported); give one, e.g. \"5s\" (PGCONNECT_TIMEOUT=5)",
            ));
        }
        positive("pool.acquire_timeout", d.pool.acquire_timeout)?;
        positive("retry.base_delay", d.retry.base_delay)?;
        positive("retry.budget", d.retry.budget)?;
        for (key, value) in [
            ("statement_timeout", d.session.statement_timeout),
            ("lock_timeout", d.session.lock_timeout),
            (
                "idle_in_transaction_session_timeout",
                d.session.idle_in_transaction_session_timeout,
            ),
        ] {
            if let Some(value) = value {
                positive(key, value)?;
                session_timeout_limit(key, value)?;
            }
        }
        for (key, value) in [
            ("pool.idle_timeout", d.pool.idle_timeout),
            ("pool.max_lifetime", d.pool.max_lifetime),
        ] {
            if let Some(value) = value {
                positive(key, value)?;
            }
        }
        if let HealthCheck::IdleLongerThan(idle) = d.pool.health_check {
            positive("pool.health_check", idle)?;
        }
        if d.retry.attempts == 0 {
            return Err(ConfigError::invalid(
                "retry.attempts",
                "must be at least 1 (1 means no retry)",
            ));
        }
        if d.retry.max_delay < d.retry.base_delay {
            return Err(ConfigError::invalid(
                "retry.max_delay",
                format!(
                    "must not be below retry.base_delay ({}), got {}",
                    format_duration(d.retry.base_delay),
                    format_duration(d.retry.max_delay)
                ),
            ));
        }
        let deciding = deciding_host(&hosts);
        let mode = d.ssl_mode.unwrap_or_else(|| default_ssl_mode(deciding));
        for h in &hosts {
            check_tls(mode, d.root_cert.as_deref(), &h.host)?;
        }
        let require_auth = d.require_auth.unwrap_or_else(|| {
            default_require_auth(
                deciding,
                mode,
                d.root_cert.is_some(),
                d.client_cert.is_some(),
            )
        });
        Ok(Config {
            profile: d.profile,
            connection: ConnectionSettings {
                database: d.database.unwrap_or_else(|| d.user.clone()),
                host: hosts[0].host.clone(),
                port: hosts[0].port,
                hosts,
                target_session_attrs: d.target_session_attrs,
                user: d.user,
                password: self.password,
                application_name: d.application_name.unwrap_or_else(default_application_name),
                connect_timeout: d.connect_timeout,
                pgbouncer: d.pgbouncer,
            },
            tls: TlsSettings {
                mode,
                root_cert: d.root_cert,
                client_cert: d.client_cert,
                client_key: d.client_key,
                require_auth,
            },
            session: d.session,
            pool: PoolSettings {
                size: self.size,
                ..d.pool
            },
            retry: d.retry,
            codegen: d.codegen,
            password_reference: None,
            storage: d.storage,
        })
    }
}

/// Session settings that have a key of their own: a `settings` entry of the same name
/// would be sent beside the key's value, one silently overriding the other.
const OWN_KEYS: &[&str] = &[
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "search_path",
    "application_name",
];

/// Startup-packet parameters that are not settings (PostgreSQL's protocol, "StartupMessage").
const RESERVED: &[&str] = &["user", "database", "options", "replication"];

/// A session timeout must fit PostgreSQL's `int` milliseconds, as sent (sub-millisecond
/// rounded up); above it, every connection attempt would fail with FATAL.
fn session_timeout_limit(key: &str, value: Duration) -> Result<(), ConfigError> {
    let max = MAX_SESSION_TIMEOUT.as_millis();
    if whole_millis(value) > max {
        return Err(ConfigError::invalid(
            key,
            format!(
                "must be at most {max}ms (about 24 days, PostgreSQL's limit), got {}; use \"off\" for no limit",
                format_duration(value)
            ),
        ));
    }
    Ok(())
}

fn positive(key: &str, value: Duration) -> Result<(), ConfigError> {
    if value.is_zero() {
        return Err(ConfigError::invalid(
            key,
            "must be greater than zero, e.g. \"250ms\", \"30s\", \"5m\" or \"1h\"",
        ));
    }
    Ok(())
}

/// The hosts with their ports, checked: none empty, ports 1..=65535, one port for all or
/// one per host (libpq's rule).
fn check_hosts(hosts: &[String], ports: &[u16]) -> Result<Vec<HostPort>, ConfigError> {
    if hosts.is_empty() || hosts.iter().any(|h| h.trim().is_empty()) {
        return Err(ConfigError::invalid(
            "host",
            "must not be empty: give a host name, an IP address or a socket directory",
        ));
    }
    if ports.is_empty() || ports.contains(&0) {
        return Err(ConfigError::invalid("port", "must be 1..=65535, got 0"));
    }
    if ports.len() != 1 && ports.len() != hosts.len() {
        return Err(ConfigError::invalid(
            "port",
            format!(
                "gives {} ports for {} hosts: give one port for every host, or one per host in the same order",
                ports.len(),
                hosts.len()
            ),
        ));
    }
    Ok(hosts
        .iter()
        .enumerate()
        .map(|(i, host)| HostPort {
            host: host.clone(),
            port: if ports.len() == 1 { ports[0] } else { ports[i] },
        })
        .collect())
}

/// The host whose place decides the TLS and authentication defaults: the first remote one
/// (the defaults must protect the connection to it), else the first.
pub(crate) fn deciding_host(hosts: &[HostPort]) -> &str {
    hosts
        .iter()
        .find(|h| !is_local(&h.host))
        .or(hosts.first())
        .map_or("", |h| h.host.as_str())
}

/// `prefer` where the network is this machine (loopback, Unix socket), `require` elsewhere.
pub(crate) fn default_ssl_mode(host: &str) -> SslMode {
    if is_local(host) {
        SslMode::Prefer
    } else {
        SslMode::Require
    }
}

/// `require_auth` when not set: `scram-sha-256` only for a remote host whose certificate is
/// not verified (`require` with a root certificate verifies as `verify-ca`, libpq's rule).
pub(crate) fn default_require_auth(
    host: &str,
    mode: SslMode,
    root_cert: bool,
    client_cert: bool,
) -> RequireAuth {
    let verified = root_cert
        && matches!(
            mode,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        );
    RequireAuth::default_for(!is_local(host), verified, client_cert)
}

/// The network is this machine: a Unix socket directory, `localhost` or a loopback address.
pub(crate) fn is_local(host: &str) -> bool {
    host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// libpq's rules for `sslmode` and `sslrootcert`, and what sqlx cannot do.
fn check_tls(mode: SslMode, root: Option<&std::path::Path>, host: &str) -> Result<(), ConfigError> {
    let verify = matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull);
    if mode == SslMode::Allow {
        return Err(ConfigError::invalid(
            "sslmode",
            "sslmode allow (plain text first, TLS only when the server insists) is not supported: \
             sqlx never retries with TLS, so a server that insists would fail as if the password \
             were wrong; use prefer (TLS when offered) or require",
        ));
    }
    if verify && root.is_none() {
        return Err(ConfigError::invalid(
            "sslmode",
            format!(
                "sslmode {} needs `sslrootcert`, a CA certificate to verify the server against; \
                 set it, or use sslmode require",
                mode.as_str()
            ),
        ));
    }
    if root.is_some_and(|r| r == std::path::Path::new("system")) && mode != SslMode::VerifyFull {
        return Err(ConfigError::invalid(
            "sslrootcert",
            format!(
                "sslrootcert system trusts every public certificate authority, so it needs \
                 sslmode verify-full (the certificate must name the host), got sslmode {}",
                mode.as_str()
            ),
        ));
    }
    if verify && host.starts_with('/') {
        return Err(ConfigError::invalid(
            "sslmode",
            format!(
                "sslmode {} verifies a TLS certificate, but host {} is a Unix socket directory, \
                 where there is no TLS; use a host name, or sslmode disable",
                mode.as_str(),
                host.escape_debug()
            ),
        ));
    }
    Ok(())
}

/// The running binary's file name, as `application_name`.
pub(crate) fn default_application_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "pgtide".into())
}
