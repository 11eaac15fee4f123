//! Rotating credentials against the real server: a password provider is consulted for each
//! new connection, so a pool keeps growing after `ALTER ROLE … PASSWORD`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::role::{TestRole, config_as};
use pgtide::config::Config;
use pgtide::registry::Registry;
use pgtide::{ErrorKind, Pool, SecretString};
use pgtide_testkit::TestDb;

#[tokio::test]
async fn a_rotated_password_is_used_for_the_next_new_connection() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let mut admin = db.connect().await?;
    let role = TestRole::create(&db, &mut admin, "cred", "one").await?;
    let cfg = config_as(&db, &role.name, "one", 3, None)?;
    let pool = Pool::connect(&cfg).await?;
    let current = Arc::new(Mutex::new(String::from("one")));
    let calls = Arc::new(AtomicUsize::new(0));
    {
        let (current, calls) = (Arc::clone(&current), Arc::clone(&calls));
        pool.set_password_provider(move || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(SecretString::from(current.lock().unwrap().clone()))
        });
    }
    let first = pool.acquire().await?;

    // Mid-run rotation: the server and the secret change; the open connection keeps working.
    role.set_password(&mut admin, "two").await?;
    *current.lock().unwrap() = String::from("two");
    // The configuration's password no longer works...
    let stale = Pool::connect(&cfg).await.unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::Auth, "{stale}");

    // ...but the pool opens its next connection with the provider's.
    let before = calls.load(Ordering::SeqCst);
    let second = pool.acquire().await?;
    assert!(
        calls.load(Ordering::SeqCst) > before,
        "the provider was asked"
    );
    assert_eq!(pool.stats().size, 2);
    let users: Vec<String> = sqlx::query_scalar(
        "SELECT usename::text FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(&cfg.connection().application_name)
    .fetch_all(&mut admin)
    .await?;
    assert_eq!(users.len(), 2);
    drop((first, second));
    Ok(())
}

#[tokio::test]
async fn a_failing_provider_fails_the_connect_naming_it() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let s = db.server();
    let cfg = config_as(&db, &s.user, &s.password, 3, None)?;
    let pool = Pool::connect(&cfg).await?;
    pool.set_password_provider(|| Err("secret file unreadable".into()));
    let err = pool.connect_unpooled().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
    assert!(err.to_string().contains("password provider"), "{err}");
    assert!(err.to_string().contains("secret file unreadable"), "{err}");
    Ok(())
}

#[tokio::test]
async fn a_secret_file_reference_is_re_read_for_each_new_connection() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let mut admin = db.connect().await?;
    let role = TestRole::create(&db, &mut admin, "file", "one").await?;
    let cfg = config_as(&db, &role.name, "one", 3, None)?;
    let dir = tempdir(&db)?;
    let secret = dir.join("pg-password");
    std::fs::write(&secret, "one\n")?;
    let pool = Pool::connect(&cfg).await?;
    pool.set_password_reference(&format!("secret://file/{}", secret.display()))?;
    let first = pool.acquire().await?;

    // Mid-run rotation: the role's password and the secret file change.
    role.set_password(&mut admin, "two").await?;
    std::fs::write(&secret, "two\n")?;
    let second = pool.acquire().await?;
    assert_eq!(pool.stats().size, 2);

    // A vanished file fails the next connection, naming the reference, never a password.
    std::fs::remove_file(&secret)?;
    let err = pool.connect_unpooled().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
    assert!(err.to_string().contains("pg-password"), "{err}");
    assert!(!err.to_string().contains("two"), "{err}");
    drop((first, second));
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

#[tokio::test]
async fn a_secret_env_reference_is_re_read_for_each_new_connection() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let mut admin = db.connect().await?;
    let role = TestRole::create(&db, &mut admin, "envref", "one").await?;
    let cfg = config_as(&db, &role.name, "one", 3, None)?;
    let var = format!("PGTIDE_TEST_PW_{}", std::process::id());
    // SAFETY: nextest runs each test in a process of its own; nothing else reads this variable.
    unsafe { std::env::set_var(&var, "one") };
    let pool = Pool::connect(&cfg).await?;
    pool.set_password_reference(&format!("secret://env/{var}"))?;
    let first = pool.acquire().await?;
    role.set_password(&mut admin, "two").await?;
    // SAFETY: as above.
    unsafe { std::env::set_var(&var, "two") };
    let second = pool.acquire().await?;
    assert_eq!(pool.stats().size, 2);
    drop((first, second));
    Ok(())
}

