//! Query helpers that work on the pool, a pooled connection, a transaction or a raw
//! connection, and per-call statement timeouts.
//!
//! The helpers take any sqlx executor (`&pool`, `&mut *conn`, `&mut *tx`) and a sqlx query
//! (`query`, `query_as`, `query_scalar`), run it in a tracing span, and return
//! [`pgtide::Error`](crate::Error): [`fetch_one`] turns "no row" into
//! [`Error::NotFound`] naming the statement.
//!
//! None of them retries: a statement that may have reached the server is never retried
//! silently. Wrap idempotent work in [`Pool::idempotent`](crate::Pool::idempotent) to have it
//! retried.
//!
//! # Per-call timeouts
//!
//! [`Pool::with_timeout`](crate::Pool::with_timeout), [`PooledConnection::with_timeout`](crate::PooledConnection::with_timeout)
//! and [`Transaction::with_timeout`](crate::Transaction::with_timeout) run a closure under
//! its own deadline, shorter or longer than the profile's `statement_timeout`:
//!
//! 1. the server's `statement_timeout` is raised to a backstop above the deadline (so a
//!    longer call is not cut short by the profile's limit); inside a transaction with
//!    `SET LOCAL`, so it ends with the transaction whatever a savepoint rollback undoes.
//!    When the profile's own `statement_timeout` is already at least that backstop
//!    (2 × the deadline + 1 s) on a session nobody changed, it is the backstop, and no
//!    `SET`/`RESET` is sent (two round trips saved);
//! 2. when the client-side deadline (which covers the whole call) passes first, pgtide
//!    cancels the running statement on the server (`pg_cancel_backend` from a short-lived
//!    second connection, within `connect_timeout`: sqlx keeps the cancel key private),
//!    reads the cancelled statement's reply off the connection, and restores
//!    `statement_timeout`;
//! 3. the call returns [`Error::Timeout`] and the connection is usable again. (A connection
//!    that cannot be drained is discarded instead of returned to the pool.)
//!
//! ```
//! use std::time::Duration;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! # let db = pgtide_testkit::TestDb::new().await?;
//! # let pool = pgtide::Pool::connect(&pgtide::config::Config::loader().no_file_search().env([("DATABASE_URL", db.url())]).load()?).await?;
//! use pgtide::{ErrorKind, query};
//!
//! let err = pool
//!     .with_timeout(Duration::from_millis(200), async |conn| {
//!         query::execute(conn, pgtide::sqlx::query("SELECT pg_sleep(5)")).await
//!     })
//!     .await
//!     .unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Timeout);
//!
//! let n: i64 = query::fetch_one(&pool, pgtide::sqlx::query_scalar("SELECT count(*) FROM authors")).await?;
//! # Ok(()) }
//! ```

use futures_core::future::BoxFuture;
use sqlx::postgres::PgRow;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Executor, FromRow, IntoArguments, Postgres};

use crate::error::{Error, Result};
use crate::observe;

/// A sqlx query that returns rows: `query`, `query_as` or `query_scalar`.
pub trait Fetch<'q>: Send + Sized {
    /// What one row becomes.
    type Output: Send + Unpin;

    /// Runs the query and returns the first row, if any.
    fn fetch_optional<'e, 'c: 'e, E>(
        self,
        db: E,
    ) -> BoxFuture<'e, sqlx::Result<Option<Self::Output>>>
    where
        'q: 'e,
        Self: 'e,
        E: 'e + Executor<'c, Database = Postgres>;

    /// Runs the query and returns every row.
    fn fetch_all<'e, 'c: 'e, E>(self, db: E) -> BoxFuture<'e, sqlx::Result<Vec<Self::Output>>>
    where
        'q: 'e,
        Self: 'e,
        E: 'e + Executor<'c, Database = Postgres>;
}

