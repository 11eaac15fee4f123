//! The one owner of a pooled connection's state: whether work on it is in progress, whether a
//! borrower could have changed its session, whether it can be handed out again.
//!
//! Everything pgtide runs on a pooled connection goes through [`Conn::track`] (or, for a
//! transaction body that holds the connection itself, [`Conn::enter`] / [`Conn::leave`], which
//! `track` is made of). Entering bumps a counter; only leaving, which needs the [`Busy`] token
//! entering returned, brings it down again, and leaving observes the error. The raw
//! connection is handed to pool code only for a [`Busy`] token (`raw_for_statement`,
//! `raw_for_reads`, `raw_for_work`), so code that forgot to enter does not compile; the one
//! exception is the raw connection of a caller holding the pooled connection (`DerefMut`,
//! `raw_for_holder`), whose own statements pgtide does not run. So:
//!
//! - nesting is correct by construction (a per-call timeout inside a transaction body counts
//!   2, then 1, then 0);
//! - a future dropped midway (an outer timeout, `select!`) never leaves: the counter stays
//!   above zero, and when the connection is handed back it is discarded, and its backend
//!   terminated on the server (see [`discard`]) so the abandoned statement stops holding locks;
//! - an error is always seen: a lost connection is never reused, a protocol error or a
//!   client-side timeout gets a health check, and `0A000` ("cached plan must not change result
//!   type", after a schema change) clears the connection's statement cache.

use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, SqlStr};

use super::session::Verdicts;

use crate::error::{Error, ErrorKind, Result, TimeoutKind};

/// A pooled sqlx connection and what the pool knows about it.
#[derive(Debug)]
pub(crate) struct Conn {
    raw: PgConnection,
    /// The server process id (asked once, when the connection was opened).
    pub(crate) pid: i32,
    /// Check with a ping before handing it out again (it saw a connection-level error).
    pub(crate) suspect: bool,
    /// Do not hand it out again.
    pub(crate) broken: bool,
    /// Operations entered and not yet left. Above zero when handed back means one was
    /// abandoned midway: discarded.
    busy: u32,
    /// A borrower had the raw connection (`DerefMut`, a transaction or idempotent body, a
    /// per-call timeout's closure) and could have changed session state: reset before reuse.
    pub(crate) touched: bool,
    /// Which statements it ran may change the session (see [`Conn::raw_for_statement`]).
    verdicts: Verdicts,
    /// When it was last handed back to the pool.
    pub(crate) idle_since: Instant,
    /// When it was opened (for `pool.max_lifetime`).
    pub(crate) created: Instant,
    /// Keeps `pid` in the pool's set of open backends while this connection exists (for
    /// terminating stragglers when the pool closes).
    _live: super::close::LivePid,
}

/// Proof that an operation on a [`Conn`] was entered; give it back to [`Conn::leave`] when
/// the operation completed. Dropping it without leaving (a dropped future) keeps the connection
/// marked busy, which is the point.
#[must_use = "hand the token back to `Conn::leave` when the work completed"]
pub(crate) struct Busy(());

impl Conn {
    pub(crate) fn new(raw: PgConnection, pid: i32, live: super::close::LivePid) -> Self {
        let now = Instant::now();
        Self {
            _live: live,
            raw,
            pid,
            suspect: false,
            broken: false,
            busy: 0,
            touched: false,
            verdicts: Verdicts::default(),
            idle_since: now,
            created: now,
        }
    }

    /// Marks an operation as started.
    pub(crate) fn enter(&mut self) -> Busy {
        self.busy += 1;
        Busy(())
    }

    /// The operation entered with `busy` completed; `error` is what it failed with.
    pub(crate) async fn leave(&mut self, busy: Busy, error: Option<&Error>) {
        if let Some(err) = error {
            // Boxed: rare, and its future (clearing the statement cache) would otherwise
            // make every `leave` future as large.
            Box::pin(self.observe(err)).await;
        }
        let Busy(()) = busy;
        self.busy -= 1;
    }

    /// Runs `work` on the raw connection as one tracked operation ([`enter`](Self::enter),
    /// then [`leave`](Self::leave) once it completes): how pool code runs anything on a
    /// pooled connection. The `&Pool` `fetch_optional` hot path makes the same two calls
    /// itself, to avoid a closure future (`pool::executor::fetch_optional_on`).
    pub(crate) async fn track<T>(
        &mut self,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
    ) -> Result<T> {
        let busy = self.enter();
        let result = work(&mut self.raw).await;
        self.leave(busy, result.as_ref().err()).await;
        result
    }

    /// Whether an operation entered on it has not completed.
    pub(crate) fn is_busy(&self) -> bool {
        self.busy > 0
    }

    /// The raw connection handed to the code that holds the pooled connection (`DerefMut`):
    /// marks the session as possibly changed. Not an operation of pgtide's, so it needs no
    /// [`Busy`] token: what that code runs is its own, and the session is reset after it.
    pub(crate) fn raw_for_holder(&mut self) -> &mut PgConnection {
        self.touched = true;
        &mut self.raw
    }

