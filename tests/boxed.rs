//! `Pool::idempotent_boxed` and `Pool::with_timeout_boxed` inside `tokio::spawn`, with
//! bodies that borrow what they capture.

mod common;

use std::time::Duration;

use common::config;
use pgtide::{ErrorKind, Pool, TimeoutKind};
use pgtide_testkit::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boxed_bodies_run_in_spawned_tasks() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 2).build()?).await?;
    let word = String::from("tide");
    let task = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let echoed: String = pool
                .idempotent_boxed(|conn| {
                    let word = word.clone();
                    Box::pin(async move {
                        let q = sqlx::query_scalar("SELECT $1::text").bind(word);
                        Ok(q.fetch_one(conn).await?)
                    })
                })
                .await?;
            let timed: String = pool
                .with_timeout_boxed(Duration::from_secs(30), |conn| {
                    let word = word.clone();
                    Box::pin(async move {
                        let q = sqlx::query_scalar("SELECT upper($1::text)").bind(word);
                        Ok(q.fetch_one(conn).await?)
                    })
                })
                .await?;
            let late = pool
                .with_timeout_boxed(Duration::from_millis(50), |conn| {
                    Box::pin(async move {
                        sqlx::query("SELECT pg_sleep(30)").execute(conn).await?;
                        Ok(())
                    })
                })
                .await
                .unwrap_err();
            pgtide::Result::<_>::Ok((echoed, timed, late))
        })
    };
    let (echoed, timed, late) = task.await??;
    assert_eq!(echoed, "tide");
    assert_eq!(timed, "TIDE");
    assert_eq!(late.kind(), ErrorKind::Timeout);
    assert_eq!(late.timeout_kind(), Some(TimeoutKind::ClientDeadline));
    Ok(())
}
