//! Configuration against the real server: the largest session timeout the config accepts
//! is one PostgreSQL accepts, so a valid config never fails at connect.

mod common;

use std::time::Duration;

use common::config;
use pgtide::Pool;
use pgtide_testkit::TestDb;

#[tokio::test]
async fn the_largest_accepted_session_timeouts_connect() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let limit = Duration::from_millis(2_147_483_647);
    let cfg = config(&db, 1, 1)
        .statement_timeout(Some(limit))
        .lock_timeout(Some(limit))
        .idle_in_transaction_session_timeout(Some(limit))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let (statement, lock, idle): (String, String, String) = sqlx::query_as(
        "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'),
                current_setting('idle_in_transaction_session_timeout')",
    )
    .fetch_one(&pool)
    .await?;
    assert_eq!(
        (statement.as_str(), lock.as_str(), idle.as_str()),
        ("2147483647ms", "2147483647ms", "2147483647ms")
    );
    Ok(())
}
