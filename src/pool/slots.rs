//! The pool's core: at most `pool.max_size` connections, the idle ones in a queue, and callers
//! waiting in line ([`Line`]) for a *place*, the right to hold one.
//!
//! A caller first takes a place; with it, it takes the most recently handed back idle
//! connection (LIFO: the busy few stay warm on the server, the rest go idle and are closed by
//! the idle reaper; a lone caller alternates between the two most recent, see
//! [`Slots::take_idle`]), checks it ([`ConnectionManager::recycle_now`]), or opens a new one when
//! none is idle. Places and connections are counted under one lock, where idle connections
//! plus places taken never exceed `pool.max_size`: a connection is only opened under a place,
//! by a caller that found no idle one (or by the top-up, only below that sum), so the
//! connections open never outnumber `pool.max_size`.
//!
//! When every place is taken the caller joins the line, first come, first served. A
//! connection handed back goes straight to the first caller in line (still lent: no queueing
//! as idle and taking out again), and a place given up goes to the first caller in line.
//! Deadlines (`pool.acquire_timeout`) are kept by one timer for the whole line, not one per
//! waiting caller (see [`super::line`]).
//!
//! Written for pgtide rather than taken from deadpool (which the first releases used): the
//! checkout is one lock, with no hooks, timeouts, object ids or weak references to maintain
//! per call, and no timer per wait (README, "Pool").

use std::collections::VecDeque;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use super::guard::Conn;
use super::line::{Duty, Line, Outcome, Ticket, Wakers};
use super::manager::ConnectionManager;
use super::stats::Counters;
use crate::error::Error;

/// The connections of one pool and the places to hold them.
pub(crate) struct Slots {
    manager: ConnectionManager,
    max_size: usize,
    /// Shared with the line's alarm (see [`Alarm`]).
    queue: Arc<Mutex<Queue>>,
    /// Set (under the queue lock) once the pool is closed; read without it.
    closed: AtomicBool,
    /// Callers waiting now: in line, or opening a connection.
    waiting: AtomicUsize,
}

#[derive(Default)]
struct Queue {
    /// Handed back, ready for the next caller; the most recent at the back.
    idle: VecDeque<Conn>,
    /// Places taken: one by each connection lent out (or being checked), each connect under
    /// way, and each caller given a place it has not used yet. Idle connections hold none;
    /// `taken + idle.len() <= max_size`.
    taken: usize,
    /// Lent out: held by a caller, or being checked before it is.
    lent: usize,
    /// Being opened (by a caller's checkout or the top-up), each under a place.
    opening: usize,
    /// Callers waiting for a place: only while every place is taken (a place given up goes
    /// to the first of them).
    line: Line<Grant>,
}

