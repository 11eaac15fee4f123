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
