//! One statement over many parameter sets, all or nothing.
//!
//! [`execute_many`] runs one statement once per parameter set inside one transaction (a
//! savepoint when the target is already in one) and returns the total rows affected. The
//! first failure rolls everything back and is returned.
//!
//! # Round trips, measured
//!
//! sqlx 0.9 has no pipelining API (every execution waits for its `ReadyForQuery`), so
//! "fewest round trips" means fewest statements. Measured on this repository's 2-core
//! machine (debug build, loopback, 10,000 two-column rows, two rounds;
//! `cargo nextest run -p pgtide --test execute_many --run-ignored only --no-capture`):
//!
//! | approach | round trips for n rows | 10,000 rows |
//! |---|---|---|
//! | one prepared statement reused, one execution per row | n + 3 | 3.4–6.6 s |
//! | the same as a hand-written sqlx loop in a transaction | n + 3 | 4.6–5.3 s |
//! | **`unnest` arrays**: `INSERT … SELECT * FROM unnest($1, $2)` | 1 per 10,000 rows (+ 2) | **84–136 ms (40–49× faster)** |
//! | pipelining | not expressible with sqlx 0.9 | – |
//!
//! So `execute_many` binds the rows of a plain `INSERT INTO … VALUES ($1, …, $n)` (nothing
//! after the parentheses) as one array per column and runs
//! `INSERT INTO … SELECT * FROM unnest($1, …, $n)`, 10,000 rows per statement. Every other
//! statement (`UPDATE`, `DELETE`, `INSERT … ON CONFLICT`/`RETURNING`, expressions around
//! the parameters) runs once per row on one prepared statement: rewriting those around
//! arrays can change what they mean (an `ON CONFLICT DO UPDATE` touching a row twice fails
//! in one statement but not in two), so pgtide does not. For bulk loads, [`crate::copy`] is
//! faster still.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! # let db = pgtide_testkit::TestDb::new().await?;
//! # let pool = pgtide::Pool::connect(&pgtide::config::Config::loader().no_file_search().env([("DATABASE_URL", db.url())]).load()?).await?;
//! use pgtide::execute_many;
//!
//! let rows = [("Le Guin".to_owned(), "ursula@example.org".to_owned()), ("Jemisin".to_owned(), "nk@example.org".to_owned())];
//! let inserted = execute_many(&pool, "INSERT INTO authors (name, email) VALUES ($1, $2)", rows).await?;
//! assert_eq!(inserted, 2);
//! # Ok(()) }
//! ```

use sqlx::postgres::{PgArguments, PgHasArrayType};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Encode, PgConnection, Postgres, SqlSafeStr, SqlStr, Type};

use crate::error::{Error, Result};
use crate::observe;
use crate::target::Target;

/// Rows per `unnest` statement: bounds the memory the column arrays take.
const UNNEST_ROWS: usize = 10_000;

/// One parameter set for [`execute_many`]: binds its values as `$1, $2, …`, one row at a
/// time or (for a plain `INSERT … VALUES`) as one array per column.
///
/// Implemented for tuples (up to 12) of owned values sqlx can bind, and bind as arrays
/// (`PgHasArrayType`: the built-in types, `Option`s of them, and `#[derive(sqlx::Type)]`
/// enums).
pub trait Params: Sized {
    /// The number of parameters.
    const LEN: usize;
    /// One growing array per parameter.
    type Columns: Default;

    /// Binds the values to `query` in order.
    fn bind(
        self,
        query: Query<'static, Postgres, PgArguments>,
    ) -> Query<'static, Postgres, PgArguments>;

    /// Appends the values to the column arrays.
    fn push(self, columns: &mut Self::Columns);

    /// Binds the column arrays to `query` in order.
    fn bind_columns(
        columns: Self::Columns,
        query: Query<'static, Postgres, PgArguments>,
    ) -> Query<'static, Postgres, PgArguments>;
}

macro_rules! tuple_params {
    ($($len:literal: ($($t:ident $i:tt),+);)+) => {$(
        impl<$($t),+> Params for ($($t,)+)
        where
            $($t: 'static + Send + for<'q> Encode<'q, Postgres> + Type<Postgres> + PgHasArrayType,)+
        {
            const LEN: usize = $len;
            type Columns = ($(Vec<$t>,)+);

            fn bind(
                self,
                query: Query<'static, Postgres, PgArguments>,
            ) -> Query<'static, Postgres, PgArguments> {
                query$(.bind(self.$i))+
            }

            fn push(self, columns: &mut Self::Columns) {
                $(columns.$i.push(self.$i);)+
            }

            fn bind_columns(
                columns: Self::Columns,
                query: Query<'static, Postgres, PgArguments>,
            ) -> Query<'static, Postgres, PgArguments> {
                query$(.bind(columns.$i))+
            }
        }
    )+};
}

crate::tuples::for_each_tuple!(tuple_params);

