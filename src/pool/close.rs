//! Closing a pool: no new checkouts, in-flight work gets a grace period, every connection is
//! closed politely (sqlx's `PgConnection::close()`, which sends `Terminate`).
//!
//! One owner: [`Pool::close`]. The other pieces are the hand-back path
//! (`PooledConnection`'s `Drop`), which closes a connection handed back to a closed pool
//! instead of parking it, and [`terminate_idle_on_drop`], which says goodbye to the idle
//! connections of a pool dropped without closing (the runtime shutting down).
//!
//! Stragglers (still in use when the grace period ends) are stopped on the server:
//! [`LivePids`] knows the backend pid of every connection the pool has open (a [`LivePid`]
//! token inside each connection adds it when the connection is opened and removes it when the
//! connection is gone), so no checkout pays for the bookkeeping.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
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
    /// Their backends were terminated ([`terminated`](Self::terminated)); each is dropped
    /// when its holder hands it back.
    pub still_in_use: usize,
    /// Backends of stragglers stopped with `pg_terminate_backend` after the grace period.
    pub terminated: usize,
}

/// The backend pids of the connections a pool has open. Shared with each connection's
/// [`LivePid`].
#[derive(Debug, Default)]
pub(crate) struct LivePids(Arc<Mutex<HashSet<i32>>>);

impl LivePids {
    /// Records `pid` as open until the returned token is dropped.
    pub(crate) fn register(&self, pid: i32) -> LivePid {
        self.lock().insert(pid);
        LivePid {
            pid,
            set: Arc::clone(&self.0),
        }
    }

    /// The known pids (pid 0, behind PgBouncer, is no backend of ours and is left out).
    fn snapshot(&self) -> Vec<i32> {
        self.lock()
            .iter()
            .copied()
            .filter(|&pid| pid != 0)
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<i32>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Keeps one backend pid in its pool's [`LivePids`] while the connection exists.
#[derive(Debug)]
pub(crate) struct LivePid {
    pid: i32,
    set: Arc<Mutex<HashSet<i32>>>,
}

impl Drop for LivePid {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.pid);
    }
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
    /// 3. connections in use finish their work: each is closed politely when handed back;
    /// 4. when `grace` is over, connections still in use (stragglers) are stopped on the
    ///    server with `pg_terminate_backend` (from a short-lived second connection: sqlx keeps
    ///    the cancel key private), which ends their statements and rolls back their
    ///    transactions; their holders see an error whose
    ///    [`is_connection_lost`](crate::Error::is_connection_lost) is true, and the connection
    ///    is dropped when handed back.
    ///
    /// Returns once every connection is back, or after stopping the stragglers (and waiting
    /// briefly for their holders to hand them back).
    ///
    /// Idempotent: a second call closes nothing more and deals with what is still in use.
    pub async fn close_within(&self, grace: Duration) -> CloseOutcome {
        self.close_with(grace, &|| None).await
    }

    /// As [`close_within`](Self::close_within); when this pool's own credentials no longer
    /// open a connection (its password was rotated), stragglers are terminated through
    /// `successor()` instead: the pool that replaced it (same server and role, working
    /// credentials). Asked only when needed, so a successor still connecting can be given.
    pub(crate) async fn close_with(
        &self,
        grace: Duration,
        successor: &(dyn Fn() -> Option<Pool> + Send + Sync),
    ) -> CloseOutcome {
        let shared = &self.shared;
        shared.stop_maintenance();
        shared.slots.close();
        let closed_idle = close_idle(shared).await;
        let deadline = Instant::now().checked_add(grace);
        loop {
            let in_use = shared.slots.open_count();
            if in_use == 0 {
                return CloseOutcome {
                    closed_idle,
                    still_in_use: 0,
                    terminated: 0,
                };
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let terminated = terminate_stragglers(shared, successor).await;
                tracing::warn!(target: "pgtide::pool", in_use, terminated, "pool closed with connections still in use: their backends were terminated");
                let still_in_use = wait_for_hand_back(shared, TERMINATE_LIMIT).await;
                return CloseOutcome {
                    closed_idle,
                    still_in_use,
                    terminated,
                };
            }
            // Hand-backs are not announced: look again shortly (bounded by `grace`).
            tokio::time::sleep(Duration::from_millis(5)).await;
            close_idle(shared).await;
        }
    }
}

