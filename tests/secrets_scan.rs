//! The password never appears: everything pgtide (and sqlx, and the TLS relay) traces at
//! TRACE level, everything logged through the `log` crate (sqlx logs each statement there
//! when the application has no tracing subscriber), and the `Display` and `Debug` of every
//! error, while connecting, failing to connect, retrying, being refused by `require_auth` or
//! a certificate check, and loading bad configuration, are captured and scanned for the
//! passwords used.
//!
//! Each test installs a process-wide sink (a tracing subscriber, a `log` logger), so each
//! runs in a process of its own: nextest's way, and the log test re-runs itself in a child
//! when another test of this binary may share its process.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::{config, retry};
use pgtide::config::{Config, ConfigLoader, PoolSize, RequireAuth, SslMode};
use pgtide::{Pool, SecretString};
use pgtide_testkit::{Capture, TestDb, TlsProxy, TlsProxyMode};

/// A wrong password, distinctive enough to find anywhere it leaks.
const WRONG: &str = "wrong-Pw-7f3c9e-SECRET";

fn record(errors: &mut Vec<String>, what: &str, err: &dyn std::fmt::Debug, text: String) {
    errors.push(format!("{what}: {text} / {err:?}"));
}

/// Connects, fails to connect and fails to load configuration in every way the scan covers;
/// returns the server's password and the text of every error and `Debug` met.
async fn every_scenario() -> anyhow::Result<(String, Vec<String>)> {
    let db = TestDb::new().await?;
    let password = db.server().password.clone();
    let mut errors = Vec::new();

    // Working connections: plain, through the relay (TLS verified), a query each.
    let tls = db.server().tls.clone().expect("TLS");
    for cfg in [
        config(&db, 1, 2).build()?,
        config(&db, 1, 1)
            .ssl_mode(SslMode::VerifyFull)
            .ssl_root_cert(&tls.ca_cert)
            .build()?,
    ] {
        errors.push(format!("{cfg:?} {cfg}"));
        let pool = Pool::connect(&cfg).await?;
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
        assert_eq!(one, 1);
        errors.push(format!("{pool:?}"));
    }

    // The wrong password: an authentication error, retried or not.
    let err = Pool::connect(
        &Config::builder()
            .host(db.server().host.clone())
            .port(db.server().port)
            .database(db.name())
            .user(db.server().user.clone())
            .password(SecretString::from(WRONG))
            .ssl_mode(SslMode::Disable)
            .pool_size(PoolSize::new(1, 1).unwrap())
            .retry(retry(2, 10, 20, Duration::from_secs(5)))
            .build()?,
    )
    .await
    .unwrap_err();
    record(&mut errors, "wrong password", &err, err.to_string());

    // Nobody listening: connect retries, then fails.
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let err = Pool::connect(
        &config(&db, 1, 1)
            .host("127.0.0.1")
            .port(closed_port)
            .retry(retry(3, 10, 20, Duration::from_secs(5)))
            .build()?,
    )
    .await
    .unwrap_err();
    record(&mut errors, "refused port", &err, err.to_string());

    // A man in the middle asking for the password in plain text, refused by require_auth.
    let mitm = TlsProxy::start(TlsProxyMode::AskCleartext, &["localhost"]).await?;
    let err = Pool::connect(
        &config(&db, 1, 1)
            .host("127.0.0.1")
            .port(mitm.port())
            .ssl_mode(SslMode::Require)
            .require_auth(RequireAuth::SCRAM)
            .retry_attempts(1)
            .build()?,
    )
    .await
    .unwrap_err();
    record(&mut errors, "require_auth", &err, err.to_string());
    // A certificate from a CA the client does not trust.
    let err = Pool::connect(
        &config(&db, 1, 1)
            .host("127.0.0.1")
            .port(mitm.port())
            .ssl_mode(SslMode::VerifyFull)
            .ssl_root_cert(&tls.ca_cert)
            .retry_attempts(1)
            .build()?,
    )
    .await
    .unwrap_err();
    record(&mut errors, "untrusted certificate", &err, err.to_string());

    // Configuration errors with the password around.
    let url = format!("postgres://u:{password}@db.example/app");
    let loaders: Vec<(&str, ConfigLoader)> = vec![
        (
            "bad sslmode in URL",
            Config::loader()
                .no_file_search()
                .env([("DATABASE_URL".to_string(), format!("{url}?sslmode=bogus"))]),
        ),
        (
            "allow",
            Config::loader()
                .no_file_search()
                .env([("DATABASE_URL".to_string(), format!("{url}?sslmode=allow"))]),
        ),
        (
            "bad require_auth",
            Config::loader().no_file_search().env([
                ("DATABASE_URL".to_string(), url.clone()),
                ("PGREQUIREAUTH".to_string(), password.clone()),
            ]),
        ),
        (
            "dsn with password in code",
            Config::loader().no_file_search().set("dsn", &url),
        ),
        (
            "password pasted into another key",
            Config::loader().no_file_search().env([
                ("PGPASSWORD", password.as_str()),
                ("PGCONNECT_TIMEOUT", password.as_str()),
            ]),
        ),
    ];
    for (what, loader) in loaders {
        let err = loader.load().unwrap_err();
        record(&mut errors, what, &err, err.to_string());
    }
    let err = Config::builder()
        .host("db.example")
        .password(SecretString::from(password.as_str()))
        .pool_size(PoolSize::new(1, 1).unwrap())
        .ssl_mode(SslMode::VerifyFull)
        .build()
        .unwrap_err();
    record(&mut errors, "builder", &err, err.to_string());

    Ok((password, errors))
}

