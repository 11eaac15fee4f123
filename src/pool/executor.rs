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
use sqlx::postgres::{PgArguments, PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Either, Execute, Executor, Postgres, SqlStr};
use sqlx_core::ext::async_stream::TryAsyncStream;

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
struct Replayable {
    sql: SqlStr,
    args: Option<PgArguments>,
    spare: Option<PgArguments>,
    persistent: bool,
}

impl Replayable {
    fn new<'q, E: Execute<'q, Postgres>>(mut query: E, pool: &Pool) -> Result<Self, sqlx::Error> {
        let persistent = query.persistent() && pool.shared.inner.manager().pgbouncer.is_none();
        let args = query.take_arguments().map_err(sqlx::Error::Encode)?;
        Ok(Self {
            sql: query.sql(),
            args,
            spare: None,
            persistent,
        })
    }

    /// The query to run now; its arguments are copied when it could run again.
    fn first(&mut self) -> Statement {
        let sql = if self.persistent {
            self.spare = self.args.clone();
            self.sql.clone()
        } else {
            // Never run again: the SQL moves (a clone of an owned string would allocate).
            std::mem::replace(&mut self.sql, SqlStr::from_static(""))
        };
        Statement {
            sql,
            args: self.args.take(),
            persistent: self.persistent,
        }
    }

    /// The query again, when `err` says its cached plan was stale and it can run again.
    fn again(&mut self, err: &Error) -> Option<Statement> {
        if is_stale_plan(err) {
            let args = self.spare.take()?;
            Some(Statement {
                sql: self.sql.clone(),
                args: Some(args),
                persistent: self.persistent,
            })
        } else {
            None
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
    match &pool.shared.inner.manager().pgbouncer {
        Some(bouncer) => {
            let begin = format!("BEGIN{}", bouncer.after_begin);
            pgbouncer::in_transaction(raw, &begin, work).await
        }
        None => work(raw).await,
    }
}

/// One statement on a connection checked out for it, at most one row back; run again once
/// after a stale cached plan (see [`Replayable`]). Takes the query already taken apart (or
/// the error taking it apart gave), so the call's boxed future holds it once.
async fn fetch_optional_on(
    pool: &Pool,
    mut query: Result<Replayable, sqlx::Error>,
) -> crate::Result<Option<PgRow>> {
    // Used where it lies: moved out, it would take its size a second time in this future.
    let query = match query {
        Ok(ref mut query) => query,
        Err(ref mut err) => return Err(std::mem::replace(err, sqlx::Error::PoolClosed).into()),
    };
    let mut checkout = pool.checkout().await?;
    let conn = checkout.conn();
    let q = query.first();
    // One guarded operation, spelled out (`Conn::track` is made of these two calls) so that
    // the hot path has no closure futures to move: dropped midway, the connection stays
    // busy and is discarded.
    let busy = conn.enter();
    let result = match &pool.shared.inner.manager().pgbouncer {
        None => conn
            .raw_for_statement(&busy, &q.sql)
            .fetch_optional(q)
            .await
            .map_err(Error::from),
        // Boxed: its transaction future would otherwise make every call's future larger.
        Some(_) => {
            Box::pin(on_raw(
                pool,
                conn.raw_for_statement(&busy, &q.sql),
                async |raw| Ok(raw.fetch_optional(q).await?),
            ))
            .await
        }
    };
    conn.leave(busy, result.as_ref().err()).await;
    match result {
        Err(err) => match query.again(&err) {
            // Rare: boxed, so that its closure future does not grow the common one.
            Some(q) => Box::pin(conn.track(async |raw| Ok(raw.fetch_optional(q).await?))).await,
            None => Err(err),
        },
        ok => ok,
    }
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
        Box::pin(TryAsyncStream::new(move |yielder| async move {
            // Boxed here: the body's state (acquire, retry, the driver's call) is large, and
            // the span wrappers move their future by value; moving a pointer instead of the
            // state cut ~140k instructions of memcpy per point select (callgrind).
            observe::pool_executor(
                "fetch_many",
                &pool.shared.target,
                |_| None,
                Box::pin(async {
                    let mut query = Replayable::new(query, pool)?;
                    let mut conn = pool.checkout().await?;
                    // A stream dropped before its end leaves the statement's reply unread: the
                    // guard keeps the connection marked busy then, and it is discarded.
                    let mut next = Some(query.first());
                    while let Some(q) = next.take() {
                        let mut yielded = false;
                        conn.conn().note_statement(&q.sql);
                        let result = conn
                            .conn()
                            .track(async |raw| {
                                on_raw(pool, raw, async |raw| {
                                    let mut rows = raw.fetch_many(q);
                                    while let Some(item) = rows.try_next().await? {
                                        yielded = true;
                                        yielder.r#yield(item).await;
                                    }
                                    Ok(())
                                })
                                .await
                            })
                            .await;
                        if let Err(err) = result {
                            match query.again(&err) {
                                Some(q) if !yielded => next = Some(q),
                                _ => return Err(err),
                            }
                        }
                    }
                    Ok(())
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
        let query = Replayable::new(query, pool);
        if observe::spans_possible() {
            let rows = |row: &Option<PgRow>| Some(u64::from(row.is_some()));
            Box::pin(async move {
                // Boxed for the same reason as in `fetch_many`.
                let inner = Box::pin(fetch_optional_on(pool, query));
                observe::pool_executor("fetch_optional", &pool.shared.target, rows, inner)
                    .await
                    .map_err(into_sqlx)
            })
        } else {
            // No subscriber was ever installed: no span, no wrapper, one allocation.
            Box::pin(fetch_optional_on(pool, query).map_err(into_sqlx))
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
