//! `require_auth`: a server (or a man in the middle) asking for an authentication method the
//! configuration does not allow gets nothing, on the very connection that asked.

mod common;

use common::{SOON, config, eventually};
use pgtide::config::{AuthMethod, Config, PoolSize, RequireAuth, SslMode};
use pgtide::{ErrorKind, Pool, SecretString};
use pgtide_testkit::{TestDb, TlsProxy, TlsProxyMode};

/// A config for a man in the middle at `proxy` that terminates TLS itself.
fn via_mitm(db: &TestDb, proxy: &TlsProxy, require_auth: &str) -> anyhow::Result<Config> {
    Ok(config(db, 1, 1)
        .host("127.0.0.1")
        .port(proxy.port())
        .ssl_mode(SslMode::Require)
        .require_auth(require_auth.parse().map_err(anyhow::Error::msg)?)
        .retry_attempts(1)
        // The control test waits for this: the proxy never answers the password.
        .connect_timeout(std::time::Duration::from_secs(2))
        .build()?)
}

async fn finished_connections(proxy: &TlsProxy, n: usize) -> Vec<Vec<u8>> {
    eventually("the proxy's connections to finish", SOON, async || {
        proxy.received_after_request().len() >= n
    })
    .await;
    proxy.received_after_request()
}

#[tokio::test]
async fn a_cleartext_request_over_unverified_tls_gets_nothing() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let password = db.server().password.clone();
    let proxy = TlsProxy::start(TlsProxyMode::AskCleartext, &["localhost", "127.0.0.1"]).await?;
    let err = Pool::connect(&via_mitm(&db, &proxy, "scram-sha-256")?)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("refused to authenticate") && text.contains("plain text"),
        "{text}"
    );
    assert_eq!(proxy.handshakes(), 1, "TLS was set up with the proxy");
    let received = finished_connections(&proxy, 1).await;
    assert_eq!(
        received,
        vec![Vec::<u8>::new()],
        "nothing arrived after the request"
    );
    assert!(!text.contains(&password));
    Ok(())
}

#[tokio::test]
async fn the_proxy_does_see_the_password_when_cleartext_is_allowed() -> anyhow::Result<()> {
    // The control: without the restriction, the same proxy receives the password, so the
    // test above could fail.
    let db = TestDb::new().await?;
    let password = db.server().password.clone();
    let proxy = TlsProxy::start(TlsProxyMode::AskCleartext, &["localhost"]).await?;
    let _ = Pool::connect(&via_mitm(&db, &proxy, "password")?).await;
    let received = finished_connections(&proxy, 1).await;
    assert_eq!(received[0].first(), Some(&b'p'), "a PasswordMessage");
    let needle = password.as_bytes();
    assert!(received[0].windows(needle.len()).any(|w| w == needle));
    Ok(())
}

#[tokio::test]
async fn md5_and_none_are_refused_when_not_listed_and_scram_passes() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    // The throwaway server asks for SCRAM-SHA-256: allowed, the connection works through
    // the enforcing relay, in TLS.
    let pool = Pool::connect(
        &config(&db, 1, 1)
            .ssl_mode(SslMode::Require)
            .require_auth(RequireAuth::SCRAM)
            .build()?,
    )
    .await?;
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await?;
    assert!(ssl);
    // ... and refused when only `password` and `md5` are allowed: the server's SCRAM
    // request is not passed on either.
    let err = Pool::connect(
        &config(&db, 1, 1)
            .ssl_mode(SslMode::Require)
            .require_auth("password,md5".parse().map_err(anyhow::Error::msg)?)
            .retry_attempts(1)
            .build()?,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err:?}");
    assert!(err.to_string().contains("SCRAM-SHA-256"), "{err}");
    // In plain text too (sslmode disable): the relay enforces without TLS.
    let err = Pool::connect(
        &config(&db, 1, 1)
            .require_auth("!scram-sha-256".parse().map_err(anyhow::Error::msg)?)
            .retry_attempts(1)
            .build()?,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err:?}");
    Ok(())
}

