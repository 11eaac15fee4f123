//! What the checkout path does not do itself: keep `pool.min_size` connections open, close
//! connections idle longer than `pool.idle_timeout` (above the minimum), and replace
//! connections older than `pool.max_lifetime` before anyone checks them out.
//!
//! One background task per pool does it. It holds only a `Weak` reference, so it never keeps
//! a pool alive; it stops when the pool is closed or its last clone dropped (it is also
//! aborted then, so it does not outlive the pool by a tick).

use std::sync::Arc;
use std::time::Duration;

use super::{Conn, Pool, Shared};
use crate::pool::stats::Counters;

/// How often the task looks: a quarter of the shortest idle timeout or lifetime, between
/// 10 ms and 1 s (cheap: it takes a mutex and looks at the idle connections).
fn interval(shared: &Shared) -> Duration {
    let pool = shared.config.pool();
    [pool.idle_timeout, pool.max_lifetime]
        .into_iter()
        .flatten()
        .min()
        .map_or(Duration::from_secs(1), |d| d / 4)
        .clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// Starts the maintenance task of `pool`.
pub(crate) fn start(pool: &Pool) {
    let weak = Arc::downgrade(&pool.shared);
    let every = interval(&pool.shared);
    let task = tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Some(shared) = weak.upgrade() else { break };
            if shared.slots.is_closed() {
                break;
            }
            reap(&shared);
            fill_to_min(&shared).await;
        }
    });
    if let Ok(mut slot) = pool.shared.maintenance.lock() {
        *slot = Some(task.abort_handle());
    }
}

/// Closes idle connections that are too old, or idle too long while the pool is above its
/// minimum.
fn reap(shared: &Shared) {
    let pool = shared.config.pool();
    let min = pool.size.min() as usize;
    let mut size = shared.slots.open_count();
    let removed = shared.slots.retain_idle(|conn| {
        let too_old = pool
            .max_lifetime
            .is_some_and(|max| conn.created.elapsed() >= max);
        let idle_too_long = pool
            .idle_timeout
            .is_some_and(|t| conn.idle_since.elapsed() >= t)
            && size > min;
        if too_old || idle_too_long || conn.broken {
            // The size was read before the look: connections opened or closed meanwhile
            // make it an estimate, never a reason to underflow.
            size = size.saturating_sub(1);
            false
        } else {
            true
        }
    });
    if !removed.is_empty() {
        tracing::debug!(target: "pgtide::pool", closed = removed.len(), "closed idle or old connections");
    }
    close_all(shared, removed);
}

/// Opens connections until the pool holds `pool.min_size` (never waits for a busy pool;
/// a failure to connect is left for the next round). The connects run side by side; each
/// new connection joins the idle ones, behind the warm ones. Callers that find no idle
/// connection meanwhile open their own, within `pool.max_size`.
pub(crate) async fn fill_to_min(shared: &Shared) {
    let min = shared.config.pool().size.min() as usize;
    let open = shared.slots.open_count();
    if open >= min || shared.slots.is_closed() {
        return;
    }
    let opens = (open..min).map(|_| shared.slots.open_idle());
    for outcome in futures_util::future::join_all(opens).await {
        if let Err(err) = outcome {
            tracing::debug!(target: "pgtide::pool", error = ?err, "could not open a connection to keep the minimum");
        }
    }
}

/// Counts `conns` as closed and closes them politely (a `Terminate` message) in the
/// background when a runtime is at hand.
pub(crate) fn close_all(shared: &Shared, conns: Vec<Conn>) {
    if conns.is_empty() {
        return;
    }
    for _ in &conns {
        Counters::bump(&shared.counters.closed);
    }
    for conn in conns {
        super::guard::discard(conn, None);
    }
}
