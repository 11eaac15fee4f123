//! Several hosts and `target_session_attrs` from every source (TOML, YAML, `PGTIDE_*`,
//! `PGHOST`/`PGPORT`, URLs, code), what `config show` prints for them, and the errors,
//! each naming the key, the profile and the source.

use pgtide::SecretString;
use pgtide::config::{Config, ConfigLoader, PoolSize, TargetSessionAttrs};

fn loader(env: &[(&str, &str)]) -> ConfigLoader {
    let mut all = vec![("PGPASSWORD", "pw")];
    all.extend_from_slice(env);
    Config::loader()
        .no_file_search()
        .env(all.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn hosts(config: &Config) -> Vec<String> {
    config
        .connection()
        .hosts
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Loads a config file with `text`, named `name` (its extension picks the format).
fn from_file(name: &str, text: &str) -> Result<Config, String> {
    let dir = std::env::temp_dir().join(format!(
        "pgtide-replica-config-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    let out = loader(&[]).file(&file).load();
    std::fs::remove_dir_all(&dir).unwrap();
    out.map_err(|e| e.to_string().replace(&file.display().to_string(), "FILE"))
}

#[test]
fn host_lists_from_toml_yaml_env_and_urls() {
    let toml = from_file(
        "pgtide.toml",
        "[default]\nhost = [\"db1\", \"db2\"]\nport = [5432, 5433]\ntarget_session_attrs = \"read-write\"\n",
    )
    .unwrap();
    assert_eq!(hosts(&toml), ["db1:5432", "db2:5433"]);
    assert_eq!(
        toml.connection().target_session_attrs,
        TargetSessionAttrs::ReadWrite
    );
    // The first host is `host`/`port`, as before.
    assert_eq!(toml.connection().host, "db1");

    let yaml = from_file(
        "pgtide.yaml",
        "default:\n  host:\n    - db1\n    - db2\n  port: 6432\n  target_session_attrs: prefer-standby\n",
    )
    .unwrap();
    assert_eq!(hosts(&yaml), ["db1:6432", "db2:6432"], "one port for all");
    assert_eq!(
        yaml.connection().target_session_attrs,
        TargetSessionAttrs::PreferStandby
    );

    let env = loader(&[
        ("PGTIDE_DEFAULT__HOST", "a,b,c"),
        ("PGTIDE_DEFAULT__PORT", "1,2,3"),
        ("PGTIDE_DEFAULT__TARGET_SESSION_ATTRS", "standby"),
    ])
    .load()
    .unwrap();
    assert_eq!(hosts(&env), ["a:1", "b:2", "c:3"]);
    assert_eq!(
        env.connection().target_session_attrs,
        TargetSessionAttrs::Standby
    );

    let libpq = loader(&[
        ("PGHOST", "a, b"),
        ("PGPORT", "7"),
        ("PGTARGETSESSIONATTRS", "primary"),
    ])
    .load()
    .unwrap();
    assert_eq!(hosts(&libpq), ["a:7", "b:7"]);
    assert_eq!(
        libpq.connection().target_session_attrs,
        TargetSessionAttrs::Primary
    );

    let url = loader(&[(
        "DATABASE_URL",
        "postgres://app@a:5432,b:5433,[::1]/app?target_session_attrs=read-only",
    )])
    .load()
    .unwrap();
    assert_eq!(hosts(&url), ["a:5432", "b:5433", "[::1]:5432"]);
    assert_eq!(
        url.connection().target_session_attrs,
        TargetSessionAttrs::ReadOnly
    );
    let params = loader(&[("DATABASE_URL", "postgres:///app?host=a,b&port=1,2")])
        .load()
        .unwrap();
    assert_eq!(hosts(&params), ["a:1", "b:2"]);

    let code = Config::builder()
        .hosts(["a", "b"])
        .ports([1, 2])
        .target_session_attrs(TargetSessionAttrs::ReadWrite)
        .password(SecretString::from("pw"))
        .pool_size(PoolSize::new(1, 2).unwrap())
        .build()
        .unwrap();
    assert_eq!(hosts(&code), ["a:1", "b:2"]);
    assert_eq!(
        code.to_string(),
        format!("postgres@a:1,b:2/postgres (profile default, sslmode require, pool 1..=2)")
    );
}

#[test]
fn config_show_lists_the_hosts_and_the_attrs() {
    let loaded = loader(&[
        ("PGTIDE_DEFAULT__HOST", "a,b"),
        ("PGTIDE_DEFAULT__PORT", "1,2"),
        ("PGTIDE_DEFAULT__TARGET_SESSION_ATTRS", "read-write"),
    ])
    .load_explained()
    .unwrap();
    assert_eq!(loaded.entry("host").unwrap().value, "a,b");
    assert_eq!(loaded.entry("port").unwrap().value, "1,2");
    assert_eq!(
        loaded.entry("target_session_attrs").unwrap().value,
        "read-write"
    );
    let one_port = loader(&[("PGHOST", "a,b")]).load_explained().unwrap();
    assert_eq!(one_port.entry("port").unwrap().value, "5432");
    let default = loader(&[]).load_explained().unwrap();
    assert_eq!(default.entry("target_session_attrs").unwrap().value, "any");
}

#[test]
fn bad_lists_name_the_key_the_profile_and_the_source() {
    let err = |env: &[(&str, &str)]| loader(env).load().unwrap_err().to_string();
    assert_eq!(
        err(&[("PGHOST", "a,b,c"), ("PGPORT", "1,2")]),
        "invalid `port` in profile `default` (environment variable PGPORT): gives 2 ports for 3 hosts: give one port for every host, or one per host in the same order"
    );
    assert_eq!(
        err(&[("PGTIDE_DEFAULT__HOST", "a,,b")]),
        "invalid `host` in profile `default` (environment variable PGTIDE_DEFAULT__HOST): host 2 of 3 is empty: give a host name, an IP address or a socket directory for each"
    );
    assert_eq!(
        err(&[("PGPORT", "5432,x")]),
        "invalid `port` in profile `default` (environment variable PGPORT): expected a port number 1..=65535, got `x` (item 2 of 2)"
    );
    assert_eq!(
        err(&[("PGTARGETSESSIONATTRS", "primary-ish")]),
        "invalid `target_session_attrs` in profile `default` (environment variable PGTARGETSESSIONATTRS): expected one of any, read-write, read-only, primary, standby, prefer-standby, got `primary-ish`"
    );
    let file = from_file(
        "pgtide.toml",
        "[default]\nhost = [\"a\", \"b\"]\nport = [1, 2, 3]\n",
    )
    .unwrap_err();
    assert_eq!(
        file,
        "invalid `port` in profile `default` (file FILE, line 3): gives 3 ports for 2 hosts: give one port for every host, or one per host in the same order"
    );
    let file = from_file("pgtide.toml", "[default]\nhost = []\n").unwrap_err();
    assert_eq!(
        file,
        "invalid `host` in profile `default` (file FILE, line 2): expected a host or a list of hosts, got an empty list"
    );
    assert!(
        err(&[("DATABASE_URL", "postgres://u@a,:5/db")])
            .contains("host 2 of the URL's host list is empty"),
    );
}

#[test]
fn the_replica_twin_is_read_only_and_prefers_a_standby() {
    let config = loader(&[("PGHOST", "a,b"), ("PGTARGETSESSIONATTRS", "read-write")])
        .load()
        .unwrap();
    let reads = config.for_replicas();
    assert_eq!(
        reads.connection().target_session_attrs,
        TargetSessionAttrs::PreferStandby
    );
    assert_eq!(
        reads
            .session()
            .extra
            .get("default_transaction_read_only")
            .map(String::as_str),
        Some("on")
    );
    assert_eq!(hosts(&reads), hosts(&config));
    assert_ne!(reads.config_hash(), config.config_hash());
    let standby_only = loader(&[("PGTARGETSESSIONATTRS", "standby")])
        .load()
        .unwrap()
        .for_replicas();
    assert_eq!(
        standby_only.connection().target_session_attrs,
        TargetSessionAttrs::Standby
    );
}
