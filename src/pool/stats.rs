//! What the pool is doing: sizes now, counters since it was built.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// A snapshot of a pool: [`Pool::stats`](crate::Pool::stats).
///
/// Exhaustion shows as `in_use == max_size` with `waiting > 0` and a growing
/// `acquire_timeouts`; a server that refuses connections as a growing `connect_failures`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Connections open now (idle and in use).
    pub size: u32,
    /// The most connections the pool opens.
    pub max_size: u32,
    /// Open connections waiting in the pool (with those the pool holds for a moment while
    /// it opens more to keep `pool.min_size`).
    pub idle: u32,
    /// Connections handed out (or being checked) now.
    pub in_use: u32,
    /// Callers waiting for a connection now.
    pub waiting: u32,
    /// Connection requests so far.
    pub acquires: u64,
    /// Requests that gave up after `pool.acquire_timeout`.
    pub acquire_timeouts: u64,
    /// Connections opened so far.
    pub connections_created: u64,
    /// Connections closed so far (idle, too old, broken, failed health check, detached).
    pub connections_closed: u64,
    /// Attempts to connect that failed.
    pub connect_failures: u64,
    /// Time all callers together spent waiting for a connection.
    pub acquire_wait: Duration,
}

impl std::fmt::Display for PoolStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} connections in use, {} idle, {} waiting; {} acquires, {} timed out, \
             {} created, {} closed, {} failed connects, {:?} spent waiting",
            self.in_use,
            self.max_size,
            self.idle,
            self.waiting,
            self.acquires,
            self.acquire_timeouts,
            self.connections_created,
            self.connections_closed,
            self.connect_failures,
            self.acquire_wait
        )
    }
}

/// The running counters behind [`PoolStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) acquires: AtomicU64,
    pub(crate) acquire_timeouts: AtomicU64,
    pub(crate) created: AtomicU64,
    pub(crate) closed: AtomicU64,
    pub(crate) connect_failures: AtomicU64,
    pub(crate) wait_nanos: AtomicU64,
    /// Checkouts the pool makes itself to open connections up to `pool.min_size`
    /// ([`super::maintenance::fill_to_min`]): not callers, so not counted as in use or waiting.
    pub(crate) topping_up: AtomicUsize,
}

/// Counts `n` checkouts as the pool's own until dropped.
pub(crate) struct TopUp<'a>(&'a AtomicUsize, usize);

impl Drop for TopUp<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(self.1, Ordering::Relaxed);
    }
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_wait(&self, waited: Duration) {
        let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.wait_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Counts `n` checkouts as the pool's own (see [`Counters::topping_up`]) until the
    /// returned guard is dropped. Counted before they start and until after they end, so a
    /// snapshot may briefly show fewer callers than there are, never more.
    pub(crate) fn top_up(&self, n: usize) -> TopUp<'_> {
        self.topping_up.fetch_add(n, Ordering::Relaxed);
        TopUp(&self.topping_up, n)
    }

    pub(crate) fn snapshot(&self, status: deadpool::Status) -> PoolStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        // deadpool counts every checkout under way or held as a user: those that hold a
        // connection are in use, the rest wait. The pool's own top-up checkouts are neither.
        let users = (status.size - status.available + status.waiting)
            .saturating_sub(self.topping_up.load(Ordering::Relaxed));
        let in_use = users.min(status.size);
        PoolStats {
            size: to_u32(status.size),
            max_size: to_u32(status.max_size),
            idle: to_u32(status.size - in_use),
            in_use: to_u32(in_use),
            waiting: to_u32(users - in_use),
            acquires: load(&self.acquires),
            acquire_timeouts: load(&self.acquire_timeouts),
            connections_created: load(&self.created),
            connections_closed: load(&self.closed),
            connect_failures: load(&self.connect_failures),
            acquire_wait: Duration::from_nanos(load(&self.wait_nanos)),
        }
    }
}
