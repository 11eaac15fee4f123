//! The pool's core: at most `pool.max_size` connections, the idle ones in a queue, and callers
//! waiting in line (a semaphore) for the right to hold one.
//!
//! A caller first takes a *place* (a semaphore permit); with a place it takes the most
//! recently handed back idle connection (LIFO: the busy few stay warm on the server, the rest
//! go idle and are closed by the idle reaper; a lone caller alternates between the two most
//! recent, see [`Slots::take_idle`]), checks it ([`ConnectionManager::recycle`]), or
//! opens a new one when none is idle. A connection is only ever opened under a place, and a
//! connection handed back is queued before its place is given back, so the connections open
//! never outnumber the places.
//!
//! Written for pgtide rather than taken from deadpool (which the first releases used): the
//! checkout is one mutex and one semaphore permit, with no hooks, timeouts, object ids or
//! weak references to maintain per call (README, "Pool").

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit, TryAcquireError};

use super::guard::Conn;
use super::manager::ConnectionManager;
use super::stats::Counters;
use crate::error::Error;

/// The connections of one pool and the places to hold them.
pub(crate) struct Slots {
    manager: ConnectionManager,
    /// One permit per connection the pool may have lent out (or be opening) at once.
    places: Semaphore,
    max_size: usize,
    queue: Mutex<Queue>,
    /// Callers waiting for a place now.
    waiting: AtomicUsize,
}

#[derive(Default)]
struct Queue {
    /// Handed back, ready for the next caller; the most recent at the back.
    idle: VecDeque<Conn>,
    /// Lent out: held by a caller, or being checked before it is.
    lent: usize,
    /// Being opened (by a caller's checkout or the top-up), each under a place.
    opening: usize,
}

/// A connection lent out by [`Slots::get`]. It holds its place: give it back with
/// [`Slots::put_back`] or take it out of the pool with [`Slots::remove`] (the pool's
/// `hand_back` does one or the other for every owner).
#[derive(Debug)]
pub(crate) struct Lent(Conn);

impl std::ops::Deref for Lent {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.0
    }
}

impl std::ops::DerefMut for Lent {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.0
    }
}

/// Why a checkout gave no connection.
#[derive(Debug)]
pub(crate) enum GetError {
    /// The pool was closed.
    Closed,
    /// Opening a new connection failed.
    Connect(Error),
}

/// The sizes behind [`PoolStats`](super::PoolStats).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    pub(crate) open: usize,
    pub(crate) idle: usize,
    pub(crate) lent: usize,
    pub(crate) waiting: usize,
    pub(crate) max_size: usize,
}

impl Slots {
    pub(crate) fn new(manager: ConnectionManager, max_size: usize) -> Self {
        Self {
            manager,
            places: Semaphore::new(max_size),
            max_size,
            queue: Mutex::new(Queue::default()),
            waiting: AtomicUsize::new(0),
        }
    }

    pub(crate) fn manager(&self) -> &ConnectionManager {
        &self.manager
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // Nothing panics while holding it; a poisoned lock still holds consistent data.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection: an idle one that passes its check, or a new one. Waits (in line, without
    /// a limit: the caller sets one) while every place is taken.
    ///
    /// Cancel-safe: dropped while waiting it gives up its turn; dropped while checking or
    /// opening a connection, that connection is closed and the place given back.
    pub(crate) async fn get(&self) -> Result<Lent, GetError> {
        let place = match self.places.try_acquire() {
            Ok(place) => place,
            Err(TryAcquireError::Closed) => return Err(GetError::Closed),
            Err(TryAcquireError::NoPermits) => {
                let _waiting = Waiting::start(&self.waiting);
                self.places.acquire().await.map_err(|_| GetError::Closed)?
            }
        };
        loop {
            let Some(conn) = self.take_idle() else {
                return self.open(place).await;
            };
            let mut checking = Checking {
                slots: self,
                conn: Some(conn),
            };
            if self
                .manager
                .recycle(checking.conn.as_mut().expect("held until it passes"))
                .await
            {
                place.forget();
                return Ok(Lent(checking.conn.take().expect("held until it passes")));
            }
            // Failed its check: `checking` closes it; the place is kept for the next.
        }
    }

    /// Takes an idle connection, counted as lent from here: the one handed back last (LIFO),
    /// except for a lone caller (no connection lent out), who gets the one handed back before
    /// it when there is one.
    ///
    /// Why the exception: the backend of the connection handed back last has sent its reply,
    /// but may still be finishing up (updating its statistics, arming its idle timers) before
    /// it waits for the next statement; a statement sent to it now queues behind that work,
    /// while the backend of the connection handed back a round trip earlier is waiting
    /// already. One statement at a time therefore alternates between two connections (the
    /// rest still idle out), and ran ~7 % more point selects per second than pure LIFO in
    /// alternating runs (README, "Pool"). With callers side by side it is LIFO: the busy few
    /// stay warm.
    fn take_idle(&self) -> Option<Conn> {
        let mut queue = self.queue();
        let last = queue.idle.len().checked_sub(1)?;
        let at = if queue.lent == 0 && last > 0 {
            last - 1
        } else {
            last
        };
        let conn = queue.idle.remove(at)?;
        queue.lent += 1;
        Some(conn)
    }

    /// Opens a new connection under `place`, lent to the caller. The caller counts as waiting
    /// meanwhile (it has no connection yet).
    async fn open(&self, place: SemaphorePermit<'_>) -> Result<Lent, GetError> {
        let waiting = Waiting::start(&self.waiting);
        let opening = self.opening(&mut self.queue());
        let conn = self.manager.create().await.map_err(GetError::Connect)?;
        drop(waiting);
        let lent = opening.end(|queue| {
            let open = !self.is_closed();
            queue.lent += usize::from(open);
            open
        });
        if !lent {
            // The pool closed meanwhile: nothing is handed out any more.
            super::guard::discard(conn, None);
            return Err(GetError::Closed);
        }
        place.forget();
        Ok(Lent(conn))
    }

    /// Counts a connection as being opened in `queue` (this pool's, locked) until the
    /// returned guard ends or is dropped.
    fn opening(&self, queue: &mut Queue) -> Opening<'_> {
        queue.opening += 1;
        Opening { slots: self }
    }

