//! pgtide without async: a pool, a single connection, query helpers, transactions with
//! retry, COPY and streaming for programs with no tokio runtime of their own (scripts,
//! CLIs, sync services). Same configuration, same [`Error`](crate::Error)s.
//!
//! A blocking [`Pool`] owns a small tokio runtime (one worker thread, which drives the
//! sockets, timers and the pool's upkeep); each call runs to completion on the calling
//! thread. It is `Send + Sync` and cheap to clone: share it between threads.
//!
//! Called on a thread of a tokio runtime (a task, `block_on`, `spawn_blocking` alike: tokio
//! does not let a library tell them apart), every blocking function returns an error saying
//! to use the async [`crate::Pool`] there, instead of stalling the runtime or panicking.
//! Call it from plain threads.
//!
//! ```
//! use pgtide::blocking::Pool;
//! use pgtide::{TxOptions, sqlx};
//!
//! # fn main() -> anyhow::Result<()> {
//! # let db = tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(pgtide_testkit::TestDb::new())?;
//! # let config = pgtide::config::Config::loader().no_file_search().env([("DATABASE_URL", db.url())]).load()?;
//! let pool = Pool::connect(&config)?;
//! let n: i64 = pool.fetch_one(sqlx::query_scalar("SELECT count(*) FROM authors"))?;
//!
//! // A transaction: committed on Ok, rolled back on Err, retried on serialization failures.
//! pool.transaction(TxOptions::serializable(), |tx| {
//!     tx.execute(sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'visits'"))
//! })?;
//!
//! // Rows as an iterator, fetched while you iterate.
//! for row in pool.fetch_iter(sqlx::query("SELECT generate_series(1, 3)"))? {
//!     let _row = row?;
//! }
//!
//! // Generated query functions (and anything async over `&pgtide::Pool`): one line.
//! let one: i32 = pool.run(async |p| Ok(sqlx::query_scalar("SELECT 1").fetch_one(p).await?))?;
//! # assert_eq!((n, one), (0, 1));
//! # Ok(()) }
//! ```

mod connection;
mod helpers;
mod io;
mod rows;
mod runtime;
mod transaction;
#[cfg(feature = "transfer")]
mod transfer;

use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;

use crate::config::Config;
use crate::error::Result;
use crate::pool::{CloseOutcome, PoolStats};
use crate::transaction::TxOptions;
use helpers::query_helpers;
use runtime::Runtime;

pub use connection::Connection;
pub use rows::Rows;
pub use transaction::Transaction;

/// A blocking pool: [`crate::Pool`] with a runtime of its own. See the [module docs](self).
///
/// `Debug` shows what the async pool shows (never the password). When the last clone is
/// dropped the idle connections are closed politely.
#[derive(Clone)]
pub struct Pool {
    // Field order: the pool drops (closing idle connections) before the runtime.
    pool: ClosingPool,
    rt: Runtime,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("blocking::Pool").field(&self.pool.0).finish()
    }
}

impl Pool {
    /// Builds the pool and its runtime and opens the first connections, as
    /// [`crate::Pool::connect`] does (with its retry).
    pub fn connect(config: &Config) -> Result<Self> {
        let rt = Runtime::new()?;
        let pool = rt.run(async { crate::Pool::connect(config).await })?;
        Ok(Self {
            pool: ClosingPool(pool, rt.clone()),
            rt,
        })
    }

    query_helpers!(shared);

    /// Runs `body` in a transaction: committed when it returns `Ok`, rolled back on `Err` or
    /// panic, run again from the start on serialization failures, deadlocks and connections
    /// lost before `COMMIT`, within the retry policy: [`crate::Pool::transaction`], for a
    /// blocking body.
    pub fn transaction<T>(
        &self,
        options: TxOptions,
        mut body: impl FnMut(&mut Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let rt = &self.rt;
        rt.run(self.pool.0.transaction(options, async |tx| {
            // The body blocks: let it, outside the runtime's context, so its own statements
            // can `block_on` again.
            runtime::blocking_body(|| body(&mut Transaction::new(rt, tx)))
        }))
    }

    /// The rows of `query` as an [`Iterator`], fetched while you iterate (a bounded number
    /// ahead): memory stays flat whatever the result size. Stop early by dropping it.
    pub fn fetch_iter(&self, query: Query<'static, Postgres, PgArguments>) -> Result<Rows> {
        Rows::start(&self.rt, &self.pool.0, query)
    }

    /// The bridge to anything async over [`crate::Pool`], generated query functions
    /// included, run to completion on this thread:
    ///
    /// ```ignore
    /// let author = pool.run(async |p| queries::authors::get_author(p, id).await)?;
    /// ```
    pub fn run<T>(&self, work: impl AsyncFnOnce(&crate::Pool) -> Result<T>) -> Result<T> {
        self.rt.run(work(&self.pool.0))
    }

    /// Closes the pool as [`crate::Pool::close_within`] does: no new checkouts, in-flight
    /// work gets `grace`, then stragglers are terminated.
    pub fn close_within(&self, grace: Duration) -> Result<CloseOutcome> {
        self.rt.block_on(self.pool.0.close_within(grace))
    }

    /// The pool's counters.
    pub fn stats(&self) -> PoolStats {
        self.pool.0.stats()
    }

    /// The async pool inside (usable only from inside a runtime, e.g. in [`run`](Self::run)).
    pub fn as_async(&self) -> &crate::Pool {
        &self.pool.0
    }

    fn parts(&self) -> (&Runtime, &crate::Pool) {
        (&self.rt, &self.pool.0)
    }
}

/// The async pool, closed politely (idle connections get `Terminate`) when the last blocking
/// handle goes away.
#[derive(Clone)]
struct ClosingPool(crate::Pool, Runtime);

impl Drop for ClosingPool {
    fn drop(&mut self) {
        // Only the last clone (this one and the pool's internals hold the shared state).
        if std::sync::Arc::strong_count(&self.0.shared) == 1 && !self.0.is_closed() {
            let _ = self.1.block_on(self.0.close_within(Duration::ZERO));
        }
    }
}
