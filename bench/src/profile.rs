//! One task, one thread, a fixed number of queries: what callgrind counts per query.

use std::time::Duration;

use anyhow::bail;
use pgtide_testkit::TestDb;

use crate::query::{Pools, ROWS, SQL, Shape, deadpool_postgres_query, floor_query, setup};

/// Sets up on a current-thread runtime, warms up, then runs `queries` point selects of
/// `client` inside [`hot_loop`].
pub fn run(client: &str, queries: u64) -> anyhow::Result<()> {
    if !matches!(client, "pgtide" | "floor" | "deadpool-postgres") {
        bail!("--profile takes pgtide, floor or deadpool-postgres, not `{client}`");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (db, pools) = rt.block_on(async {
        let db = TestDb::new().await?;
        let pools = setup(&db).await?;
        anyhow::Ok((db, pools))
    })?;
    rt.block_on(queries_of(client, &pools, 200));
    hot_loop(&rt, queries_of(client, &pools, queries));
    // Let the pools' background work settle outside the measured span.
    // (The timer is made inside the runtime: `sleep` needs its context when called.)
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(10)).await });
    drop((pools, db));
    eprintln!("profiled {queries} queries through {client}");
    Ok(())
}

/// The measured span (callgrind: `--toggle-collect='*hot_loop*'`).
#[inline(never)]
pub fn hot_loop(rt: &tokio::runtime::Runtime, work: impl std::future::Future<Output = ()>) {
    rt.block_on(work);
}

async fn queries_of(client: &str, pools: &Pools, queries: u64) {
    for i in 0..queries {
        let id = (i as i64 * 7) % ROWS + 1;
        match client {
            "pgtide" => {
                let _: (i64, String) = sqlx::query_as(SQL)
                    .bind(id)
                    .fetch_one(&pools.pgtide)
                    .await
                    .expect("row");
            }
            "floor" => floor_query(&pools.floor, Shape::Point, id).await,
            _ => deadpool_postgres_query(&pools.deadpool_postgres, Shape::Point, id).await,
        }
    }
}
