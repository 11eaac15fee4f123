//! Why a caller got no pooled connection in time: the source of a pool
//! [`Timeout`](crate::Error::Timeout), and its accessors on [`Error`].

use std::time::Duration;

use super::PoolStats;
use crate::error::Error;

impl Error {
    /// For a pool timeout: the pool's statistics when the caller gave up (how many
    /// connections were in use, how many callers waited).
    pub fn pool_stats(&self) -> Option<&PoolStats> {
        self.pool_timeout().map(|t| &t.stats)
    }

    /// For a pool timeout: the last error connecting to the server, when connecting failed
    /// while the caller waited (sqlx alone reports only `PoolTimedOut`).
    pub fn last_connect_error(&self) -> Option<&Error> {
        self.pool_timeout()?.last_connect_error.as_deref()
    }

    fn pool_timeout(&self) -> Option<&PoolTimeout> {
        match self {
            Self::Timeout {
                source: Some(source),
                ..
            } => source.downcast_ref(),
            _ => None,
        }
    }
}

/// Why a caller got no pooled connection in time: the source of a pool
/// [`Timeout`](Error::Timeout). Read it with [`Error::pool_stats`] and
/// [`Error::last_connect_error`].
#[derive(Debug)]
pub struct PoolTimeout {
    /// How long the caller waited.
    pub waited: Duration,
    /// The pool when the caller gave up.
    pub stats: PoolStats,
    /// The last failure to connect while the caller waited, if connecting failed.
    pub last_connect_error: Option<Box<Error>>,
}

impl std::fmt::Display for PoolTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.last_connect_error {
            Some(err) => write!(
                f,
                "could not connect within {:?}: {err} (is the server up and reachable?)",
                self.waited
            ),
            None => write!(
                f,
                "pool exhausted for {:?}: {} (raise pool.max_size or pool.acquire_timeout, \
                 or hold connections for less time)",
                self.waited, self.stats
            ),
        }
    }
}

impl std::error::Error for PoolTimeout {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.last_connect_error
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
