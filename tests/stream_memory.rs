//! Streaming 1,000,000 rows keeps the process's peak memory far below what collecting them
//! takes. A binary of its own: peak RSS (`VmHWM`) is per process, and nextest runs each
//! test in its own process, so nothing else raises it.

mod common;

use common::{config, peak_rss_since, reset_peak_rss};
use futures_util::TryStreamExt;
use pgtide::Pool;
use pgtide_testkit::TestDb;

const ROWS: &str = "SELECT g, repeat('x', 64) AS pad FROM generate_series(1, 1000000) g";

#[tokio::test]
async fn streaming_a_million_rows_keeps_peak_memory_flat() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    // Bulk work on a machine shared with other tests may outlast the default 30 s limit.
    let pool = Pool::connect(&config(&db, 1, 1).statement_timeout(None).build()?).await?;
    let warm: Vec<(i32, String)> = sqlx::query_as("SELECT 1, 'x'").fetch_all(&pool).await?;
    assert_eq!(warm.len(), 1);
    let before = reset_peak_rss();

    let mut rows = sqlx::query_as::<_, (i32, String)>(ROWS).fetch(&pool);
    let (mut n, mut bytes) = (0_u64, 0_u64);
    while let Some((_, pad)) = rows.try_next().await? {
        n += 1;
        bytes += pad.len() as u64;
    }
    drop(rows);
    assert_eq!((n, bytes), (1_000_000, 64_000_000));
    let streamed = peak_rss_since(before);

    let before = reset_peak_rss();
    let all: Vec<(i32, String)> = sqlx::query_as(ROWS).fetch_all(&pool).await?;
    assert_eq!(all.len(), 1_000_000);
    drop(all);
    let collected = peak_rss_since(before);

    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "peak RSS growth: streaming {:.1} MiB, collecting {:.1} MiB",
        mib(streamed),
        mib(collected)
    );
    assert!(
        streamed * 8 < collected && streamed < 32 * 1024 * 1024,
        "streaming 1,000,000 rows raised peak RSS by {:.1} MiB; collecting them by {:.1} MiB",
        mib(streamed),
        mib(collected)
    );
    Ok(())
}
