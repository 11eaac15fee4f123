//! Transactions on pooled connections: the [`Transaction`] type, [`Pool::begin`], and the
//! closure API's attempt loop ([`Pool::transaction`], [`Pool::transaction_boxed`]). What they
//! promise is described in [`crate::transaction`].

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use futures_util::FutureExt;
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTransactionManager, PgTypeInfo};
use sqlx::{Either, Execute, Executor, PgConnection, Postgres, SqlStr};
use sqlx_core::transaction::TransactionManager;

use super::body::{Body, Boxed, Plain};
use super::guard::is_stale_plan;
use super::reset::RESET_SQL;
use super::{Pool, PooledConnection, SessionReset};
use crate::error::{Error, Result, TimeoutKind};
use crate::observe;
use crate::pgbouncer::Statement;
use crate::retry::RetryPolicy;

/// Transaction isolation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IsolationLevel {
    /// PostgreSQL's default: each statement sees what was committed before it began.
    #[default]
    ReadCommitted,
    /// Every statement sees the snapshot taken at the transaction's first statement.
    RepeatableRead,
    /// As if transactions ran one after another; conflicts fail with `40001` (retried by
    /// [`Pool::transaction`]).
    Serializable,
}

impl IsolationLevel {
    fn as_sql(self) -> &'static str {
        match self {
            Self::ReadCommitted => "READ COMMITTED",
            Self::RepeatableRead => "REPEATABLE READ",
            Self::Serializable => "SERIALIZABLE",
        }
    }
}

/// How to run a transaction: isolation, access mode, deferrable, retry.
///
/// ```
/// use pgtide::{IsolationLevel, TxOptions};
/// let opts = TxOptions::serializable().read_only().deferrable();
/// assert_eq!(opts.begin_sql(), "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE");
/// assert_eq!(TxOptions::default().begin_sql(), "BEGIN");
/// assert_eq!(TxOptions::default().isolation(IsolationLevel::RepeatableRead).begin_sql(),
///            "BEGIN ISOLATION LEVEL REPEATABLE READ");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxOptions {
    isolation: Option<IsolationLevel>,
    read_only: bool,
    deferrable: bool,
    retry: bool,
}

impl Default for TxOptions {
    /// The server's default isolation, read-write, retried.
    fn default() -> Self {
        Self {
            isolation: None,
            read_only: false,
            deferrable: false,
            retry: true,
        }
    }
}

impl TxOptions {
    /// `SERIALIZABLE`, read-write, retried on conflicts.
    pub fn serializable() -> Self {
        Self::default().isolation(IsolationLevel::Serializable)
    }

    /// Sets the isolation level.
    pub fn isolation(mut self, level: IsolationLevel) -> Self {
        self.isolation = Some(level);
        self
    }

    /// `READ ONLY`: writes fail with SQLSTATE `25006`.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// `DEFERRABLE` (with `SERIALIZABLE READ ONLY`: waits for a safe snapshot, then never
    /// fails with a serialization error).
    pub fn deferrable(mut self) -> Self {
        self.deferrable = true;
        self
    }

    /// Do not run the closure again on conflicts or lost connections.
    pub fn no_retry(mut self) -> Self {
        self.retry = false;
        self
    }

    /// Whether these options send a bare `BEGIN`.
    fn is_plain(&self) -> bool {
        self.isolation.is_none() && !self.read_only && !self.deferrable
    }

    /// The `BEGIN` statement these options send.
    pub fn begin_sql(&self) -> String {
        let mut sql = String::from("BEGIN");
        if let Some(level) = self.isolation {
            sql.push_str(" ISOLATION LEVEL ");
            sql.push_str(level.as_sql());
        }
        if self.read_only {
            sql.push_str(" READ ONLY");
        }
        if self.deferrable {
            sql.push_str(" DEFERRABLE");
        }
        sql
    }
}

/// An open transaction on a pooled connection. `&mut Transaction` is a sqlx executor (sqlx
/// queries and generated functions take `&mut tx`, or `&mut *tx` in a transaction body),
/// which lets pgtide see each statement (see [`crate::transaction`]); it also derefs to
/// [`sqlx::PgConnection`] for APIs that want the raw connection.
///
/// Dropped without [`commit`](Self::commit) or [`rollback`](Self::rollback), it rolls back
/// (in the background, before the connection goes back to the pool).
pub struct Transaction {
    conn: Option<PooledConnection>,
    /// What pgtide saw of the statements run in the transaction.
    seen: Seen,
}

