//! Streaming rows on a pool, a pooled connection, a transaction, a single connection and
//! through generated `:stream` code; a stream dropped midway leaves nothing busy behind.
//! (Peak memory: `tests/stream_memory.rs`, a binary of its own.)

mod common;

use common::{config, next_pid};
use futures_util::{StreamExt, TryStreamExt};
use pgtide::codegen_support::{Statement, fetch_stream, first_column};
use pgtide::{Connection, Pool, TxOptions};
use pgtide_testkit::TestDb;

const MANY: &str = "SELECT g FROM generate_series(1, 100000) g";

async fn sum<'e>(db: impl sqlx::PgExecutor<'e> + 'e) -> anyhow::Result<i64> {
    let mut rows = sqlx::query_scalar::<_, i32>(MANY).fetch(db);
    let mut total = 0_i64;
    while let Some(g) = rows.try_next().await? {
        total += i64::from(g);
    }
    Ok(total)
}

const TOTAL: i64 = 100_000 * 100_001 / 2;

static STREAM_G: Statement = Statement {
    name: "StreamG",
    sql: MANY,
};

#[tokio::test]
async fn rows_stream_on_every_kind_of_connection() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 2).build()?;
    let pool = Pool::connect(&cfg).await?;
    assert_eq!(sum(&pool).await?, TOTAL);
    let mut conn = pool.acquire().await?;
    assert_eq!(sum(&mut *conn).await?, TOTAL);
    drop(conn);
    let mut tx = pool.begin(TxOptions::default()).await?;
    assert_eq!(sum(&mut *tx).await?, TOTAL);
    tx.commit().await?;
    let mut single = Connection::connect(&cfg).await?;
    assert_eq!(sum(&mut *single).await?, TOTAL);
    // What a generated `:stream` function returns.
    let generated = fetch_stream(&pool, &STREAM_G, sqlx::query(MANY), first_column::<i32>);
    let total = generated
        .try_fold(0_i64, async |acc, g| Ok(acc + i64::from(g)))
        .await?;
    assert_eq!(total, TOTAL);
    Ok(())
}

#[tokio::test]
async fn a_stream_dropped_midway_leaves_no_busy_connection() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    let pid = next_pid(&pool).await;

    // On `&Pool`: the connection with the unread rest is discarded, not handed out busy.
    let mut rows = sqlx::query_scalar::<_, i32>(MANY).fetch(&pool);
    assert_eq!(rows.next().await.transpose()?, Some(1));
    drop(rows);
    let other = next_pid(&pool).await;
    assert_ne!(other, pid);
    let answer: i32 = sqlx::query_scalar("SELECT 42").fetch_one(&pool).await?;
    assert_eq!(answer, 42);

    // A generated `:stream` on `&Pool`, likewise.
    let mut rows = fetch_stream(&pool, &STREAM_G, sqlx::query(MANY), first_column::<i32>);
    assert_eq!(rows.next().await.transpose()?, Some(1));
    drop(rows);
    assert_ne!(next_pid(&pool).await, other);

    // On a connection held across statements: sqlx reads the abandoned rows off before the
    // next statement, so the next statement gets its own result.
    let mut conn = pool.acquire().await?;
    let mut rows = sqlx::query_scalar::<_, i32>(MANY).fetch(&mut *conn);
    assert_eq!(rows.next().await.transpose()?, Some(1));
    drop(rows);
    let answer: i32 = sqlx::query_scalar("SELECT 43")
        .fetch_one(&mut *conn)
        .await?;
    assert_eq!(answer, 43);
    drop(conn);

    // In a transaction: the same, and the transaction still commits.
    let mut tx = pool.begin(TxOptions::default()).await?;
    let mut rows = sqlx::query_scalar::<_, i32>(MANY).fetch(&mut *tx);
    assert_eq!(rows.next().await.transpose()?, Some(1));
    drop(rows);
    let answer: i32 = sqlx::query_scalar("SELECT 44").fetch_one(&mut *tx).await?;
    assert_eq!(answer, 44);
    tx.commit().await?;
    let answer: i32 = sqlx::query_scalar("SELECT 45").fetch_one(&pool).await?;
    assert_eq!(answer, 45);
    Ok(())
}
