//! The line of callers waiting for a place in the pool: first come, first served, each until
//! its own deadline, with one timer for the whole line.
//!
//! A timer per waiting caller costs a timer-wheel insert and removal on every wait, which a
//! busy pool pays on about every other checkout. Instead, one waiter at a time, the
//! *keeper*, holds a timer set no later than the earliest deadline in line; when it fires,
//! the keeper expires every waiter whose deadline has passed. The first to join an empty
//! line keeps the time; when the keeper leaves, the newest waiter left (the last to be
//! served) is woken to take the timer over. The duty changes hands when its keeper leaves or
//! its timer rings, not on each wait (`tests::the_newest_waiter_keeps_the_time_for_the_earliest_deadline`).
//!
//! The timer lives in the keeper's own future, on the keeper's runtime; no background task is
//! needed. When it fires it rings the line itself ([`Line::alarm_rang`]), not just the
//! keeper's task, and the duty passes to another waiter: a keeper whose future is not being
//! polled (held in a `select!` whose task is busy elsewhere) holds up no one's deadline past
//! its timer. A waiter given the duty sets its timer when its future is next polled; until
//! then the next caller to join takes the duty over. What this does not cover: a waiter given
//! the duty whose future is not polled, while no connection comes back and no caller joins.
//! The others' deadlines then wait for that future to be polled or dropped, for a connection
//! to come back, or for a caller to join (a timer per waiter would not wait; it costs every
//! wait a timer). Likewise a runtime that stops driving its timers (a current-thread runtime
//! blocked in synchronous code) delays the deadlines its keeper keeps.
//!
//! Plain data, behind the pool's queue lock: the line never wakes anyone itself. Each
//! operation adds the wakers to wake to a list, woken once the lock is released.

use std::collections::VecDeque;
use std::task::Waker;

use tokio::time::Instant;

/// The waiting callers; `T` is what serving one hands over.
pub(crate) struct Line<T> {
    waiters: VecDeque<Waiter<T>>,
    next_ticket: u64,
    /// The waiter holding the line's timer, set to [`alarm`](Self::alarm).
    keeper: Option<Ticket>,
    /// Whether the keeper has been polled since it got the duty (and so set its timer). One
    /// appointed while its future is not being polled has not: the next to join takes the
    /// duty over.
    keeper_armed: bool,
    /// When the keeper's timer fires: no later than the earliest deadline of a waiter still
    /// waiting (earlier is harmless: it fires, expires nothing, and is set again).
    alarm: Option<Instant>,
    /// Whether the deadlines in line rise from front to back (they do unless a retry joined
    /// with an earlier one): then the earliest is found, and the overdue expired, from the
    /// front without looking at the whole line.
    in_order: bool,
    /// The latest deadline that joined since the line was last empty.
    latest: Option<Instant>,
}

/// A waiter's place in the [`Line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

struct Waiter<T> {
    ticket: Ticket,
    deadline: Option<Instant>,
    state: State<T>,
}

enum State<T> {
    Waiting(Waker),
    Served(T),
    Expired,
    Closed,
}

/// How a wait ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome<T> {
    Served(T),
    /// Its deadline passed first.
    Expired,
    /// The line was closed first.
    Closed,
}

/// What a waiter still waiting must do before it sleeps.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Duty {
    /// Nothing: someone else keeps the time.
    None,
    /// Keep the line's timer, set to this instant; when it fires, call [`Line::alarm_rang`].
    KeepTime(Instant),
}

/// Wakers to wake once the lock over the line is released.
pub(crate) type Wakers = Vec<Waker>;

impl<T> Waiter<T> {
    /// Still waiting: neither served, expired nor closed.
    fn is_waiting(&self) -> bool {
        matches!(self.state, State::Waiting(_))
    }

    /// Ends the wait with `outcome` if it is still waiting, returning the waker to wake.
    fn end_wait(&mut self, outcome: State<T>) -> Option<Waker> {
        if !self.is_waiting() {
            return None;
        }
        match std::mem::replace(&mut self.state, outcome) {
            State::Waiting(waker) => Some(waker),
            _ => None,
        }
    }
}

impl<T> Default for Line<T> {
    fn default() -> Self {
        Self {
            waiters: VecDeque::new(),
            next_ticket: 0,
            keeper: None,
            keeper_armed: false,
            alarm: None,
            in_order: true,
            latest: None,
        }
    }
}

