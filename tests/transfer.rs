//! `pgtide::transfer` against real emulators on loopback (moto for S3, Azurite for Azure
//! Blob), each test with its own emulator and database: round trips (plain and gzip), a
//! missing object, refused credentials, and an emulator killed mid-import and mid-export.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{config, retry};
use pgtide::transfer::{
    self, ExportOptions, Header, ImportOptions, Source, StorageErrorKind, StorageOptions,
};
use pgtide::{Pool, SecretString};
use pgtide_testkit::emulators::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite, Moto};
use pgtide_testkit::{Capture, TestDb};
use tracing_subscriber::fmt::format::FmtSpan;

/// Values of every inferred type, with quotes, delimiters, line breaks, nulls and non-ASCII.
const ORDERS: &str = "CREATE TABLE orders (id integer, amount numeric, paid boolean, day date, \
     at timestamptz, ref uuid, doc json, note text);
     INSERT INTO orders VALUES
     (1, 10.50, true, '2024-01-02', '2024-01-02 10:00:00+00', '0b7e7e52-4ac9-4e3c-9f6b-2c4b0ef7c3a1', '{\"a\": [1, 2]}', 'plain'),
     (2, -3, false, '1999-12-31', '1999-12-31 23:59:59.5+00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '[]', 'quote \" comma , semicolon ; café'),
     (3, NULL, NULL, NULL, NULL, NULL, NULL, E'two\\nlines'),
     (4, 0, true, '2000-02-29', '2000-02-29 00:00:00+00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '{}', '');";

/// Every row of `table` as text, in order, to compare tables.
const ROWS: &str = "SELECT coalesce(string_agg(t::text, '|' ORDER BY t::text), '') FROM ";

async fn pool(db: &TestDb) -> anyhow::Result<Pool> {
    // Quick retries: the failure tests spend them against a dead emulator.
    let cfg = config(db, 1, 2)
        .retry(retry(3, 20, 100, Duration::from_secs(5)))
        .statement_timeout(None)
        .build()?;
    Ok(Pool::connect(&cfg).await?)
}

async fn rows(pool: &Pool, table: &str) -> anyhow::Result<String> {
    Ok(
        sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!("{ROWS}{table} t")))
            .fetch_one(pool)
            .await?,
    )
}

fn s3_options(moto: &Moto) -> StorageOptions {
    StorageOptions::new()
        .with("aws_endpoint", moto.endpoint())
        .with("aws_region", "us-east-1")
        .with("allow_http", "true")
        .with("aws_access_key_id", "testing")
        .with_secret(
            "aws_secret_access_key",
            SecretString::from("testing-secret"),
        )
}

fn azure_options(azurite: &Azurite, key: &str) -> StorageOptions {
    StorageOptions::new()
        .with("azure_storage_account_name", AZURITE_ACCOUNT)
        .with("azure_storage_endpoint", azurite.endpoint())
        .with("allow_http", "true")
        .with_secret(
            "azure_storage_access_key",
            SecretString::from(key.to_owned()),
        )
}

/// Exports `orders` to `url`, imports it into a table `create` makes, and compares.
async fn round_trip(
    pool: &Pool,
    url: &str,
    storage: &StorageOptions,
    into: &str,
) -> anyhow::Result<()> {
    let out = transfer::export(
        pool,
        &Source::table("orders"),
        url,
        &ExportOptions::new().header(true).storage(storage.clone()),
    )
    .await?;
    assert_eq!(out.lines, 6, "header, 4 rows, one of them two lines");
    let back = transfer::import(
        pool,
        url,
        &ImportOptions::new(into)
            .create(true)
            .storage(storage.clone()),
    )
    .await?;
    assert_eq!(back.rows, 4);
    assert!(back.header);
    assert_eq!(rows(pool, into).await?, rows(pool, "orders").await?);
    Ok(())
}