#[tokio::test]
async fn a_bad_reference_is_refused_at_once() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let s = db.server();
    let pool = Pool::connect(&config_as(&db, &s.user, &s.password, 1, None)?).await?;
    let err = pool.set_password_reference("plain-password").unwrap_err();
    assert!(err.to_string().contains("secret://file/PATH"), "{err}");
    assert!(!err.to_string().contains("plain-password"), "{err}");
    let err = pool
        .set_password_reference("secret://file//nonexistent/pgtide-pw")
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/pgtide-pw"), "{err}");
    Ok(())
}

#[tokio::test]
async fn a_pool_loaded_from_a_toml_file_follows_its_secret_file() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let mut admin = db.connect().await?;
    let role = TestRole::create(&db, &mut admin, "toml", "one").await?;
    let dir = tempdir(&db)?;
    let secret = dir.join("pg-password");
    std::fs::write(&secret, "one\n")?;
    let reference = format!("secret://file/{}", secret.display());
    let file = dir.join("pgtide.toml");
    let s = db.server();
    std::fs::write(
        &file,
        format!(
            "[default]\nhost = \"{}\"\nport = {}\ndatabase = \"{}\"\nuser = \"{}\"\n\
             password = \"{reference}\"\nsslmode = \"disable\"\n\
             application_name = \"{}\"\n[default.pool]\nmax_size = 3\n",
            s.host,
            s.port,
            db.name(),
            role.name,
            common::unique_app_name(),
        ),
    )?;
    let load = || {
        Config::loader()
            .file(&file)
            .env(std::iter::empty::<(String, String)>())
            .load()
    };
    let cfg = load()?;
    assert_eq!(cfg.password_reference(), Some(reference.as_str()));
    let registry = Registry::new();
    let pool = registry.pool(&cfg).await?;
    let mut first = pool.acquire().await?;

    // Mid-run rotation: the role's password and the secret file change.
    role.set_password(&mut admin, "two").await?;
    std::fs::write(&secret, "two\n")?;
    // Reloading gives the same configuration (the reference, not the value, is hashed)...
    let reloaded = load()?;
    assert_eq!(reloaded.config_hash(), cfg.config_hash());
    let same = registry.pool(&reloaded).await?;
    assert!(same.same_pool(&pool), "a rotated file keeps its pool");
    // ...and the pool's next new connection reads the new password, with nothing to call.
    let second = same.acquire().await?;
    assert_eq!(pool.stats().size, 2);
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut *first)
        .await?;
    assert_eq!(
        one, 1,
        "the connection opened before the rotation keeps working"
    );
    assert!(!format!("{cfg:?}").contains("\"one\""));
    drop((first, second));
    registry.close_all().await;
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

#[test]
fn literal_and_env_passwords_keep_no_reference() -> anyhow::Result<()> {
    let base = [("DATABASE_URL", "postgres://app@db.internal/app")];
    let literal = Config::loader()
        .no_file_search()
        .env(base.into_iter().chain([("PGPASSWORD", "pw")]))
        .load()?;
    assert_eq!(literal.password_reference(), None);
    let env = Config::loader()
        .no_file_search()
        .env(base.into_iter().chain([
            ("PGTIDE_DEFAULT__PASSWORD", "secret://env/PW"),
            ("PW", "pw"),
        ]))
        .load()?;
    assert_eq!(env.password_reference(), None, "resolved once, at load");
    // An env reference hashes by its value: different values, different configurations.
    let other = Config::loader()
        .no_file_search()
        .env(base.into_iter().chain([
            ("PGTIDE_DEFAULT__PASSWORD", "secret://env/PW"),
            ("PW", "other"),
        ]))
        .load()?;
    assert_ne!(env.config_hash(), other.config_hash());
    assert_eq!(env.config_hash(), literal.config_hash());
    Ok(())
}

fn tempdir(db: &TestDb) -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("pgtide-cred-{}", db.name()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