impl<T> Line<T> {
    /// Joins the end of the line, to be woken through `waker`. It keeps the time when no one
    /// does or when its deadline is the earliest.
    pub(crate) fn join(&mut self, deadline: Option<Instant>, waker: Waker) -> Ticket {
        let ticket = Ticket(self.next_ticket);
        self.next_ticket += 1;
        self.waiters.push_back(Waiter {
            ticket,
            deadline,
            state: State::Waiting(waker),
        });
        let Some(deadline) = deadline else {
            return ticket;
        };
        self.in_order &= self.latest.is_none_or(|latest| deadline >= latest);
        self.latest = self.latest.max(Some(deadline));
        if self.alarm.is_none_or(|alarm| deadline < alarm) || !self.keeper_armed {
            // The old keeper (if any) finds out on its next poll and drops its timer. This
            // one is being polled: it sets its timer now.
            self.keeper = Some(ticket);
            self.keeper_armed = true;
            self.alarm = Some(self.alarm.map_or(deadline, |alarm| alarm.min(deadline)));
        }
        ticket
    }

    /// The outcome of `ticket`'s wait, once it has one (it then leaves the line), or what it
    /// must do while it goes on waiting, to be woken through `waker`.
    pub(crate) fn poll(
        &mut self,
        ticket: Ticket,
        waker: &Waker,
        wake: &mut Wakers,
    ) -> Result<Outcome<T>, Duty> {
        let Some(at) = self.position(ticket) else {
            // Not in line: only after its outcome was collected, which ends the wait.
            debug_assert!(false, "polled a ticket no longer in line");
            return Ok(Outcome::Closed);
        };
        if let State::Waiting(registered) = &mut self.waiters[at].state {
            if !registered.will_wake(waker) {
                registered.clone_from(waker);
            }
            return Err(match (self.keeper == Some(ticket), self.alarm) {
                (true, Some(alarm)) => {
                    self.keeper_armed = true;
                    Duty::KeepTime(alarm)
                }
                _ => Duty::None,
            });
        }
        let waiter = self.remove(at, wake);
        Ok(match waiter.state {
            State::Served(grant) => Outcome::Served(grant),
            State::Expired => Outcome::Expired,
            State::Closed | State::Waiting(_) => Outcome::Closed,
        })
    }

    /// Serves the first waiter still waiting with `grant`, returning the waker to wake, or
    /// gives `grant` back when no one is waiting.
    pub(crate) fn serve(&mut self, grant: T) -> Result<Waker, T> {
        let Some(waiter) = self.waiters.iter_mut().find(|w| w.is_waiting()) else {
            return Err(grant);
        };
        Ok(waiter
            .end_wait(State::Served(grant))
            .expect("found waiting"))
    }

    /// Takes `ticket` out of the line (its wait was given up), returning what it was served
    /// and not collected, to be passed on.
    pub(crate) fn leave(&mut self, ticket: Ticket, wake: &mut Wakers) -> Option<T> {
        let at = self.position(ticket)?;
        match self.remove(at, wake).state {
            State::Served(grant) => Some(grant),
            _ => None,
        }
    }

    /// The timer that `ticket` kept rang at `now`: every waiter whose deadline has passed is
    /// expired (and woken), and the duty passes to the newest waiter left with a deadline
    /// other than `ticket` (woken to set its timer), or back to `ticket` when there is none.
    /// Passing it on means a keeper whose own future is not being polled holds up no one's
    /// deadline past the next alarm. A timer that rang after its keeper lost the duty only
    /// expires the overdue.
    pub(crate) fn alarm_rang(&mut self, ticket: Ticket, now: Instant, wake: &mut Wakers) {
        for waiter in &mut self.waiters {
            if waiter.deadline.is_some_and(|d| d <= now) {
                wake.extend(waiter.end_wait(State::Expired));
            } else if self.in_order && waiter.deadline.is_some() {
                // The rest are due later still.
                break;
            }
        }
        self.alarm = self.earliest_deadline();
        if self.keeper == Some(ticket) {
            self.appoint_keeper(Some(ticket), wake);
        }
    }

    /// Ends every wait still waiting with [`Outcome::Closed`]; those already served keep what
    /// they were given.
    pub(crate) fn close(&mut self, wake: &mut Wakers) {
        for waiter in &mut self.waiters {
            wake.extend(waiter.end_wait(State::Closed));
        }
        self.keeper = None;
        self.alarm = None;
    }

    fn position(&self, ticket: Ticket) -> Option<usize> {
        // Outcomes are mostly collected at the front (first come, first served).
        self.waiters.iter().position(|w| w.ticket == ticket)
    }

