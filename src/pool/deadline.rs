//! Per-call deadlines: the machinery behind [`Pool::with_timeout`],
//! [`PooledConnection::with_timeout`] and [`Transaction::with_timeout`](crate::Transaction::with_timeout)
//! (described in [`crate::query`]).

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgConnection;
use sqlx::postgres::PgTransactionManager;
use sqlx_core::transaction::TransactionManager;
use tokio::time::Instant;

use super::body::{Raw, SessionBodyOnce};
use super::session::Session;
use super::{Pool, PooledConnection, Shared};
use crate::config::startup::millis;
use crate::error::{Error, Result, TimeoutKind};

impl Pool {
    /// Checks out a connection and runs `f` on it under its own statement timeout (see the
    /// [module docs](crate::query#per-call-timeouts)). Not retried.
    pub async fn with_timeout<T>(
        &self,
        timeout: Duration,
        f: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.acquire().await?;
        run_timed(&mut conn, timeout, Raw(f)).await
    }
}

/// How long the server's own `statement_timeout` may exceed the client deadline: the
/// server-side backstop only matters when the client's cancel does not arrive.
/// Clamped to PostgreSQL's largest `statement_timeout` (`INT_MAX` milliseconds).
fn server_backstop(timeout: Duration) -> Duration {
    const MAX: Duration = Duration::from_millis(i32::MAX as u64);
    timeout
        .saturating_mul(2)
        .saturating_add(Duration::from_secs(1))
        .min(MAX)
}

/// Runs `body` on `conn` under a client-side deadline that cancels the server-side
/// statement. The body gets the guarded connection as a [`Session`]: a raw body
/// ([`Raw`](super::body::Raw)) takes the raw connection from it (marked for a reset), a boxed
/// one runs its statements through it (marked only for statements that may change the
/// session).
///
/// The whole call is one guarded operation: until `statement_timeout` is restored and the
/// statement's reply read, the session is not fit for reuse, so a future dropped midway (an
/// outer timeout, `select!`) leaves the connection busy and the pool discards it.
pub(crate) async fn run_timed<T>(
    conn: &mut PooledConnection,
    timeout: Duration,
    body: impl SessionBodyOnce<T>,
) -> Result<T> {
    let shared = Arc::clone(&conn.shared);
    let busy = conn.conn().enter();
    // One deadline for the whole call, the backstop's `SET` included (on a network that
    // hangs, the `SET` is what never answers).
    // A timeout too large for `Instant` (effectively none): about 30 years.
    let now = tokio::time::Instant::now();
    let deadline = now
        .checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 24 * 3600));
    let result = async {
        let started = match tokio::time::timeout_at(deadline, begin_timed(conn, timeout)).await {
            Ok(started) => started?,
            // The `SET` was abandoned midway: the connection stays busy and is discarded.
            Err(_) => return Err(past_deadline(timeout, "setting the statement's backstop")),
        };
        let outcome = tokio::time::timeout_at(
            started.client_deadline(deadline),
            body.call_once(&mut Session::new(conn.conn(), &busy)),
        )
        .await;
        end_timed(&shared, conn, timeout, started, outcome.ok()).await
    }
    .await;
    conn.conn().leave(busy, result.as_ref().err()).await;
    result
}

/// How a timed call was started.
pub(super) enum Started {
    /// On a direct connection: the backend pid, for cancelling; `set` when the backstop was
    /// set (and must be restored).
    Direct { pid: i32, set: bool },
    /// Behind PgBouncer (see [`crate::pgbouncer`]): the server enforces the deadline with
    /// `SET LOCAL statement_timeout`; `opened` when the call has a transaction of its own.
    Bouncer { opened: bool },
}

/// Behind PgBouncer, how long after the deadline the client still waits for the server's
/// own cancel before it gives the connection up.
const BOUNCER_GRACE: Duration = Duration::from_secs(1);