/// The last clone of a pool is being dropped without [`Pool::close`]: typically a runtime
/// shutting down, dropping the tasks that held the pool (every connection is back by then:
/// each checkout holds a clone). Nothing can be awaited in `Drop`, and nothing spawned runs
/// on a runtime that is shutting down, so each idle connection's polite close is polled
/// once, here: the `Terminate` message is a few bytes that the socket's send buffer takes at
/// once, and the server ends the session cleanly instead of seeing the socket cut (it would
/// count it in `pg_stat_database.sessions_abandoned`). Once the runtime that opened the
/// connections is gone its sockets cannot be written; they are just dropped.
pub(crate) fn terminate_idle_on_drop(shared: &Shared) {
    use futures_util::FutureExt;
    for conn in shared.slots.retain_idle(|_| false) {
        Counters::bump(&shared.counters.closed);
        // One poll: sends `Terminate` and shuts the socket down if it does not have to wait.
        let _ = conn.into_raw().close().now_or_never();
    }
}

/// Closes the idle connections of a closed pool now (see [`close_now`]); returns how many.
/// Called again while the pool waits for connections in use: one handed back as it closed
/// may have been queued as idle.
async fn close_idle(shared: &Shared) -> usize {
    let idle = shared.slots.retain_idle(|_| false);
    let closed = idle.len();
    close_now(shared, idle).await;
    closed
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

/// Stops the listed backends, but only sessions of the connection's own database and login
/// role: a pid whose backend died while held may since belong to someone else's session.
const TERMINATE_OURS: &str =
    // CASE: the checks come first (AND promises no order of evaluation).
    "SELECT count(*) FILTER (WHERE CASE \
         WHEN datname = current_database() AND usename = session_user \
         THEN pg_terminate_backend(pid) ELSE false END) \
     FROM pg_stat_activity WHERE pid = ANY($1::int4[])";

/// Terminates the backends of every connection the pool still has open (after the idle ones
/// were closed, those are the ones in use), from a connection of its own, or through
/// `successor` when the pool's credentials fail (a rotated password). Returns how many the
/// server stopped.
async fn terminate_stragglers(
    shared: &Shared,
    successor: &(dyn Fn() -> Option<Pool> + Send + Sync),
) -> usize {
    let manager = shared.slots.manager();
    let pids = manager.live.snapshot();
    if pids.is_empty() {
        return 0;
    }
    let stop = async {
        let stopped: i64 = match manager.connect_unpooled().await {
            Ok(mut other) => {
                let stopped = sqlx::query_scalar(TERMINATE_OURS)
                    .bind(&pids)
                    .fetch_one(&mut other)
                    .await?;
                let _ = tokio::time::timeout(TERMINATE_LIMIT, other.close()).await;
                stopped
            }
            Err(own) => {
                let Some(next) = successor() else {
                    return Err(own);
                };
                tracing::debug!(target: "pgtide::pool", error = %own, "the closing pool cannot connect; terminating its stragglers through the pool that replaced it");
                // A checkout of the successor, not a borrower: nothing of its session changes.
                sqlx::query_scalar(TERMINATE_OURS)
                    .bind(&pids)
                    .fetch_one(&next)
                    .await?
            }
        };
        Ok::<i64, crate::Error>(stopped)
    };
    match tokio::time::timeout(manager.connect_timeout.saturating_mul(2), stop).await {
        Ok(Ok(stopped)) => usize::try_from(stopped).unwrap_or(0),
        Ok(Err(err)) => {
            tracing::warn!(target: "pgtide::pool", error = %err, "could not terminate the backends of connections still in use");
            0
        }
        Err(_) => {
            tracing::warn!(target: "pgtide::pool", "terminating the backends of connections still in use timed out");
            0
        }
    }
}

/// Waits up to `limit` for connections in use to be handed back; returns how many still are.
async fn wait_for_hand_back(shared: &Shared, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let in_use = shared.slots.open_count();
        if in_use == 0 || Instant::now() >= deadline {
            return in_use;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        close_idle(shared).await;
    }
}