    /// Removes the waiter at `at`; when it kept the time, another takes the timer over.
    fn remove(&mut self, at: usize, wake: &mut Wakers) -> Waiter<T> {
        let waiter = self.waiters.remove(at).expect("position found");
        if self.waiters.is_empty() {
            self.in_order = true;
            self.latest = None;
        }
        if self.keeper == Some(waiter.ticket) {
            self.alarm = self.earliest_deadline();
            self.appoint_keeper(None, wake);
        }
        waiter
    }

    /// Gives the timer to the newest waiter still waiting with a deadline (the last to be
    /// served), other than `not` if there is another, and wakes it to set the timer to the
    /// alarm; or to no one when no one waits with a deadline.
    fn appoint_keeper(&mut self, not: Option<Ticket>, wake: &mut Wakers) {
        let keeps_time = |w: &&Waiter<T>| w.deadline.is_some() && w.is_waiting();
        let newest = self.waiters.iter().rev().filter(keeps_time);
        let mut candidates = newest
            .clone()
            .filter(|w| Some(w.ticket) != not)
            .chain(newest);
        self.keeper = None;
        self.keeper_armed = false;
        if self.alarm.is_some()
            && let Some(next) = candidates.next()
            && let State::Waiting(waker) = &next.state
        {
            self.keeper = Some(next.ticket);
            wake.push(waker.clone());
        }
    }

    /// The earliest deadline of a waiter still waiting.
    fn earliest_deadline(&self) -> Option<Instant> {
        let mut waiting = self
            .waiters
            .iter()
            .filter(|w| w.is_waiting())
            .filter_map(|w| w.deadline);
        if self.in_order {
            waiting.next()
        } else {
            waiting.min()
        }
    }
}

#[cfg(test)]
mod tests {
    //! The line's bookkeeping alone (no pool, no database): who is served, who expires, who
    //! keeps the time. The pool's behaviour over a real server is in `tests/pool.rs`.
    use std::time::Duration;

    use super::*;

    fn line() -> (Line<&'static str>, Instant) {
        (Line::default(), Instant::now())
    }

    fn waker() -> Waker {
        Waker::noop().clone()
    }