/// What a caller in line is served.
enum Grant {
    /// A connection handed back, still counted as lent, with its place.
    Conn(Conn),
    /// A place given up (its connection closed, or a caller that left): to take an idle
    /// connection or open one.
    Place,
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

/// A connection from [`Slots::get`], and when the checkout started waiting, if it did.
#[derive(Debug)]
pub(crate) struct Got {
    pub(crate) lent: Lent,
    pub(crate) waited_since: Option<Instant>,
}

/// Why a checkout gave no connection.
#[derive(Debug)]
pub(crate) enum GetError {
    /// The pool was closed.
    Closed,
    /// Its deadline passed; it started waiting at `since`.
    TimedOut { since: Instant },
    /// Opening a new connection failed; the checkout started waiting at `since`.
    Connect { error: Error, since: Instant },
}

/// How long a checkout may wait.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Patience {
    /// This long from when it first has to wait (no clock is read when it does not).
    For(Duration),
    /// Until this instant.
    Until(Instant),
    /// As long as it takes.
    Forever,
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
            max_size,
            queue: Arc::default(),
            closed: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
        }
    }

    pub(crate) fn manager(&self) -> &ConnectionManager {
        &self.manager
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        lock(&self.queue)
    }

    /// A connection: an idle one that passes its check, or a new one, within `patience`.
    /// Waits in line while every place is taken.
    ///
    /// Cancel-safe: dropped while waiting it leaves the line (passing on whatever it was
    /// served meanwhile); dropped while checking or opening a connection, that connection is
    /// closed and the place given to the next caller.
    pub(crate) async fn get(&self, patience: Patience) -> Result<Got, GetError> {
        let mut clock = Clock::new(patience);
        let (place, served) = self.enter(&mut clock).await?;
        let mut checking = Checking {
            slots: self,
            conn: served,
        };
        loop {
            if checking.conn.is_none() {
                checking.conn = self.take_idle();
            }
            let Some(held) = checking.conn.as_mut() else {
                if self.is_closed() {
                    return Err(GetError::Closed);
                }
                if clock.overdue() {
                    // Served after its deadline passed, before the line's timer told it.
                    return Err(clock.timed_out());
                }
                return Box::pin(self.open(place, &mut clock)).await;
            };
            let passed = match self.manager.recycle_now(held) {
                Some(passed) => Some(passed),
                None if clock.overdue() => {
                    // Not worth a round trip now: the next caller checks it.
                    place.keep();
                    let conn = checking.conn.take().expect("held");
                    self.put_back(Lent(conn));
                    return Err(clock.timed_out());
                }
                // A round trip: boxed, so the common case's future stays small.
                None => Box::pin(clock.within(self.manager.recycle_checked(held))).await,
            };
            match passed {
                Some(true) => {
                    place.keep();
                    let conn = checking.conn.take().expect("held until it passes");
                    return Ok(Got {
                        lent: Lent(conn),
                        waited_since: clock.since,
                    });
                }
                // Failed its check: closed; the place is kept for the next.
                Some(false) => checking.close(),
                // `checking` closes it (stopping its check on the server), `place` passes on.
                None => return Err(clock.timed_out()),
            }
        }
    }

    /// Takes a place: at once when one is free, else in line. With it comes the idle
    /// connection taken in the same lock, or the connection it was served in line.
    async fn enter(&self, clock: &mut Clock) -> Result<(Place<'_>, Option<Conn>), GetError> {
        let mut turn: Option<Turn<'_>> = None;
        let outcome = std::future::poll_fn(|cx| {
            let turn = match &mut turn {
                Some(turn) => turn,
                None => {
                    let mut queue = self.queue();
                    if self.is_closed() {
                        return Poll::Ready(Outcome::Closed);
                    }
                    if queue.taken < self.max_size {
                        // A free place means no one is in line (a place given up goes to the
                        // first in line): nobody is passed over.
                        queue.taken += 1;
                        let conn = take_idle(&mut queue);
                        return Poll::Ready(Outcome::Served(
                            conn.map_or(Grant::Place, Grant::Conn),
                        ));
                    }
                    let ticket = queue.line.join(clock.start(), cx.waker().clone());
                    drop(queue);
                    turn.insert(Turn {
                        slots: self,
                        ticket,
                        timer: None,
                        done: false,
                        _waiting: Waiting::start(&self.waiting),
                    })
                }
            };
            turn.poll(cx)
        })
        .await;
        drop(turn);
        match outcome {
            Outcome::Served(Grant::Conn(conn)) => Ok((Place { slots: self }, Some(conn))),
            Outcome::Served(Grant::Place) => Ok((Place { slots: self }, None)),
            Outcome::Expired => Err(clock.timed_out()),
            Outcome::Closed => Err(GetError::Closed),
        }
    }

    /// Takes an idle connection under a place the caller holds, counted as lent from here.
    fn take_idle(&self) -> Option<Conn> {
        if self.is_closed() {
            return None;
        }
        take_idle(&mut self.queue())
    }

    /// Opens a new connection under `place`, lent to the caller. The caller counts as waiting
    /// meanwhile (it has no connection yet).
    async fn open(&self, place: Place<'_>, clock: &mut Clock) -> Result<Got, GetError> {
        let waiting = Waiting::start(&self.waiting);
        let opening = self.opening(&mut self.queue());
        let created = clock.within(self.manager.create()).await;
        drop(waiting);
        let conn = match created {
            Some(Ok(conn)) => conn,
            Some(Err(error)) => {
                return Err(GetError::Connect {
                    error,
                    since: clock.started(),
                });
            }
            None => return Err(clock.timed_out()),
        };
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
        place.keep();
        Ok(Got {
            lent: Lent(conn),
            waited_since: clock.since,
        })
    }

    /// Opens one connection and queues it as idle, if a place is free now (never waits): how
    /// the pool keeps `pool.min_size` open. Not a caller's checkout: it is counted in no
    /// stats but `connections_created`.
    pub(crate) async fn open_idle(&self) -> Result<(), GetError> {
        let (place, opening) = {
            let mut queue = self.queue();
            if self.is_closed() {
                return Err(GetError::Closed);
            }
            // Idle connections hold no place: a free place may be one that an idle connection
            // stands for (see `Queue::taken`).
            if queue.taken + queue.idle.len() >= self.max_size {
                return Ok(());
            }
            queue.taken += 1;
            (Place { slots: self }, self.opening(&mut queue))
        };
        let conn = match self.manager.create().await {
            Ok(conn) => conn,
            Err(error) => {
                return Err(GetError::Connect {
                    error,
                    since: Instant::now(),
                });
            }
        };
        // Under the lock that stops counting it as opening: to the first caller in line
        // (lent, with this place), or queued as idle and the place freed, so the pool's count
        // is never off between the two.
        let done = opening.end(|queue| {
            if self.is_closed() {
                return Err(conn);
            }
            queue.lent += 1;
            // Queued at the oldest end: callers keep getting the warm ones first.
            Ok(serve_or_queue(queue, conn, IdleEnd::Oldest))
        });
        match done {
            Ok(served) => {
                place.keep();
                served.into_iter().for_each(Waker::wake);
                Ok(())
            }
            Err(conn) => {
                // `place` is given up when dropped.
                super::guard::discard(conn, None);
                Err(GetError::Closed)
            }
        }
    }

    /// Counts a connection as being opened in `queue` (this pool's, locked) until the
    /// returned guard ends or is dropped.
    fn opening(&self, queue: &mut Queue) -> Opening<'_> {
        queue.opening += 1;
        Opening { slots: self }
    }

    /// Takes back a lent connection: straight to the first caller in line, or queued as idle
    /// for the next caller.
    pub(crate) fn put_back(&self, lent: Lent) {
        let handed = self.hand_on(&mut self.queue(), lent.0);
        self.handed_on(handed);
    }

    /// Passes a lent connection, with its place, to the first caller in line, or queues it as
    /// idle and frees its place; returns the waker of the caller served. Once the pool is
    /// closed it is taken out instead (`Err`), to be closed by [`handed_on`](Self::handed_on).
    fn hand_on(&self, queue: &mut Queue, conn: Conn) -> Result<Option<Waker>, Conn> {
        if self.is_closed() {
            queue.lent -= 1;
            return Err(conn);
        }
        Ok(serve_or_queue(queue, conn, IdleEnd::Newest))
    }

    /// Finishes [`hand_on`](Self::hand_on) once the lock is released: wakes the caller served,
    /// or closes the connection a closed pool took out (and gives its place up).
    fn handed_on(&self, handed: Result<Option<Waker>, Conn>) {
        match handed {
            Ok(served) => served.into_iter().for_each(Waker::wake),
            Err(conn) => {
                self.release_place();
                Counters::bump(&self.manager.counters.closed);
                super::guard::discard(conn, None);
            }
        }
    }

    /// Gives a place up: to the first caller in line, or freed.
    fn release_place(&self) {
        let served = pass_place(&mut self.queue());
        if let Some(waker) = served {
            waker.wake();
        }
    }

    /// Takes a lent connection out of the pool for good (to discard or detach it); its place
    /// goes to the next caller.
    pub(crate) fn remove(&self, lent: Lent) -> Conn {
        self.queue().lent -= 1;
        self.release_place();
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

    /// Closes the pool to checkouts: callers in line and coming get [`GetError::Closed`]
    /// (those already served keep what they were given).
    pub(crate) fn close(&self) {
        let mut wake = Wakers::new();
        {
            let mut queue = self.queue();
            self.closed.store(true, Ordering::Release);
            queue.line.close(&mut wake);
        }
        wake_all(wake);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
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

/// Takes an idle connection from `queue`, counted as lent from here: the one handed back last
/// (LIFO), except for a lone caller (no connection lent out), who gets the one handed back
/// before it when there is one.
///
/// Why the exception: the backend of the connection handed back last has sent its reply, but
/// may still be finishing up (updating its statistics, arming its idle timers) before it
/// waits for the next statement; a statement sent to it now queues behind that work, while
/// the backend of the connection handed back a round trip earlier is waiting already. One
/// statement at a time therefore alternates between two connections (the rest still idle
/// out), and ran ~7 % more point selects per second than pure LIFO in alternating runs
/// (README, "Pool"). With callers side by side it is LIFO: the busy few stay warm.
fn take_idle(queue: &mut Queue) -> Option<Conn> {
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

/// Where a connection queued as idle goes.
enum IdleEnd {
    /// Handed back: taken out next.
    Newest,
    /// Opened by the top-up: taken out after the warm ones.
    Oldest,
}

/// Passes a lent connection, with its place, to the first caller in line (whose waker is
/// returned), or queues it as idle at `end` and frees its place.
fn serve_or_queue(queue: &mut Queue, conn: Conn, end: IdleEnd) -> Option<Waker> {
    match queue.line.serve(Grant::Conn(conn)) {
        Ok(waker) => Some(waker),
        Err(Grant::Conn(conn)) => {
            queue.lent -= 1;
            queue.taken -= 1;
            match end {
                IdleEnd::Newest => queue.idle.push_back(conn),
                IdleEnd::Oldest => queue.idle.push_front(conn),
            }
            None
        }
        Err(Grant::Place) => unreachable!("served back what was given"),
    }
}

/// Gives a place up in `queue`: to the first caller in line (whose waker is returned), or
/// freed.
fn pass_place(queue: &mut Queue) -> Option<Waker> {
    match queue.line.serve(Grant::Place) {
        Ok(waker) => Some(waker),
        Err(_) => {
            queue.taken -= 1;
            None
        }
    }
}

/// Locks the queue. Nothing panics while holding it; a poisoned lock still holds consistent
/// data.
fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    queue.lock().unwrap_or_else(|e| e.into_inner())
}

fn wake_all(wake: Wakers) {
    wake.into_iter().for_each(Waker::wake);
}

/// A place taken by a checkout, given up (to the first caller in line) when dropped unused.
struct Place<'a> {
    slots: &'a Slots,
}

impl Place<'_> {
    /// The place now belongs to the connection lent out (given back with it).
    fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.slots.release_place();
    }
}