impl Started {
    /// Until when the client waits for the call whose deadline is `deadline`.
    pub(super) fn client_deadline(&self, deadline: Instant) -> Instant {
        match self {
            Self::Direct { .. } => deadline,
            Self::Bouncer { .. } => deadline.checked_add(BOUNCER_GRACE).unwrap_or(deadline),
        }
    }
}

/// Sets the server-side backstop (behind PgBouncer: the deadline itself, per transaction).
///
/// Inside a transaction the backstop is `SET LOCAL`: it ends with the transaction whatever
/// happens in between. A plain `SET` made before a savepoint survives `ROLLBACK TO SAVEPOINT`
/// of a body whose `RESET` failed (the transaction was aborted at that moment), and the
/// commit would then leave it on the pooled session.
async fn begin_timed(conn: &mut PooledConnection, timeout: Duration) -> Result<Started> {
    if let Some(bouncer) = &conn.shared.slots.manager().pgbouncer {
        use sqlx_core::transaction::TransactionManager;
        let opened =
            sqlx::postgres::PgTransactionManager::get_transaction_depth(conn.conn_ref().raw_ref())
                == 0;
        let sql = if opened {
            format!(
                "BEGIN{}",
                crate::pgbouncer::after_begin(&bouncer.session, Some(timeout))
            )
        } else {
            crate::pgbouncer::set_local_statement_timeout(&bouncer.session, Some(timeout))
        };
        conn.conn()
            .track(async |raw| {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(raw).await?;
                Ok(())
            })
            .await?;
        return Ok(Started::Bouncer { opened });
    }
    let pid = conn.conn_ref().pid;
    let in_transaction = PgTransactionManager::get_transaction_depth(conn.conn_ref().raw_ref()) > 0;
    let backstop = server_backstop(timeout);
    // The session as configured (no borrower changed it, no transaction that could have
    // `SET LOCAL`) already stops a statement no later than the backstop would: the profile's
    // `statement_timeout` is the backstop, and the call saves two round trips (`SET`, `RESET`).
    let profile = conn.shared.config.session().statement_timeout;
    if !in_transaction && !conn.conn_ref().touched && profile.is_some_and(|s| s >= backstop) {
        return Ok(Started::Direct { pid, set: false });
    }
    let set = format!(
        "SET {}statement_timeout = '{}'",
        if in_transaction { "LOCAL " } else { "" },
        millis(backstop)
    );
    conn.conn()
        .track(async |raw| {
            sqlx::raw_sql(sqlx::AssertSqlSafe(set)).execute(raw).await?;
            Ok(())
        })
        .await?;
    Ok(Started::Direct { pid, set: true })
}

/// After the body: `outcome` is `None` when the deadline passed first.
async fn end_timed<T>(
    shared: &Shared,
    conn: &mut PooledConnection,
    timeout: Duration,
    started: Started,
    outcome: Option<Result<T>>,
) -> Result<T> {
    let (pid, set) = match started {
        Started::Direct { pid, set } => (pid, set),
        Started::Bouncer { opened } => return end_bouncer(conn, timeout, opened, outcome).await,
    };
    match outcome {
        Some(result) => {
            if set {
                restore_statement_timeout(shared, conn).await;
            }
            result
        }
        None => {
            // The statement's future is gone but the server is still running it.
            if let Err(err) = cancel(shared, pid).await {
                tracing::warn!(target: "pgtide::query", pid, error = %err, "could not cancel a statement past its deadline");
            }
            restore_statement_timeout(shared, conn).await;
            Err(past_deadline(
                timeout,
                "running the statement (cancelled on the server)",
            ))
        }
    }
}

/// The error of a call past its per-call deadline.
fn past_deadline(timeout: Duration, what: &str) -> Error {
    Error::timeout(
        TimeoutKind::ClientDeadline,
        format!("{what}: client deadline of {timeout:?}"),
        None,
    )
}