    /// Opens one connection and queues it as idle, if a place is free now (never waits): how
    /// the pool keeps `pool.min_size` open. Not a caller's checkout: it is counted in no
    /// stats but `connections_created`.
    pub(crate) async fn open_idle(&self) -> Result<(), GetError> {
        let place = match self.places.try_acquire() {
            Ok(place) => place,
            Err(TryAcquireError::Closed) => return Err(GetError::Closed),
            // Every place is taken: the pool is busy, so not below its minimum for long.
            Err(TryAcquireError::NoPermits) => return Ok(()),
        };
        // Idle connections hold no place: the free place taken here may be one that an idle
        // connection stands for. Opened only while the pool is below its maximum.
        let opening = {
            let mut queue = self.queue();
            if queue.idle.len() + queue.lent + queue.opening >= self.max_size {
                return Ok(());
            }
            self.opening(&mut queue)
        };
        let conn = self.manager.create().await.map_err(GetError::Connect)?;
        let refused = opening.end(|queue| {
            if self.is_closed() {
                Some(conn)
            } else {
                // The oldest end of the queue: callers keep getting the warm ones first.
                queue.idle.push_front(conn);
                None
            }
        });
        drop(place);
        match refused {
            Some(conn) => {
                super::guard::discard(conn, None);
                Err(GetError::Closed)
            }
            None => Ok(()),
        }
    }

    /// Takes back a lent connection for the next caller.
    pub(crate) fn put_back(&self, lent: Lent) {
        {
            let mut queue = self.queue();
            queue.lent -= 1;
            queue.idle.push_back(lent.0);
        }
        self.places.add_permits(1);
    }

    /// Takes a lent connection out of the pool for good (to discard or detach it).
    pub(crate) fn remove(&self, lent: Lent) -> Conn {
        self.queue().lent -= 1;
        self.places.add_permits(1);
        lent.0
    }

    /// Removes and returns the idle connections `keep` says no to.
    pub(crate) fn retain_idle(&self, mut keep: impl FnMut(&Conn) -> bool) -> Vec<Conn> {
        let mut queue = self.queue();
        let mut removed = Vec::new();
        let mut kept = VecDeque::with_capacity(queue.idle.len());
        for conn in queue.idle.drain(..) {
            if keep(&conn) {
                kept.push_back(conn);
            } else {
                removed.push(conn);
            }
        }
        queue.idle = kept;
        removed
    }

    /// Closes the pool to checkouts: callers waiting and coming get [`GetError::Closed`].
    pub(crate) fn close(&self) {
        self.places.close();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.places.is_closed()
    }

    /// Connections open or being opened now.
    pub(crate) fn open_count(&self) -> usize {
        let queue = self.queue();
        queue.idle.len() + queue.lent + queue.opening
    }

    pub(crate) fn sizes(&self) -> Sizes {
        let (idle, lent) = {
            let queue = self.queue();
            (queue.idle.len(), queue.lent)
        };
        Sizes {
            open: idle + lent,
            idle,
            lent,
            waiting: self.waiting.load(Ordering::Relaxed),
            max_size: self.max_size,
        }
    }
}

/// A connection being opened, counted in [`Queue::opening`] until [`end`](Self::end)ed or
/// dropped (a failed or cancelled connect).
struct Opening<'a> {
    slots: &'a Slots,
}

impl Opening<'_> {
    /// The connection is open: stops counting it as opening and runs `then` under the same
    /// lock, so that it is never counted in neither or both.
    fn end<T>(self, then: impl FnOnce(&mut Queue) -> T) -> T {
        let mut queue = self.slots.queue();
        queue.opening -= 1;
        let out = then(&mut queue);
        drop(queue);
        std::mem::forget(self);
        out
    }
}

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        self.slots.queue().opening -= 1;
    }
}

/// Counts a caller as waiting from [`start`](Self::start) until dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn start(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::Relaxed);
        Self(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An idle connection taken out to be checked: closed (and counted so) when dropped still
/// held, because its check failed or the checkout was cancelled during it.
struct Checking<'a> {
    slots: &'a Slots,
    conn: Option<Conn>,
}

impl Drop for Checking<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.slots.queue().lent -= 1;
            Counters::bump(&self.slots.manager.counters.closed);
            // Cancelled midway through a ping or reset, its backend may still be at work.
            let terminate = conn.is_busy().then_some((
                &self.slots.manager.options,
                self.slots.manager.connect_timeout,
            ));
            super::guard::discard(conn, terminate);
        }
    }
}
