//! A large local file imported, then a large object through S3 (moto) each way, in flat
//! memory: exported by multipart upload, imported by a streamed GET, peak RSS growth checked. A binary of its own (peak RSS is per
//! process). The suite moves 24 MiB (three parts); `PGTIDE_TRANSFER_MB=200 cargo nextest
//! run -p pgtide --features s3,azure --test transfer_memory` moves 200 MB.

mod common;

use common::{config, peak_rss_since, reset_peak_rss};
use pgtide::transfer::{self, ExportOptions, Header, ImportOptions, Source, StorageOptions};
use pgtide::{Pool, SecretString};
use pgtide_testkit::TestDb;
use pgtide_testkit::emulators::Moto;

#[tokio::test]
async fn a_large_object_each_way_in_flat_memory() -> anyhow::Result<()> {
    let mb: u64 = std::env::var("PGTIDE_TRANSFER_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let moto = Moto::start()?;
    moto.create_bucket("big")?;
    let storage = StorageOptions::new()
        .with("aws_endpoint", moto.endpoint())
        .with("aws_region", "us-east-1")
        .with("allow_http", "true")
        .with("aws_access_key_id", "testing")
        .with_secret("aws_secret_access_key", SecretString::from("testing"));
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).statement_timeout(None).build()?).await?;
    // 100 bytes a line (7-digit id, comma, 91 x's, newline).
    let lines = mb * 1_000_000 / 100;
    let query = format!(
        "SELECT lpad(i::text, 7, '0') AS id, repeat('x', 91) AS pad FROM generate_series(1, {lines}) i"
    );
    sqlx::query("CREATE UNLOGGED TABLE back (id text, pad text)")
        .execute(&pool)
        .await?;

    // A local file first (read on a thread of its own, a chunk at a time), while the heap
    // is fresh: holding the file, or more than a few chunks of it, would show.
    let file = std::env::temp_dir().join(format!("pgtide-memory-{}.csv", std::process::id()));
    {
        use std::io::Write as _;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        for i in 1..=lines {
            writeln!(out, "{i:07},{}", "x".repeat(91))?;
        }
        out.flush()?;
    }
    let before = reset_peak_rss();
    let local = transfer::import(
        &pool,
        &file.display().to_string(),
        &ImportOptions::new("back").header(Header::No),
    )
    .await;
    let local_growth = peak_rss_since(before);
    std::fs::remove_file(&file)?;
    let local = local?;
    assert_eq!(local.rows, lines);
    assert_eq!(local.bytes, lines * 100);
    println!(
        "{:.1} MiB from a local file: {:.1} s, peak RSS growth {:.1} MiB",
        local.bytes as f64 / (1024.0 * 1024.0),
        local.elapsed.as_secs_f64(),
        local_growth as f64 / (1024.0 * 1024.0)
    );
    assert!(
        local_growth < 8 * 1024 * 1024,
        "importing a {} MB local file raised peak RSS by {local_growth} bytes",
        mb
    );
    sqlx::query("TRUNCATE back").execute(&pool).await?;

    let before = reset_peak_rss();

    let out = transfer::export(
        &pool,
        &Source::query(query),
        "s3://big/object.csv",
        &ExportOptions::new().storage(storage.clone()),
    )
    .await?;
    assert_eq!(out.bytes, lines * 100);
    let exporting = peak_rss_since(before);

    let back = transfer::import(
        &pool,
        "s3://big/object.csv",
        &ImportOptions::new("back")
            .header(Header::No)
            .storage(storage),
    )
    .await?;
    assert_eq!(back.rows, lines);
    assert_eq!(back.bytes, lines * 100);
    let both = peak_rss_since(before);

    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "{:.1} MiB each way through S3: export {:.1} s, import {:.1} s; peak RSS growth after export {:.1} MiB, after both {:.1} MiB",
        mib(out.bytes),
        out.elapsed.as_secs_f64(),
        back.elapsed.as_secs_f64(),
        mib(exporting),
        mib(both)
    );
    // Parts of 8 MiB, two in flight, plus the part being filled; reads stream in chunks.
    assert!(
        both < 48 * 1024 * 1024,
        "moving {:.1} MiB each way raised peak RSS by {:.1} MiB",
        mib(out.bytes),
        mib(both)
    );
    Ok(())
}