#[tokio::test]
async fn s3_round_trips_plain_and_gzip_with_a_span_per_transfer() -> anyhow::Result<()> {
    let moto = Moto::start()?;
    moto.create_bucket("data")?;
    let db = TestDb::new().await?;
    let pool = pool(&db).await?;
    sqlx::raw_sql(ORDERS).execute(&pool).await?;
    let storage = s3_options(&moto);

    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    round_trip(&pool, "s3://data/exports/orders.csv", &storage, "plain").await?;
    drop(guard);
    round_trip(
        &pool,
        "s3://data/exports/orders.csv.gz",
        &storage,
        "gzipped",
    )
    .await?;

    let log = capture.text();
    let spans: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("pgtide::transfer: close "))
        .collect();
    assert_eq!(spans.len(), 2, "{log}");
    for field in [
        "url=s3://data/exports/orders.csv",
        "bytes=",
        "rows=",
        "duration_ms=",
    ] {
        assert!(
            spans.iter().all(|s| s.contains(field)),
            "{field} in {spans:?}"
        );
    }
    assert!(spans[1].contains("rows=4"), "{}", spans[1]);
    assert!(!log.contains("testing-secret"), "{log}");
    Ok(())
}

#[tokio::test]
async fn azure_round_trips_through_az_and_abfs_urls() -> anyhow::Result<()> {
    let azurite = Azurite::start()?;
    azurite.create_container("exports")?;
    let db = TestDb::new().await?;
    let pool = pool(&db).await?;
    sqlx::raw_sql(ORDERS).execute(&pool).await?;
    let storage = azure_options(&azurite, AZURITE_KEY);
    round_trip(&pool, "az://exports/orders.csv", &storage, "viaaz").await?;
    round_trip(
        &pool,
        "abfs://exports@devstoreaccount1.dfs.core.windows.net/deep/orders.csv.gz",
        &storage,
        "viaabfs",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_missing_object_is_not_found_and_names_the_url() -> anyhow::Result<()> {
    let moto = Moto::start()?;
    moto.create_bucket("data")?;
    let db = TestDb::new().await?;
    let pool = pool(&db).await?;
    let err = transfer::import(
        &pool,
        "s3://data/nope.csv",
        &ImportOptions::new("t")
            .create(true)
            .storage(s3_options(&moto)),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.storage_kind(),
        Some(StorageErrorKind::NotFound),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("s3://data/nope.csv: not found"),
        "{err}"
    );
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('t')::text")
        .fetch_one(&pool)
        .await?;
    assert_eq!(exists, None, "nothing was created");
    Ok(())
}

#[tokio::test]
async fn refused_credentials_are_a_permission_error_never_retried() -> anyhow::Result<()> {
    let azurite = Azurite::start()?;
    azurite.create_container("exports")?;
    let db = TestDb::new().await?;
    let pool = pool(&db).await?;
    sqlx::raw_sql(ORDERS).execute(&pool).await?;
    // A well-formed key that is not the account's.
    let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
    let err = transfer::export(
        &pool,
        &Source::table("orders"),
        "az://exports/orders.csv?sig=NOT-SHOWN",
        &ExportOptions::new().storage(azure_options(&azurite, wrong)),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.storage_kind(),
        Some(StorageErrorKind::Permission),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("az://exports/orders.csv: permission denied"),
        "{text}"
    );
    // object_store says "after N retries" when it retried.
    assert!(
        !text.contains("retries"),
        "a refused credential was retried: {text}"
    );
    assert!(
        !text.contains(wrong) && !text.contains("NOT-SHOWN"),
        "{text}"
    );
    Ok(())
}

/// An emulator killed by the progress callback once `after` bytes went by.
fn kill_after(emulator: Arc<Mutex<Azurite>>, after: u64) -> transfer::ProgressFn {
    let killed = AtomicBool::new(false);
    Arc::new(move |p| {
        if p.bytes >= after && !killed.swap(true, Ordering::SeqCst) {
            emulator.lock().unwrap().stop();
        }
    })
}

/// About 40 MB of CSV.
const BIG: &str = "SELECT i, repeat('x', 200) AS pad FROM generate_series(1, 200000) i";

#[tokio::test]
async fn an_export_failing_midway_leaves_no_object() -> anyhow::Result<()> {
    let azurite = Azurite::start()?;
    azurite.create_container("exports")?;
    let storage = azure_options(&azurite, AZURITE_KEY);
    let azurite = Arc::new(Mutex::new(azurite));
    let db = TestDb::new().await?;
    let pool = pool(&db).await?;
    // Past the first 8 MiB part, so a multipart upload is under way.
    let err = transfer::export(
        &pool,
        &Source::query(BIG),
        "az://exports/big.csv",
        &ExportOptions::new()
            .storage(storage.clone())
            .progress(kill_after(Arc::clone(&azurite), 20 << 20)),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.storage_kind(),
        Some(StorageErrorKind::Transient),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("az://exports/big.csv: network failure"),
        "{text}"
    );
    assert!(
        text.contains("after 2 retries"),
        "the retry policy's 3 attempts: {text}"
    );
    azurite.lock().unwrap().start_again()?;
    let missing = transfer::import(
        &pool,
        "az://exports/big.csv",
        &ImportOptions::new("t").create(true).storage(storage),
    )
    .await
    .unwrap_err();
    assert_eq!(
        missing.storage_kind(),
        Some(StorageErrorKind::NotFound),
        "{missing}"
    );
    Ok(())
}

#[tokio::test]
async fn an_import_failing_midway_leaves_the_table_unchanged() -> anyhow::Result<()> {
    let azurite = Azurite::start()?;
    azurite.create_container("exports")?;
    let storage = azure_options(&azurite, AZURITE_KEY);
    let db = TestDb::new().await?;
    let pool = pool(&db).await?;
    transfer::export(
        &pool,
        &Source::query(BIG),
        "az://exports/big.csv",
        &ExportOptions::new().storage(storage.clone()),
    )
    .await?;
    sqlx::raw_sql("CREATE TABLE big (i integer, pad text); INSERT INTO big VALUES (0, 'before');")
        .execute(&pool)
        .await?;
    let azurite = Arc::new(Mutex::new(azurite));
    let err = transfer::import(
        &pool,
        "az://exports/big.csv",
        &ImportOptions::new("big")
            .header(Header::No)
            .storage(storage)
            .progress(kill_after(Arc::clone(&azurite), 1 << 20)),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.storage_kind(),
        Some(StorageErrorKind::Transient),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("az://exports/big.csv: "),
        "{err}"
    );
    assert_eq!(rows(&pool, "big").await?, "(0,before)");
    Ok(())
}

#[tokio::test]
async fn local_files_and_file_urls_round_trip_and_a_failed_export_leaves_no_file()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool(&db).await?;
    sqlx::raw_sql(ORDERS).execute(&pool).await?;
    let dir = std::env::temp_dir().join(format!("pgtide-transfer-{}", db.name()));
    std::fs::create_dir_all(&dir)?;
    let none = StorageOptions::new();
    let path = dir.join("orders.csv.gz");
    round_trip(&pool, path.to_str().unwrap(), &none, "local").await?;
    let url = format!("file://{}", dir.join("orders.csv").display());
    round_trip(&pool, &url, &none, "fileurl").await?;

    let failed = dir.join("failed.csv");
    let err = transfer::export(
        &pool,
        &Source::query("SELECT i, 1 / (10000 - i) FROM generate_series(1, 20000) i"),
        failed.to_str().unwrap(),
        &ExportOptions::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, transfer::Error::Database(_)), "{err}");
    assert!(
        !failed.exists(),
        "a failed export left {}",
        failed.display()
    );
    assert_eq!(std::fs::read_dir(&dir)?.count(), 2, "no staging file left");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