fn assert_no_password(sink: &str, captured: &str, password: &str, errors: &[String]) {
    for secret in [password, WRONG] {
        assert!(!captured.contains(secret), "a {sink} line shows a password");
        for text in errors {
            assert!(!text.contains(secret), "an error shows a password: {text}");
        }
    }
}

#[tokio::test]
async fn no_trace_line_and_no_error_text_shows_a_password() -> anyhow::Result<()> {
    let capture = Capture::default();
    let sink = capture.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish(),
    )?;
    let (password, errors) = every_scenario().await?;
    let traced = capture.text();
    assert!(
        traced.contains("TRACE") || traced.contains("DEBUG"),
        "the capture saw the run: {traced}"
    );
    assert!(
        traced.contains("refused to authenticate"),
        "the relay's refusal is traced"
    );
    assert_no_password("trace", &traced, &password, &errors);
    eprintln!(
        "scanned {} bytes of TRACE output and {} error/Debug texts",
        traced.len(),
        errors.len()
    );
    Ok(())
}

/// Every `log` record, formatted with its level and target.
static LOGGED: Mutex<String> = Mutex::new(String::new());

struct CaptureLog;

impl log::Log for CaptureLog {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        // tracing's fallback writes an event's fields into the message.
        let line = format!(
            "{} {}: {}\n",
            record.level(),
            record.target(),
            record.args()
        );
        LOGGED.lock().unwrap().push_str(&line);
    }

    fn flush(&self) {}
}

const LOG_TEST: &str = "sqlx_log_records_never_show_a_password";
/// Set in the child that runs [`LOG_TEST`] alone.
const LOG_CHILD: &str = "PGTIDE_SECRETS_SCAN_LOG_CHILD";

/// An application that logs through `log` (`env_logger` and the like) and installs no
/// tracing subscriber gets sqlx's statement log (`sqlx::query`, at DEBUG), rustls' and
/// sqlx's own `log` records and pgtide's events (tracing falls back to `log`): the same
/// scenarios, every record at TRACE captured and scanned.
#[tokio::test]
async fn sqlx_log_records_never_show_a_password() -> anyhow::Result<()> {
    if std::env::var_os(LOG_CHILD).is_none() {
        // Under `cargo test` another test of this binary may install a tracing subscriber
        // in this process, after which nothing reaches `log`: run alone in a child.
        let out = std::process::Command::new(std::env::current_exe()?)
            .args([LOG_TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(LOG_CHILD, "1")
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(
            stdout.contains("1 passed"),
            "the child ran the test: {stdout}"
        );
        eprintln!("{stderr}");
        return Ok(());
    }
    log::set_logger(&CaptureLog).expect("the only logger");
    log::set_max_level(log::LevelFilter::Trace);
    let (password, errors) = every_scenario().await?;
    let logged = LOGGED.lock().unwrap().clone();
    assert!(
        logged.contains("sqlx::query") && logged.contains("SELECT 1"),
        "sqlx's statement log reached the logger: {logged}"
    );
    assert!(
        logged.contains("refused to authenticate"),
        "pgtide's events reached the logger too"
    );
    assert_no_password("log", &logged, &password, &errors);
    eprintln!(
        "scanned {} bytes of `log` records and {} error/Debug texts",
        logged.len(),
        errors.len()
    );
    Ok(())
}
