//! Loading configuration: each source (TOML and YAML files, the default search, PGTIDE_ and
//! PG* variables, JSON overlay, DATABASE_URL and `dsn`, code), profiles, durations, secret
//! references, the documented defaults, the effective-config view and the README example.
//! Every test injects its environment; none reads or changes the process's.

use std::time::Duration;

use pgtide::config::{Config, ConfigLoader, HealthCheck, Source, SslMode};
use pgtide::{ExposeSecret, SecretString};

const FIXTURES: &str = "tests/fixtures/config";

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// A loader that reads only `env` and no file unless one is given.
fn loader(env: &[(&str, &str)]) -> ConfigLoader {
    Config::loader()
        .no_file_search()
        .env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

#[test]
fn defaults_are_the_documented_ones() {
    let config = loader(&[("PGPASSWORD", "pw")]).load().unwrap();
    let c = config.connection();
    assert_eq!(config.profile(), "default");
    assert_eq!(
        (c.host.as_str(), c.port, c.user.as_str()),
        ("localhost", 5432, "postgres")
    );
    assert_eq!(
        c.database, "postgres",
        "the database defaults to the user name"
    );
    assert_eq!(c.connect_timeout, Duration::from_secs(5));
    assert_eq!(config.tls().mode, SslMode::Prefer, "prefer on loopback");
    let s = config.session();
    assert_eq!(s.statement_timeout, Some(Duration::from_secs(30)));
    assert_eq!(
        s.idle_in_transaction_session_timeout,
        Some(Duration::from_secs(60))
    );
    assert_eq!(s.lock_timeout, None);
    let p = config.pool();
    assert_eq!((p.size.min(), p.size.max()), (1, 10));
    assert_eq!(p.acquire_timeout, Duration::from_secs(10));
    assert_eq!(p.idle_timeout, Some(Duration::from_secs(300)));
    assert_eq!(p.max_lifetime, Some(Duration::from_secs(1800)));
    assert_eq!(
        p.health_check,
        HealthCheck::IdleLongerThan(Duration::from_secs(30))
    );
    let r = config.retry();
    assert_eq!(
        (r.attempts, r.base_delay, r.max_delay),
        (3, Duration::from_millis(100), Duration::from_secs(2))
    );
    assert!(r.jitter);
}

#[test]
fn sslmode_defaults_to_require_for_remote_hosts_and_prefer_locally() {
    for (host, mode) in [
        ("db.example.com", SslMode::Require),
        ("10.0.0.7", SslMode::Require),
        ("localhost", SslMode::Prefer),
        ("127.0.0.1", SslMode::Prefer),
        ("::1", SslMode::Prefer),
        ("/var/run/postgresql", SslMode::Prefer),
    ] {
        let config = loader(&[("PGPASSWORD", "pw"), ("PGHOST", host)])
            .load()
            .unwrap();
        assert_eq!(config.tls().mode, mode, "{host}");
    }
}

fn assert_full(config: &Config, host: &str, max: u32) {
    let c = config.connection();
    assert_eq!(c.host, host);
    assert_eq!(
        (c.port, c.database.as_str(), c.user.as_str()),
        (6543, "app", "app_user")
    );
    assert_eq!(
        c.password.expose_secret(),
        "file-secret-pw",
        "secret://file, newline trimmed"
    );
    assert_eq!(c.application_name, "billing");
    assert_eq!(c.connect_timeout, Duration::from_secs(3));
    let t = config.tls();
    assert_eq!(t.mode, SslMode::VerifyFull);
    assert_eq!(t.root_cert.as_deref(), Some("/etc/pgtide/ca.pem".as_ref()));
    assert_eq!(
        t.client_cert.as_deref(),
        Some("/etc/pgtide/client.pem".as_ref())
    );
    assert_eq!(
        t.client_key.as_deref(),
        Some("/etc/pgtide/client.key".as_ref())
    );
    let s = config.session();
    assert_eq!(s.search_path.as_deref(), Some("app, public"));
    assert_eq!(s.statement_timeout, Some(Duration::from_millis(250)));
    assert_eq!(s.lock_timeout, Some(Duration::from_secs(5)));
    assert_eq!(
        s.idle_in_transaction_session_timeout,
        Some(Duration::from_secs(60))
    );
    assert_eq!(s.extra.get("work_mem").map(String::as_str), Some("64MB"));
    assert_eq!(s.extra.get("TimeZone").map(String::as_str), Some("UTC"));
    let p = config.pool();
    assert_eq!((p.size.min(), p.size.max()), (2, max));
    assert_eq!(p.acquire_timeout, Duration::from_secs(2));
    assert_eq!(p.idle_timeout, Some(Duration::from_secs(300)));
    assert_eq!(p.max_lifetime, Some(Duration::from_secs(3600)));
    assert_eq!(p.health_check, HealthCheck::Always);
    let r = config.retry();
    assert_eq!(r.attempts, 5);
    assert_eq!(
        (r.base_delay, r.max_delay),
        (Duration::from_millis(50), Duration::from_secs(1))
    );
    assert!(!r.jitter);
    assert_eq!(r.budget, Duration::from_secs(20));
}

#[test]
fn toml_file_sets_every_key() {
    let config = loader(&[]).file(fixture("full.toml")).load().unwrap();
    assert_full(&config, "db.internal", 16);
}

#[test]
fn yaml_file_sets_the_same_keys_to_the_same_config() {
    let yaml = loader(&[]).file(fixture("full.yaml")).load().unwrap();
    assert_full(&yaml, "db.internal", 16);
    let toml = loader(&[]).file(fixture("full.toml")).load().unwrap();
    assert_eq!(yaml.config_hash(), toml.config_hash());
    let yaml = loader(&[])
        .file(fixture("full.yaml"))
        .profile("prod")
        .load()
        .unwrap();
    assert_full(&yaml, "prod-db.internal", 40);
}

#[test]
fn named_profile_overlays_the_default_section() {
    let config = loader(&[])
        .file(fixture("full.toml"))
        .profile("prod")
        .load()
        .unwrap();
    assert_eq!(config.profile(), "prod");
    assert_full(&config, "prod-db.internal", 40);
}

#[test]
fn profile_comes_from_pgtide_profile_and_is_case_insensitive() {
    let file = fixture("profiles.toml");
    let env = [("PGPASSWORD", "pw"), ("PGTIDE_PROFILE", "staging")];
    let config = loader(&env).file(&file).load().unwrap();
    assert_eq!(
        (config.profile(), config.connection().port),
        ("staging", 5434)
    );
    assert_eq!(config.connection().host, "from-default-section");
    let config = loader(&env).file(&file).profile("PROD").load().unwrap();
    assert_eq!(
        config.connection().host,
        "from-prod-section",
        "the explicit choice wins"
    );
}

#[test]
fn a_profile_may_exist_only_in_the_environment() {
    let config = loader(&[("PGPASSWORD", "pw"), ("PGTIDE_CI__HOST", "ci-db")])
        .profile("ci")
        .load()
        .unwrap();
    assert_eq!(config.connection().host, "ci-db");
}

#[test]
fn default_search_finds_pgtide_toml_or_yaml() {
    let unsearched = loader(&[]).search_dir(fixture("search/toml")).load();
    assert!(
        unsearched.is_err(),
        "no_file_search reads no file, so no password"
    );
    let search = |dir: &str| {
        Config::loader()
            .env([("A", "b")])
            .search_dir(fixture(dir))
            .load()
    };
    assert_eq!(
        search("search/toml").unwrap().connection().host,
        "toml-search"
    );
    assert_eq!(
        search("search/yaml").unwrap().connection().host,
        "yaml-search"
    );
    let err = search("search/both").unwrap_err().to_string();
    assert!(
        err.contains("pgtide.toml and ") && err.contains("pgtide.yaml exist: keep one"),
        "{err}"
    );
    assert!(search("search/none").is_err(), "no file, no password");
    assert_eq!(
        search("search/yml").unwrap().connection().host,
        "yml-search",
        "pgtide.yml is found too"
    );
    let err = search("search/yaml_and_yml").unwrap_err().to_string();
    assert!(
        err.contains("pgtide.yaml and ") && err.contains("pgtide.yml exist: keep one"),
        "{err}"
    );
}

#[test]
fn pgtide_config_names_the_file() {
    let file = fixture("host.toml");
    let config = Config::loader()
        .env([("PGTIDE_CONFIG", file.as_str()), ("PGPASSWORD", "pw")])
        .search_dir(fixture("search/toml"))
        .load()
        .unwrap();
    assert_eq!(config.connection().host, "from-file");
}

#[test]
fn pgtide_env_vars_use_double_underscores_between_levels() {
    let config = loader(&[
        ("PGTIDE_DEFAULT__PASSWORD", "pw"),
        ("PGTIDE_DEFAULT__PORT", "6000"),
        ("PGTIDE_DEFAULT__POOL__MAX_SIZE", "33"),
        ("PGTIDE_DEFAULT__POOL__MIN_SIZE", "3"),
        ("PGTIDE_DEFAULT__RETRY__JITTER", "false"),
        ("PGTIDE_DEFAULT__RETRY__ATTEMPTS", "7"),
        ("PGTIDE_DEFAULT__STATEMENT_TIMEOUT", "off"),
        ("PGTIDE_DEFAULT__POOL__HEALTH_CHECK", "never"),
        ("PGTIDE_DEFAULT__SETTINGS__WORK_MEM", "8MB"),
        ("PGTIDE_DB_STATE", "not a key: no double underscore"),
    ])
    .load()
    .unwrap();
    assert_eq!(config.connection().port, 6000);
    assert_eq!(
        (config.pool().size.min(), config.pool().size.max()),
        (3, 33)
    );
    assert!(!config.retry().jitter);
    assert_eq!(config.retry().attempts, 7);
    assert_eq!(config.session().statement_timeout, None);
    assert_eq!(config.pool().health_check, HealthCheck::Never);
    assert_eq!(
        config.session().extra.get("work_mem").map(String::as_str),
        Some("8MB")
    );
}

#[test]
fn json_env_overlays_the_profile() {
    let config = loader(&[
        ("PGPASSWORD", "pw"),
        ("PGTIDE_PROD__POOL__MAX_SIZE", "5"),
        (
            "PGTIDE_PROD__JSON",
            r#"{"pool": {"max_size": 25, "acquire_timeout": "3s"}, "retry": {"jitter": false}}"#,
        ),
    ])
    .profile("prod")
    .load()
    .unwrap();
    assert_eq!(config.pool().size.max(), 25);
    assert_eq!(config.pool().acquire_timeout, Duration::from_secs(3));
    assert!(!config.retry().jitter);
}

#[test]
fn libpq_variables_are_read() {
    let config = loader(&[
        ("PGHOST", "pg-host"),
        ("PGPORT", "5555"),
        ("PGUSER", "pg_user"),
        ("PGPASSWORD", "pg-pw"),
        ("PGDATABASE", "pg_db"),
        ("PGSSLMODE", "disable"),
        ("PGAPPNAME", "pg-app"),
        ("PGCONNECT_TIMEOUT", "9"),
    ])
    .load()
    .unwrap();
    let c = config.connection();
    assert_eq!(
        (
            c.host.as_str(),
            c.port,
            c.user.as_str(),
            c.database.as_str()
        ),
        ("pg-host", 5555, "pg_user", "pg_db")
    );
    assert_eq!(c.password.expose_secret(), "pg-pw");
    assert_eq!(c.application_name, "pg-app");
    assert_eq!(c.connect_timeout, Duration::from_secs(9));
    assert_eq!(config.tls().mode, SslMode::Disable);
}

#[test]
fn database_url_is_taken_apart() {
    let config = loader(&[("DATABASE_URL", "postgresql://u%40corp:p%2Fw@[::1]:6432/my%20db?sslmode=require&application_name=api&connect_timeout=4")])
        .load()
        .unwrap();
    let c = config.connection();
    assert_eq!(
        (
            c.host.as_str(),
            c.port,
            c.user.as_str(),
            c.database.as_str()
        ),
        ("::1", 6432, "u@corp", "my db")
    );
    assert_eq!(c.password.expose_secret(), "p/w");
    assert_eq!(c.application_name, "api");
    assert_eq!(c.connect_timeout, Duration::from_secs(4));
    assert_eq!(config.tls().mode, SslMode::Require);
}

#[test]
fn a_dsn_key_in_a_file_and_keys_beside_it() {
    let loaded = loader(&[])
        .file(fixture("dsn.toml"))
        .load_explained()
        .unwrap();
    let c = loaded.config().connection();
    assert_eq!(
        (c.host.as_str(), c.user.as_str(), c.database.as_str()),
        ("url-host", "url_user", "url_db")
    );
    assert_eq!(c.port, 7001, "a key beside the dsn wins over its part");
    assert_eq!(c.password.expose_secret(), "url-pw");
    assert_eq!(loaded.config().tls().mode, SslMode::Disable);
    assert_eq!(
        loaded.entry("host").unwrap().source.to_string(),
        "file tests/fixtures/config/dsn.toml, line 2"
    );
    assert_eq!(
        loaded.entry("port").unwrap().source.to_string(),
        "file tests/fixtures/config/dsn.toml, line 3"
    );
}

#[test]
fn durations_take_each_unit() {
    for (text, expected) in [
        ("250ms", Duration::from_millis(250)),
        ("30s", Duration::from_secs(30)),
        ("5m", Duration::from_secs(300)),
        ("1h", Duration::from_secs(3600)),
    ] {
        let config = loader(&[("PGPASSWORD", "pw"), ("PGTIDE_DEFAULT__LOCK_TIMEOUT", text)])
            .load()
            .unwrap();
        assert_eq!(config.session().lock_timeout, Some(expected), "{text}");
    }
}

#[test]
fn secret_references_resolve_from_env_and_file() {
    let config = loader(&[
        ("PGTIDE_DEFAULT__PASSWORD", "secret://env/APP_PW"),
        ("APP_PW", "from-env-ref"),
    ])
    .load()
    .unwrap();
    assert_eq!(config.connection().password.expose_secret(), "from-env-ref");

    let path = format!("{}/{FIXTURES}/pg_password", env!("CARGO_MANIFEST_DIR"));
    let reference = format!("secret://file/{path}");
    let config = loader(&[("PGPASSWORD", reference.as_str())])
        .load()
        .unwrap();
    assert_eq!(
        config.connection().password.expose_secret(),
        "file-secret-pw",
        "trailing newline trimmed"
    );

    let config = loader(&[
        ("PGTIDE_DEFAULT__DSN", "secret://env/THE_URL"),
        ("THE_URL", "postgres://u:url-ref-pw@h/db"),
    ])
    .load()
    .unwrap();
    assert_eq!(config.connection().password.expose_secret(), "url-ref-pw");
}

#[test]
fn values_set_in_code_win() {
    let config = loader(&[
        ("PGPASSWORD", "env-pw"),
        ("PGTIDE_DEFAULT__POOL__MAX_SIZE", "5"),
    ])
    .file(fixture("full.toml"))
    .set("pool.max_size", 50)
    .set("statement_timeout", "off")
    .set("retry.jitter", true)
    .password(SecretString::from("code-pw"))
    .load()
    .unwrap();
    assert_eq!(config.pool().size.max(), 50);
    assert_eq!(config.session().statement_timeout, None);
    assert!(config.retry().jitter);
    assert_eq!(config.connection().password.expose_secret(), "code-pw");
}

#[test]
fn effective_config_names_each_source_and_redacts_the_password() {
    let loaded = loader(&[("PGPASSWORD", "pw"), ("PGTIDE_PROD__POOL__MAX_SIZE", "12")])
        .file(fixture("full.toml"))
        .profile("prod")
        .set("retry.attempts", 2)
        .load_explained()
        .unwrap();
    let source = |key: &str| loaded.entry(key).unwrap().source.to_string();
    assert_eq!(
        source("host"),
        "file tests/fixtures/config/full.toml, line 39"
    );
    assert_eq!(
        source("pool.min_size"),
        "file tests/fixtures/config/full.toml, line 24"
    );
    assert_eq!(
        source("pool.max_size"),
        "environment variable PGTIDE_PROD__POOL__MAX_SIZE"
    );
    assert_eq!(
        source("password"),
        "environment variable PGPASSWORD",
        "the environment beats the file"
    );
    assert_eq!(source("retry.attempts"), "set in code");
    assert_eq!(
        source("settings.work_mem"),
        "file tests/fixtures/config/full.toml, line 20"
    );
    assert_eq!(loaded.entry("password").unwrap().value, "[redacted]");
    assert_eq!(loaded.entry("statement_timeout").unwrap().value, "250ms");

    let loaded = loader(&[("PGPASSWORD", "pw")]).load_explained().unwrap();
    assert_eq!(
        loaded.entry("pool.max_size").unwrap().source,
        Source::Default
    );
    assert_eq!(
        loaded.entry("password").unwrap().source,
        Source::Env {
            var: "PGPASSWORD".into()
        }
    );
    let json = serde_json::to_value(&loaded).unwrap();
    assert_eq!(json["profile"], "default");
    assert!(
        json["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["key"] == "password" && e["value"] == "[redacted]")
    );
    assert!(
        loaded
            .to_string()
            .contains("pool.max_size = 10  # built-in default")
    );
}

#[test]
fn the_readme_example_loads() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("<!-- config-example")
        .expect("marker in README");
    let block = &readme[start..];
    let block = &block[block.find("```toml\n").unwrap() + 8..];
    let block = &block[..block.find("```").unwrap()];
    let dir = std::env::temp_dir().join(format!("pgtide-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pgtide.toml");
    std::fs::write(&file, block).unwrap();
    let config = loader(&[("APP_DB_PASSWORD", "pw")])
        .file(&file)
        .profile("prod")
        .load()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(config.connection().host, "db.internal");
    assert_eq!(config.pool().size.max(), 40);
    assert_eq!(config.session().lock_timeout, None);
    assert_eq!(
        config.session().extra.get("work_mem").map(String::as_str),
        Some("64MB")
    );
}