    fn poll(line: &mut Line<&'static str>, ticket: Ticket) -> Result<Outcome<&'static str>, Duty> {
        line.poll(ticket, &waker(), &mut Wakers::new())
    }

    #[test]
    fn first_come_first_served_and_nothing_served_to_an_empty_line() {
        let (mut line, now) = line();
        assert_eq!(line.serve("early").err(), Some("early"));
        let a = line.join(Some(now), waker());
        let b = line.join(Some(now), waker());
        line.serve("one").expect("a waits");
        assert_eq!(poll(&mut line, a), Ok(Outcome::Served("one")));
        assert!(poll(&mut line, b).is_err(), "b still waits");
        line.serve("two").expect("b waits");
        assert_eq!(poll(&mut line, b), Ok(Outcome::Served("two")));
        assert_eq!(line.serve("three").err(), Some("three"));
    }

    #[test]
    fn a_waiter_that_leaves_after_being_served_hands_back_what_it_got() {
        let (mut line, _) = line();
        let a = line.join(None, waker());
        let b = line.join(None, waker());
        line.serve("conn").expect("a waits");
        assert_eq!(line.leave(a, &mut Wakers::new()), Some("conn"));
        // Leaving unserved gives nothing back, and the next is served next.
        assert_eq!(line.leave(b, &mut Wakers::new()), None);
        assert_eq!(line.serve("x").err(), Some("x"));
    }

    #[test]
    fn the_newest_waiter_keeps_the_time_for_the_earliest_deadline() {
        let (mut line, now) = line();
        let first = now + Duration::from_secs(1);
        let a = line.join(Some(first), waker());
        assert_eq!(poll(&mut line, a), Err(Duty::KeepTime(first)));
        // A later deadline does not take the duty: the first keeper keeps it.
        let b = line.join(Some(first + Duration::from_secs(1)), waker());
        assert_eq!(poll(&mut line, b), Err(Duty::None));
        assert_eq!(poll(&mut line, a), Err(Duty::KeepTime(first)));
        // When the keeper is served and leaves, the newest one left takes it over, woken,
        // with the earliest deadline left.
        line.serve("conn").expect("a waits");
        let mut wake = Wakers::new();
        assert_eq!(
            line.poll(a, &waker(), &mut wake),
            Ok(Outcome::Served("conn"))
        );
        assert_eq!(wake.len(), 1, "the successor is woken to set its timer");
        assert_eq!(
            poll(&mut line, b),
            Err(Duty::KeepTime(first + Duration::from_secs(1)))
        );
    }

    #[test]
    fn an_earlier_deadline_takes_the_duty_and_the_alarm_ends_only_the_overdue() {
        let (mut line, now) = line();
        let late = now + Duration::from_secs(10);
        let soon = now + Duration::from_millis(10);
        let a = line.join(Some(late), waker());
        // Out of order (a retry's deadline): found all the same.
        let b = line.join(Some(soon), waker());
        let c = line.join(None, waker());
        assert_eq!(poll(&mut line, a), Err(Duty::None));
        assert_eq!(poll(&mut line, b), Err(Duty::KeepTime(soon)));
        let mut wake = Wakers::new();
        line.alarm_rang(b, soon, &mut wake);
        assert_eq!(wake.len(), 2, "b expired, a woken to keep the time");
        assert_eq!(poll(&mut line, b), Ok(Outcome::Expired));
        assert_eq!(poll(&mut line, a), Err(Duty::KeepTime(late)));
        assert_eq!(poll(&mut line, c), Err(Duty::None));
        // The one without a deadline never expires.
        line.alarm_rang(a, late + Duration::from_secs(3600), &mut Wakers::new());
        assert_eq!(poll(&mut line, a), Ok(Outcome::Expired));
        assert!(poll(&mut line, c).is_err());
    }

    #[test]
    fn when_the_timer_rings_another_waiter_takes_it_over() {
        // A keeper whose future is not polled (busy elsewhere) holds up no one past its alarm.
        let (mut line, now) = line();
        let deadlines = [1, 2, 3].map(|s| now + Duration::from_secs(s));
        let [a, b, c] = deadlines.map(|d| line.join(Some(d), waker()));
        assert_eq!(poll(&mut line, a), Err(Duty::KeepTime(deadlines[0])));
        // Rings early (harmless): nobody is due, the newest other waiter keeps the time now.
        let mut wake = Wakers::new();
        line.alarm_rang(a, now, &mut wake);
        assert_eq!(wake.len(), 1, "c is woken to set its timer");
        assert_eq!(poll(&mut line, c), Err(Duty::KeepTime(deadlines[0])));
        assert_eq!(poll(&mut line, a), Err(Duty::None));
        // a's old timer rings late: it only expires the overdue, c keeps the time.
        let mut wake = Wakers::new();
        line.alarm_rang(a, deadlines[1], &mut wake);
        assert_eq!(wake.len(), 2, "a and b expired");
        assert_eq!(poll(&mut line, c), Err(Duty::KeepTime(deadlines[2])));
        assert_eq!(poll(&mut line, a), Ok(Outcome::Expired));
        assert_eq!(poll(&mut line, b), Ok(Outcome::Expired));
        // The last one left keeps its own time.
        line.alarm_rang(c, deadlines[1], &mut Wakers::new());
        assert_eq!(poll(&mut line, c), Err(Duty::KeepTime(deadlines[2])));
    }

    #[test]
    fn a_keeper_appointed_but_not_polled_is_replaced_by_the_next_to_join() {
        let (mut line, now) = line();
        let [a, b] = [1, 2].map(|s| line.join(Some(now + Duration::from_secs(s)), waker()));
        assert_eq!(
            poll(&mut line, a),
            Err(Duty::KeepTime(now + Duration::from_secs(1)))
        );
        // a leaves; b is appointed and woken, but its future is not polled.
        line.serve("conn").expect("a waits");
        assert_eq!(poll(&mut line, a), Ok(Outcome::Served("conn")));
        // The next to join (being polled now) takes the duty over, at the earliest deadline.
        let c = line.join(Some(now + Duration::from_secs(3)), waker());
        assert_eq!(
            poll(&mut line, c),
            Err(Duty::KeepTime(now + Duration::from_secs(2)))
        );
        assert_eq!(poll(&mut line, b), Err(Duty::None));
        // Once the keeper was polled, a later deadline leaves the duty where it is.
        let d = line.join(Some(now + Duration::from_secs(4)), waker());
        assert_eq!(poll(&mut line, d), Err(Duty::None));
    }

    #[test]
    fn closing_ends_the_waiting_and_keeps_what_was_served() {
        let (mut line, now) = line();
        let a = line.join(Some(now), waker());
        let b = line.join(Some(now), waker());
        line.serve("conn").expect("a waits");
        let mut wake = Wakers::new();
        line.close(&mut wake);
        assert_eq!(wake.len(), 1, "b is woken");
        assert_eq!(poll(&mut line, b), Ok(Outcome::Closed));
        assert_eq!(poll(&mut line, a), Ok(Outcome::Served("conn")));
    }
}
