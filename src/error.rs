//! One error type for everything pgtide does; its kind says what the caller can do.
//!
//! The kind comes from the SQLSTATE class where the server sent one:
//!
//! | SQLSTATE | kind | what to do |
//! |---|---|---|
//! | `28*` | [`Auth`](Error::Auth) | fix user, password or `pg_hba.conf`; never retried |
//! | `57014`, `55P03`, `25P03` | [`Timeout`](Error::Timeout) | the statement, lock wait or idle transaction ran out of time |
//! | `08*`, `40001`, `40P01`, `53300`, `57P01`..`57P03` | [`Transient`](Error::Transient) | retry (idempotent work and whole transactions are retried for you) |
//! | `23*` | [`Permanent`](Error::Permanent), [`is_constraint_violation`](Error::is_constraint_violation) | the data breaks a constraint ([`constraint`](Error::constraint) names it) |
//! | anything else, `42*`, `22*` | [`Permanent`](Error::Permanent) | fix the query or the data |
//!
//! Without a SQLSTATE, I/O failures (connection refused, reset, closed) are transient; a
//! certificate that fails verification and TLS set-up errors are permanent; a closed pool is
//! [`Closed`](Error::Closed).
//!
//! ```
//! use pgtide::{Error, ErrorKind};
//!
//! let err = Error::NotFound { query: "GetAuthor".into() };
//! assert_eq!(err.kind(), ErrorKind::NotFound);
//! assert!(!err.is_retryable());
//! assert_eq!(err.to_string(), "no row returned by `GetAuthor`");
//! ```

use std::borrow::Cow;

use sqlx::postgres::PgDatabaseError;

use crate::config::ConfigError;

/// Everything that can go wrong, by what the caller can do about it.
///
/// Keeps the underlying [`sqlx::Error`] as its source; never contains a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid: fix the key the message names.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),

    /// The server refused the credentials (SQLSTATE class `28`). Not retried.
    #[error("authentication failed: {} (check user, password and pg_hba.conf)", describe(.source))]
    Auth {
        /// What the server or driver reported.
        #[source]
        source: sqlx::Error,
    },

    /// Something ran out of time; [`kind`](TimeoutKind) says what: a statement (`57014`), a
    /// lock wait (`55P03`), an idle transaction (`25P03`), connecting, waiting for a pooled
    /// connection, or one of pgtide's own client-side deadlines.
    #[error("timed out {what}{}", source.as_ref().map(|s| format!(": {s}")).unwrap_or_default())]
    Timeout {
        /// What ran out of time, for matching.
        kind: TimeoutKind,
        /// What timed out, in words, e.g. `running the statement`.
        what: Cow<'static, str>,
        /// The underlying failure, when there is one (the last connect error for a pool
        /// that could not connect).
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },

    /// A failure that may well succeed if tried again: connection lost, serialization
    /// failure, deadlock, too many connections, server shutting down.
    #[error("transient failure (retrying may succeed): {}", describe(.source))]
    Transient {
        /// What the server or driver reported.
        #[source]
        source: sqlx::Error,
    },

    /// A failure that will repeat: bad SQL, bad data, a violated constraint.
    #[error("{}", describe(.source))]
    Permanent {
        /// What the server or driver reported.
        #[source]
        source: sqlx::Error,
    },

    /// A query that must return a row returned none.
    #[error("no row returned by `{query}`")]
    NotFound {
        /// The query's name (or its SQL when it has none).
        query: String,
    },

    /// The pool was closed; no more connections are handed out.
    #[error("the pool is closed")]
    Closed,
}

/// What ran out of time, in an [`Error::Timeout`].
///
/// ```
/// use pgtide::error::{Error, TimeoutKind};
///
/// let err = Error::timeout(TimeoutKind::Acquire, "waiting for a pooled connection", None);
/// assert_eq!(err.timeout_kind(), Some(TimeoutKind::Acquire));
/// assert!(matches!(err, Error::Timeout { kind: TimeoutKind::Acquire, .. }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Opening a connection took longer than `connect_timeout` (TCP, TLS and authentication).
    Connect,
    /// No pooled connection within `pool.acquire_timeout`.
    Acquire,
    /// The server's `statement_timeout` cancelled the statement (`57014`, "statement timeout").
    Statement,
    /// The server cancelled the statement at a client's request (`57014`, "user request":
    /// `pg_cancel_backend` or a cancel request from another client).
    Cancelled,
    /// `lock_timeout` ran out waiting for a lock (`55P03`).
    LockWait,
    /// The server ended a session idle inside a transaction longer than
    /// `idle_in_transaction_session_timeout` (`25P03`).
    IdleInTransaction,
    /// One of pgtide's own deadlines: a per-call timeout (`with_timeout`), or a bounded
    /// housekeeping step (a rollback, a session reset, a health check).
    ClientDeadline,
}