/// Whether pgtide saw every statement of a transaction succeed, in which case the
/// transaction cannot be aborted and its `COMMIT` needs no check before it.
///
/// The one owner of that knowledge: every way to the transaction's connection but the
/// judged executor (`&mut Transaction`) goes through [`Transaction::pooled`], which sets
/// [`raw_lent`](Self::raw_lent); the executor counts each statement as
/// [`unsettled`](Self::unsettled) until it returned `Ok` (a future or stream dropped midway,
/// or ending in an error, stays counted).
#[derive(Debug, Default)]
struct Seen {
    /// The raw connection was lent (`&mut **tx`, a per-call timeout, bulk transfer): anything
    /// could have run, and failed, unseen.
    raw_lent: bool,
    /// Statements started through the executor and not (yet) completed with `Ok`.
    unsettled: u32,
}

impl Seen {
    /// Whether an aborted transaction is possible, so that `COMMIT` needs the check.
    fn may_be_aborted(&self) -> bool {
        self.raw_lent || self.unsettled > 0
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("conn", &self.conn)
            .finish()
    }
}

impl Transaction {
    fn new(conn: PooledConnection) -> Self {
        Self {
            conn: Some(conn),
            seen: Seen::default(),
        }
    }

    /// The pooled connection, for anything that runs on it unseen by the executor: from now
    /// on the transaction may be aborted without pgtide knowing, so `COMMIT` is checked.
    pub(crate) fn pooled(&mut self) -> &mut PooledConnection {
        self.seen.raw_lent = true;
        self.guarded()
    }

    /// The pooled connection for pgtide's own bookkeeping (entering and leaving the body's
    /// operation), which runs no statement.
    fn guarded(&mut self) -> &mut PooledConnection {
        self.conn
            .as_mut()
            .expect("present until committed, rolled back or dropped")
    }

    /// Commits. A failed commit leaves the transaction rolled back (or, if the connection
    /// was lost, its outcome unknown).
    ///
    /// A transaction in which a statement failed (and was not rolled back to a savepoint)
    /// cannot commit: PostgreSQL answers `COMMIT` with a `ROLLBACK`. Instead of reporting
    /// that as success, `commit` returns the server's `25P02` ("current transaction is
    /// aborted") error and rolls back. Finding out costs one short round trip before
    /// `COMMIT` (sqlx does not expose the transaction status the server reports), unless
    /// every statement ran through `&mut tx` (the executor) and returned `Ok`.
    pub async fn commit(mut self) -> Result<()> {
        let conn = self.conn.take().expect("present until committed");
        commit(conn, self.seen.may_be_aborted())
            .await
            .map_err(|(err, _)| err)
    }

    /// Rolls back.
    pub async fn rollback(mut self) -> Result<()> {
        let mut conn = self.conn.take().expect("present until rolled back");
        if conn.conn_ref().is_busy() {
            // Something inside was abandoned midway: discarding the connection (dropping it
            // here) terminates its backend, which rolls the transaction back.
            return Ok(());
        }
        let result = conn
            .conn()
            .track(async |raw| Ok(PgTransactionManager::rollback(raw).await?))
            .await;
        if result.is_err() {
            discard_if_still_open(&mut conn);
        }
        result
    }

    /// Runs `f` under its own statement timeout (see [`crate::query`]). When the deadline
    /// passes the statement is cancelled and the transaction is aborted: roll it back.
    pub async fn with_timeout<T>(
        &mut self,
        timeout: Duration,
        f: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
    ) -> Result<T> {
        self.pooled().with_timeout(timeout, f).await
    }
}

/// Where a failed commit failed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CommitStage {
    /// Before `COMMIT` was sent: nothing committed.
    Before,
    /// `COMMIT` itself failed.
    Commit,
}

