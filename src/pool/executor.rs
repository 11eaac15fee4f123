//! `&Pool` as a sqlx executor: each call checks out a connection, runs on it, and hands it
//! back, as sqlx's own `&PgPool` does, so `query(..).fetch_all(&pool)` and generated
//! functions generic over `PgExecutor` take `&pool`.
//!
//! A statement run this way is not retried (it may have reached the server); connecting
//! is, within `pool.acquire_timeout`. Errors keep their pgtide kind through sqlx's
//! interface: `pgtide::Error::from` the returned `sqlx::Error` gives back the original
//! (a pool timeout still carries its cause).

use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use futures_util::{TryFutureExt, TryStreamExt};
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Either, Execute, Executor, Postgres, SqlStr};
use sqlx_core::ext::async_stream::{TryAsyncStream, Yielder};

use super::Pool;
use super::guard::is_stale_plan;
use crate::error::{Error, into_sqlx};
use crate::observe;
use crate::pgbouncer::{self, Statement};

/// A query taken apart so that it can run a second time: after `0A000` ("cached plan must
/// not change result type", a table changed shape under a cached `SELECT *`), the statement
/// did not run; the guard cleared the connection's statement cache, and it runs once more.
/// Only prepared (cached) statements can fail this way, so only their arguments are copied.
///
/// The copy (two small allocations) cannot be avoided for a statement sqlx has cached: the
/// server reports the stale plan only in answer to the `Bind` that carries the arguments,
/// and sqlx consumes them to write it. It is made after the checkout, so it is not held while
/// waiting for a connection.
///
/// Behind PgBouncer (`pgbouncer = true`) the statement is unnamed (not persistent), so it is
/// never replayed.
pub(super) struct Replayable {
    /// The statement; once it ran ([`first`](Self::first)), its arguments are the copy kept
    /// for running it again.
    statement: Statement,
    /// It may still run again (a persistent statement that has not yet).
    may_replay: bool,
}

impl Replayable {
    pub(super) fn new<'q, E: Execute<'q, Postgres>>(
        query: E,
        pool: &Pool,
    ) -> Result<Self, sqlx::Error> {
        let mut statement = Statement::from_query(query)?;
        statement.persistent &= pool.shared.slots.manager().pgbouncer.is_none();
        Ok(Self {
            statement,
            may_replay: false,
        })
    }

    /// The query to run now; its arguments are copied when it could run again.
    fn first(&mut self) -> Statement {
        let kept = &mut self.statement;
        self.may_replay = kept.persistent;
        if kept.persistent {
            Statement {
                sql: kept.sql.clone(),
                args: kept.args.clone(),
                persistent: true,
            }
        } else {
            // Never run again: moved out (a clone of an owned string would allocate).
            Statement {
                sql: std::mem::replace(&mut kept.sql, SqlStr::from_static("")),
                args: kept.args.take(),
                persistent: false,
            }
        }
    }

    /// Whether the query runs again after `err`: once, when its cached plan was stale.
    fn replays_after(&mut self, err: &Error) -> bool {
        let replays = self.may_replay && is_stale_plan(err);
        self.may_replay &= !replays;
        replays
    }

    /// The query again, after [`replays_after`](Self::replays_after) said so.
    fn again(&mut self) -> Statement {
        let kept = &mut self.statement;
        Statement {
            sql: kept.sql.clone(),
            args: kept.args.take(),
            persistent: true,
        }
    }

    /// The next statement to run: the first, or after a stale plan the same again.
    fn next(&mut self, replaying: bool) -> Statement {
        if replaying {
            self.again()
        } else {
            self.first()
        }
    }
}

/// Runs `work` on `raw`; behind PgBouncer in a transaction of its own that applies the
/// session settings (see [`crate::pgbouncer`]).
async fn on_raw<T>(
    pool: &Pool,
    raw: &mut sqlx::PgConnection,
    work: impl AsyncFnOnce(&mut sqlx::PgConnection) -> crate::Result<T>,
) -> crate::Result<T> {
    match &pool.shared.slots.manager().pgbouncer {
        Some(bouncer) => {
            let begin = format!("BEGIN{}", bouncer.after_begin);
            pgbouncer::in_transaction(raw, &begin, work).await
        }
        None => work(raw).await,
    }
}

/// One statement on a connection checked out for it, at most one row back; run again once
/// after a stale cached plan (see [`Replayable`]). Borrows the query taken apart: the call's
/// boxed future holds it once (an `async fn` keeps a parameter it was given by value twice).
async fn fetch_optional_on(pool: &Pool, query: &mut Replayable) -> crate::Result<Option<PgRow>> {
    let mut checkout = pool.checkout().await?;
    let conn = checkout.conn();
    // One guarded operation, spelled out (`Conn::track` is made of these two calls) so that
    // the hot path has no closure futures to move: dropped midway, the connection stays
    // busy and is discarded. The statement is made where the driver takes it, so the future
    // holds no copy of it.
    let busy = conn.enter();
    let raw = conn.raw_for_statement(&busy, &query.statement.sql);
    let result = match &pool.shared.slots.manager().pgbouncer {
        None => raw.fetch_optional(query.first()).await.map_err(Error::from),
        // Boxed: its transaction future would otherwise make every call's future larger.
        Some(_) => {
            let q = query.first();
            Box::pin(on_raw(pool, raw, async |raw| {
                Ok(raw.fetch_optional(q).await?)
            }))
            .await
        }
    };
    conn.leave(busy, result.as_ref().err()).await;
    match result {
        // Rare: boxed, so that its closure future does not grow the common one.
        Err(err) if query.replays_after(&err) => {
            let q = query.again();
            Box::pin(conn.track(async |raw| Ok(raw.fetch_optional(q).await?))).await
        }
        other => other,
    }
}