impl TimeoutKind {
    /// Lower-case name, e.g. `lock_wait`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Acquire => "acquire",
            Self::Statement => "statement",
            Self::Cancelled => "cancelled",
            Self::LockWait => "lock_wait",
            Self::IdleInTransaction => "idle_in_transaction",
            Self::ClientDeadline => "client_deadline",
        }
    }
}

impl std::fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of an [`Error`], for matching, metrics and spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// See [`Error::Config`].
    Config,
    /// See [`Error::Auth`].
    Auth,
    /// See [`Error::Timeout`].
    Timeout,
    /// See [`Error::Transient`].
    Transient,
    /// See [`Error::Permanent`].
    Permanent,
    /// See [`Error::NotFound`].
    NotFound,
    /// See [`Error::Closed`].
    Closed,
}

impl ErrorKind {
    /// Lower-case name, as recorded in tracing spans (`error.kind`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Auth => "auth",
            Self::Timeout => "timeout",
            Self::Transient => "transient",
            Self::Permanent => "permanent",
            Self::NotFound => "not_found",
            Self::Closed => "closed",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Config(_) => ErrorKind::Config,
            Self::Auth { .. } => ErrorKind::Auth,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::Transient { .. } => ErrorKind::Transient,
            Self::Permanent { .. } => ErrorKind::Permanent,
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::Closed => ErrorKind::Closed,
        }
    }

    /// Whether trying the same work again may succeed. Only [`Transient`](Self::Transient)
    /// failures are retryable; whether a retry is *safe* also depends on the work (see the
    /// retry rules in the crate docs).
    pub fn is_retryable(&self) -> bool {
        self.kind() == ErrorKind::Transient
    }

    /// Whether the connection this happened on is gone: an I/O or TLS failure, a
    /// connection exception (`08*`), or the server terminating the session (`57P01..03`).
    /// Work that failed this way before `COMMIT` never reached a commit.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            Self::Transient { source } => match self.sqlstate() {
                Some(code) => code.starts_with("08") || code.starts_with("57P0"),
                None => !matches!(source, sqlx::Error::Database(_)),
            },
            _ => false,
        }
    }

    /// The underlying sqlx error, for what pgtide does not expose itself.
    pub fn as_sqlx(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Auth { source } | Self::Transient { source } | Self::Permanent { source } => {
                Some(source)
            }
            Self::Timeout {
                source: Some(source),
                ..
            } => source.downcast_ref(),
            _ => None,
        }
    }

    fn server_error(&self) -> Option<&PgDatabaseError> {
        self.as_sqlx()?
            .as_database_error()?
            .try_downcast_ref::<PgDatabaseError>()
    }

    /// The five-character SQLSTATE the server sent, e.g. `23505`.
    pub fn sqlstate(&self) -> Option<&str> {
        self.server_error().map(|e| e.code())
    }

    /// The constraint the server named (unique, foreign key, check, exclusion).
    pub fn constraint(&self) -> Option<&str> {
        self.server_error()?.constraint()
    }

    /// The table the server named.
    pub fn table(&self) -> Option<&str> {
        self.server_error()?.table()
    }

    /// The column the server named.
    pub fn column(&self) -> Option<&str> {
        self.server_error()?.column()
    }

    /// Whether the data violated a constraint (SQLSTATE class `23`).
    pub fn is_constraint_violation(&self) -> bool {
        self.sqlstate().is_some_and(|s| s.starts_with("23"))
    }

    /// A timeout of `kind`, with the failure that explains it.
    pub fn timeout(
        kind: TimeoutKind,
        what: impl Into<Cow<'static, str>>,
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::Timeout {
            kind,
            what: what.into(),
            source,
        }
    }

    /// For a timeout: what ran out of time.
    pub fn timeout_kind(&self) -> Option<TimeoutKind> {
        match self {
            Self::Timeout { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

/// Carries a pgtide [`Error`] through sqlx's `Executor` interface (which only returns
/// [`sqlx::Error`]); `From<sqlx::Error>` unwraps it again.
pub(crate) fn into_sqlx(err: Error) -> sqlx::Error {
    match err {
        Error::Auth { source } | Error::Transient { source } | Error::Permanent { source } => {
            source
        }
        Error::Closed => sqlx::Error::PoolClosed,
        other => sqlx::Error::Io(std::io::Error::other(other)),
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        let err = match err {
            sqlx::Error::Io(io) if io.get_ref().is_some_and(|e| e.is::<Error>()) => {
                let kind = io.kind();
                match io.into_inner().map(|e| e.downcast::<Error>()) {
                    Some(Ok(inner)) => return *inner,
                    Some(Err(other)) => sqlx::Error::Io(std::io::Error::new(kind, other)),
                    None => sqlx::Error::Io(kind.into()),
                }
            }
            other => other,
        };
        if let Some(code) = err.as_database_error().and_then(|e| e.code()) {
            return match classify_sqlstate(&code) {
                ErrorKind::Auth => Self::Auth { source: err },
                ErrorKind::Timeout => {
                    let (kind, what) = match code.as_ref() {
                        "55P03" => (TimeoutKind::LockWait, "waiting for a lock"),
                        "25P03" => (TimeoutKind::IdleInTransaction, "idle in transaction"),
                        _ if cancelled_by_request(&err) => (
                            TimeoutKind::Cancelled,
                            "running the statement (cancelled at a client's request)",
                        ),
                        _ => (TimeoutKind::Statement, "running the statement"),
                    };
                    Self::timeout(kind, what, Some(Box::new(err)))
                }
                ErrorKind::Transient => Self::Transient { source: err },
                _ => Self::Permanent { source: err },
            };
        }
        match err {
            // A certificate the client rejects (rustls reports `InvalidData`) fails the same
            // way every time: not transient.
            sqlx::Error::Io(ref io) if io.kind() == std::io::ErrorKind::InvalidData => {
                Self::Permanent { source: err }
            }
            sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => Self::Transient { source: err },
            // TLS set-up errors (unreadable certificate, bad key) are configuration mistakes.
            sqlx::Error::Tls(_) => Self::Permanent { source: err },
            sqlx::Error::PoolTimedOut => Self::timeout(
                TimeoutKind::Acquire,
                "waiting for a pooled connection",
                Some(Box::new(err)),
            ),
            sqlx::Error::PoolClosed => Self::Closed,
            sqlx::Error::RowNotFound => Self::NotFound {
                query: "a query expecting one row".into(),
            },
            other => Self::Permanent { source: other },
        }
    }
}

/// `57014` sent because someone asked (`pg_cancel_backend`, a cancel request), not because
/// `statement_timeout` ran out. The SQLSTATE is the same; PostgreSQL's message tells them
/// apart ("canceling statement due to user request" vs "… due to statement timeout").
fn cancelled_by_request(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.message().contains("user request"))
}

/// The kind a SQLSTATE implies.
pub fn classify_sqlstate(code: &str) -> ErrorKind {
    match code {
        c if c.starts_with("28") => ErrorKind::Auth,
        "57014" | "55P03" | "25P03" => ErrorKind::Timeout,
        c if c.starts_with("08") => ErrorKind::Transient,
        "40001" | "40P01" | "53300" | "57P01" | "57P02" | "57P03" => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    }
}

/// The server's message with its SQLSTATE, or the driver's message.
fn describe(err: &sqlx::Error) -> String {
    match err.as_database_error() {
        Some(db) => {
            let mut out = match db.code() {
                Some(code) => format!("{} (SQLSTATE {code})", db.message()),
                None => db.message().to_string(),
            };
            // Where the server was: `COPY books, line 3, column price: "abc"`.
            if let Some(context) = db
                .try_downcast_ref::<PgDatabaseError>()
                .and_then(|e| e.r#where())
            {
                out.push_str(" at ");
                out.push_str(&context.replace('\n', "; "));
            }
            out
        }
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstate_classes_map_to_kinds() {
        for (code, kind) in [
            ("28P01", ErrorKind::Auth),
            ("28000", ErrorKind::Auth),
            ("57014", ErrorKind::Timeout),
            ("55P03", ErrorKind::Timeout),
            ("08006", ErrorKind::Transient),
            ("40001", ErrorKind::Transient),
            ("40P01", ErrorKind::Transient),
            ("53300", ErrorKind::Transient),
            ("57P01", ErrorKind::Transient),
            ("57P03", ErrorKind::Transient),
            ("23505", ErrorKind::Permanent),
            ("42P01", ErrorKind::Permanent),
            ("22012", ErrorKind::Permanent),
            ("3D000", ErrorKind::Permanent),
        ] {
            assert_eq!(classify_sqlstate(code), kind, "{code}");
        }
    }

    #[test]
    fn driver_errors_without_sqlstate() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(
            Error::from(sqlx::Error::Io(io)).kind(),
            ErrorKind::Transient
        );
        assert_eq!(
            Error::from(sqlx::Error::PoolClosed).kind(),
            ErrorKind::Closed
        );
        let timeout = Error::from(sqlx::Error::PoolTimedOut);
        assert_eq!(timeout.kind(), ErrorKind::Timeout);
        assert_eq!(timeout.timeout_kind(), Some(TimeoutKind::Acquire));
        assert!(timeout.as_sqlx().is_some());
        assert!(!timeout.is_retryable());
    }
}
