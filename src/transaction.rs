//! Transactions: a closure API that commits, rolls back and retries for you, and a manual
//! [`begin`](crate::Pool::begin) / [`commit`](Transaction::commit) for the escape-hatch case.
//!
//! [`Pool::transaction`](crate::Pool::transaction) runs the closure inside `BEGIN … COMMIT`:
//! - `Ok` commits; `Err` rolls back and returns the error; a panic rolls back and resumes
//!   the panic.
//! - The **whole closure** runs again (on a fresh transaction, after the retry policy's
//!   delay) when it fails with a serialization failure (`40001`) or deadlock (`40P01`), or
//!   when the connection is lost before `COMMIT` was sent, and when `COMMIT` itself reports
//!   `40001`/`40P01`. A connection lost *during* `COMMIT` is not retried: whether it
//!   committed is unknown. (When `COMMIT` goes without the check before it, see below, a
//!   connection lost after the body's last statement is first noticed by `COMMIT`, so it
//!   counts as lost during `COMMIT`.)
//! - A body that returns `Ok` after swallowing an error leaves an aborted transaction,
//!   whose `COMMIT` PostgreSQL turns into a rollback: that returns the server's `25P02`
//!   error, never `Ok`. Finding out costs one short round trip before `COMMIT`, which is
//!   skipped when pgtide saw every statement succeed: run them through the transaction
//!   itself (`&mut *tx` in a body, `&mut tx` for [`begin`](crate::Pool::begin)'s; it is a
//!   sqlx executor). Then a transaction whose statements only read and write rows also
//!   commits without the session reset ([`crate::pool::reset`]). The raw connection
//!   (`&mut **tx`, for APIs that want a `PgConnection`, such as a sqlx savepoint) works too,
//!   and costs both.
//! - Only the transaction's own work is run again. A statement the body runs through the
//!   pool itself (`&pool` instead of `&mut *tx`, `pool.acquire()`, `pool.idempotent`, a
//!   nested `pool.transaction`) is not part of the transaction and may have committed on its
//!   own connection: pgtide notices the checkout (same task as the body), logs a warning once,
//!   and then never runs that body again, whatever its error. Work the body spawns onto other
//!   tasks is not seen.
//! - Dropped midway (an outer timeout, `select!`), the connection is discarded rather than
//!   returned to the pool inside the transaction. Keep side effects outside the database out of the closure, or make
//!   them idempotent; turn retry off with [`TxOptions::no_retry`].
//!
//! ```
//! use pgtide::{Pool, TxOptions, query};
//! use pgtide::sqlx;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! # let db = pgtide_testkit::TestDb::new().await?;
//! # let pool = pgtide::Pool::connect(&pgtide::config::Config::loader().no_file_search().env([("DATABASE_URL", db.url())]).load()?).await?;
//! let visits: i64 = pool
//!     .transaction(TxOptions::serializable(), async |tx| {
//!         query::execute(&mut *tx, sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'visits'")).await?;
//!         query::fetch_one(&mut *tx, sqlx::query_scalar("SELECT value FROM counters WHERE name = 'visits'")).await
//!     })
//!     .await?;
//!
//! // Manual control, when the closure shape does not fit (no automatic retry):
//! let mut tx = pool.begin(TxOptions::default()).await?;
//! sqlx::query("DELETE FROM loans").execute(&mut tx).await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```

pub use crate::pool::transaction::{IsolationLevel, Transaction, TxOptions};
