//! Shared helpers for the runtime tests: configs for a test database, polling with a
//! deadline, a tracing capture.
#![allow(dead_code)]

pub mod role;

use std::time::{Duration, Instant};

use pgtide::SecretString;
use pgtide::config::{Config, ConfigBuilder, PoolSize, RetrySettings, SslMode};
use pgtide_testkit::{Proxy, TestDb};
use sqlx::PgConnection;

/// How long to wait for something the server does promptly: a bound, not a timing claim.
/// Generous because on a shared 2-core machine under a parallel build, a new session (the
/// terminate path opens one) can take seconds to start.
pub const SOON: Duration = Duration::from_secs(30);

/// A config for `db` (TLS off unless a test turns it on), pool `min..=max`.
pub fn config(db: &TestDb, min: u32, max: u32) -> ConfigBuilder<SecretString, PoolSize> {
    let s = db.server();
    Config::builder()
        .host(s.host.clone())
        .port(s.port)
        .database(db.name())
        .user(s.user.clone())
        .password(SecretString::from(s.password.clone()))
        .ssl_mode(SslMode::Disable)
        .application_name(unique_app_name())
        .pool_size(PoolSize::new(min, max).unwrap())
        .via_test_bouncer(db)
}

/// `PGTIDE_TEST_VIA=pgbouncer`: the config goes through the shared PgBouncer, in pgtide's
/// PgBouncer mode.
trait ViaTestBouncer {
    fn via_test_bouncer(self, db: &TestDb) -> Self;
}

impl ViaTestBouncer for ConfigBuilder<SecretString, PoolSize> {
    fn via_test_bouncer(self, db: &TestDb) -> Self {
        match db.bouncer() {
            Some(b) => self.host(b.host.clone()).port(b.port).pgbouncer(true),
            None => self,
        }
    }
}

/// The same, through `proxy`.
pub fn config_via(
    db: &TestDb,
    proxy: &Proxy,
    min: u32,
    max: u32,
) -> ConfigBuilder<SecretString, PoolSize> {
    config(db, min, max).host(proxy.host()).port(proxy.port())
}

/// A proxy in front of the throwaway server.
pub async fn proxy(db: &TestDb) -> Proxy {
    Proxy::start(&db.server().host, db.server().port)
        .await
        .expect("proxy starts")
}

/// An application name no other test uses, to find this test's backends.
pub fn unique_app_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "pgtide-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Backends connected with `config`'s application name.
pub async fn backends(admin: &mut PgConnection, config: &Config) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
        .bind(&config.connection().application_name)
        .fetch_one(admin)
        .await
        .unwrap()
}

/// Polls `check` until it returns true, failing the test after `within`.
pub async fn eventually<F>(what: &str, within: Duration, mut check: F)
where
    F: AsyncFnMut() -> bool,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Backends with this application name, as (pid, state, query).
pub async fn activity(admin: &mut PgConnection, app: &str) -> Vec<(i32, Option<String>, String)> {
    sqlx::query_as(
        "SELECT pid, state, query FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid",
    )
    .bind(app)
    .fetch_all(admin)
    .await
    .unwrap()
}

/// Retry settings without jitter.
pub fn retry(attempts: u32, base_ms: u64, max_ms: u64, budget: Duration) -> RetrySettings {
    let mut r = RetrySettings::default();
    r.attempts = attempts;
    r.base_delay = Duration::from_millis(base_ms);
    r.max_delay = Duration::from_millis(max_ms);
    r.jitter = false;
    r.budget = budget;
    r
}

/// Restarts peak-RSS tracking here (`5` to `/proc/self/clear_refs` resets `VmHWM` to the
/// current RSS) and returns the current RSS in bytes: the baseline for [`peak_rss_since`].
/// Memory tests run in binaries of their own: `VmHWM` is per process.
pub fn reset_peak_rss() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5")
        .expect("resetting VmHWM via /proc/self/clear_refs");
    proc_status_bytes("VmRSS:")
}

/// How far peak RSS rose above `baseline` since [`reset_peak_rss`].
pub fn peak_rss_since(baseline: u64) -> u64 {
    proc_status_bytes("VmHWM:").saturating_sub(baseline)
}

fn proc_status_bytes(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{key} in /proc/self/status"));
    kib * 1024
}

/// The backend pid a pool hands out next (checks a connection out and back in).
pub async fn next_pid(pool: &pgtide::Pool) -> i32 {
    let mut conn = pool.acquire().await.expect("acquire");
    conn.backend_pid().await.expect("pid")
}

/// Waits until a backend of this test database runs a statement containing `marker`.
pub async fn running(admin: &mut PgConnection, marker: &str) {
    eventually(
        &format!("the server runs `{marker}`"),
        Duration::from_secs(20),
        async || statements_running(admin, marker).await > 0,
    )
    .await;
}

/// Backends (other than `admin`) running a statement containing `marker`.
pub async fn statements_running(admin: &mut PgConnection, marker: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE state <> 'idle' AND pid <> pg_backend_pid() AND position($1 in query) > 0",
    )
    .bind(marker)
    .fetch_one(admin)
    .await
    .unwrap()
}

/// Polls until no backend runs a statement containing `marker` (bounded).
pub async fn none_running(admin: &mut PgConnection, marker: &str) {
    eventually(
        &format!("no backend still runs `{marker}`"),
        Duration::from_secs(20),
        async || statements_running(admin, marker).await == 0,
    )
    .await;
}

/// The next checkout runs `SELECT 1` then `SELECT 2` and gets 1 and 2: nothing of a previous
/// borrower's statement is left on the connection.
pub async fn next_checkout_is_clean(pool: &pgtide::Pool) {
    let mut conn = pool.acquire().await.expect("a connection");
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut *conn)
        .await
        .expect("SELECT 1");
    let two: i32 = sqlx::query_scalar("SELECT 2")
        .fetch_one(&mut *conn)
        .await
        .expect("SELECT 2");
    assert_eq!((one, two), (1, 2));
}
