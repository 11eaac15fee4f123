//! Session state does not leak between borrowers.
//!
//! A borrower that had the raw connection (through `DerefMut` on a [`PooledConnection`], a
//! [`Pool::transaction`] or [`Pool::idempotent`] body, a per-call timeout's closure) may have
//! changed the session: `SET` / `set_config` (a tenant id for row-level security,
//! `search_path`), `SET ROLE`, session advisory locks, temp tables, `LISTEN`, `PREPARE`,
//! `WITH HOLD` cursors, sequence state. Before such a connection is handed to someone else,
//! pgtide runs [`RETURN_RESET_SQL`] on it: one round trip, the statements of `DISCARD ALL` except
//! `DEALLOCATE ALL` (which would also drop sqlx's own cached prepared statements, and with them
//! the pool's throughput) and `DISCARD PLANS`; statements the borrower `PREPARE`d in SQL are
//! deallocated one by one instead. `RESET ALL` goes back to the session's defaults, which
//! include the startup packet's settings (`statement_timeout` and the other session keys of
//! the configuration), so those stay.
//!
//! When: a connection handed back outside a transaction is reset by a background task before
//! it becomes available again (so an advisory lock is released at once, not at the next
//! checkout); without a runtime at hand, at its next checkout. A transaction's `COMMIT` is
//! preceded by the same reset, inside the transaction, in the round trip that checks the
//! transaction is not aborted: committing costs no extra round trip. Connections only used
//! through `&Pool` and pgtide's own helpers are never reset: nothing could have changed them.
//! A reset that fails discards the connection.
//!
//! [`SessionReset`] changes the policy per pool ([`Pool::set_session_reset`]).
//!
//! [`PooledConnection`]: crate::PooledConnection
//! [`Pool::transaction`]: crate::Pool::transaction
//! [`Pool::idempotent`]: crate::Pool::idempotent
//! [`Pool::set_session_reset`]: crate::Pool::set_session_reset

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use sqlx::{Executor, PgConnection};

use crate::error::{Error, Result, TimeoutKind};

/// When a pooled connection's session state is reset before reuse (see
/// [`pool::reset`](crate::pool::reset)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SessionReset {
    /// After a borrower had the raw connection (the default).
    #[default]
    AfterRawUse,
    /// Never: session state set by one borrower is seen by the next. Only for applications
    /// that rely on it (and know which connection they get).
    Never,
}

/// The statements of the reset, as one simple-protocol batch.
macro_rules! reset_batch {
    ($check:literal) => {
        concat!(
            "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; ",
            "SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES; ",
            "DO $pgtide$ DECLARE s text; BEGIN ",
            $check,
            "FOR s IN SELECT name FROM pg_prepared_statements WHERE from_sql LOOP ",
            "EXECUTE 'DEALLOCATE ' || quote_ident(s); END LOOP; END $pgtide$"
        )
    };
}

/// The reset run inside a transaction, before its `COMMIT` (it also fails with `25P02` when
/// the transaction is aborted).
pub const RESET_SQL: &str = reset_batch!("");

/// The reset run on a connection handed back outside a transaction. It also refuses a
/// transaction the borrower opened with a raw `BEGIN` and left open (sqlx does not count
/// those): inside the batch's own implicit transaction `now()` equals
/// `statement_timestamp()`; inside one begun earlier it does not. The connection is then
/// discarded (which rolls that transaction back) instead of handed out inside it.
pub const RETURN_RESET_SQL: &str = reset_batch!(
    "IF now() <> statement_timestamp() THEN \
     RAISE EXCEPTION 'pgtide: a transaction was left open on a returned connection'; END IF; "
);

/// The pool's current [`SessionReset`], changeable while it runs.
#[derive(Debug, Default)]
pub(crate) struct Policy(AtomicU8);

impl Policy {
    pub(crate) fn get(&self) -> SessionReset {
        match self.0.load(Ordering::Relaxed) {
            1 => SessionReset::Never,
            _ => SessionReset::AfterRawUse,
        }
    }

    pub(crate) fn set(&self, policy: SessionReset) {
        let v = match policy {
            SessionReset::AfterRawUse => 0,
            SessionReset::Never => 1,
        };
        self.0.store(v, Ordering::Relaxed);
    }
}

/// Runs the reset of a returned connection on `raw` within `limit`.
pub(crate) async fn run(raw: &mut PgConnection, limit: Duration) -> Result<()> {
    match tokio::time::timeout(limit, raw.execute(sqlx::raw_sql(RETURN_RESET_SQL))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(Error::from(err)),
        Err(_) => Err(Error::timeout(
            TimeoutKind::ClientDeadline,
            "resetting the session of a pooled connection",
            None,
        )),
    }
}