/// A caller's place in the line, left (passing on anything it was served) when dropped before
/// its outcome was collected.
struct Turn<'a> {
    slots: &'a Slots,
    ticket: Ticket,
    /// The line's timer and what it wakes, while this caller keeps the time for the line.
    timer: Option<(Pin<Box<Sleep>>, Waker)>,
    done: bool,
    _waiting: Waiting<'a>,
}

/// What the line's timer wakes when it fires: the line itself, which expires the callers
/// overdue and passes the timer on ([`Line::alarm_rang`]) at once, whether or not the
/// keeper's own future is being polled then (it may sit in a `select!` whose task is busy
/// elsewhere). Holds the queue weakly: a timer never keeps a pool alive.
struct Alarm {
    queue: Weak<Mutex<Queue>>,
    keeper: Ticket,
}

impl Wake for Alarm {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(queue) = self.queue.upgrade() {
            let mut wake = Wakers::new();
            lock(&queue)
                .line
                .alarm_rang(self.keeper, Instant::now(), &mut wake);
            wake_all(wake);
        }
    }
}

impl Turn<'_> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Outcome<Grant>> {
        loop {
            let mut wake = Wakers::new();
            let polled = self
                .slots
                .queue()
                .line
                .poll(self.ticket, cx.waker(), &mut wake);
            wake_all(wake);
            let alarm = match polled {
                Ok(outcome) => {
                    self.done = true;
                    return Poll::Ready(outcome);
                }
                Err(Duty::None) => {
                    self.timer = None;
                    return Poll::Pending;
                }
                Err(Duty::KeepTime(alarm)) => alarm,
            };
            let (timer, rings) = self.timer.get_or_insert_with(|| {
                let rings = Waker::from(Arc::new(Alarm {
                    queue: Arc::downgrade(&self.slots.queue),
                    keeper: self.ticket,
                }));
                (Box::pin(tokio::time::sleep_until(alarm)), rings)
            });
            if timer.deadline() != alarm {
                timer.as_mut().reset(alarm);
            }
            // Unconstrained: with the task's cooperative budget spent, tokio would answer
            // `Pending` without setting the timer and wake the alarm at once instead.
            let mut unconstrained = tokio::task::unconstrained(timer.as_mut());
            if Pin::new(&mut unconstrained)
                .poll(&mut Context::from_waker(rings))
                .is_pending()
            {
                return Poll::Pending;
            }
            // Already due: rung here.
            rings.wake_by_ref();
            // Looks again: this caller may be among those expired, or keep the time still.
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut wake = Wakers::new();
        let mut handed = None;
        {
            let mut queue = self.slots.queue();
            match queue.line.leave(self.ticket, &mut wake) {
                Some(Grant::Conn(conn)) => handed = Some(self.slots.hand_on(&mut queue, conn)),
                Some(Grant::Place) => wake.extend(pass_place(&mut queue)),
                None => {}
            }
        }
        wake_all(wake);
        if let Some(handed) = handed {
            self.slots.handed_on(handed);
        }
    }
}