/// [`fetch_optional_on`] for a query as [`Replayable::new`] gave it back (an error taking it
/// apart is the call's error). An `async` block, not an `async fn`, so the query is held once.
#[expect(
    clippy::manual_async_fn,
    reason = "an `async fn` would store its by-value parameter twice in the future"
)]
pub(super) fn fetch_optional_taken(
    pool: &Pool,
    mut query: Result<Replayable, sqlx::Error>,
) -> impl Future<Output = crate::Result<Option<PgRow>>> + Send + '_ {
    async move {
        match query {
            Ok(ref mut query) => fetch_optional_on(pool, query).await,
            Err(err) => Err(err.into()),
        }
    }
}

/// Hands every item of `rows` to the caller's stream; notes in `yielded` whether any went.
async fn pass_on(
    mut rows: BoxStream<'_, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>,
    yielder: &Yielder<Either<PgQueryResult, PgRow>>,
    yielded: &mut bool,
) -> crate::Result<()> {
    while let Some(item) = rows.try_next().await? {
        *yielded = true;
        yielder.r#yield(item).await;
    }
    Ok(())
}

impl<'p> Executor<'p> for &'p Pool {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        // Borrowed for the call (`&'p Pool` outlives `'e`): no reference count touched.
        let pool = self;
        // Taken apart before the futures are built, as in `fetch_optional`.
        let mut query = Replayable::new(query, pool);
        Box::pin(TryAsyncStream::new(move |yielder| async move {
            // Boxed here: the body's state (acquire, retry, the driver's call) is large, and
            // the span wrappers move their future by value; moving a pointer instead of the
            // state cut ~140k instructions of memcpy per point select (callgrind).
            observe::pool_executor(
                "fetch_many",
                &pool.shared.target,
                |_| None,
                Box::pin(async {
                    let query = match query {
                        Ok(ref mut query) => query,
                        Err(err) => return Err(err.into()),
                    };
                    let mut checkout = pool.checkout().await?;
                    let conn = checkout.conn();
                    // One guarded operation per run, spelled out as in `fetch_optional_on`. A
                    // stream dropped before its end leaves the statement's reply unread: the
                    // connection stays busy then, and is discarded.
                    let mut replaying = false;
                    loop {
                        let mut yielded = false;
                        let busy = conn.enter();
                        let raw = conn.raw_for_statement(&busy, &query.statement.sql);
                        let result = match &pool.shared.slots.manager().pgbouncer {
                            None => {
                                let rows = raw.fetch_many(query.next(replaying));
                                pass_on(rows, &yielder, &mut yielded).await
                            }
                            Some(_) => {
                                let q = query.next(replaying);
                                let on = on_raw(pool, raw, async |raw| {
                                    pass_on(raw.fetch_many(q), &yielder, &mut yielded).await
                                });
                                Box::pin(on).await
                            }
                        };
                        conn.leave(busy, result.as_ref().err()).await;
                        match result {
                            Err(err) if !yielded && query.replays_after(&err) => replaying = true,
                            other => return other,
                        }
                    }
                }),
            )
            .await
            .map_err(into_sqlx)
        }))
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        // Borrowed for the call (`&'p Pool` outlives `'e`): no reference count touched.
        let pool = self;
        // Taken apart here, before the future is built: the box holds the statement only
        // (its size is allocation and copying per query; see `pool::future_sizes`).
        let run = fetch_optional_taken(pool, Replayable::new(query, pool));
        if observe::spans_possible() {
            let rows = |row: &Option<PgRow>| Some(u64::from(row.is_some()));
            // Boxed for the same reason as in `fetch_many`.
            let inner = Box::pin(run);
            Box::pin(async move {
                observe::pool_executor("fetch_optional", &pool.shared.target, rows, inner)
                    .await
                    .map_err(into_sqlx)
            })
        } else {
            // No subscriber was ever installed: no span, no wrapper, one allocation.
            Box::pin(run.map_err(into_sqlx))
        }
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement, sqlx::Error>>
    where
        'p: 'e,
    {
        // Borrowed for the call (`&'p Pool` outlives `'e`): no reference count touched.
        let pool = self;
        Box::pin(async move {
            let mut conn = pool.checkout().await.map_err(into_sqlx)?;
            conn.conn()
                .track(async |raw| Ok(raw.prepare_with(sql, parameters).await?))
                .await
                .map_err(into_sqlx)
        })
    }

    fn describe<'e>(
        self,
        sql: SqlStr,
    ) -> BoxFuture<'e, Result<sqlx::Describe<Postgres>, sqlx::Error>>
    where
        'p: 'e,
    {
        // Borrowed for the call (`&'p Pool` outlives `'e`): no reference count touched.
        let pool = self;
        Box::pin(async move {
            let mut conn = pool.checkout().await.map_err(into_sqlx)?;
            conn.conn()
                .track(async |raw| Ok(raw.describe(sql).await?))
                .await
                .map_err(into_sqlx)
        })
    }
}