    /// The raw connection to run `sql` on for the code that holds the pooled connection (a
    /// [`Transaction`](crate::Transaction) used as an executor): like
    /// [`raw_for_holder`](Self::raw_for_holder), not an operation of pgtide's, but the
    /// statement's text is known, so the session is marked only when it may change it.
    pub(crate) fn raw_for_holder_statement(&mut self, sql: &SqlStr) -> &mut PgConnection {
        self.note_statement(sql);
        &mut self.raw
    }

    /// The raw connection for entered work that may change anything (a body's
    /// `Session::raw`, bulk transfer): marks the session as possibly changed.
    pub(crate) fn raw_for_work(&mut self, _entered: &Busy) -> &mut PgConnection {
        self.touched = true;
        &mut self.raw
    }

    /// The raw connection to run `sql` on, within an entered operation: marks the session as
    /// possibly changed when the statement may change it
    /// ([`may_change_session`](super::session::may_change_session), remembered per text).
    /// How pgtide runs a statement it was given.
    pub(crate) fn raw_for_statement(&mut self, _entered: &Busy, sql: &SqlStr) -> &mut PgConnection {
        self.note_statement(sql);
        &mut self.raw
    }

    /// Marks the session as possibly changed when `sql` may change it, for a statement run
    /// through [`track`](Self::track).
    pub(crate) fn note_statement(&mut self, sql: &SqlStr) {
        if self.verdicts.may_change(sql) {
            self.touched = true;
        }
    }

    /// The raw connection, within an entered operation, for what cannot change the session:
    /// parsing and describing a statement, pgtide's own statements.
    pub(crate) fn raw_for_reads(&mut self, _entered: &Busy) -> &mut PgConnection {
        &mut self.raw
    }

    /// Queues a `ROLLBACK` without sending it (no runtime to send it on: a `Transaction`
    /// dropped outside one); the next checkout's health check sends it and reads the reply.
    pub(crate) fn queue_rollback(&mut self) {
        use sqlx_core::transaction::TransactionManager;
        sqlx::postgres::PgTransactionManager::start_rollback(&mut self.raw);
        self.suspect = true;
    }

    /// The raw connection, read-only (nothing can run through it).
    pub(crate) fn raw_ref(&self) -> &PgConnection {
        &self.raw
    }

    /// Takes the raw connection out (detach, close).
    pub(crate) fn into_raw(self) -> PgConnection {
        self.raw
    }

    /// Remembers what an error says about the connection itself: a lost connection is
    /// never handed out again; a protocol error, or a timeout the server did not report
    /// (the client gave up waiting), gets a health check on the next checkout; a plan
    /// invalidated by a schema change clears the statement cache.
    async fn observe(&mut self, err: &Error) {
        if err.is_connection_lost() {
            self.broken = true;
        } else if matches!(err.as_sqlx(), Some(sqlx::Error::Protocol(_)))
            || (err.kind() == ErrorKind::Timeout && err.sqlstate().is_none())
        {
            self.suspect = true;
        } else if is_stale_plan(err) && self.raw.clear_cached_statements().await.is_err() {
            self.broken = true;
        }
    }
}

/// `0A000` "cached plan must not change result type": a cached statement whose table changed
/// shape. The statement did not run; after clearing the statement cache it can.
pub(crate) fn is_stale_plan(err: &Error) -> bool {
    err.sqlstate() == Some("0A000")
}

/// Closes a connection that is not handed out again. When an operation on it was abandoned
/// midway, its backend may still be running the statement (holding locks until
/// `statement_timeout`): it is terminated from a short-lived second session first.
///
/// sqlx 0.9 keeps the backend's cancel key private, so PostgreSQL's cancel protocol is not
/// available; `pg_terminate_backend` from a second session (same user) does the job, and also
/// ends the transaction the statement was in. Without a tokio runtime at hand the socket is
/// just dropped.
///
/// `terminate_via` is how to reach the server (the pool's connect options and connect
/// timeout) when the backend must be stopped (an operation was abandoned, or the session is
/// out of step); `None` just closes it.
pub(crate) fn discard(conn: Conn, terminate_via: Option<(&PgConnectOptions, Duration)>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    // Pid 0: behind PgBouncer, where no pid is known; closing the socket is all there is.
    let terminate = terminate_via
        .filter(|_| conn.pid != 0)
        .map(|(options, limit)| (options.clone(), limit));
    runtime.spawn(async move {
        if let Some((options, limit)) = terminate {
            if let Err(err) = terminate_backend(&options, limit, conn.pid).await {
                tracing::warn!(target: "pgtide::pool", pid = conn.pid, error = %err, "could not stop the statement of a discarded connection");
            }
            drop(conn);
        } else {
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.raw.close()).await;
        }
    });
}

/// `pg_terminate_backend(pid)` from a second, short-lived connection.
async fn terminate_backend(options: &PgConnectOptions, limit: Duration, pid: i32) -> Result<()> {
    let mut other = super::connect::connect(options, limit).await?;
    let result = tokio::time::timeout(
        limit,
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(&mut other),
    )
    .await;
    let _ = tokio::time::timeout(limit, other.close()).await;
    match result {
        Ok(done) => done.map(|_| ()).map_err(Error::from),
        Err(_) => Err(Error::timeout(
            TimeoutKind::ClientDeadline,
            "terminating an abandoned statement",
            None,
        )),
    }
}
