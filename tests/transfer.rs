//! `pgtide::transfer` against real emulators on loopback (moto for S3, Azurite for Azure
//! Blob, fake-gcs-server for Google Cloud Storage), each test with its own emulator and
//! database (one [`Fixture`] per store): round trips (plain and gzip), a missing object,
//! refused credentials, an emulator killed mid-import and mid-export, throttling through a
//! fault proxy, storage from the config file, and the blocking API. fake-gcs-server serves
//! reads but not the XML API uploads `object_store` writes with, so `gs://` is proven for
//! imports (of objects put in through the emulator's JSON API; also killed mid-import) and for
//! the export's refusal.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{config, retry};
use pgtide::transfer::{
    self, ExportOptions, Header, ImportOptions, Source, StorageErrorKind, StorageOptions,
};
use pgtide::{Pool, SecretString};
use pgtide_testkit::emulators::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite, FakeGcs, Moto};
use pgtide_testkit::{Capture, FaultProxy, TestDb};
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

/// What one test works on: its own store (an emulator of its own with one bucket or
/// container made, or the local file system), the options that reach it, and its own
/// database holding `orders`, with a pool of quick retries.
struct Fixture<E> {
    store: E,
    storage: StorageOptions,
    db: TestDb,
    pool: Pool,
}

impl<E> Fixture<E> {
    /// Importing `url`, an object that does not exist, fails as not found naming the URL,
    /// and creates nothing (the import asked for `create`).
    async fn assert_missing_is_not_found(&self, url: &str) -> anyhow::Result<()> {
        let options = ImportOptions::new("t")
            .create(true)
            .storage(self.storage.clone());
        let err = transfer::import(&self.pool, url, &options)
            .await
            .unwrap_err();
        assert_eq!(
            err.storage_kind(),
            Some(StorageErrorKind::NotFound),
            "{err}"
        );
        assert!(
            err.to_string().starts_with(&format!("{url}: not found")),
            "{err}"
        );
        let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('t')::text")
            .fetch_one(&self.pool)
            .await?;
        assert_eq!(exists, None, "nothing was created");
        Ok(())
    }

    async fn with(store: E, storage: StorageOptions) -> anyhow::Result<Self> {
        let db = TestDb::new().await?;
        let pool = pool(&db).await?;
        sqlx::raw_sql(ORDERS).execute(&pool).await?;
        Ok(Self {
            store,
            storage,
            db,
            pool,
        })
    }
}

impl Fixture<Moto> {
    /// moto with bucket `bucket`, reached through `endpoint` (moto's own when `None`).
    async fn s3(bucket: &str) -> anyhow::Result<Self> {
        let moto = Moto::start()?;
        moto.create_bucket(bucket)?;
        let storage = s3_options(&moto.endpoint());
        Self::with(moto, storage).await
    }
}

impl Fixture<Arc<Mutex<Azurite>>> {
    /// Azurite with container `container`, reached with account key `key`; shared so a
    /// progress callback can stop it mid-transfer.
    async fn azure(container: &str, key: &str) -> anyhow::Result<Self> {
        let azurite = Azurite::start()?;
        azurite.create_container(container)?;
        let storage = azure_options(&azurite, key);
        Self::with(Arc::new(Mutex::new(azurite)), storage).await
    }
}

impl Fixture<FakeGcs> {
    /// fake-gcs-server with bucket `bucket`, reached the way `object_store` documents for
    /// an emulator (a service account key naming it, OAuth off).
    async fn gcs(bucket: &str) -> anyhow::Result<Self> {
        let gcs = FakeGcs::start()?;
        gcs.create_bucket(bucket)?;
        let storage = StorageOptions::new().with_secret(
            "google_service_account_key",
            SecretString::from(gcs.service_account_key()),
        );
        Self::with(gcs, storage).await
    }
}

impl Fixture<std::path::PathBuf> {
    /// A fresh directory of the test's own (removed by the test when it passes).
    async fn local() -> anyhow::Result<Self> {
        let mut fixture = Self::with(std::path::PathBuf::new(), StorageOptions::new()).await?;
        fixture.store = std::env::temp_dir().join(format!("pgtide-transfer-{}", fixture.db.name()));
        std::fs::create_dir_all(&fixture.store)?;
        Ok(fixture)
    }
}