/// Commits on `conn`. `may_be_aborted`: a statement could have failed unseen (see [`Seen`]),
/// so the transaction is checked before `COMMIT`.
async fn commit(
    mut conn: PooledConnection,
    may_be_aborted: bool,
) -> std::result::Result<(), (Error, CommitStage)> {
    if conn.conn_ref().is_busy() {
        // An operation inside the transaction was abandoned midway (an inner timeout or
        // `select!` dropped it): its statement may still be running, and `COMMIT` would
        // queue behind it. The connection is discarded (its backend terminated), which
        // rolls the transaction back.
        return Err((abandoned(), CommitStage::Before));
    }
    // An aborted transaction fails this round trip with 25P02 (its `COMMIT` would silently
    // roll back). When the body had the raw session, the round trip is the session reset
    // (see `pool::reset`), run inside the transaction so it commits with it; otherwise a bare
    // `SELECT 1`, and nothing when every statement was seen to succeed. `raw_sql` runs over
    // the simple protocol: no parse/describe.
    let reset = conn.conn_ref().touched && conn.session_reset() != SessionReset::Never;
    let check = if reset {
        Some(RESET_SQL)
    } else if may_be_aborted {
        Some("SELECT 1")
    } else {
        None
    };
    if let Some(check) = check {
        let checked = conn
            .conn()
            .track(async |raw| {
                sqlx::raw_sql(check).execute(raw).await?;
                Ok(())
            })
            .await;
        if let Err(err) = checked {
            if err.sqlstate() == Some("25P02") {
                end_after_server_error(&mut conn, &err).await;
            } else {
                // Not the aborted-transaction answer: the session was not in the state it
                // should be (e.g. a `COPY` the body abandoned left its error first in line),
                // so the replies may be out of step with the statements. Not reused.
                conn.conn().broken = true;
            }
            return Err((err, CommitStage::Before));
        }
    }
    let committed = conn
        .conn()
        .track(async |raw| Ok(PgTransactionManager::commit(raw).await?))
        .await;
    if let Err(err) = committed {
        end_after_server_error(&mut conn, &err).await;
        return Err((err, CommitStage::Commit));
    }
    if reset {
        conn.conn().touched = false;
    }
    Ok(())
}

/// The error of a transaction whose body abandoned an operation midway.
fn abandoned() -> Error {
    Error::timeout(
        TimeoutKind::ClientDeadline,
        "inside the transaction: an operation was abandoned midway (an inner timeout or \
         `select!` dropped it), so the transaction was rolled back instead of committed",
        None,
    )
}

/// After the server answered with an error (a conflict or constraint at `COMMIT`, an
/// aborted transaction), the session is fine: roll back (a no-op with a warning when
/// `COMMIT` already ended the transaction) so that sqlx's transaction depth is 0 again and
/// the connection can be reused. Anything else (a lost connection) leaves it discarded.
async fn end_after_server_error(conn: &mut PooledConnection, err: &Error) {
    if matches!(err.as_sqlx(), Some(sqlx::Error::Database(_))) {
        let limit = conn.shared.config.connection().connect_timeout;
        let _ = conn
            .conn()
            .track(async |raw| {
                match tokio::time::timeout(limit, PgTransactionManager::rollback(raw)).await {
                    Ok(result) => Ok(result?),
                    Err(_) => Err(Error::timeout(
                        TimeoutKind::ClientDeadline,
                        "rolling back after a failed commit",
                        None,
                    )),
                }
            })
            .await;
    }
    discard_if_still_open(conn);
}

/// A connection whose `COMMIT`/`ROLLBACK` failed may still be inside the transaction:
/// never hand it out again.
fn discard_if_still_open(conn: &mut PooledConnection) {
    if PgTransactionManager::get_transaction_depth(conn.conn_ref().raw_ref()) > 0 {
        conn.conn().broken = true;
    }
}

/// `query` taken apart, the session of `conn` marked for a reset when its SQL may change it.
fn judged<'q, 'c, E: Execute<'q, Postgres>>(
    conn: &'c mut Option<PooledConnection>,
    query: E,
) -> std::result::Result<(&'c mut PgConnection, Statement), sqlx::Error> {
    let statement = Statement::from_query(query)?;
    Ok((raw_judged(conn, &statement.sql), statement))
}

/// The raw connection of `conn` for `sql`, its session marked for a reset when `sql` may
/// change it.
fn raw_judged<'c>(conn: &'c mut Option<PooledConnection>, sql: &SqlStr) -> &'c mut PgConnection {
    conn.as_mut()
        .expect("present until committed, rolled back or dropped")
        .conn()
        .raw_for_holder_statement(sql)
}

/// `work` (a statement sent through the executor) counted as unsettled until it returns `Ok`.
fn settled<'e, T: 'e>(
    unsettled: &'e mut u32,
    work: BoxFuture<'e, std::result::Result<T, sqlx::Error>>,
) -> BoxFuture<'e, std::result::Result<T, sqlx::Error>> {
    *unsettled += 1;
    Box::pin(async move {
        let result = work.await;
        if result.is_ok() {
            *unsettled -= 1;
        }
        result
    })
}

