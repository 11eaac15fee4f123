//! COPY moves ≥ 100 MB each way with flat peak memory. A binary of its own (peak RSS is
//! per process). The data is generated on the fly and counted on the way out.

mod common;

use std::pin::Pin;
use std::task::{Context, Poll};

use common::{config, peak_rss_since, reset_peak_rss};
use pgtide::Pool;
use pgtide::copy::{CopyIn, CopyOut};
use pgtide_testkit::TestDb;
use tokio::io::{AsyncRead, ReadBuf};

const BLOCKS: usize = 1700;

/// `BLOCKS` copies of a block of whole CSV lines (about 64 KiB each), made as it is read.
struct Generated {
    block: Vec<u8>,
    left: usize,
    offset: usize,
}

impl Generated {
    fn new() -> Self {
        let mut block = Vec::new();
        let mut i = 0;
        while block.len() < 64 * 1024 - 100 {
            block.extend_from_slice(format!("{i},{}\n", "p".repeat(56)).as_bytes());
            i += 1;
        }
        Self {
            block,
            left: BLOCKS,
            offset: 0,
        }
    }

    fn lines_per_block(&self) -> u64 {
        self.block.iter().filter(|&&b| b == b'\n').count() as u64
    }
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if this.left == 0 {
            return Poll::Ready(Ok(()));
        }
        let n = buf.remaining().min(this.block.len() - this.offset);
        buf.put_slice(&this.block[this.offset..this.offset + n]);
        this.offset += n;
        if this.offset == this.block.len() {
            this.offset = 0;
            this.left -= 1;
        }
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_hundred_megabytes_each_way_in_flat_memory() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    // Bulk work on a machine shared with other tests may outlast the default 30 s limit.
    let pool = Pool::connect(&config(&db, 1, 1).statement_timeout(None).build()?).await?;
    sqlx::query("CREATE UNLOGGED TABLE bulk (id int, payload text)")
        .execute(&pool)
        .await?;
    let source = Generated::new();
    let size = (source.block.len() * BLOCKS) as u64;
    let lines = source.lines_per_block() * BLOCKS as u64;
    assert!(size >= 100_000_000, "{size}");
    let before = reset_peak_rss();

    let loaded = CopyIn::table("bulk")
        .csv()
        .from_reader(&pool, source)
        .await?;
    assert_eq!(loaded, lines);
    let loading = peak_rss_since(before);

    let written = CopyOut::table("bulk")
        .csv()
        .to_writer(&pool, tokio::io::sink())
        .await?;
    assert_eq!(written, size);
    let both = peak_rss_since(before);

    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "{:.1} MiB each way; peak RSS growth: after COPY in {:.1} MiB, after COPY out {:.1} MiB",
        mib(size),
        mib(loading),
        mib(both)
    );
    assert!(
        both < 16 * 1024 * 1024,
        "moving {:.1} MiB each way raised peak RSS by {:.1} MiB (COPY in) and {:.1} MiB (both)",
        mib(size),
        mib(loading),
        mib(both)
    );
    Ok(())
}
