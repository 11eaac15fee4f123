//! pgtide without async (profile `{profile}`): one pool shared by several threads, a
//! transaction with a blocking body, rows streamed as an iterator. No `#[tokio::main]`:
//! the pool runs a small runtime of its own.

use pgtide::blocking::Pool;
use pgtide::config::Config;
use pgtide::{TxOptions, sqlx};

fn main() -> Result<(), pgtide::Error> {
    let config = Config::loader().profile("{profile}").load()?;
    let pool = Pool::connect(&config)?;

    // The pool is `Send + Sync` and cheap to clone: share it between threads.
    let threads: Vec<_> = (1..=4_i64)
        .map(|n| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                pool.fetch_one(sqlx::query_scalar::<_, i64>("SELECT $1::int8 * 10").bind(n))
            })
        })
        .collect();
    let mut total = 0;
    for thread in threads {
        total += thread.join().expect("the thread did not panic")?;
    }
    println!("sum from 4 threads: {total}");

    // Committed when the body returns Ok, rolled back on Err, retried on serialization
    // failures. A temporary table, so the example changes nothing in your database.
    let rows = pool.transaction(TxOptions::serializable(), |tx| {
        tx.execute(sqlx::query(
            "CREATE TEMP TABLE pgtide_example (n int) ON COMMIT DROP",
        ))?;
        tx.execute(sqlx::query("INSERT INTO pgtide_example VALUES (1), (2), (3)"))
    })?;
    println!("inserted {rows} rows in a transaction");

    // Rows arrive while you iterate; memory stays flat whatever the result size.
    let mut streamed = 0;
    for row in pool.fetch_iter(sqlx::query("SELECT generate_series(1, 1000)"))? {
        row?;
        streamed += 1;
    }
    println!("streamed {streamed} rows");
    pool.close_within(std::time::Duration::from_secs(5))?;
    Ok(())
}