/// The clock of one checkout: started (read) only when it first has to wait.
struct Clock {
    patience: Patience,
    since: Option<Instant>,
}

impl Clock {
    fn new(patience: Patience) -> Self {
        Self {
            patience,
            since: None,
        }
    }

    /// Starts the clock if it has not started; the deadline (`None`: none).
    fn start(&mut self) -> Option<Instant> {
        self.started();
        self.deadline()
    }

    /// The deadline, once the clock started (`None`: none, or not started).
    fn deadline(&self) -> Option<Instant> {
        match self.patience {
            // `None` when so large it overflows `Instant`: no limit.
            Patience::For(limit) => self.since?.checked_add(limit),
            Patience::Until(deadline) => self.since.map(|_| deadline),
            Patience::Forever => None,
        }
    }

    /// Whether the clock started and its deadline has passed (a clock read, when it did).
    fn overdue(&self) -> bool {
        self.deadline().is_some_and(|d| Instant::now() >= d)
    }

    /// When the checkout started waiting (now, if it had not).
    fn started(&mut self) -> Instant {
        *self.since.get_or_insert_with(Instant::now)
    }

    fn timed_out(&mut self) -> GetError {
        GetError::TimedOut {
            since: self.started(),
        }
    }

    /// Runs `work` within the deadline (`None`: it passed first). Work done on its first
    /// poll starts no clock and no timer.
    async fn within<F: Future>(&mut self, work: F) -> Option<F::Output> {
        let mut work = pin!(work);
        if let Poll::Ready(out) =
            std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await
        {
            return Some(out);
        }
        match self.start() {
            None => Some(work.await),
            // Boxed: the timer would otherwise sit in every checkout's future.
            Some(deadline) => Box::pin(tokio::time::timeout_at(deadline, work)).await.ok(),
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

/// A connection taken out to be checked before it is lent: closed (and counted so) when its
/// check fails, or when dropped still held (the checkout was cancelled during the check).
struct Checking<'a> {
    slots: &'a Slots,
    conn: Option<Conn>,
}

impl Checking<'_> {
    /// Closes the connection held, if any.
    fn close(&mut self) {
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

impl Drop for Checking<'_> {
    fn drop(&mut self) {
        self.close();
    }
}
