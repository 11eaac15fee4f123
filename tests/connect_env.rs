//! The configuration wins over the process environment: sqlx reads `PGOPTIONS` and the
//! `PGSSL*` certificate variables into every connection behind the loader's back, so a pool
//! refuses to start while they are set (rather than silently connecting with them).
//!
//! The environment is per process: the outer test re-runs this binary with the variable set
//! and runs the ignored inner test there.

mod common;

use std::process::Command;

use common::config;
use pgtide::{ErrorKind, Pool};
use pgtide_testkit::TestDb;

fn run_inner(test: &str, env: &[(&str, &str)]) {
    let exe = std::env::current_exe().expect("the test binary");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        test,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "inner test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pgoptions_in_the_process_environment_never_reaches_a_connection() {
    run_inner(
        "inner_pgoptions_is_refused",
        &[("PGOPTIONS", "-c search_path=x")],
    );
}

#[test]
fn a_certificate_from_the_process_environment_never_reaches_a_connection() {
    run_inner(
        "inner_sslrootcert_is_refused",
        &[("PGSSLROOTCERT", "/nonexistent/ca.pem")],
    );
}

#[tokio::test]
#[ignore = "run in a child process with PGOPTIONS set"]
async fn inner_pgoptions_is_refused() -> anyhow::Result<()> {
    assert!(std::env::var_os("PGOPTIONS").is_some());
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 1).build()?;
    let err = Pool::connect(&cfg).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    let msg = err.to_string();
    assert!(msg.contains("PGOPTIONS"), "{msg}");
    assert!(
        !msg.contains("search_path=x"),
        "the value is not shown: {msg}"
    );
    let mut admin = db.connect().await?;
    assert_eq!(
        common::backends(&mut admin, &cfg).await,
        0,
        "nothing connected"
    );
    Ok(())
}

#[tokio::test]
#[ignore = "run in a child process with PGSSLROOTCERT set"]
async fn inner_sslrootcert_is_refused() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    // TLS off: the certificate would not be used, so it is harmless and the pool connects.
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
    assert_eq!(one, 1);
    // TLS on without a root certificate in the configuration: sqlx would use the variable's.
    let cfg = config(&db, 1, 1)
        .ssl_mode(pgtide::config::SslMode::Require)
        .build()?;
    let msg = Pool::connect(&cfg).await.unwrap_err().to_string();
    assert!(msg.contains("PGSSLROOTCERT"), "{msg}");
    Ok(())
}
