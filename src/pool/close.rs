//! Closing a pool: no new checkouts, in-flight work gets a grace period, every connection is
//! closed politely (sqlx's `PgConnection::close()`, which sends `Terminate`).
//!
//! One owner: [`Pool::close`]. The only other piece is the hand-back path
//! (`PooledConnection`'s `Drop`), which closes a connection handed back to a closed pool
//! instead of parking it.

use std::time::{Duration, Instant};

use sqlx::Connection;

use super::guard::Conn;
use super::stats::Counters;
use super::{Pool, Shared};

/// How long [`Pool::close`] waits for connections in use to be handed back.
pub const DEFAULT_CLOSE_GRACE: Duration = Duration::from_secs(30);

/// How long closing one connection politely may take before its socket is just dropped.
const TERMINATE_LIMIT: Duration = Duration::from_secs(1);

/// What [`Pool::close_within`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseOutcome {
    /// Idle connections closed at once.
    pub closed_idle: usize,
    /// Connections still in use when the grace period ran out (0: all were handed back).
    /// They are closed when their holders hand them back.
    pub still_in_use: usize,
}

impl Pool {
    /// Closes the pool, waiting up to [`DEFAULT_CLOSE_GRACE`] for work in flight; see
    /// [`close_within`](Self::close_within).
    pub async fn close(&self) -> CloseOutcome {
        self.close_within(DEFAULT_CLOSE_GRACE).await
    }

    /// Closes the pool:
    ///
    /// 1. from now on checkouts fail with [`Error::Closed`](crate::Error::Closed) and the
    ///    maintenance task stops;
    /// 2. idle connections are closed (a `Terminate` message each, awaited here rather than
    ///    in spawned tasks);
    /// 3. connections in use finish their work: each is closed politely when handed back.
    ///    This call returns once all are back or `grace` is over, whichever comes first.
    ///
    /// Idempotent: a second call closes nothing more and waits for what is still in use.
    /// Stragglers (still in use after `grace`) are counted in [`CloseOutcome::still_in_use`].
    pub async fn close_within(&self, grace: Duration) -> CloseOutcome {
        let shared = &self.shared;
        shared.stop_maintenance();
        let idle = shared.inner.retain(|_, _| false).removed;
        shared.inner.close();
        let closed_idle = idle.len();
        close_now(shared, idle).await;
        let deadline = Instant::now().checked_add(grace);
        loop {
            let in_use = shared.inner.status().size;
            if in_use == 0 || deadline.is_some_and(|d| Instant::now() >= d) {
                if in_use > 0 {
                    tracing::warn!(target: "pgtide::pool", in_use, "pool closed with connections still in use");
                }
                return CloseOutcome {
                    closed_idle,
                    still_in_use: in_use,
                };
            }
            // Hand-backs are not announced: look again shortly (bounded by `grace`).
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Closes `conns` now, concurrently, each within [`TERMINATE_LIMIT`]. Awaited here rather
/// than spawned: spawning does nothing while the runtime shuts down.
async fn close_now(shared: &Shared, conns: Vec<Conn>) {
    for _ in &conns {
        Counters::bump(&shared.counters.closed);
    }
    futures_util::future::join_all(conns.into_iter().map(|conn| async move {
        let _ = tokio::time::timeout(TERMINATE_LIMIT, conn.into_raw().close()).await;
    }))
    .await;
}