/// A statement's results through the executor: counted as unsettled until the stream ended
/// without an error.
struct Settling<'e> {
    rows: BoxStream<'e, std::result::Result<Either<PgQueryResult, PgRow>, sqlx::Error>>,
    /// Given back (decremented) when the stream ends, unless an error came first.
    unsettled: Option<&'e mut u32>,
}

impl futures_core::Stream for Settling<'_> {
    type Item = std::result::Result<Either<PgQueryResult, PgRow>, sqlx::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let polled = self.rows.as_mut().poll_next(cx);
        match &polled {
            std::task::Poll::Ready(Some(Err(_))) => self.unsettled = None,
            std::task::Poll::Ready(None) => {
                if let Some(unsettled) = self.unsettled.take() {
                    *unsettled -= 1;
                }
            }
            _ => {}
        }
        polled
    }
}

/// `&mut Transaction` is a sqlx executor (`&mut *tx` in a body, `&mut tx` for the one
/// [`Pool::begin`] returns). pgtide sees each statement: its text is judged on the way, so a
/// transaction whose statements only read and write rows commits without the session reset
/// (see [`crate::pool::reset`]); and when every statement returned `Ok`, the transaction
/// cannot be aborted, so `COMMIT` is sent without the check before it. `&mut **tx` (the raw
/// `PgConnection`, for APIs that want one) works too, and costs both.
impl<'c> Executor<'c> for &'c mut Transaction {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, std::result::Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let Transaction { conn, seen } = self;
        match judged(conn, query) {
            Ok((raw, statement)) => {
                seen.unsettled += 1;
                Box::pin(Settling {
                    rows: raw.fetch_many(statement),
                    unsettled: Some(&mut seen.unsettled),
                })
            }
            Err(err) => Box::pin(futures_util::stream::once(std::future::ready(Err(err)))),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, std::result::Result<Option<PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let Transaction { conn, seen } = self;
        match judged(conn, query) {
            Ok((raw, statement)) => settled(&mut seen.unsettled, raw.fetch_optional(statement)),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, std::result::Result<PgStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        // A failed parse aborts the transaction too: counted like a statement.
        let Transaction { conn, seen } = self;
        let raw = raw_judged(conn, &sql);
        settled(&mut seen.unsettled, raw.prepare_with(sql, parameters))
    }

    fn describe<'e>(
        self,
        sql: SqlStr,
    ) -> BoxFuture<'e, std::result::Result<sqlx::Describe<Postgres>, sqlx::Error>>
    where
        'c: 'e,
    {
        let Transaction { conn, seen } = self;
        let raw = raw_judged(conn, &sql);
        settled(&mut seen.unsettled, raw.describe(sql))
    }
}

impl std::ops::Deref for Transaction {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn
            .as_ref()
            .expect("present until committed or rolled back")
    }
}

impl std::ops::DerefMut for Transaction {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.pooled()
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if conn.conn_ref().is_busy() {
            // The body was dropped midway (an outer timeout, `select!`): a statement may still
            // be running, and a ROLLBACK would queue behind it. Close the connection instead;
            // the server rolls the transaction back when the session ends.
            return;
        }
        match tokio::runtime::Handle::try_current() {
            // Roll back now, so locks are released before the connection is reused.
            Ok(runtime) => {
                runtime.spawn(async move {
                    let limit = conn.shared.config.connection().connect_timeout;
                    let guarded = conn.conn();
                    let busy = guarded.enter();
                    let rollback = PgTransactionManager::rollback(guarded.raw_for_reads(&busy));
                    match tokio::time::timeout(limit, rollback).await {
                        Ok(Ok(())) => guarded.leave(busy, None).await,
                        Ok(Err(err)) => {
                            guarded.leave(busy, Some(&err.into())).await;
                            guarded.broken = true;
                        }
                        // Queued behind a statement of yours still running (its future was
                        // dropped, sqlx waits for its end first): the rollback is abandoned
                        // like any dropped operation, so the connection is discarded and its
                        // backend terminated, which ends the statement and the transaction.
                        Err(_) => drop(busy),
                    }
                });
            }
            // No runtime: sqlx queues the ROLLBACK; the next checkout's health check sends it.
            Err(_) => conn.conn().queue_rollback(),
        }
    }
}

tokio::task_local! {
    /// Set while a [`Pool::transaction`] body runs (one value per attempt): lets a checkout
    /// from the pool itself, made by the same task inside the body, be noticed.
    static BODY: BodyMarker;
}

