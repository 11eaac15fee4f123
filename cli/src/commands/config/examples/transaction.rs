//! A transaction (profile `{profile}`): committed when the body returns `Ok`, rolled back on
//! `Err`, and run again on serialization failures and deadlocks, within the retry policy.

use pgtide::config::Config;
use pgtide::{Pool, TxOptions, sqlx};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), pgtide::Error> {
    let config = Config::loader().profile("{profile}").load()?;
    let pool = Pool::connect(&config).await?;

    let total: i64 = pool
        .transaction(TxOptions::serializable(), async |tx| {
            // A temporary table, so the example changes nothing in your database.
            sqlx::query("CREATE TEMP TABLE pgtide_example (n int) ON COMMIT DROP")
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO pgtide_example VALUES (1), (2), (3)")
                .execute(&mut *tx)
                .await?;
            let total: i64 = sqlx::query_scalar("SELECT sum(n) FROM pgtide_example")
                .fetch_one(&mut *tx)
                .await?;
            Ok(total)
        })
        .await?;
    println!("sum inside the transaction: {total}");
    pool.close().await;
    Ok(())
}