/// Ends a timed call behind PgBouncer: its own transaction committed (or rolled back), or
/// the caller's `statement_timeout` restored. No reply by the deadline and the grace after
/// it: the connection is out of step and not reused.
async fn end_bouncer<T>(
    conn: &mut PooledConnection,
    timeout: Duration,
    opened: bool,
    outcome: Option<Result<T>>,
) -> Result<T> {
    let Some(result) = outcome else {
        conn.conn().broken = true;
        return Err(Error::timeout(
            TimeoutKind::ClientDeadline,
            format!(
                "running the statement (deadline of {timeout:?} behind PgBouncer; no reply from \
                 the server's statement_timeout, the connection is closed)"
            ),
            None,
        ));
    };
    let finish = match (opened, &result) {
        (true, Ok(_)) => "COMMIT".to_owned(),
        (true, Err(_)) => "ROLLBACK".to_owned(),
        (false, _) => {
            let session = &conn
                .shared
                .slots
                .manager()
                .pgbouncer
                .as_ref()
                .expect("started behind PgBouncer")
                .session;
            crate::pgbouncer::set_local_statement_timeout(session, None)
        }
    };
    let done = conn
        .conn()
        .track(async |raw| {
            sqlx::raw_sql(sqlx::AssertSqlSafe(finish))
                .execute(raw)
                .await?;
            Ok(())
        })
        .await;
    match (result, done) {
        (Err(err), _) => Err(err),
        // Inside the caller's failed transaction the restore fails harmlessly.
        (Ok(_), Err(err)) if opened || err.sqlstate() != Some("25P02") => Err(err),
        (Ok(value), _) => Ok(value),
    }
}

/// `pg_cancel_backend(pid)` from a second, short-lived connection, the whole of it (connect,
/// cancel, close) within `connection.connect_timeout`.
///
/// sqlx 0.9 keeps the backend's cancel key private, so PostgreSQL's cancel protocol message
/// (which needs no session slot) is out of reach: cancelling takes an authenticated session.
/// When none can be had (the server is at `max_connections`, or unreachable), the cancel fails
/// within the bound; the caller's `RESET` then does not answer in time either, and the
/// connection is discarded (the server-side backstop `statement_timeout` ends the statement).
async fn cancel(shared: &Shared, pid: i32) -> Result<()> {
    let limit = shared.config.connection().connect_timeout;
    let attempt = async {
        let mut other = shared.slots.manager().connect_unpooled().await?;
        let result = sqlx::query("SELECT pg_cancel_backend($1)")
            .bind(pid)
            .execute(&mut other)
            .await;
        let _ = sqlx::Connection::close(other).await;
        result.map(|_| ()).map_err(Error::from)
    };
    match tokio::time::timeout(limit, attempt).await {
        Ok(result) => result,
        Err(_) => Err(Error::timeout(
            TimeoutKind::ClientDeadline,
            format!("cancelling a statement past its deadline (within {limit:?})"),
            None,
        )),
    }
}

/// `RESET statement_timeout` (back to the value from the startup packet). This also reads a
/// cancelled statement's reply off the connection. Inside a failed transaction the `RESET`
/// fails harmlessly (the rollback undoes the `SET`); a connection that does not answer is
/// marked broken and not reused.
async fn restore_statement_timeout(shared: &Shared, conn: &mut PooledConnection) {
    let limit = shared.config.connection().connect_timeout;
    for _ in 0..3 {
        let reset = conn.conn().track(async |raw| {
            match tokio::time::timeout(limit, sqlx::raw_sql("RESET statement_timeout").execute(raw))
                .await
            {
                Ok(result) => result.map(|_| ()).map_err(Error::from),
                Err(_) => Err(Error::timeout(
                    TimeoutKind::ClientDeadline,
                    "restoring statement_timeout",
                    None,
                )),
            }
        });
        match reset.await {
            Ok(()) => return,
            // A late cancel can hit the RESET itself: run it again.
            Err(err) if err.sqlstate() == Some("57014") => {}
            Err(err) if err.sqlstate().is_some() => return,
            _ => break,
        }
    }
    conn.conn().broken = true;
}