fn s3_options(endpoint: &str) -> StorageOptions {
    StorageOptions::new()
        .with("aws_endpoint", endpoint)
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
    let f = Fixture::s3("data").await?;
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    round_trip(&f.pool, "s3://data/exports/orders.csv", &f.storage, "plain").await?;
    drop(guard);
    round_trip(
        &f.pool,
        "s3://data/exports/orders.csv.gz",
        &f.storage,
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
    let f = Fixture::azure("exports", AZURITE_KEY).await?;
    round_trip(&f.pool, "az://exports/orders.csv", &f.storage, "viaaz").await?;
    round_trip(
        &f.pool,
        "abfs://exports@devstoreaccount1.dfs.core.windows.net/deep/orders.csv.gz",
        &f.storage,
        "viaabfs",
    )
    .await?;
    Ok(())
}

/// `orders` exported with pgtide (to a local file), put into fake-gcs-server through its
/// JSON API, and imported back through `gs://` URLs, plain and gzipped.
#[tokio::test]
async fn gcs_imports_plain_and_gzip_objects() -> anyhow::Result<()> {
    let f = Fixture::gcs("data").await?;
    let dir = std::env::temp_dir().join(format!("pgtide-gcs-{}", f.db.name()));
    std::fs::create_dir_all(&dir)?;
    for (file, table) in [("orders.csv", "plain"), ("orders.csv.gz", "gzipped")] {
        let local = dir.join(file);
        transfer::export(
            &f.pool,
            &Source::table("orders"),
            local.to_str().unwrap(),
            &ExportOptions::new().header(true),
        )
        .await?;
        f.store
            .upload("data", &format!("exports/{file}"), &std::fs::read(&local)?)?;
        let url = format!("gs://data/exports/{file}");
        let back = transfer::import(
            &f.pool,
            &url,
            &ImportOptions::new(table)
                .create(true)
                .storage(f.storage.clone()),
        )
        .await?;
        assert_eq!(back.rows, 4, "{url}");
        assert!(back.header, "{url}");
        assert_eq!(rows(&f.pool, table).await?, rows(&f.pool, "orders").await?);
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[tokio::test]
async fn a_missing_gcs_object_is_not_found_and_names_the_url() -> anyhow::Result<()> {
    Fixture::gcs("data")
        .await?
        .assert_missing_is_not_found("gs://data/nope.csv")
        .await
}

/// fake-gcs-server answers the XML API upload `object_store` sends with `400 invalid
/// uploadType`: a refusal that is permanent, not retried, names the URL, and leaves no
/// object. (What a real GCS export does is untested: no emulator from the registries
/// serves the XML API uploads; see the README.)
#[tokio::test]
async fn a_gcs_export_the_store_refuses_is_permanent_and_leaves_no_object() -> anyhow::Result<()> {
    let f = Fixture::gcs("data").await?;
    let err = transfer::export(
        &f.pool,
        &Source::table("orders"),
        "gs://data/exports/orders.csv",
        &ExportOptions::new().storage(f.storage.clone()),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.storage_kind(),
        Some(StorageErrorKind::Permanent),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("gs://data/exports/orders.csv: ") && text.contains("400 Bad Request"),
        "{text}"
    );
    assert!(!text.contains("retries"), "a 400 was retried: {text}");
    assert!(!f.store.exists("data", "exports/orders.csv")?);
    Ok(())
}

#[tokio::test]
async fn a_missing_object_is_not_found_and_names_the_url() -> anyhow::Result<()> {
    Fixture::s3("data")
        .await?
        .assert_missing_is_not_found("s3://data/nope.csv")
        .await
}

#[tokio::test]
async fn refused_credentials_are_a_permission_error_never_retried() -> anyhow::Result<()> {
    // A well-formed key that is not the account's.
    let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
    let f = Fixture::azure("exports", wrong).await?;
    let err = transfer::export(
        &f.pool,
        &Source::table("orders"),
        "az://exports/orders.csv?sig=NOT-SHOWN",
        &ExportOptions::new().storage(f.storage.clone()),
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
    stop_after(after, move || emulator.lock().unwrap().stop())
}

/// A progress callback that runs `stop` once, when `after` bytes went by.
fn stop_after(after: u64, stop: impl Fn() + Send + Sync + 'static) -> transfer::ProgressFn {
    let stopped = AtomicBool::new(false);
    Arc::new(move |p| {
        if p.bytes >= after && !stopped.swap(true, Ordering::SeqCst) {
            stop();
        }
    })
}

/// About 40 MB of CSV.
const BIG: &str = "SELECT i, repeat('x', 200) AS pad FROM generate_series(1, 200000) i";

#[tokio::test]
async fn an_export_failing_midway_leaves_no_object() -> anyhow::Result<()> {
    let f = Fixture::azure("exports", AZURITE_KEY).await?;
    // Past the first 8 MiB part, so a multipart upload is under way.
    let err = transfer::export(
        &f.pool,
        &Source::query(BIG),
        "az://exports/big.csv",
        &ExportOptions::new()
            .storage(f.storage.clone())
            .progress(kill_after(Arc::clone(&f.store), 20 << 20)),
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
    f.store.lock().unwrap().start_again()?;
    let missing = transfer::import(
        &f.pool,
        "az://exports/big.csv",
        &ImportOptions::new("t")
            .create(true)
            .storage(f.storage.clone()),
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
    let f = Fixture::azure("exports", AZURITE_KEY).await?;
    transfer::export(
        &f.pool,
        &Source::query(BIG),
        "az://exports/big.csv",
        &ExportOptions::new().storage(f.storage.clone()),
    )
    .await?;
    sqlx::raw_sql("CREATE TABLE big (i integer, pad text); INSERT INTO big VALUES (0, 'before');")
        .execute(&f.pool)
        .await?;
    let err = transfer::import(
        &f.pool,
        "az://exports/big.csv",
        &ImportOptions::new("big")
            .header(Header::No)
            .storage(f.storage.clone())
            .progress(kill_after(Arc::clone(&f.store), 1 << 20)),
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
    assert_eq!(rows(&f.pool, "big").await?, "(0,before)");
    Ok(())
}

/// fake-gcs-server killed 1 MiB into a `gs://` import of about 40 MB (put in through its
/// JSON API): a transient failure naming the URL, and the table as it was.
#[tokio::test]
async fn a_gcs_import_failing_midway_leaves_the_table_unchanged() -> anyhow::Result<()> {
    let f = Fixture::gcs("data").await?;
    let local = std::env::temp_dir().join(format!("pgtide-gcs-big-{}.csv", f.db.name()));
    transfer::export(
        &f.pool,
        &Source::query(BIG),
        local.to_str().unwrap(),
        &ExportOptions::new(),
    )
    .await?;
    let gcs = Arc::new(Mutex::new(f.store));
    gcs.lock()
        .unwrap()
        .upload("data", "big.csv", &std::fs::read(&local)?)?;
    std::fs::remove_file(&local)?;
    sqlx::raw_sql("CREATE TABLE big (i integer, pad text); INSERT INTO big VALUES (0, 'before');")
        .execute(&f.pool)
        .await?;
    let killer = Arc::clone(&gcs);
    let err = transfer::import(
        &f.pool,
        "gs://data/big.csv",
        &ImportOptions::new("big")
            .header(Header::No)
            .storage(f.storage.clone())
            .progress(stop_after(1 << 20, move || killer.lock().unwrap().stop())),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.storage_kind(),
        Some(StorageErrorKind::Transient),
        "{err}"
    );
    assert!(err.to_string().starts_with("gs://data/big.csv: "), "{err}");
    assert_eq!(rows(&f.pool, "big").await?, "(0,before)");
    Ok(())
}

#[tokio::test]
async fn local_files_and_file_urls_round_trip_and_a_failed_export_leaves_no_file()
-> anyhow::Result<()> {
    let f = Fixture::local().await?;
    let dir = &f.store;
    let path = dir.join("orders.csv.gz");
    round_trip(&f.pool, path.to_str().unwrap(), &f.storage, "local").await?;
    let url = format!("file://{}", dir.join("orders.csv").display());
    round_trip(&f.pool, &url, &f.storage, "fileurl").await?;

    let failed = dir.join("failed.csv");
    let err = transfer::export(
        &f.pool,
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
    assert_eq!(std::fs::read_dir(dir)?.count(), 2, "no staging file left");
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

/// A throttling proxy in front of moto: the first two requests get 429, the retry
/// policy's backoff spends two retries on each, and the data arrives both ways.
#[tokio::test]
async fn throttling_is_retried_with_the_policys_backoff_and_the_data_arrives() -> anyhow::Result<()>
{
    let f = Fixture::s3("data").await?;
    let proxy = FaultProxy::start(f.store.port(), 429, 2)?;
    let storage = s3_options(&proxy.endpoint());
    round_trip(&f.pool, "s3://data/throttled.csv", &storage, "back").await?;
    assert_eq!(proxy.refused(), 2, "both refusals were retried");
    assert!(
        proxy.forwarded() >= 2,
        "the export and the import went through"
    );
    Ok(())
}

/// A store that keeps answering 503 SlowDown: retried up to the policy's three attempts,
/// then `Throttled`, naming the object.
#[tokio::test]
async fn throttling_past_the_retry_budget_is_a_throttled_error_naming_the_url() -> anyhow::Result<()>
{
    let f = Fixture::s3("data").await?;
    let proxy = FaultProxy::start(f.store.port(), 503, u64::MAX)?;
    let err = transfer::export(
        &f.pool,
        &Source::table("orders"),
        "s3://data/slow.csv",
        &ExportOptions::new().storage(s3_options(&proxy.endpoint())),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.storage_kind(),
        Some(StorageErrorKind::Throttled),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("s3://data/slow.csv: throttled"),
        "{err}"
    );
    assert_eq!(proxy.refused(), 3, "the retry policy's 3 attempts");
    assert_eq!(proxy.forwarded(), 0);
    Ok(())
}

/// Storage from the loaded profile's `[default.storage.s3]` (secret by `secret://env/`
/// reference) reaches moto with no options in code; `load_explained` shows it redacted
/// with its file and line.
#[tokio::test]
async fn storage_config_with_a_secret_reference_reaches_s3() -> anyhow::Result<()> {
    let f = Fixture::s3("data").await?;
    let dir = std::env::temp_dir().join(format!("pgtide-storage-{}", f.db.name()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("pgtide.toml");
    std::fs::write(
        &file,
        format!(
            "[default.storage.s3]\nendpoint = \"{}\"\nregion = \"us-east-1\"\nallow_http = true\n\
             access_key_id = \"testing\"\nsecret_access_key = \"secret://env/TEST_S3_SECRET\"\n",
            f.store.endpoint()
        ),
    )?;
    let loaded = pgtide::config::Config::loader()
        .file(&file)
        .env([
            ("DATABASE_URL", f.db.url()),
            ("TEST_S3_SECRET", "s3-secret-from-env".into()),
        ])
        .load_explained()?;
    let entry = loaded.entry("storage.s3.secret_access_key").unwrap();
    assert_eq!(entry.value, pgtide::config::REDACTED);
    assert!(
        entry.source.to_string().ends_with("pgtide.toml, line 6"),
        "{}",
        entry.source
    );
    assert!(!loaded.to_string().contains("s3-secret-from-env"));
    assert!(!format!("{loaded:?}").contains("s3-secret-from-env"));
    // The fixture's database, which holds `orders`.
    let pool = Pool::connect(loaded.config()).await?;
    round_trip(
        &pool,
        "s3://data/configured.csv",
        &StorageOptions::new(),
        "back",
    )
    .await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// The blocking API moves the same data through the same store.
#[test]
fn the_blocking_api_imports_and_exports_through_s3() -> anyhow::Result<()> {
    let moto = Moto::start()?;
    moto.create_bucket("data")?;
    let db = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(TestDb::new())?;
    let pool = pgtide::blocking::Pool::connect(&config(&db, 1, 2).build()?)?;
    pool.run(async |p| {
        sqlx::raw_sql(ORDERS).execute(p).await?;
        Ok(())
    })?;
    let storage = s3_options(&moto.endpoint());
    let out = pool.export(
        &Source::table("orders"),
        "s3://data/blocking.csv.gz",
        &ExportOptions::new().header(true).storage(storage.clone()),
    )?;
    assert_eq!(out.lines, 6);
    let back = pool.import(
        "s3://data/blocking.csv.gz",
        &ImportOptions::new("back").create(true).storage(storage),
    )?;
    assert_eq!(back.rows, 4);
    let same: bool = pool.run(async |p| {
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT ({ROWS}orders t) = ({ROWS}back t)"
        )))
        .fetch_one(p)
        .await?)
    })?;
    assert!(same);
    Ok(())
}
