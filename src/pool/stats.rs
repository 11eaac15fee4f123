//! What the pool is doing: sizes now, counters since it was built.

use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Open connections waiting in the pool.
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
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_wait(&self, waited: Duration) {
        let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.wait_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, sizes: super::slots::Sizes) -> PoolStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        PoolStats {
            size: to_u32(sizes.open),
            max_size: to_u32(sizes.max_size),
            idle: to_u32(sizes.idle),
            in_use: to_u32(sizes.lent),
            waiting: to_u32(sizes.waiting),
            acquires: load(&self.acquires),
            acquire_timeouts: load(&self.acquire_timeouts),
            connections_created: load(&self.created),
            connections_closed: load(&self.closed),
            connect_failures: load(&self.connect_failures),
            acquire_wait: Duration::from_nanos(load(&self.wait_nanos)),
        }
    }
}
