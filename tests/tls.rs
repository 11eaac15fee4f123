//! TLS mode and certificates take effect (the throwaway cluster serves TLS with its own CA;
//! a loopback proxy with a CA of its own stands in for a server the client must not trust).

mod common;

use std::path::Path;

use common::config;
use pgtide::config::{Config, PoolSize, SslMode};
use pgtide::{ErrorKind, Pool, SecretString};
use pgtide_testkit::{TestDb, TlsProxy, TlsProxyMode};

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

/// A server whose certificate comes from another CA (the proxy's), forwarding to the real one.
async fn other_ca_server(db: &TestDb, names: &[&str]) -> anyhow::Result<TlsProxy> {
    let s = db.server();
    TlsProxy::start(
        TlsProxyMode::Forward {
            host: s.host.clone(),
            port: s.port,
        },
        names,
    )
    .await
}

fn via(
    db: &TestDb,
    proxy: &TlsProxy,
    mode: SslMode,
    root: Option<&Path>,
) -> anyhow::Result<Config> {
    let mut b = config(db, 1, 1)
        .host("127.0.0.1")
        .port(proxy.port())
        .ssl_mode(mode)
        .retry_attempts(1);
    if let Some(root) = root {
        b = b.ssl_root_cert(root);
    }
    Ok(b.build()?)
}

async fn refused(config: &Config) -> String {
    let err = Pool::connect(config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err:?}");
    err.to_string()
}

#[tokio::test]
async fn verify_modes_trust_only_sslrootcert() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let our_ca = db.server().tls.clone().expect("TLS").ca_cert;
    let proxy = other_ca_server(&db, &["localhost", "127.0.0.1"]).await?;
    // The server's certificate is signed by a CA the client was not given: refused.
    for mode in [SslMode::VerifyFull, SslMode::VerifyCa] {
        let err = refused(&via(&db, &proxy, mode, Some(&our_ca))?).await;
        assert!(
            err.contains("UnknownIssuer") && err.contains("sslrootcert"),
            "{err}"
        );
    }
    // Given that CA as sslrootcert, the same server is accepted and the session works.
    let pool = Pool::connect(&via(
        &db,
        &proxy,
        SslMode::VerifyFull,
        Some(&proxy.ca_cert()),
    )?)
    .await?;
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
    assert_eq!(one, 1);
    Ok(())
}

#[tokio::test]
async fn verify_ca_ignores_the_name_and_verify_full_checks_it() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = other_ca_server(&db, &["elsewhere.example"]).await?;
    let ca = proxy.ca_cert();
    let pool = Pool::connect(&via(&db, &proxy, SslMode::VerifyCa, Some(&ca))?).await?;
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
    assert_eq!(one, 1);
    let err = refused(&via(&db, &proxy, SslMode::VerifyFull, Some(&ca))?).await;
    assert!(
        err.contains("not valid for name") && err.contains("name the host"),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn require_with_sslrootcert_verifies_like_verify_ca() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let our_ca = db.server().tls.clone().expect("TLS").ca_cert;
    let proxy = other_ca_server(&db, &["localhost"]).await?;
    // libpq's rule: `require` with a root certificate checks the chain.
    let err = refused(&via(&db, &proxy, SslMode::Require, Some(&our_ca))?).await;
    assert!(err.contains("UnknownIssuer"), "{err}");
    // Without one, `require` encrypts and accepts any certificate.
    let pool = Pool::connect(&via(&db, &proxy, SslMode::Require, None)?).await?;
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
    assert_eq!(one, 1);
    Ok(())
}

