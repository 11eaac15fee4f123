//! Where bulk work ([`crate::copy`], [`crate::execute_many`](mod@crate::execute_many)) runs:
//! the pool, a pooled connection, a transaction, a single [`crate::Connection`] or a raw sqlx
//! connection.
//!
//! A COPY or a batch dropped midway (its future cancelled by a timeout or `select!`) leaves
//! the session in the middle of a protocol exchange. On a pooled connection the pool then
//! discards the connection instead of handing it out again; that is what [`Target`] is for:
//! every bulk operation runs through `Target::run`, the one place that marks pooled work
//! as started and completed.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! # let db = pgtide_testkit::TestDb::new().await?;
//! # let pool = pgtide::Pool::connect(&pgtide::config::Config::loader().no_file_search().env([("DATABASE_URL", db.url())]).load()?).await?;
//! use pgtide::copy::CopyOut;
//!
//! let mut out = Vec::new();
//! CopyOut::query("SELECT 1 AS one").csv().header(true).to_writer(&pool, &mut out).await?;
//! let mut conn = pool.acquire().await?;
//! CopyOut::query("SELECT 2").to_writer(&mut conn, &mut out).await?;
//! assert_eq!(out, b"one\n1\n2\n");
//! # Ok(()) }
//! ```

use sqlx::PgConnection;

use crate::connection::Connection;
use crate::error::Result;
use crate::pool::{Pool, PooledConnection};
use crate::transaction::Transaction;

/// Where a bulk operation runs. Made with `.into()` from `&Pool`, `&mut PooledConnection`,
/// `&mut Transaction`, `&mut Connection`, `&mut PgConnection` or a sqlx
/// `&mut PoolConnection<Postgres>`; functions taking
/// `impl Into<Target>` accept any of them.
#[derive(Debug)]
pub enum Target<'c> {
    /// A connection is checked out for the operation and handed back after it; discarded
    /// instead if the operation was abandoned midway.
    Pool(&'c Pool),
    /// The same, for a connection already checked out.
    Pooled(&'c mut PooledConnection),
    /// A connection the caller owns. An operation abandoned midway leaves it mid-protocol:
    /// close it rather than reuse it.
    Raw(&'c mut PgConnection),
}

impl<'c> From<&'c Pool> for Target<'c> {
    fn from(pool: &'c Pool) -> Self {
        Self::Pool(pool)
    }
}

impl<'c> From<&'c mut PooledConnection> for Target<'c> {
    fn from(conn: &'c mut PooledConnection) -> Self {
        Self::Pooled(conn)
    }
}

impl<'c> From<&'c mut PgConnection> for Target<'c> {
    fn from(conn: &'c mut PgConnection) -> Self {
        Self::Raw(conn)
    }
}

impl<'c> From<&'c mut Connection> for Target<'c> {
    fn from(conn: &'c mut Connection) -> Self {
        Self::Raw(conn.raw_mut())
    }
}

/// A connection from a sqlx `PgPool`, for applications that keep one beside pgtide.
impl<'c> From<&'c mut sqlx::pool::PoolConnection<sqlx::Postgres>> for Target<'c> {
    fn from(conn: &'c mut sqlx::pool::PoolConnection<sqlx::Postgres>) -> Self {
        Self::Raw(conn)
    }
}

/// The transaction's pooled connection: work abandoned midway gets it discarded (the
/// transaction then closes it instead of rolling back behind a half-finished exchange).
impl<'c> From<&'c mut Transaction> for Target<'c> {
    fn from(tx: &'c mut Transaction) -> Self {
        Self::Pooled(tx.pooled())
    }
}

impl Target<'_> {
    /// Runs `work` on the target's connection. On a pooled connection the work is marked
    /// in flight until it completes, so a dropped future discards the connection.
    pub(crate) async fn run<T>(
        self,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
    ) -> Result<T> {
        match self {
            Self::Pool(pool) => {
                let mut conn = pool.acquire().await?;
                on_pooled(&mut conn, work).await
            }
            Self::Pooled(conn) => on_pooled(conn, work).await,
            Self::Raw(conn) => work(conn).await,
        }
    }
}

/// The one place bulk work touches a pooled connection: through its guard
/// (`pool::guard::Conn`), entered before the work and left only when the work completed or
/// the server reported an error (sqlx has then read the exchange to its end). Any other
/// failure (a reader or writer that failed midway) never leaves, like a dropped future: the
/// connection stays busy, so the pool discards it. The session is reset before reuse.
async fn on_pooled<T>(
    conn: &mut PooledConnection,
    work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
) -> Result<T> {
    let conn = conn.conn();
    let busy = conn.enter();
    let result = work(conn.raw_for_work(&busy)).await;
    match &result {
        Ok(_) => conn.leave(busy, None).await,
        Err(err) if err.sqlstate().is_some() => conn.leave(busy, Some(err)).await,
        Err(_) => drop(busy),
    }
    result
}
