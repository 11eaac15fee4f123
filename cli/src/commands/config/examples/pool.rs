//! A pool from this project's configuration (profile `{profile}`): connect, query, stats.
//! Run it where `pgtide config test` passes (same file, same environment).

use pgtide::config::Config;
use pgtide::{Pool, sqlx};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), pgtide::Error> {
    // The config file (pgtide.toml, or $PGTIDE_CONFIG), then PG*, DATABASE_URL and
    // PGTIDE_{PROFILE_UPPER}__<KEY> variables: the same layering as `pgtide config show`.
    let config = Config::loader().profile("{profile}").load()?;
    // Connects with the configured retry; fails with the cause (wrong password, no route).
    let pool = Pool::connect(&config).await?;

    // `&Pool` is a sqlx executor: each call checks a connection out and back in.
    let now: String = sqlx::query_scalar("SELECT now()::text").fetch_one(&pool).await?;
    println!("connected to {config}; server time {now}");
    println!("{}", pool.stats());
    pool.close().await;
    Ok(())
}
