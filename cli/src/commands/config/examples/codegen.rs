//! Typed queries generated from SQL (profile `{profile}`). Before building:
//!   1. queries/example.sql as printed above;
//!   2. `pgtide prepare` (describes it against the database of this configuration);
//!   3. `pgtide gen` (writes src/queries/, no database needed; commit it with .sqlx/).
//! Builds offline afterwards (SQLX_OFFLINE=true, no DATABASE_URL).

mod queries;

use pgtide::Pool;
use pgtide::config::Config;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), pgtide::Error> {
    let config = Config::loader().profile("{profile}").load()?;
    let pool = Pool::connect(&config).await?;

    let row = queries::example::server_info(&pool).await?;
    println!("database {} on {}", row.database, row.version);
    pool.close().await;
    Ok(())
}