#[test]
fn remote_unverified_hosts_default_to_scram_only() -> anyhow::Result<()> {
    let build = |host: &str, mode: SslMode, root: Option<&str>| {
        let mut b = Config::builder()
            .host(host)
            .password(SecretString::from("pw"))
            .pool_size(PoolSize::new(1, 1).unwrap())
            .ssl_mode(mode);
        if let Some(root) = root {
            b = b.ssl_root_cert(root);
        }
        b.build().map(|c| c.tls().require_auth)
    };
    assert_eq!(
        build("db.example", SslMode::Require, None)?,
        RequireAuth::SCRAM
    );
    assert_eq!(
        build("db.example", SslMode::Prefer, None)?,
        RequireAuth::SCRAM
    );
    // A verified server may ask for anything, as libpq allows.
    assert!(build("db.example", SslMode::VerifyFull, Some("/ca.pem"))?.is_any());
    assert!(build("db.example", SslMode::Require, Some("/ca.pem"))?.is_any());
    // Loopback and sockets: this machine.
    assert!(build("127.0.0.1", SslMode::Require, None)?.is_any());
    assert!(build("/run/postgresql", SslMode::Disable, None)?.is_any());
    let loaded = pgtide::config::ConfigLoader::new()
        .no_file_search()
        .env([
            ("PGHOST", "db.example"),
            ("PGPASSWORD", "pw"),
            ("PGREQUIREAUTH", "!password"),
        ])
        .load()?;
    assert!(!loaded.tls().require_auth.allows(AuthMethod::Password));
    assert!(loaded.tls().require_auth.allows(AuthMethod::Md5));
    let loaded = pgtide::config::ConfigLoader::new()
        .no_file_search()
        .env([(
            "DATABASE_URL",
            "postgres://u:pw@db.example/app?require_auth=md5,scram-sha-256",
        )])
        .load()?;
    assert_eq!(
        loaded.tls().require_auth,
        RequireAuth::only(&[AuthMethod::Md5, AuthMethod::ScramSha256])
    );
    let err = pgtide::config::ConfigLoader::new()
        .no_file_search()
        .env([
            ("PGHOST", "db.example"),
            ("PGPASSWORD", "pw"),
            ("PGREQUIREAUTH", "gss"),
        ])
        .load()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("require_auth") && err.contains("unknown authentication method `gss`"),
        "{err}"
    );
    Ok(())
}

/// sqlx has no SCRAM channel binding and no GSSAPI encryption: asking to *require* either
/// (URL parameter or libpq variable) is refused naming the limitation, never silently
/// ignored; `disable` and `prefer` ask for nothing sqlx lacks and load.
#[test]
fn channel_binding_and_gss_encryption_cannot_be_required() -> anyhow::Result<()> {
    let load = |env: &[(&str, &str)]| {
        pgtide::config::ConfigLoader::new()
            .no_file_search()
            .env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .load()
    };
    for (env, setting) in [
        (
            (
                "DATABASE_URL",
                "postgres://u:pw@db.example/app?channel_binding=require",
            ),
            "channel_binding",
        ),
        (("PGCHANNELBINDING", "require"), "channel_binding"),
        (
            (
                "DATABASE_URL",
                "postgres://u:pw@db.example/app?gssencmode=require",
            ),
            "gssencmode",
        ),
        (("PGGSSENCMODE", "require"), "gssencmode"),
    ] {
        let err = load(&[("PGHOST", "db.example"), ("PGPASSWORD", "pw"), env])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("`{setting}=require` is not supported"))
                && err.contains("sqlx does not")
                && !err.contains("pw@"),
            "{err}"
        );
    }
    let err = load(&[
        ("PGHOST", "db.example"),
        ("PGPASSWORD", "pw"),
        ("PGCHANNELBINDING", "maybe"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("must be `disable`, `prefer` or `require`"),
        "{err}"
    );
    for ok in ["disable", "prefer"] {
        load(&[
            ("PGHOST", "db.example"),
            ("PGPASSWORD", "pw"),
            ("PGCHANNELBINDING", ok),
            ("PGGSSENCMODE", ok),
        ])?;
        load(&[(
            "DATABASE_URL",
            &format!("postgres://u:pw@db.example/app?channel_binding={ok}&gssencmode={ok}"),
        )])?;
    }
    Ok(())
}