#[test]
fn sslmode_allow_and_weak_system_roots_are_refused_clearly() {
    let base = || {
        Config::builder()
            .host("db.example")
            .password(SecretString::from("pw"))
            .pool_size(PoolSize::new(1, 1).unwrap())
    };
    let err = base()
        .ssl_mode(SslMode::Allow)
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sslmode allow") && err.contains("not supported") && err.contains("prefer"),
        "{err}"
    );
    let err = pgtide::config::ConfigLoader::new()
        .no_file_search()
        .env([(
            "DATABASE_URL",
            "postgres://u:pw@db.example/app?sslmode=allow",
        )])
        .load()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sslmode allow") && !err.contains("pw@"),
        "{err}"
    );
    let err = base()
        .ssl_mode(SslMode::VerifyCa)
        .ssl_root_cert("system")
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs sslmode verify-full"), "{err}");
    base()
        .ssl_mode(SslMode::VerifyFull)
        .ssl_root_cert("system")
        .build()
        .unwrap();
    let err = base()
        .host("/run/postgresql")
        .ssl_mode(SslMode::VerifyFull)
        .ssl_root_cert("/ca.pem")
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Unix socket directory, where there is no TLS"),
        "{err}"
    );
}

/// Set in the children of [`relays_live_per_process_and_hold_nothing_after_their_pools`].
const RELAY_CHILD: &str = "PGTIDE_RELAY_LIFECYCLE_CHILD";

/// The relay directories of process `pid` under `base`.
fn relay_dirs(base: &Path, pid: u32) -> Vec<std::path::PathBuf> {
    let prefix = format!("pgtide-relay-{pid}-");
    std::fs::read_dir(base)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// The lifecycle `pgtide::tls` documents: relays belong to the process (one per upstream,
/// shared by its pools); a relayed connection lives exactly as long as the sqlx connection
/// on it, so a closed pool leaves no session on the server and the next pool to the same
/// server reuses the relay; a process's relay directory outlives it (no exit hook) and is
/// removed by the next process that starts relays.
#[tokio::test]
async fn relays_live_per_process_and_hold_nothing_after_their_pools() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let tls = db.server().tls.clone().expect("TLS");
    let verified = || {
        config(&db, 3, 3)
            .ssl_mode(SslMode::VerifyFull)
            .ssl_root_cert(&tls.ca_cert)
            .build()
    };
    if std::env::var_os(RELAY_CHILD).is_some() {
        // A child: use a relay once, then exit.
        let pool = Pool::connect(&verified()?).await?;
        assert!(ssl_status(&pool).await?.0);
        return Ok(());
    }

    let mut admin = db.connect().await?;
    for round in 0..2 {
        let cfg = verified()?;
        let pool = Pool::connect(&cfg).await?;
        assert!(
            ssl_status(&pool).await?.0,
            "round {round}: through the relay"
        );
        common::eventually("3 relayed sessions", common::SOON, async || {
            common::backends(&mut admin, &cfg).await == 3
        })
        .await;
        pool.close().await;
        common::eventually(
            "no relayed session left after the pool closed",
            common::SOON,
            async || common::backends(&mut admin, &cfg).await == 0,
        )
        .await;
    }

    // Two processes in turn, with a runtime directory of their own.
    let base = std::env::temp_dir().join(format!("pgtide-relay-lifecycle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base)?;
    let child = || -> anyhow::Result<u32> {
        let out = std::process::Command::new(std::env::current_exe()?)
            .args([
                "relays_live_per_process_and_hold_nothing_after_their_pools",
                "--exact",
                "--test-threads=1",
            ])
            .env(RELAY_CHILD, "1")
            .env("XDG_RUNTIME_DIR", &base)
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(out_pid(&base))
    };
    // The child's pid: the one relay directory whose process is gone and not yet seen.
    fn out_pid(base: &Path) -> u32 {
        let mut pids: Vec<u32> = std::fs::read_dir(base)
            .unwrap()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix("pgtide-relay-")?
                    .split('-')
                    .next()?
                    .parse()
                    .ok()
            })
            .collect();
        pids.sort_unstable();
        pids.dedup();
        assert_eq!(
            pids.len(),
            1,
            "one relay directory under {}: {pids:?}",
            base.display()
        );
        pids[0]
    }
    let first = child()?;
    assert_eq!(
        relay_dirs(&base, first).len(),
        1,
        "left by the exited process"
    );
    let second = child()?;
    assert_ne!(first, second);
    assert!(
        relay_dirs(&base, first).is_empty(),
        "the next process swept the directory of the exited one"
    );
    assert_eq!(relay_dirs(&base, second).len(), 1);
    std::fs::remove_dir_all(&base)?;
    Ok(())
}