/// Runs `sql` once per parameter set in `rows`, all inside one transaction (a savepoint
/// when `target` is already in one), and returns the total rows affected. Any failure rolls
/// all of it back; the error is the statement's, unchanged (its SQLSTATE, constraint …).
///
/// A plain `INSERT INTO … VALUES ($1, …, $n)` (nothing after the parentheses) runs as
/// `INSERT INTO … SELECT * FROM unnest($1, …, $n)` with one array per column, 10,000 rows
/// per statement; any other statement runs once per row. See the [module docs](self) for
/// the measurements behind that choice.
///
/// Not retried: wrap it in [`Pool::transaction`](crate::Pool::transaction) for that.
/// Dropped midway on a pooled connection, the connection is discarded (the server rolls
/// the transaction back when it closes).
pub async fn execute_many<'c, P>(
    target: impl Into<Target<'c>>,
    sql: impl SqlSafeStr,
    rows: impl IntoIterator<Item = P>,
) -> Result<u64>
where
    P: Params,
{
    let sql = sql.into_sql_str();
    let unnest = as_unnest(sql.as_str(), P::LEN);
    let target = target.into();
    // Boxed: a large nested future (see `copy::in_::run`).
    Box::pin(observe::named("execute_many", |n: &u64| Some(*n), async {
        target
            .run(async move |conn: &mut PgConnection| {
                let mut tx = sqlx::Connection::begin(conn).await?;
                let result = match unnest {
                    Some(unnest) => by_columns::<P>(&mut tx, unnest, rows).await,
                    None => by_rows(&mut tx, sql, rows).await,
                };
                match result {
                    Ok(affected) => {
                        tx.commit().await?;
                        Ok(affected)
                    }
                    Err(err) => {
                        // A failed rollback means a lost connection: `err` says more.
                        let _ = tx.rollback().await;
                        Err(err)
                    }
                }
            })
            .await
    }))
    .await
}

/// One execution per row, of one prepared statement.
async fn by_rows<P: Params>(
    conn: &mut PgConnection,
    sql: SqlStr,
    rows: impl IntoIterator<Item = P>,
) -> Result<u64> {
    let mut affected = 0;
    for row in rows {
        affected += row
            .bind(sqlx::query(sql.clone()))
            .execute(&mut *conn)
            .await
            .map_err(Error::from)?
            .rows_affected();
    }
    Ok(affected)
}

/// One execution per [`UNNEST_ROWS`] rows, the rows bound as column arrays.
async fn by_columns<P: Params>(
    conn: &mut PgConnection,
    sql: SqlStr,
    rows: impl IntoIterator<Item = P>,
) -> Result<u64> {
    let mut affected = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut columns = P::Columns::default();
        for row in rows.by_ref().take(UNNEST_ROWS) {
            row.push(&mut columns);
        }
        affected += P::bind_columns(columns, sqlx::query(sql.clone()))
            .execute(&mut *conn)
            .await
            .map_err(Error::from)?
            .rows_affected();
    }
    Ok(affected)
}

/// `INSERT … VALUES ($1, …, $n)` as `INSERT … SELECT * FROM unnest($1, …, $n)`; `None` for
/// anything else (which then runs row by row, always correct).
fn as_unnest(sql: &str, params: usize) -> Option<SqlStr> {
    let sql = sql.trim().trim_end_matches(';').trim_end();
    let upper = sql.to_ascii_uppercase();
    if !upper.starts_with("INSERT") || params == 0 {
        return None;
    }
    let at = upper.rfind("VALUES")?;
    let (head, tail) = (&sql[..at], &sql[at + "VALUES".len()..]);
    // The head must not use parameters or another VALUES list; the tail must be exactly
    // `($1, …, $n)`.
    if head.contains('$') || upper[..at].contains("VALUES") || !head.ends_with(char::is_whitespace)
    {
        return None;
    }
    let inner = tail.trim().strip_prefix('(')?.strip_suffix(')')?;
    let listed: Vec<&str> = inner.split(',').map(str::trim).collect();
    let expected: Vec<String> = (1..=params).map(|i| format!("${i}")).collect();
    if listed != expected {
        return None;
    }
    Some(
        AssertSqlSafe(format!(
            "{head}SELECT * FROM unnest({})",
            expected.join(", ")
        ))
        .into_sql_str(),
    )
}

#[cfg(test)]
mod tests {
    use super::as_unnest;

    #[test]
    fn only_a_plain_insert_values_becomes_unnest() {
        let u = |sql: &str, n| as_unnest(sql, n).map(|s| s.as_str().to_owned());
        assert_eq!(
            u("INSERT INTO t (a, b) VALUES ($1, $2);", 2).as_deref(),
            Some("INSERT INTO t (a, b) SELECT * FROM unnest($1, $2)")
        );
        assert_eq!(
            u("insert into t values( $1,$2 )", 2).as_deref(),
            Some("insert into t SELECT * FROM unnest($1, $2)")
        );
        for other in [
            "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            "INSERT INTO t (a, b) VALUES ($1, $2) RETURNING a",
            "INSERT INTO t (a, b) VALUES ($2, $1)",
            "INSERT INTO t (a, b) VALUES ($1, now())",
            "INSERT INTO t (a, b) VALUES ($1, $2), ($1, $2)",
            "WITH x AS (SELECT $3) INSERT INTO t (a, b) VALUES ($1, $2)",
            "UPDATE t SET a = $1 WHERE b = $2",
        ] {
            assert_eq!(u(other, 2), None, "{other}");
        }
        assert_eq!(u("INSERT INTO t (a) VALUES ($1)", 2), None);
    }
}
