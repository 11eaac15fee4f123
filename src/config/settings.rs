//! The validated configuration: plain data, read-only outside this crate.
//!
//! The setting groups have public fields for reading, but are `#[non_exhaustive]`: only the
//! builder and the loader, which validate, can make them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use super::PoolSize;

/// A complete, validated configuration for one database. Build one with
/// [`Config::builder`](crate::config::Config::builder).
///
/// `Debug` never shows the password.
#[derive(Clone)]
pub struct Config {
    pub(crate) profile: String,
    pub(crate) connection: ConnectionSettings,
    pub(crate) tls: TlsSettings,
    pub(crate) session: SessionSettings,
    pub(crate) pool: PoolSettings,
    pub(crate) retry: RetrySettings,
    pub(crate) codegen: CodegenSettings,
    // Lifecycle (issue 12): where the password is re-read from for each new connection.
    pub(crate) password_reference: Option<String>,
    pub(crate) storage: super::storage::StorageSettings,
}

impl Config {
    /// The profile this configuration was loaded from (`default` for built configs).
    pub fn profile(&self) -> &str {
        &self.profile
    }
    /// Where and as whom to connect.
    pub fn connection(&self) -> &ConnectionSettings {
        &self.connection
    }
    /// TLS mode and certificates.
    pub fn tls(&self) -> &TlsSettings {
        &self.tls
    }
    /// Session limits and settings sent at connection start.
    pub fn session(&self) -> &SessionSettings {
        &self.session
    }
    /// Pool bounds, timeouts and health checks.
    pub fn pool(&self) -> &PoolSettings {
        &self.pool
    }
    /// The same configuration for a read-only pool on the replicas (see
    /// [`crate::replica`]): `target_session_attrs` becomes `prefer-standby` (unless it
    /// already asks for a standby or a read-only server), and every session is read-only
    /// (`default_transaction_read_only = on`), so a write fails with the server's `25006`
    /// even on a primary the pool fell back to.
    pub fn for_replicas(&self) -> Config {
        let mut out = self.clone();
        out.connection.target_session_attrs = match self.connection.target_session_attrs {
            TargetSessionAttrs::Standby => TargetSessionAttrs::Standby,
            _ => TargetSessionAttrs::PreferStandby,
        };
        out.session
            .extra
            .insert("default_transaction_read_only".into(), "on".into());
        out
    }
    /// Retry policy for connecting and for work marked idempotent.
    pub fn retry(&self) -> &RetrySettings {
        &self.retry
    }
    /// Where `pgtide prepare`/`gen`/`verify` find queries and metadata and write modules.
    pub fn codegen(&self) -> &CodegenSettings {
        &self.codegen
    }
    /// The `secret://file/PATH` reference the password was read from, when the configuration
    /// names one (in any source). A [`Pool`](crate::Pool) built from this configuration
    /// re-reads it for each new connection, so a rotated secret file is picked up without a
    /// restart, and the [config hash](Config::config_hash) covers the reference rather than
    /// the value read at load. `None` for a literal password, one given in code, and a
    /// `secret://env/NAME` reference (a process's environment does not change from outside:
    /// that value is resolved once, at load).
    pub fn password_reference(&self) -> Option<&str> {
        self.password_reference.as_deref()
    }
    // --- storage (issue 17) ---
    /// Object store endpoints and credentials (`storage.s3`, `.azure`, `.gcs`), for
    /// `pgtide::transfer`.
    pub fn storage(&self) -> &super::storage::StorageSettings {
        &self.storage
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("profile", &self.profile)
            .field("connection", &self.connection)
            .field("tls", &self.tls)
            .field("session", &self.session)
            .field("pool", &self.pool)
            .field("retry", &self.retry)
            .field("codegen", &self.codegen)
            // A reference names where the secret is, never the secret: shown, as
            // `pgtide config show` shows it.
            .field("password_reference", &self.password_reference)
            .field("storage", &self.storage)
            .finish()
    }
}

impl std::fmt::Display for Config {
    /// A one-line summary without the password:
    /// `app@db.internal:5432/app (profile prod, sslmode require, pool 2..=16)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.connection;
        let hosts: Vec<String> = c.hosts.iter().map(HostPort::to_string).collect();
        write!(
            f,
            "{}@{}/{} (profile {}, sslmode {}, pool {}..={})",
            c.user,
            hosts.join(","),
            c.database,
            self.profile,
            self.tls.mode.as_str(),
            self.pool.size.min(),
            self.pool.size.max()
        )
    }
}

