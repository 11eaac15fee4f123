//! Tracing spans for database work.
//!
//! Every operation pgtide runs (query helpers, `&Pool` as executor, transactions,
//! idempotent work, per-call timeouts) runs in a span with these fields:
//!
//! | field | value |
//! |---|---|
//! | `db.system` | `postgresql` |
//! | `db.name` | the database |
//! | `server.address` | `host:port` |
//! | `db.operation` | `fetch_one`, `fetch_all`, `execute`, `transaction`, ... |
//! | `db.statement.name` | the statement's name, from [`statement`] (generated code names its queries) |
//! | `db.rows` | rows returned or affected |
//! | `error.kind` | [`ErrorKind::as_str`](crate::ErrorKind::as_str) on failure |
//! | `duration_ms` | how long it took |
//!
//! Spans never hold parameter values or the password.
//!
//! # Naming a statement: the hook for generated code
//!
//! [`statement`] wraps one query's future in a `pgtide.statement` span named after the query.
//! Generated query functions call it, so their spans say `db.statement.name = "GetAuthor"`:
//!
//! ```
//! use pgtide::observe;
//!
//! async fn get_answer() -> pgtide::Result<i64> {
//!     observe::statement("GetAnswer", async { Ok(42_i64) }).await
//! }
//! # assert_eq!(tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(get_answer()).unwrap(), 42);
//! ```
//!
//! The result type says how many rows there were through [`RowCount`]; generated row
//! structs implement it with one line (`impl pgtide::observe::RowCount for GetAuthorRow {}`).
//! The database and server fields are filled in when the statement runs on `&Pool` or inside
//! [`Pool::transaction`](crate::Pool::transaction).

use std::future::Future;
use std::time::Instant;

use sqlx::postgres::{PgQueryResult, PgRow};
use tracing::Instrument;
use tracing::field::Empty;

use crate::error::Result;
use crate::pool::Shared;

/// Where a statement runs, for the span fields.
#[derive(Clone)]
pub(crate) struct Target {
    database: String,
    server: String,
}

tokio::task_local! {
    static TARGET: Target;
    static STATEMENT: &'static str;
}

impl Target {
    pub(crate) fn of(shared: &Shared) -> Self {
        Self {
            database: shared.config.connection().database.clone(),
            server: shared.server_address.clone(),
        }
    }

    fn record(&self, span: &tracing::Span) {
        span.record("db.name", self.database.as_str());
        span.record("server.address", self.server.as_str());
    }
}

/// Records the pool's database and server in the current span (a no-op for spans without
/// those fields).
pub(crate) fn record_target(shared: &Shared) {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return;
    }
    span.record("db.name", shared.config.connection().database.as_str());
    span.record("server.address", shared.server_address.as_str());
}

/// Runs `fut` with `shared`'s database and server known to [`statement`] spans inside it.
pub(crate) async fn with_target<F: Future>(shared: &Shared, fut: F) -> F::Output {
    TARGET.scope(Target::of(shared), fut).await
}

/// The statement name set by an enclosing [`statement`], if any.
pub(crate) fn current_statement() -> Option<&'static str> {
    STATEMENT.try_with(|s| *s).ok()
}

/// How many rows a result holds, for the `db.rows` span field.
///
/// Implemented for collections, options, query results and scalars; a generated row struct
/// implements it with the default (one row).
pub trait RowCount {
    /// Rows returned or affected; `None` when it says nothing about rows.
    fn row_count(&self) -> Option<u64> {
        Some(1)
    }
}

impl<T> RowCount for Vec<T> {
    fn row_count(&self) -> Option<u64> {
        Some(self.len() as u64)
    }
}

impl<T> RowCount for Option<T> {
    fn row_count(&self) -> Option<u64> {
        Some(u64::from(self.is_some()))
    }
}

impl RowCount for PgQueryResult {
    fn row_count(&self) -> Option<u64> {
        Some(self.rows_affected())
    }
}

