//! One statement over many parameter sets, all or nothing.
//!
//! [`execute_many`] runs one statement once per parameter set inside one transaction (a
//! savepoint when the target is already in one) and returns the total rows affected. The
//! first failure rolls everything back and is returned.
//!
//! # Round trips, measured
//!
//! sqlx 0.9 has no pipelining API (every execution waits for its `ReadyForQuery`), so the
//! choices are:
//!
//! | approach | round trips for n rows | 10,000 rows (2-core machine, loopback) |
//! |---|---|---|
//! | one prepared statement, reused (what `execute_many` does) | n + 3 | see the README ("Moving data") |
//! | `unnest` arrays: `INSERT … SELECT * FROM unnest($1::int8[], $2::text[])` | 1 | see the README |
//! | pipelining | n/a: not expressible with sqlx 0.9 | – |
//!
//! `unnest` is the fastest way to insert many rows in one statement, but it needs the SQL
//! rewritten around arrays, which only you can do for an arbitrary statement (an `UPDATE`'s
//! meaning changes when its rows come from a join). `execute_many` takes any statement:
//! sqlx parses it once (the statement is cached per connection) and every further row
//! costs one `Bind`/`Execute`/`Sync` round trip. For bulk loads, [`crate::copy`] is faster
//! still.
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

use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{Encode, PgConnection, Postgres, SqlSafeStr, Type};

use crate::error::{Error, Result};
use crate::observe;
use crate::target::Target;

/// One parameter set for [`execute_many`]: binds its values as `$1, $2, …`.
///
/// Implemented for tuples (up to 12) of owned values sqlx can bind.
pub trait Params {
    /// Binds the values to `query` in order.
    fn bind(self, query: Query<'static, Postgres, PgArguments>)
    -> Query<'static, Postgres, PgArguments>;
}

macro_rules! tuple_params {
    ($(($($t:ident $i:tt),+);)+) => {$(
        impl<$($t),+> Params for ($($t,)+)
        where
            $($t: 'static + Send + for<'q> Encode<'q, Postgres> + Type<Postgres>,)+
        {
            fn bind(
                self,
                query: Query<'static, Postgres, PgArguments>,
            ) -> Query<'static, Postgres, PgArguments> {
                query$(.bind(self.$i))+
            }
        }
    )+};
}

tuple_params! {
    (A 0);
    (A 0, B 1);
    (A 0, B 1, C 2);
    (A 0, B 1, C 2, D 3);
    (A 0, B 1, C 2, D 3, E 4);
    (A 0, B 1, C 2, D 3, E 4, F 5);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
}

/// Runs `sql` once per parameter set in `rows`, all inside one transaction (a savepoint
/// when `target` is already in one), and returns the total rows affected. Any failure rolls
/// all of it back; the error is the statement's, unchanged (its SQLSTATE, constraint …).
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
    let target = target.into();
    observe::named("execute_many", |n: &u64| Some(*n), async {
        target
            .run(async move |conn: &mut PgConnection| {
                let mut tx = sqlx::Connection::begin(conn).await?;
                let mut affected = 0;
                for row in rows {
                    match row.bind(sqlx::query(sql.clone())).execute(&mut *tx).await {
                        Ok(done) => affected += done.rows_affected(),
                        Err(err) => {
                            let err = Error::from(err);
                            // A failed rollback means a lost connection: `err` says more.
                            let _ = tx.rollback().await;
                            return Err(err);
                        }
                    }
                }
                tx.commit().await?;
                Ok(affected)
            })
            .await
    })
    .await
}