/// Where and as whom to connect.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnectionSettings {
    /// Host name, IP address, or a directory holding a Unix socket (starts with `/`).
    /// Default `localhost`.
    pub host: String,
    /// TCP port (1..=65535). Default `5432`.
    pub port: u16,
    /// Database name. Default: the user name (as libpq does).
    pub database: String,
    /// Role to connect as. Default `postgres`.
    pub user: String,
    /// The password; `Debug` shows `[REDACTED]`. Expose it with
    /// [`ExposeSecret`](crate::ExposeSecret) only to hand it to the driver.
    pub password: SecretString,
    /// `application_name` reported to the server (visible in `pg_stat_activity`).
    /// Default: the running binary's file name.
    pub application_name: String,
    /// How long establishing one connection (TCP, TLS, authentication) may take. Default 5 s.
    pub connect_timeout: Duration,
    /// Connecting through PgBouncer in transaction mode (key `pgbouncer`, default `false`):
    /// see [`crate::pgbouncer`].
    pub pgbouncer: bool,
    // --- scale (issue 16): several hosts and target_session_attrs ---
    /// Every host to try, in order, each with its port (key `host` as a list, `port` as a
    /// list matched by position or one port for all, as libpq). The first is
    /// [`host`](Self::host) and [`port`](Self::port); one entry when one host is configured.
    pub hosts: Vec<HostPort>,
    /// Which server a new connection must reach (libpq's `target_session_attrs`), hosts
    /// tried in order. Default [`TargetSessionAttrs::Any`].
    pub target_session_attrs: TargetSessionAttrs,
}

/// One host of [`ConnectionSettings::hosts`] and its port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct HostPort {
    /// Host name, IP address, or a Unix socket directory (starts with `/`).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl std::fmt::Display for HostPort {
    /// `host:port`, `[::1]:5432` for an IPv6 address.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// libpq's `target_session_attrs`: what a server must be for a new connection to keep it.
/// Hosts are tried in order; a host that cannot be reached or is not what is asked for is
/// skipped (and named in the error when none is).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TargetSessionAttrs {
    /// Any server (the default).
    #[default]
    Any,
    /// A server whose sessions accept writes (`transaction_read_only` is `off`).
    ReadWrite,
    /// A server whose sessions refuse writes (`transaction_read_only` is `on`).
    ReadOnly,
    /// A server not in recovery (`pg_is_in_recovery()` is false).
    Primary,
    /// A server in recovery: a standby.
    Standby,
    /// A standby if any host is one, else any server (every host is tried twice).
    PreferStandby,
}

impl TargetSessionAttrs {
    /// Every value, in libpq's order.
    pub const ALL: [Self; 6] = [
        Self::Any,
        Self::ReadWrite,
        Self::ReadOnly,
        Self::Primary,
        Self::Standby,
        Self::PreferStandby,
    ];

    /// libpq's spelling (`read-write`, `prefer-standby`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::ReadWrite => "read-write",
            Self::ReadOnly => "read-only",
            Self::Primary => "primary",
            Self::Standby => "standby",
            Self::PreferStandby => "prefer-standby",
        }
    }
}

/// TLS mode and certificates, as libpq's `sslmode`, `sslrootcert`, `sslcert`, `sslkey`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TlsSettings {
    /// Default: `require` for remote hosts, `prefer` on loopback and Unix sockets.
    pub mode: SslMode,
    /// CA certificate(s) to verify the server with (`verify-ca`, `verify-full`).
    pub root_cert: Option<PathBuf>,
    /// Client certificate, for certificate authentication.
    pub client_cert: Option<PathBuf>,
    /// Client private key, for certificate authentication.
    pub client_key: Option<PathBuf>,
    /// Which authentication requests the server may make (libpq's `require_auth`). Default:
    /// `scram-sha-256` only for a remote host whose certificate is not verified, any otherwise.
    pub require_auth: super::RequireAuth,
}

/// libpq's `sslmode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// Plain first, TLS if the server insists. Refused by the builder: sqlx never retries
    /// with TLS, so a server that insists fails as if the password were wrong.
    Allow,
    /// TLS if the server offers it, plain otherwise.
    Prefer,
    /// TLS always, without checking the server's certificate; with `root_cert` set it
    /// behaves as `VerifyCa` (libpq's rule).
    Require,
    /// TLS, and the server's certificate must chain to `root_cert`.
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host.
    VerifyFull,
}