/// `u64` is a count of affected rows (`:execrows`).
impl RowCount for u64 {
    fn row_count(&self) -> Option<u64> {
        Some(*self)
    }
}

impl RowCount for () {
    fn row_count(&self) -> Option<u64> {
        None
    }
}

macro_rules! one_row {
    ($($t:ty),*) => { $(impl RowCount for $t {})* };
}
one_row!(
    PgRow,
    bool,
    i16,
    i32,
    i64,
    f32,
    f64,
    String,
    serde_json::Value,
    sqlx::types::Uuid,
    sqlx::types::Decimal
);

macro_rules! tuple_row {
    ($($name:ident),*) => { impl<$($name),*> RowCount for ($($name,)*) {} };
}
tuple_row!(A);
tuple_row!(A, B);
tuple_row!(A, B, C);
tuple_row!(A, B, C, D);
tuple_row!(A, B, C, D, E);
tuple_row!(A, B, C, D, E, F);

/// Runs one named statement in a `pgtide.statement` span: the hook generated query
/// functions call so that spans carry the query's name (`db.statement.name`). Errors get
/// `error.kind`, results `db.rows` (see [`RowCount`]).
pub async fn statement<T, F>(name: &'static str, fut: F) -> Result<T>
where
    F: Future<Output = Result<T>>,
    T: RowCount,
{
    let span = tracing::info_span!(
        "pgtide.statement",
        db.system = "postgresql",
        db.name = Empty,
        server.address = Empty,
        db.statement.name = name,
        db.rows = Empty,
        error.kind = Empty,
        duration_ms = Empty,
    );
    if let Ok(target) = TARGET.try_with(Target::clone) {
        target.record(&span);
    }
    finish(
        &span,
        T::row_count,
        STATEMENT.scope(name, fut.instrument(span.clone())),
    )
    .await
}

/// Runs a pgtide operation in a `pgtide.query` span.
pub(crate) async fn operation<T, F>(
    operation: &'static str,
    shared: &Shared,
    rows: impl Fn(&T) -> Option<u64>,
    fut: F,
) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    let span = tracing::info_span!(
        "pgtide.query",
        db.system = "postgresql",
        db.name = Empty,
        server.address = Empty,
        db.operation = operation,
        db.statement.name = Empty,
        db.rows = Empty,
        error.kind = Empty,
        duration_ms = Empty,
    );
    Target::of(shared).record(&span);
    if let Some(name) = current_statement() {
        span.record("db.statement.name", name);
    }
    finish(
        &span,
        rows,
        with_target(shared, fut.instrument(span.clone())),
    )
    .await
}

/// A `pgtide.query` span for a helper run on an executor pgtide does not know (a raw
/// connection): database and server are filled in by `&Pool` or an enclosing transaction.
pub(crate) async fn helper<T, F>(
    operation: &'static str,
    rows: impl Fn(&T) -> Option<u64>,
    fut: F,
) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    let span = tracing::info_span!(
        "pgtide.query",
        db.system = "postgresql",
        db.name = Empty,
        server.address = Empty,
        db.operation = operation,
        db.statement.name = Empty,
        db.rows = Empty,
        error.kind = Empty,
        duration_ms = Empty,
    );
    if let Ok(target) = TARGET.try_with(Target::clone) {
        target.record(&span);
    }
    if let Some(name) = current_statement() {
        span.record("db.statement.name", name);
    }
    finish(&span, rows, fut.instrument(span.clone())).await
}

async fn finish<T>(
    span: &tracing::Span,
    rows: impl Fn(&T) -> Option<u64>,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    let started = Instant::now();
    let result = fut.await;
    span.record("duration_ms", started.elapsed().as_secs_f64() * 1000.0);
    match &result {
        Ok(value) => {
            if let Some(rows) = rows(value) {
                span.record("db.rows", rows);
            }
        }
        Err(err) => {
            span.record("error.kind", err.kind().as_str());
        }
    }
    result
}
