//! TLS mode and certificates take effect (the throwaway cluster serves TLS with its own CA).

mod common;

use common::config;
use pgtide::config::SslMode;
use pgtide::{ErrorKind, Pool};
use pgtide_testkit::TestDb;

async fn ssl_status(pool: &Pool) -> anyhow::Result<(bool, Option<String>)> {
    Ok(
        sqlx::query_as("SELECT ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(pool)
            .await?,
    )
}

#[tokio::test]
async fn disable_connects_in_plain_text() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).ssl_mode(SslMode::Disable).build()?).await?;
    assert_eq!(ssl_status(&pool).await?, (false, None));
    Ok(())
}

#[tokio::test]
async fn require_and_verify_full_use_tls() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let tls = db
        .server()
        .tls
        .clone()
        .expect("the throwaway cluster serves TLS");
    let pool = Pool::connect(&config(&db, 1, 1).ssl_mode(SslMode::Require).build()?).await?;
    assert!(ssl_status(&pool).await?.0);
    let pool = Pool::connect(
        &config(&db, 1, 1)
            .ssl_mode(SslMode::VerifyFull)
            .ssl_root_cert(&tls.ca_cert)
            .build()?,
    )
    .await?;
    assert!(ssl_status(&pool).await?.0);
    Ok(())
}

#[tokio::test]
async fn client_certificate_is_presented() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let tls = db.server().tls.clone().expect("TLS");
    let pool = Pool::connect(
        &config(&db, 1, 1)
            .ssl_mode(SslMode::VerifyCa)
            .ssl_root_cert(&tls.ca_cert)
            .ssl_client_cert(tls.client_cert(), tls.client_key())
            .build()?,
    )
    .await?;
    let (ssl, dn) = ssl_status(&pool).await?;
    assert!(ssl);
    let dn = dn.expect("the server saw a client certificate");
    assert!(dn.contains(&db.server().user), "{dn}");
    Ok(())
}

#[tokio::test]
async fn verify_full_rejects_a_server_the_ca_did_not_sign() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let tls = db.server().tls.clone().expect("TLS");
    // The client certificate is no CA: nothing chains to it.
    let cfg = config(&db, 1, 1)
        .ssl_mode(SslMode::VerifyFull)
        .ssl_root_cert(tls.client_cert())
        .retry_attempts(1)
        .build()?;
    let err = Pool::connect(&cfg).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err:?}");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    Ok(())
}