/// What a transaction body did besides using its own transaction.
#[derive(Debug, Default)]
struct BodyMarker {
    /// The body checked out a connection of its own (`&Pool` as executor, `pool.acquire()`,
    /// `pool.idempotent`, a nested `pool.transaction`): statements on it ran outside the
    /// transaction and may have committed, so the body must not run again.
    used_pool: AtomicBool,
}

/// Called on every checkout ([`Pool::acquire`]): inside a transaction body (same task), the
/// checkout is for a statement that does not belong to the transaction. Warns once per body
/// and makes the body's failure final (running it again could repeat that statement).
///
/// Only the body's own task is seen: work the body spawns onto other tasks is not.
pub(crate) fn note_checkout() {
    let _ = BODY.try_with(|marker| {
        if !marker.used_pool.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "pgtide::transaction",
                "a statement inside a transaction body ran on its own pooled connection (`&pool` \
                 instead of `&mut *tx`): it is not part of the transaction, and the body will \
                 not be run again if it fails"
            );
        }
    });
}

/// Why a transaction attempt failed, and whether running it again is safe.
struct Failed {
    error: Error,
    retry: bool,
}

impl Failed {
    /// `BEGIN` (or connecting for it) failed: nothing ran, retry what is transient.
    fn begin(error: Error) -> Self {
        Self {
            retry: error.is_retryable(),
            error,
        }
    }
}

/// Commits on `Ok`, rolls back on `Err` or panic (then resumes the panic), and says whether
/// the failure allows running the body again.
async fn finish<T>(
    tx: Transaction,
    outcome: std::thread::Result<Result<T>>,
) -> std::result::Result<T, Failed> {
    match outcome {
        Err(panic) => {
            let _ = tx.rollback().await;
            std::panic::resume_unwind(panic)
        }
        Ok(Err(error)) => {
            let _ = tx.rollback().await;
            // Failed before COMMIT was sent: serialization failures, deadlocks and lost
            // connections are safe to run again, and so is a statement whose cached plan a
            // schema change invalidated (the guard cleared the statement cache).
            Err(Failed {
                retry: error.is_retryable() || is_stale_plan(&error),
                error,
            })
        }
        Ok(Ok(value)) => {
            let mut tx = tx;
            let conn = tx.conn.take().expect("present until committed");
            match commit(conn, tx.seen.may_be_aborted()).await {
                Ok(()) => Ok(value),
                // Failed before COMMIT was sent (the body swallowed an error and the
                // transaction is aborted, or the connection was lost): retry what is
                // transient.
                Err((error, CommitStage::Before)) => Err(Failed {
                    retry: error.is_retryable() || is_stale_plan(&error),
                    error,
                }),
                // COMMIT reported a conflict: the server rolled back. Anything else (a lost
                // connection) leaves the outcome unknown: not retried.
                Err((error, CommitStage::Commit)) => Err(Failed {
                    retry: matches!(error.sqlstate(), Some("40001" | "40P01")),
                    error,
                }),
            }
        }
    }
}

