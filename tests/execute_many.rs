//! `execute_many`: one statement over many parameter sets, all or nothing, on every target.

mod common;

use std::time::Instant;

use common::config;
use pgtide::{Connection, Pool, TxOptions, execute_many};
use pgtide_testkit::TestDb;

async fn setup(db: &TestDb) -> anyhow::Result<Pool> {
    let pool = Pool::connect(&config(db, 1, 2).build()?).await?;
    sqlx::query("CREATE TABLE kv (k int8 PRIMARY KEY, v text NOT NULL)")
        .execute(&pool)
        .await?;
    Ok(pool)
}

async fn count(pool: &Pool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM kv")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn ten_thousand_rows_in_one_transaction() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = setup(&db).await?;
    // A plain INSERT … VALUES: bound as column arrays (unnest), 10,000 rows a statement.
    let rows = (0..10_000_i64).map(|k| (k, format!("v{k}")));
    let n = execute_many(&pool, "INSERT INTO kv (k, v) VALUES ($1, $2)", rows).await?;
    assert_eq!(n, 10_000);
    assert_eq!(count(&pool).await, 10_000);
    // Any other statement: once per row, one prepared statement.
    let rows = (5_000..15_000_i64).map(|k| (k, format!("w{k}")));
    let sql = "INSERT INTO kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING";
    let n = execute_many(&pool, sql, rows).await?;
    assert_eq!(n, 5_000);
    assert_eq!(count(&pool).await, 15_000);
    // More rows than one unnest statement takes.
    let rows = (20_000..45_000_i64).map(|k| (k, Some(format!("v{k}"))));
    let n = execute_many(&pool, "insert into kv values ($1, $2);", rows).await?;
    assert_eq!(n, 25_000);
    let last: String = sqlx::query_scalar("SELECT v FROM kv WHERE k = 44999")
        .fetch_one(&pool)
        .await?;
    assert_eq!(last, "v44999");
    // Rows affected add up over the parameter sets (0, 1 or many per set).
    let n = execute_many(
        &pool,
        "UPDATE kv SET v = 'even' WHERE k % 2 = 0 AND k < $1",
        [(10_i64,), (-1,)],
    )
    .await?;
    assert_eq!(n, 5);
    Ok(())
}

#[tokio::test]
async fn one_failure_rolls_every_row_back() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = setup(&db).await?;
    // The 5,001st row repeats a key.
    let rows = (0..10_000_i64).map(|k| (if k == 5_000 { 7 } else { k }, "v".to_owned()));
    let err = execute_many(&pool, "INSERT INTO kv (k, v) VALUES ($1, $2)", rows)
        .await
        .unwrap_err();
    assert!(err.is_constraint_violation(), "{err}");
    assert_eq!(err.constraint(), Some("kv_pkey"));
    assert_eq!(count(&pool).await, 0);
    // Row by row, the same.
    let rows = (0..10_000_i64).map(|k| (k, if k == 5_000 { "bad" } else { "ok" }.to_owned()));
    let sql = "INSERT INTO kv (k, v) VALUES ($1, CASE WHEN $2 = 'bad' THEN NULL ELSE $2 END)";
    let err = execute_many(&pool, sql, rows).await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("23502"), "{err}");
    assert_eq!(count(&pool).await, 0);

    // Inside a transaction it is a savepoint: the transaction goes on, and commits the rest.
    let mut tx = pool.begin(TxOptions::default()).await?;
    execute_many(
        &mut tx,
        "INSERT INTO kv (k, v) VALUES ($1, $2)",
        [(1_i64, "a".to_owned())],
    )
    .await?;
    let more = [(2_i64, "b".to_owned()), (3, "c".to_owned())];
    execute_many(&mut tx, "INSERT INTO kv (k, v) VALUES ($1, $2)", more).await?;
    let err = execute_many(
        &mut tx,
        "INSERT INTO kv (k, v) VALUES ($1, NULLIF($2, 'x'))",
        [(4_i64, "x".to_owned())],
    )
    .await
    .unwrap_err();
    assert_eq!(err.sqlstate(), Some("23502"), "{err}");
    tx.commit().await?;
    assert_eq!(count(&pool).await, 3);

    // On a single connection too.
    let mut conn = Connection::connect(&config(&db, 1, 1).build()?).await?;
    let n = execute_many(
        &mut conn,
        "DELETE FROM kv WHERE k = $1",
        [(1_i64,), (2,), (99,)],
    )
    .await?;
    assert_eq!(n, 2);
    Ok(())
}

/// Measures the approaches the README compares (run with `--run-ignored only`).
#[tokio::test]
#[ignore = "measurement: cargo nextest run -p pgtide --test execute_many --run-ignored only --no-capture"]
async fn measure_prepared_reuse_against_unnest() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = setup(&db).await?;
    let n = 10_000_i64;
    let rows = || (0..n).map(|k| (k, format!("v{k}")));
    for round in 0..2 {
        sqlx::query("TRUNCATE kv").execute(&pool).await?;
        let started = Instant::now();
        // Not a plain INSERT … VALUES: one prepared statement, executed per row.
        let sql = "INSERT INTO kv (k, v) VALUES ($1, $2) ON CONFLICT DO NOTHING";
        execute_many(&pool, sql, rows()).await?;
        let reused = started.elapsed();

        sqlx::query("TRUNCATE kv").execute(&pool).await?;
        let started = Instant::now();
        execute_many(&pool, "INSERT INTO kv (k, v) VALUES ($1, $2)", rows()).await?;
        let unnest = started.elapsed();

        sqlx::query("TRUNCATE kv").execute(&pool).await?;
        let started = Instant::now();
        let mut tx = pool.begin(TxOptions::default()).await?;
        for (k, v) in rows() {
            sqlx::query("INSERT INTO kv (k, v) VALUES ($1, $2)")
                .bind(k)
                .bind(v)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        let plain = started.elapsed();
        println!(
            "round {round}: {n} rows: per row (prepared statement reused) {reused:?}, \
             as unnest arrays {unnest:?} ({:.0}x faster), plain sqlx loop in a transaction {plain:?}",
            reused.as_secs_f64() / unnest.as_secs_f64()
        );
    }
    Ok(())
}