/// `Fetch` for one of sqlx's query types: its own inherent `fetch_optional`/`fetch_all`, boxed.
macro_rules! delegate_fetch {
    ($query:ident, $output:ty) => {
        type Output = $output;

        fn fetch_optional<'e, 'c: 'e, E>(
            self,
            db: E,
        ) -> BoxFuture<'e, sqlx::Result<Option<$output>>>
        where
            'q: 'e,
            Self: 'e,
            E: 'e + Executor<'c, Database = Postgres>,
        {
            Box::pin($query::fetch_optional(self, db))
        }

        fn fetch_all<'e, 'c: 'e, E>(self, db: E) -> BoxFuture<'e, sqlx::Result<Vec<$output>>>
        where
            'q: 'e,
            Self: 'e,
            E: 'e + Executor<'c, Database = Postgres>,
        {
            Box::pin($query::fetch_all(self, db))
        }
    };
}

impl<'q, O, A> Fetch<'q> for QueryAs<'q, Postgres, O, A>
where
    A: 'q + IntoArguments<Postgres> + Send,
    O: Send + Unpin + for<'r> FromRow<'r, PgRow>,
{
    delegate_fetch!(QueryAs, O);
}

impl<'q, O, A> Fetch<'q> for QueryScalar<'q, Postgres, O, A>
where
    A: 'q + IntoArguments<Postgres> + Send,
    O: Send + Unpin,
    (O,): Send + Unpin + for<'r> FromRow<'r, PgRow>,
{
    delegate_fetch!(QueryScalar, O);
}

impl<'q, A> Fetch<'q> for Query<'q, Postgres, A>
where
    A: 'q + IntoArguments<Postgres> + Send,
{
    delegate_fetch!(Query, PgRow);
}

/// Exactly one row: none is [`Error::NotFound`] (naming the statement when it runs inside
/// [`observe::statement`]), more than one returns the first.
pub async fn fetch_one<'q, 'e, 'c: 'e, E, Q>(db: E, query: Q) -> Result<Q::Output>
where
    'q: 'e,
    Q: Fetch<'q> + 'e,
    E: 'e + Executor<'c, Database = Postgres>,
{
    observe::helper("fetch_one", |_| Some(1), async move {
        match query.fetch_optional(db).await {
            Ok(Some(row)) => Ok(row),
            Ok(None) => Err(Error::NotFound {
                query: observe::current_statement()
                    .unwrap_or("a query expecting one row")
                    .to_owned(),
            }),
            Err(err) => Err(err.into()),
        }
    })
    .await
}

/// At most one row.
pub async fn fetch_optional<'q, 'e, 'c: 'e, E, Q>(db: E, query: Q) -> Result<Option<Q::Output>>
where
    'q: 'e,
    Q: Fetch<'q> + 'e,
    E: 'e + Executor<'c, Database = Postgres>,
{
    observe::helper(
        "fetch_optional",
        |r: &Option<_>| Some(u64::from(r.is_some())),
        async move { query.fetch_optional(db).await.map_err(Error::from) },
    )
    .await
}

/// Every row.
pub async fn fetch_all<'q, 'e, 'c: 'e, E, Q>(db: E, query: Q) -> Result<Vec<Q::Output>>
where
    'q: 'e,
    Q: Fetch<'q> + 'e,
    E: 'e + Executor<'c, Database = Postgres>,
{
    observe::helper("fetch_all", |r: &Vec<_>| Some(r.len() as u64), async move {
        query.fetch_all(db).await.map_err(Error::from)
    })
    .await
}

/// Runs a statement and returns the number of rows it affected.
pub async fn execute<'q, 'e, 'c: 'e, E, A>(db: E, query: Query<'q, Postgres, A>) -> Result<u64>
where
    'q: 'e,
    A: 'q + 'e + IntoArguments<Postgres> + Send,
    E: 'e + Executor<'c, Database = Postgres>,
{
    observe::helper("execute", |n| Some(*n), async move {
        query
            .execute(db)
            .await
            .map(|done| done.rows_affected())
            .map_err(Error::from)
    })
    .await
}
