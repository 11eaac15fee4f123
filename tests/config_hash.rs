//! The config hash: equal configs hash equal (built or loaded), any change (the password
//! included) changes it, and it reveals nothing of the password.

use pgtide::SecretString;
use pgtide::config::{Config, ConfigLoader, PoolSize, SslMode};

/// A loader that reads only `env` and no file.
fn loader(env: &[(&str, &str)]) -> ConfigLoader {
    Config::loader()
        .no_file_search()
        .env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

#[test]
fn builder_and_loader_make_equal_configs() {
    let built = Config::builder()
        .host("db.example")
        .user("app")
        .database("app")
        .application_name("svc")
        .password(SecretString::from("pw"))
        .pool_size(PoolSize::new(2, 8).unwrap())
        .build()
        .unwrap();
    let loaded = loader(&[(
        "DATABASE_URL",
        "postgres://app:pw@db.example/app?application_name=svc",
    )])
    .set("pool.min_size", 2)
    .set("pool.max_size", 8)
    .load()
    .unwrap();
    assert_eq!(built.config_hash(), loaded.config_hash());
    assert_eq!(built.tls().mode, SslMode::Require);
}

fn base() -> pgtide::config::ConfigBuilder<SecretString, PoolSize> {
    Config::builder()
        .host("db.example")
        .password(SecretString::from("pw-one"))
        .pool_size(PoolSize::new(1, 10).unwrap())
}

#[test]
fn config_hash_is_equal_for_equal_configs_and_changes_with_any_change() {
    let a = base().build().unwrap();
    let b = base().build().unwrap();
    assert_eq!(a.config_hash(), b.config_hash());
    assert_eq!(a.config_hash(), a.clone().config_hash());

    let changed = [
        base().host("db2.example").build().unwrap(),
        base().port(5433).build().unwrap(),
        base().user("other").build().unwrap(),
        base().statement_timeout(None).build().unwrap(),
        base().session_setting("work_mem", "1MB").build().unwrap(),
        base().retry_jitter(false).build().unwrap(),
        base().profile("prod").build().unwrap(),
        base().pgbouncer(true).build().unwrap(),
        base()
            .target_session_attrs(pgtide::config::TargetSessionAttrs::ReadWrite)
            .build()
            .unwrap(),
        Config::builder()
            .host("db.example")
            .password(SecretString::from("pw-one"))
            .pool_size(PoolSize::new(1, 11).unwrap())
            .build()
            .unwrap(),
        Config::builder()
            .host("db.example")
            .password(SecretString::from("pw-two"))
            .pool_size(PoolSize::new(1, 10).unwrap())
            .build()
            .unwrap(),
    ];
    for (i, c) in changed.iter().enumerate() {
        assert_ne!(a.config_hash(), c.config_hash(), "change {i}");
    }
}

#[test]
fn config_hash_with_a_key_is_stable_across_processes_and_hides_the_password() {
    let a = base().build().unwrap();
    let key = b"shared hashing key";
    assert_eq!(
        a.config_hash_with_key(key),
        base().build().unwrap().config_hash_with_key(key)
    );
    assert_ne!(
        a.config_hash_with_key(key),
        a.config_hash_with_key(b"another key")
    );
    let hex = a.config_hash().to_string();
    assert_eq!(hex.len(), 64);
    assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!hex.contains("pw-one") && !format!("{:?}", a.config_hash()).contains("pw-one"));
}

/// The hash of an unchanged configuration is byte-identical across pgtide versions (pools
/// cached by hash in another process keep matching): pinned values, for a default config and
/// one that sets every key.
#[test]
fn config_hash_of_an_unchanged_config_is_pinned() {
    use pgtide::config::{HealthCheck, RetrySettings};
    use std::time::Duration;
    let key = b"pinned hashing key";
    let plain = Config::builder()
        .application_name("pinned")
        .password(SecretString::from("pw"))
        .pool_size(PoolSize::new(1, 10).unwrap())
        .build()
        .unwrap();
    let mut retry = RetrySettings::default();
    retry.attempts = 5;
    retry.base_delay = Duration::from_millis(150);
    retry.max_delay = Duration::from_secs(3);
    retry.jitter = false;
    retry.budget = Duration::from_secs(20);
    let full = Config::builder()
        .profile("prod")
        .host("db.example")
        .port(6543)
        .database("appdb")
        .user("app")
        .application_name("svc")
        .connect_timeout(Duration::from_secs(7))
        .ssl_mode(SslMode::VerifyFull)
        .ssl_root_cert("/etc/ca.pem")
        .ssl_client_cert("/etc/c.pem", "/etc/c.key")
        .statement_timeout(Some(Duration::from_millis(1500)))
        .lock_timeout(Some(Duration::from_secs(2)))
        .idle_in_transaction_session_timeout(None)
        .search_path("app, public")
        .session_setting("work_mem", "64MB")
        .session_setting("TimeZone", "UTC")
        .acquire_timeout(Duration::from_secs(4))
        .idle_timeout(None)
        .max_lifetime(Some(Duration::from_secs(600)))
        .health_check(HealthCheck::IdleLongerThan(Duration::from_secs(9)))
        .retry(retry)
        .password(SecretString::from("pw-full"))
        .pool_size(PoolSize::new(2, 16).unwrap())
        .build()
        .unwrap();
    // The application name is set: its default, the binary's name, differs between builds.
    let always = base()
        .application_name("pinned")
        .health_check(HealthCheck::Always)
        .build()
        .unwrap();
    assert_eq!(
        [
            plain.config_hash_with_key(key).to_string(),
            full.config_hash_with_key(key).to_string(),
            always.config_hash_with_key(key).to_string(),
        ],
        [
            "5b3da3b5c512eeb09fd84fe28ca9a6cbea9a416e7f36b2022ce8aac122e6a678",
            "6c9a675f320f8c372e34bb07a9426448f28a7394e8d13eeec9e771594675a8e0",
            "e1503c73946143c652531be94c14a82de24e702533481d135d380ffbd2e20d1d",
        ]
    );
}
