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
use futures_util::TryStreamExt;
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Either, Execute, Executor, Postgres, SqlStr};
use sqlx_core::ext::async_stream::TryAsyncStream;

use super::Pool;
use crate::error::{Error, into_sqlx};
use crate::observe;

impl<'p> Executor<'p> for &'_ Pool {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let pool = self.clone();
        Box::pin(TryAsyncStream::new(move |yielder| async move {
            let shared = std::sync::Arc::clone(&pool.shared);
            observe::pool_executor("fetch_many", &shared, |_| None, async {
                let mut conn = pool.acquire().await?;
                // A stream dropped before its end leaves the statement's reply unread: the
                // connection is discarded then (see `Conn::in_flight`).
                conn.conn().start_in_flight();
                let mut rows = conn.fetch_many(query);
                loop {
                    match rows.try_next().await {
                        Ok(Some(item)) => yielder.r#yield(item).await,
                        Ok(None) => break,
                        Err(err) => {
                            drop(rows);
                            let err = Error::from(err);
                            conn.conn().end_in_flight();
                            conn.conn().observe(&err);
                            return Err(err);
                        }
                    }
                }
                drop(rows);
                conn.conn().end_in_flight();
                Ok(())
            })
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
        let pool = self.clone();
        Box::pin(async move {
            let shared = std::sync::Arc::clone(&pool.shared);
            let rows = |row: &Option<PgRow>| Some(u64::from(row.is_some()));
            observe::pool_executor("fetch_optional", &shared, rows, async {
                let mut conn = pool.acquire().await?;
                conn.conn().start_in_flight();
                let result = conn.fetch_optional(query).await;
                conn.conn().end_in_flight();
                result.map_err(|err| {
                    let err = Error::from(err);
                    conn.conn().observe(&err);
                    err
                })
            })
            .await
            .map_err(into_sqlx)
        })
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement, sqlx::Error>>
    where
        'p: 'e,
    {
        let pool = self.clone();
        Box::pin(async move {
            let mut conn = pool.acquire().await.map_err(into_sqlx)?;
            conn.conn().start_in_flight();
            let result = conn.prepare_with(sql, parameters).await;
            conn.conn().end_in_flight();
            result
        })
    }

    fn describe<'e>(
        self,
        sql: SqlStr,
    ) -> BoxFuture<'e, Result<sqlx::Describe<Postgres>, sqlx::Error>>
    where
        'p: 'e,
    {
        let pool = self.clone();
        Box::pin(async move {
            let mut conn = pool.acquire().await.map_err(into_sqlx)?;
            conn.conn().start_in_flight();
            let result = conn.describe(sql).await;
            conn.conn().end_in_flight();
            result
        })
    }
}
