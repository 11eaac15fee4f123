//! Spans and events: the fields are there, the password never is.

mod common;

use std::time::Duration;

use common::{config, config_via, proxy};
use pgtide::{Pool, SecretString, TxOptions, query};
use pgtide_testkit::{Capture, ProxyMode, TestDb};
use tracing_subscriber::fmt::format::FmtSpan;

/// The innermost span (name, fields) of every span-close line of the fmt output
/// (`LEVEL outer{..}:inner{..}: target: close ...`).
fn closed_spans(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter(|l| l.contains(": close "))
        .filter_map(|l| {
            let end = l.find("}: ")?;
            let chain = &l[..end];
            let start = match chain.rfind("}:") {
                Some(i) => i + 2,
                // Only one span: it starts after the level, the last space before its `{`.
                None => chain[..chain.find('{')?].rfind(' ').map_or(0, |i| i + 1),
            };
            let inner = &chain[start..];
            let brace = inner.find('{')?;
            Some((
                inner[..brace].trim().to_owned(),
                inner[brace + 1..].to_owned(),
            ))
        })
        .collect()
}

#[tokio::test]
async fn spans_carry_the_fields_and_never_the_password() -> anyhow::Result<()> {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let db = TestDb::new().await?;
    let password = db.server().password.clone();
    let cfg = config(&db, 1, 2).build()?;
    let pool = Pool::connect(&cfg).await?;
    pgtide::observe::statement(
        "CountAuthors",
        query::fetch_all(
            &pool,
            sqlx::query("SELECT * FROM counters WHERE name = $1").bind("secret-param-value"),
        ),
    )
    .await?;
    pool.transaction(TxOptions::default(), async |tx| {
        pgtide::observe::statement("BumpVisits", async {
            query::execute(
                &mut **tx,
                sqlx::query("UPDATE counters SET value = 1 WHERE name = 'visits'"),
            )
            .await
        })
        .await
    })
    .await?;
    let _ = query::execute(&pool, sqlx::query("SELECT 1/0")).await;
    // A connect failure with a wrong password, and retries against a refused server.
    let bad = pgtide::config::Config::builder()
        .host(db.server().host.clone())
        .port(db.server().port)
        .database(db.name())
        .user(db.server().user.clone())
        .password(SecretString::from("wrong-password-xyz"))
        .ssl_mode(pgtide::config::SslMode::Disable)
        .pool_size(pgtide::config::PoolSize::new(1, 1)?)
        .build()?;
    let bad_err = Pool::connect(&bad).await.unwrap_err();
    let proxy = proxy(&db).await;
    proxy.set_mode(ProxyMode::Refuse);
    let down = config_via(&db, &proxy, 1, 1)
        .retry(common::retry(3, 5, 5, Duration::from_secs(5)))
        .build()?;
    let down_err = Pool::connect(&down).await.unwrap_err();
    // Every public runtime value reachable from a pool, formatted with `{:?}` and `{}`.
    let mut conn = pool.acquire().await?;
    conn.backend_pid().await?;
    let tx = pool.begin(TxOptions::default()).await?;
    let timeout_err = {
        let one = Pool::connect(
            &config(&db, 1, 1)
                .acquire_timeout(Duration::from_millis(50))
                .build()?,
        )
        .await?;
        let _held = one.acquire().await?;
        one.acquire().await.unwrap_err()
    };
    let debug = format!(
        "{pool:?} {cfg:?} {conn:?} {tx:?} {bad_err:?} {bad_err} {down_err:?} {down_err} \
         {timeout_err:?} {timeout_err} {:?} {}",
        pool.stats(),
        pool.stats(),
    );
    drop(tx);
    drop(conn);
    // The explicit escape hatch does hold the secret (that is why it says so in its name).
    assert!(
        format!("{:?}", pool.connect_options_with_password()).contains(password.as_str()),
        "the escape hatch is expected to carry the password"
    );

    sqlx::query("SELECT 2").execute(&pool).await?;

    let out = capture.text();
    let spans = closed_spans(&out);
    let db_name = format!("db.name=\"{}\"", db.name());
    let server = format!(
        "server.address=\"{}:{}\"",
        db.server().host,
        db.server().port
    );
    // Each span's own fields, on the line that closes it.
    for (name, marker, fields) in [
        (
            "pgtide.query",
            "db.operation=\"fetch_all\"",
            vec![
                "db.statement.name=\"CountAuthors\"",
                "db.rows=0",
                "duration_ms=",
            ],
        ),
        (
            "pgtide.statement",
            "db.statement.name=\"BumpVisits\"",
            vec!["db.rows=1", "duration_ms="],
        ),
        (
            "pgtide.query",
            "db.operation=\"transaction\"",
            vec!["duration_ms="],
        ),
        (
            "pgtide.query",
            "error.kind=\"permanent\"",
            vec!["db.operation=\"execute\""],
        ),
        // `&Pool` as a plain sqlx executor has a span of its own.
        (
            "pgtide.query",
            "db.operation=\"fetch_many\"",
            vec!["duration_ms="],
        ),
    ] {
        let line = spans
            .iter()
            .find(|(n, f)| n == name && f.contains(marker))
            .unwrap_or_else(|| panic!("no `{name}` span with `{marker}` in:\n{out}"));
        for field in fields
            .iter()
            .copied()
            .chain(["db.system=\"postgresql\"", &db_name, &server])
        {
            assert!(
                line.1.contains(field),
                "`{name}` span with `{marker}` lacks `{field}`: {line:?}"
            );
        }
    }
    let retry = out
        .lines()
        .find(|l| l.contains("retrying after a transient failure"))
        .unwrap_or_else(|| panic!("no retry event in:\n{out}"));
    for field in ["attempt=", "delay_ms=", "error_kind=\"transient\""] {
        assert!(
            retry.contains(field),
            "the retry event lacks `{field}`: {retry}"
        );
    }
    for secret in [
        password.as_str(),
        "wrong-password-xyz",
        "secret-param-value",
    ] {
        assert!(
            !out.contains(secret),
            "`{secret}` leaked into tracing output"
        );
        assert!(!debug.contains(secret), "`{secret}` leaked into Debug");
    }
    Ok(())
}

#[tokio::test]
async fn a_slow_checkout_is_logged_with_the_stats() -> anyhow::Result<()> {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    pool.set_slow_acquire_threshold(Duration::from_micros(1));
    let held = pool.acquire().await?;
    let warnings = |text: &str| text.matches("slow connection checkout").count();
    let before = warnings(&capture.text());

    // The second checkout can only complete once the first connection is released, so it
    // waits longer than the 1 µs threshold whatever the machine's speed.
    let waiter = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.acquire().await.map(drop) })
    };
    wait_until_waiting(&pool).await;
    drop(held);
    waiter.await??;

    let out = capture.text();
    assert_eq!(
        warnings(&out),
        before + 1,
        "the waiting checkout was logged:\n{out}"
    );
    assert!(out.contains("waited_ms="), "{out}");
    assert!(out.contains("stats="), "{out}");
    Ok(())
}

/// Polls the pool's stats (bounded) until a caller is waiting for a connection.
async fn wait_until_waiting(pool: &Pool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pool.stats().waiting == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no caller started waiting"
        );
        tokio::task::yield_now().await;
    }
}
