//! # pgtide
//!
//! Rust applications on PostgreSQL, safely and fast.
//!
//! - [`config`]: a [`Config`](config::Config) that cannot be wrong at runtime — a type-state
//!   builder and layered loading with errors that name the key and its source.
//! - [`Pool`]: a measured pool of sqlx connections with session limits, health checks,
//!   startup retry and [`stats`](Pool::stats).
//! - [`Error`]: one error type whose [`kind`](Error::kind) says what to do, with SQLSTATE,
//!   constraint and retryability.
//! - [`retry`]: what is retried, and when never.
//! - [`transaction`], [`query`], [`observe`]: transactions with whole-body retry, query
//!   helpers with per-call timeouts, tracing spans.
//!
//! pgtide sits on [`sqlx`], re-exported here so that generated code and applications need
//! only this crate; anything pgtide does not wrap stays reachable through it.
//!
//! # The main flow: config → pool → query → result
//!
//! ```no_run
//! use pgtide::config::{Config, PoolSize};
//! use pgtide::{ErrorKind, Pool, SecretString, TxOptions, query, sqlx};
//!
//! # async fn run() -> pgtide::Result<()> {
//! let config = Config::builder()
//!     .host("127.0.0.1")
//!     .database("library")
//!     .user("app")
//!     .password(SecretString::from("s3cret"))
//!     .pool_size(PoolSize::new(1, 8)?)
//!     .build()?;
//! let pool = Pool::connect(&config).await?;
//!
//! // Any sqlx query (or generated query function) runs on `&pool`, `&mut *conn`, `&mut *tx`.
//! let name: String = query::fetch_one(&pool, sqlx::query_scalar("SELECT name FROM authors WHERE author_id = $1").bind(1_i64)).await?;
//!
//! // Errors say what to do.
//! match query::execute(&pool, sqlx::query("INSERT INTO authors (name, email) VALUES ('a', 'dup@example.org')")).await {
//!     Err(e) if e.is_constraint_violation() => println!("taken: {:?}", e.constraint()),
//!     Err(e) if e.kind() == ErrorKind::Timeout => println!("too slow: {e}"),
//!     other => { other?; }
//! }
//!
//! // Transactions commit, roll back and retry serialization failures.
//! pool.transaction(TxOptions::serializable(), async |tx| {
//!     query::execute(&mut **tx, sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'visits'")).await
//! }).await?;
//! println!("{}", pool.stats());
//! # Ok(()) }
//! ```
//!
//! # Escape hatches
//!
//! - A pooled connection and a transaction deref to [`sqlx::PgConnection`]:
//!   everything sqlx can do, they can.
//! - [`PooledConnection::detach`] takes a connection out of the pool for good;
//!   [`Pool::connect_unpooled`] opens one with the pool's settings;
//!   [`Pool::connect_options`] gives sqlx's options.
//! - [`Pool::begin`] gives manual transaction control.

pub mod config;
mod error;
pub mod observe;
pub mod pool;
pub mod query;
pub mod retry;
pub mod transaction;

pub use error::{Error, ErrorKind, PoolTimeout, Result, classify_sqlstate};
pub use pool::{Pool, PoolStats, PooledConnection};
pub use transaction::{IsolationLevel, Transaction, TxOptions};

pub use secrecy::{ExposeSecret, SecretString};
pub use sqlx;
