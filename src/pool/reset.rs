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
//! deallocated one by one instead (a second round trip, only when there are any). `RESET ALL` goes back to the session's defaults, which
//! include the startup packet's settings (`statement_timeout` and the other session keys of
//! the configuration), so those stay.
//!
//! When: a connection handed back outside a transaction is reset by a background task before
//! it becomes available again (so an advisory lock is released at once, not at the next
//! checkout); without a runtime at hand, at its next checkout. A transaction's `COMMIT` is
//! preceded by the reset ([`RESET_SQL`]), inside the transaction, in the round trip that
//! checks the transaction is not aborted: committing costs no extra round trip. That reset
//! leaves out statements `PREPARE`d in SQL (finding them costs the server more than the rest
//! together): inside a transaction body, `PREPARE` persists past the commit; `DEALLOCATE` it
//! yourself, or run it outside a transaction. A statement run through `&Pool` (generated
//! functions given `&pool` included) or a boxed body's `Session` is judged by its text: one
//! that may change the session (`SET`, `set_config`, an advisory lock, a temp table, …; see
//! `pool::session`) marks the connection for the reset; a query or a plain write does not, so
//! a pool used that way is never reset and pays nothing.
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

use sqlx::{Executor, PgConnection, Row};

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

/// The reset run inside a transaction, before its `COMMIT` (it also fails with `25P02` when
/// the transaction is aborted). One simple-protocol batch, about as cheap as `SELECT 1`.
/// Statements `PREPARE`d in SQL are not looked for here: listing them
/// (`pg_prepared_statements`) costs the server more than the rest of the batch together, so
/// that is left to the reset of a connection handed back outside a transaction.
pub const RESET_SQL: &str = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; \
UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES";

/// The reset run on a connection handed back outside a transaction: [`RESET_SQL`], then one
/// row saying whether a transaction the borrower opened with a raw `BEGIN` is still open
/// (sqlx does not count those; inside the batch's own implicit transaction `now()` equals
/// `statement_timestamp()`, inside one begun earlier it does not), and the `DEALLOCATE`
/// statements for what the borrower `PREPARE`d in SQL (names quoted by the server). A
/// transaction left open fails the reset: the connection is discarded, which rolls it back.
pub const RETURN_RESET_SQL: &str = concat!(
    "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; ",
    "UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES; ",
    "SELECT now() = statement_timestamp(), ",
    "(SELECT string_agg('DEALLOCATE ' || quote_ident(name), '; ') ",
    "FROM pg_prepared_statements WHERE from_sql)"
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
    match tokio::time::timeout(limit, reset(raw)).await {
        Ok(result) => result,
        Err(_) => Err(Error::timeout(
            TimeoutKind::ClientDeadline,
            "resetting the session of a pooled connection",
            None,
        )),
    }
}

async fn reset(raw: &mut PgConnection) -> Result<()> {
    let rows = sqlx::raw_sql(RETURN_RESET_SQL).fetch_all(&mut *raw).await?;
    let last = rows.last().ok_or_else(|| {
        Error::from(sqlx::Error::Protocol(
            "the session reset returned no row".into(),
        ))
    })?;
    let outside_transaction: bool = last.try_get(0)?;
    if !outside_transaction {
        return Err(Error::from(sqlx::Error::Protocol(
            "a transaction was left open on a returned connection".into(),
        )));
    }
    if let Some(deallocate) = last.try_get::<Option<String>, _>(1)? {
        // Built by the server from `quote_ident`ed names.
        raw.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(deallocate)))
            .await?;
    }
    Ok(())
}