impl SslMode {
    /// The libpq spelling (`verify-full`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// Settings sent as startup options with every new connection (no extra round trip).
/// `None` leaves the server's own default in place.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SessionSettings {
    /// Longest a single statement may run. Default 30 s.
    pub statement_timeout: Option<Duration>,
    /// Longest a statement waits for a lock. Default: server default (none).
    pub lock_timeout: Option<Duration>,
    /// Longest a session may sit idle inside a transaction. Default 60 s.
    pub idle_in_transaction_session_timeout: Option<Duration>,
    /// `search_path`. Default: server default.
    pub search_path: Option<String>,
    /// Any other settings (`work_mem`, `TimeZone`, ...), by GUC name.
    pub extra: BTreeMap<String, String>,
}

/// Pool bounds, timeouts and health checks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PoolSettings {
    /// Minimum and maximum connections. Default `1..=10`.
    pub size: PoolSize,
    /// Longest a caller waits for a connection. Default 10 s.
    pub acquire_timeout: Duration,
    /// Idle connections above `min` are closed after this long. Default 5 min; `None`: never.
    pub idle_timeout: Option<Duration>,
    /// Connections are replaced after this long. Default 30 min; `None`: never.
    pub max_lifetime: Option<Duration>,
    /// When a connection is checked before it is handed out. Default: after 30 s idle.
    pub health_check: HealthCheck,
}

/// When the pool checks a connection (a round trip) before handing it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HealthCheck {
    /// On every checkout: safest, halves throughput for short queries.
    Always,
    /// Never: a dead connection surfaces as an error at use (and idempotent work retries).
    Never,
    /// When the connection sat idle longer than this (and after it saw an error).
    IdleLongerThan(Duration),
}

/// Retry with exponential backoff for connecting and for work marked idempotent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RetrySettings {
    /// Total attempts, the first included (1 = no retry). Default 3.
    pub attempts: u32,
    /// Delay before the first retry; doubles each time. Default 100 ms.
    pub base_delay: Duration,
    /// Upper bound of one delay. Default 2 s.
    pub max_delay: Duration,
    /// Randomise each delay (full jitter) so clients do not retry in lockstep. Default on.
    pub jitter: bool,
    /// Total time all attempts together may take. Default 10 s.
    pub budget: Duration,
}

// The defaults are the key table's (`keys::KEYS`), applied by `keys::default_draft`.

impl Default for RetrySettings {
    fn default() -> Self {
        super::keys::default_draft().retry
    }
}

impl Default for PoolSettings {
    fn default() -> Self {
        super::keys::default_draft().pool
    }
}

impl Default for SessionSettings {
    fn default() -> Self {
        super::keys::default_draft().session
    }
}

/// The directories of the codegen commands (`pgtide prepare`, `gen`, `verify`), from the
/// `codegen` table of a profile, so the application and the command line share one config
/// file. The runtime never reads them, and they are not part of the
/// [config hash](Config::config_hash): they do not change how a pool connects.
///
/// ```
/// use pgtide::config::Config;
///
/// let config = Config::loader()
///     .no_file_search()
///     .env([("DATABASE_URL", "postgres://app:pw@localhost/app")])
///     .set("codegen.out", "src/db")
///     .load()?;
/// assert_eq!(config.codegen().queries, std::path::Path::new("queries"));
/// assert_eq!(config.codegen().out, std::path::Path::new("src/db"));
/// # Ok::<(), pgtide::config::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CodegenSettings {
    /// Directory of the `*.sql` query files. Default `queries`.
    pub queries: PathBuf,
    /// Directory of the offline metadata (`.sqlx`). Default `.sqlx`.
    pub sqlx_dir: PathBuf,
    /// Directory of the generated modules. Default `src/queries`.
    pub out: PathBuf,
    /// The `codegen.types` table: PostgreSQL type name (`tsvector`, `public.mytype`) → the
    /// Rust type generated code uses for it (`String`, `my_app::Wkb`), each checked as a
    /// Rust type when the config loads. Empty by default. See `pgtide_codegen::overrides`.
    pub types: std::collections::BTreeMap<String, String>,
    /// The `codegen.derives` list: traits generated row structs derive besides `Debug`
    /// (`Clone`, `PartialEq`, `serde::Serialize`), each checked as a Rust path when the config
    /// loads. Empty by default: every derive is compile time in the crate that holds the
    /// generated code (README "Performance").
    pub derives: Vec<String>,
}