impl Pool {
    /// Begins a transaction on a connection checked out for it (manual control: no
    /// automatic retry).
    pub async fn begin(&self, options: TxOptions) -> Result<Transaction> {
        let mut conn = self.acquire().await?;
        let bouncer = &self.shared.slots.manager().pgbouncer;
        let begin = if bouncer.is_none() && options.is_plain() {
            // The common case, without building a string.
            sqlx::SqlSafeStr::into_sql_str("BEGIN")
        } else {
            let mut begin = options.begin_sql();
            if let Some(bouncer) = bouncer {
                // Behind PgBouncer: the session settings, for this transaction only.
                begin.push_str(&bouncer.after_begin);
            }
            sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(begin))
        };
        // sqlx counts the transaction only once `BEGIN`'s reply arrived: cancelled before
        // that, the session may be inside a transaction sqlx does not know about. The guard
        // keeps the connection busy then, and it is discarded when `conn` drops.
        conn.conn()
            .track(async |raw| Ok(PgTransactionManager::begin(raw, Some(begin)).await?))
            .await?;
        Ok(Transaction::new(conn))
    }

    /// Runs `body` in a transaction: commits on `Ok`, rolls back on `Err` or panic, and runs
    /// the whole body again on serialization failures, deadlocks and connections lost
    /// before `COMMIT` (see the [module docs](crate::transaction)), within the retry policy.
    pub async fn transaction<T>(
        &self,
        options: TxOptions,
        body: impl AsyncFnMut(&mut Transaction) -> Result<T>,
    ) -> Result<T> {
        self.transaction_with(options, Plain(body)).await
    }

    /// [`transaction`](Self::transaction) for a body that returns a boxed `Send` future.
    ///
    /// Use it to run a transaction inside `tokio::spawn` when the body borrows what it
    /// captures: today's compiler cannot prove an async closure's future `Send` for every
    /// borrow (rust-lang/rust#100013), so `transaction` with such a closure is not `Send`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = pgtide_testkit::TestDb::new().await?;
    /// # let pool = pgtide::Pool::connect(&pgtide::config::Config::loader().no_file_search().env([("DATABASE_URL", db.url())]).load()?).await?;
    /// let name = String::from("visits");
    /// let task = tokio::spawn(async move {
    ///     pool.transaction_boxed(pgtide::TxOptions::serializable(), |tx| {
    ///         Box::pin(pgtide::query::execute(
    ///             &mut *tx,
    ///             pgtide::sqlx::query("UPDATE counters SET value = value + 1 WHERE name = $1").bind(name.clone()),
    ///         ))
    ///     })
    ///     .await
    /// });
    /// task.await.expect("no panic")?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction_boxed<T, B>(&self, options: TxOptions, body: B) -> Result<T>
    where
        B: for<'t> FnMut(&'t mut Transaction) -> BoxFuture<'t, Result<T>>,
    {
        self.transaction_with(options, Boxed(body)).await
    }

    /// The attempt loop of [`transaction`](Self::transaction) and
    /// [`transaction_boxed`](Self::transaction_boxed): begin, run the body as one guarded
    /// operation, commit or roll back, and decide whether to run it again.
    async fn transaction_with<T>(
        &self,
        options: TxOptions,
        mut body: impl Body<Transaction, T>,
    ) -> Result<T> {
        let policy = self.transaction_policy(options);
        observe::operation("transaction", &self.shared.target, |_| None, async {
            let mut attempts = policy.start("transaction");
            loop {
                let failed = match self.attempt(options, &mut body).await {
                    Ok(value) => return Ok(value),
                    Err(failed) => failed,
                };
                let retry = failed.retry;
                if !attempts.pause(&failed.error, |_| retry).await {
                    return Err(failed.error);
                }
            }
        })
        .await
    }

    /// One attempt of a transaction body: begin, the body as one guarded operation (dropped
    /// midway, the connection is discarded and its statement stopped; a panic leaves it busy
    /// too), then commit or roll back.
    async fn attempt<T>(
        &self,
        options: TxOptions,
        body: &mut impl Body<Transaction, T>,
    ) -> std::result::Result<T, Failed> {
        let mut tx = self.begin(options).await.map_err(Failed::begin)?;
        let busy = tx.guarded().conn().enter();
        let (outcome, used_pool) = {
            let mut scoped = std::pin::pin!(BODY.scope(BodyMarker::default(), body.call(&mut tx)));
            let outcome = AssertUnwindSafe(scoped.as_mut()).catch_unwind().await;
            let used_pool = scoped
                .as_mut()
                .take_value()
                .is_some_and(|marker| marker.used_pool.into_inner());
            (outcome, used_pool)
        };
        if let Ok(result) = &outcome {
            tx.guarded().conn().leave(busy, result.as_ref().err()).await;
        }
        finish(tx, outcome).await.map_err(|failed| Failed {
            // A body that used the pool directly is never run again: what it ran there is
            // outside this transaction and may have committed.
            retry: failed.retry && !used_pool,
            error: failed.error,
        })
    }

    fn transaction_policy(&self, options: TxOptions) -> RetryPolicy {
        if options.retry {
            self.shared.retry.clone()
        } else {
            RetryPolicy::once()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The static `BEGIN` of the common case is exactly what the options would build.
    #[test]
    fn plain_options_are_the_ones_that_send_a_bare_begin() {
        let levels = [
            None,
            Some(IsolationLevel::ReadCommitted),
            Some(IsolationLevel::RepeatableRead),
            Some(IsolationLevel::Serializable),
        ];
        for level in levels {
            for read_only in [false, true] {
                for deferrable in [false, true] {
                    for retry in [false, true] {
                        let options = TxOptions {
                            isolation: level,
                            read_only,
                            deferrable,
                            retry,
                        };
                        assert_eq!(
                            options.is_plain(),
                            options.begin_sql() == "BEGIN",
                            "{options:?}"
                        );
                    }
                }
            }
        }
    }
}
