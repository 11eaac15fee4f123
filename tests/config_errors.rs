//! Every validation and parse error names the key, the profile and the source (file and
//! line, or the environment variable), and says what would be valid. Messages are asserted
//! whole, so a change to one is a deliberate change to this file.

use pgtide::SecretString;
use pgtide::config::{Config, ConfigError, ConfigLoader, PoolSize, SslMode};

const FIXTURES: &str = "tests/fixtures/config";

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

fn loader(env: &[(&str, &str)]) -> ConfigLoader {
    Config::loader()
        .no_file_search()
        .env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

/// The error of loading with `env` (and a password, so that is not what fails).
fn env_error(env: &[(&str, &str)]) -> String {
    let mut all = vec![("PGPASSWORD", "pw")];
    all.extend_from_slice(env);
    loader(&all).load().unwrap_err().to_string()
}

fn file_error(name: &str, profile: &str) -> String {
    loader(&[("PGPASSWORD", "pw")])
        .file(fixture(name))
        .profile(profile)
        .load()
        .unwrap_err()
        .to_string()
}

#[test]
fn unknown_keys_suggest_the_close_one_with_file_line_or_variable() {
    assert_eq!(
        file_error("typo.toml", "default"),
        "unknown key `pool.max_siz` in profile `default` (file tests/fixtures/config/typo.toml, line 6): did you mean `max_size`?"
    );
    assert_eq!(
        file_error("typo.yaml", "default"),
        "unknown key `pool.max_siz` in profile `prod` (file tests/fixtures/config/typo.yaml, line 6): did you mean `max_size`?",
        "a typo in another profile is caught too"
    );
    assert_eq!(
        env_error(&[("PGTIDE_PROD__POOL__MAXSIZE", "3")]),
        "unknown key `pool.maxsize` in profile `prod` (environment variable PGTIDE_PROD__POOL__MAXSIZE): did you mean `max_size`?"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__POOL_MAX_SIZE", "3")]),
        "unknown key `pool_max_size` in profile `default` (environment variable PGTIDE_DEFAULT__POOL_MAX_SIZE): did you mean `pool.max_size`?"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__JSON", r#"{"retry": {"atempts": 2}}"#)]),
        "unknown key `retry.atempts` in profile `default` (environment variable PGTIDE_DEFAULT__JSON): did you mean `attempts`?"
    );
    assert_eq!(
        loader(&[])
            .set("max_size", 3)
            .load()
            .unwrap_err()
            .to_string(),
        "unknown key `max_size` in profile `default` (set in code): did you mean `pool.max_size`?"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__FROBNICATE", "1")]),
        "unknown key `frobnicate` in profile `default` (environment variable PGTIDE_DEFAULT__FROBNICATE): valid keys here are host, port, database, user, password, dsn, sslmode, sslrootcert, sslcert, sslkey, application_name, search_path, connect_timeout, statement_timeout, lock_timeout, idle_in_transaction_session_timeout, settings, pool, retry, codegen, require_auth, pgbouncer, target_session_attrs, storage"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__POOL", "3")]),
        "unknown key `pool` in profile `default` (environment variable PGTIDE_DEFAULT__POOL): `pool` is a group of keys (min_size, max_size, acquire_timeout, idle_timeout, max_lifetime, health_check), not a value"
    );
}

#[test]
fn unknown_profile_lists_the_ones_that_exist() {
    assert_eq!(
        loader(&[("PGPASSWORD", "pw"), ("PGTIDE_CI__HOST", "x")])
            .file(fixture("profiles.toml"))
            .profile("prdo")
            .load()
            .unwrap_err()
            .to_string(),
        "unknown profile `prdo`: the profiles that exist are `ci`, `default`, `prod`, `staging`"
    );
    let err = env_error(&[("PGTIDE_PROFILE", "nope")]);
    assert_eq!(
        err,
        "unknown profile `nope`: the profiles that exist are `default`"
    );
}

#[test]
fn ports_must_be_1_to_65535() {
    assert_eq!(
        file_error("bad_port.toml", "prod"),
        "invalid `port` in profile `prod` (file tests/fixtures/config/bad_port.toml, line 6): expected a port number 1..=65535, got `70000`"
    );
    assert_eq!(
        env_error(&[("PGPORT", "abc")]),
        "invalid `port` in profile `default` (environment variable PGPORT): expected a port number 1..=65535, got `abc`"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__PORT", "0")]),
        "invalid `port` in profile `default` (environment variable PGTIDE_DEFAULT__PORT): expected a port number 1..=65535, got `0`"
    );
    assert_eq!(
        env_error(&[("DATABASE_URL", "postgres://h:99999/db")]),
        "invalid `port` in profile `default` (environment variable DATABASE_URL): expected a port number 1..=65535, got `99999`"
    );
}

#[test]
fn pool_sizes_are_checked_by_pool_size_new() {
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__POOL__MAX_SIZE", "0")]),
        "invalid `pool.max_size` in profile `default` (environment variable PGTIDE_DEFAULT__POOL__MAX_SIZE): must be 1..=10000, got 0"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__POOL__MAX_SIZE", "20000")]),
        "invalid `pool.max_size` in profile `default` (environment variable PGTIDE_DEFAULT__POOL__MAX_SIZE): must be 1..=10000, got 20000"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__JSON", r#"{"pool": {"min_size": 12}}"#)]),
        "invalid `pool.min_size` in profile `default` (environment variable PGTIDE_DEFAULT__JSON): must be 0..=pool.max_size (10), got 12"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__POOL__MIN_SIZE", "-1")]),
        "invalid `pool.min_size` in profile `default` (environment variable PGTIDE_DEFAULT__POOL__MIN_SIZE): expected a whole number (0..=4294967295), got `-1`"
    );
}

#[test]
fn durations_list_the_valid_forms() {
    assert_eq!(
        file_error("bad_duration.yaml", "default"),
        "invalid `pool.acquire_timeout` in profile `default` (file tests/fixtures/config/bad_duration.yaml, line 4): expected a number with a unit: \"250ms\", \"30s\", \"5m\" or \"1h\", got `10 seconds`"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__CONNECT_TIMEOUT", "0s")]),
        "invalid `connect_timeout` in profile `default` (environment variable PGTIDE_DEFAULT__CONNECT_TIMEOUT): must be greater than zero: pgtide needs a bounded connect timeout (libpq's 0, wait forever, is not supported); give one, e.g. \"5s\" (PGCONNECT_TIMEOUT=5)"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__STATEMENT_TIMEOUT", "30")]),
        "invalid `statement_timeout` in profile `default` (environment variable PGTIDE_DEFAULT__STATEMENT_TIMEOUT): expected a number with a unit: \"250ms\", \"30s\", \"5m\" or \"1h\", got `30` (a unit is required), or \"off\""
    );
    assert_eq!(
        loader(&[("PGPASSWORD", "pw")])
            .set("retry.budget", 10)
            .load()
            .unwrap_err()
            .to_string(),
        "invalid `retry.budget` in profile `default` (set in code): expected a number with a unit: \"250ms\", \"30s\", \"5m\" or \"1h\", got `10`"
    );
}

#[test]
fn other_values_say_what_is_valid() {
    assert_eq!(
        env_error(&[("PGSSLMODE", "strict")]),
        "invalid `sslmode` in profile `default` (environment variable PGSSLMODE): expected one of disable, allow, prefer, require, verify-ca, verify-full, got `strict`"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__SSLMODE", "verify-full")]),
        "invalid `sslmode` in profile `default` (environment variable PGTIDE_DEFAULT__SSLMODE): sslmode verify-full needs `sslrootcert`, a CA certificate to verify the server against; set it, or use sslmode require"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__RETRY__JITTER", "maybe")]),
        "invalid `retry.jitter` in profile `default` (environment variable PGTIDE_DEFAULT__RETRY__JITTER): expected true or false, got `maybe`"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__RETRY__ATTEMPTS", "0")]),
        "invalid `retry.attempts` in profile `default` (environment variable PGTIDE_DEFAULT__RETRY__ATTEMPTS): must be at least 1 (1 means no retry)"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__RETRY__MAX_DELAY", "50ms")]),
        "invalid `retry.max_delay` in profile `default` (environment variable PGTIDE_DEFAULT__RETRY__MAX_DELAY): must not be below retry.base_delay (100ms), got 50ms"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__POOL__HEALTH_CHECK", "sometimes")]),
        "invalid `pool.health_check` in profile `default` (environment variable PGTIDE_DEFAULT__POOL__HEALTH_CHECK): expected \"always\", \"never\", or how long a connection may sit idle before it is checked (a number with a unit: \"250ms\", \"30s\", \"5m\" or \"1h\"), got `sometimes`"
    );
    assert_eq!(
        env_error(&[("PGHOST", " ")]),
        "invalid `host` in profile `default` (environment variable PGHOST): must not be empty: give a host name, an IP address or a socket directory"
    );
    assert_eq!(
        env_error(&[
            ("PGTIDE_DEFAULT__SETTINGS__WORK_MEM", "{}"),
            (
                "PGTIDE_DEFAULT__JSON",
                r#"{"settings": {"work mem": "1MB"}}"#
            )
        ]),
        "invalid `settings.work mem` in profile `default` (environment variable PGTIDE_DEFAULT__JSON): a setting name has only letters, digits, `_` and `.`"
    );
}

#[test]
fn urls_json_and_secret_references() {
    assert_eq!(
        env_error(&[("DATABASE_URL", "mysql://u:pw@h/db")]),
        "invalid `dsn` in profile `default` (environment variable DATABASE_URL): expected a URL starting with postgres:// or postgresql://"
    );
    assert_eq!(
        env_error(&[("PGTIDE_PROD__JSON", "{\"pool\": ")]),
        "invalid `json` in profile `prod` (environment variable PGTIDE_PROD__JSON): invalid JSON: EOF while parsing a value at line 1 column 9"
    );
    assert_eq!(
        loader(&[])
            .file(fixture("secret_missing.toml"))
            .load()
            .unwrap_err()
            .to_string(),
        "cannot resolve `password` in profile `default` (file tests/fixtures/config/secret_missing.toml, line 3): secret://env/NOT_SET_ANYWHERE: environment variable NOT_SET_ANYWHERE is not set"
    );
    let err = loader(&[("PGTIDE_DEFAULT__PASSWORD", "secret://file/no/such/file")])
        .load()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot resolve `password` in profile `default` (environment variable PGTIDE_DEFAULT__PASSWORD): secret://file/no/such/file: cannot read file no/such/file: No such file or directory (os error 2)"
    );
    assert_eq!(err.key(), Some("password"));
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__DSN", "secret://env/NO_URL")]),
        "cannot resolve `dsn` in profile `default` (environment variable PGTIDE_DEFAULT__DSN): secret://env/NO_URL: environment variable NO_URL is not set"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__PASSWORD", "secret://vault/x")]),
        "cannot resolve `password` in profile `default` (environment variable PGTIDE_DEFAULT__PASSWORD): secret://vault/x: unknown kind of secret reference: use secret://env/NAME or secret://file/PATH"
    );
}

#[test]
fn missing_password_says_where_to_set_it() {
    assert_eq!(
        loader(&[])
            .profile("default")
            .load()
            .unwrap_err()
            .to_string(),
        "missing `password` in profile `default`: set `password` (a secret reference such as secret://env/NAME keeps it out of the file), PGTIDE_<PROFILE>__PASSWORD, PGPASSWORD, or a URL with one; use an empty string for trust or peer authentication"
    );
    assert_eq!(
        loader(&[])
            .set("password", "s3cret-value")
            .load()
            .unwrap_err()
            .to_string(),
        "invalid `password` in profile `default` (set in code): the password cannot be set as plain text: use ConfigLoader::password with a SecretString"
    );
}

#[test]
fn file_errors_name_the_file_and_line() {
    assert_eq!(
        file_error("syntax.toml", "default"),
        "file tests/fixtures/config/syntax.toml, line 3: invalid TOML: invalid basic string"
    );
    assert_eq!(
        file_error("syntax.yaml", "default"),
        "file tests/fixtures/config/syntax.yaml, line 3: invalid YAML: check the syntax on this line"
    );
    assert_eq!(
        file_error("top_level.toml", "default"),
        "file tests/fixtures/config/top_level.toml, line 1: top-level key `host` is not a profile table: put settings under a profile, e.g. [default] or [prod]"
    );
    assert_eq!(
        file_error("wrong.ini", "default"),
        "file tests/fixtures/config/wrong.ini: unknown format: name the file *.toml, *.yaml or *.yml"
    );
    assert_eq!(
        file_error("missing.toml", "default"),
        "file tests/fixtures/config/missing.toml: cannot read the file: No such file or directory (os error 2)"
    );
}

#[test]
fn builder_errors_name_the_key_and_that_it_was_set_in_code() {
    let build = |b: pgtide::config::ConfigBuilder<SecretString, PoolSize>| {
        b.build().unwrap_err().to_string()
    };
    let base = || {
        Config::builder()
            .password(SecretString::from("pw"))
            .pool_size(PoolSize::new(1, 10).unwrap())
    };
    assert_eq!(
        build(base().port(0)),
        "invalid `port` in profile `default` (set in code): must be 1..=65535, got 0"
    );
    assert_eq!(
        build(base().acquire_timeout(std::time::Duration::ZERO)),
        "invalid `pool.acquire_timeout` in profile `default` (set in code): must be greater than zero, e.g. \"250ms\", \"30s\", \"5m\" or \"1h\""
    );
    assert_eq!(
        build(base().ssl_mode(SslMode::VerifyCa)),
        "invalid `sslmode` in profile `default` (set in code): sslmode verify-ca needs `sslrootcert`, a CA certificate to verify the server against; set it, or use sslmode require"
    );
    assert_eq!(
        PoolSize::new(5, 2).unwrap_err().to_string(),
        "invalid `pool.min_size` (set in code): must be 0..=pool.max_size (2), got 5"
    );
    let err = base().profile("prod").port(0).build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid `port` in profile `prod` (set in code): must be 1..=65535, got 0"
    );
    assert_eq!(err.origin(), Some(&pgtide::config::Source::Code));
    let err = PoolSize::new(0, 0).unwrap_err();
    assert!(matches!(&err, ConfigError::Invalid { key, .. } if key == "pool.max_size"));
}

#[test]
fn pgconnect_timeout_zero_is_refused_with_a_bounded_suggestion() {
    for (var, value) in [
        ("PGCONNECT_TIMEOUT", "0"),
        ("DATABASE_URL", "postgres://h/db?connect_timeout=0"),
    ] {
        assert_eq!(
            env_error(&[(var, value)]),
            format!(
                "invalid `connect_timeout` in profile `default` (environment variable {var}): must be greater than zero: pgtide needs a bounded connect timeout (libpq's 0, wait forever, is not supported); give one, e.g. \"5s\" (PGCONNECT_TIMEOUT=5)"
            )
        );
    }
}

#[test]
fn empty_names_and_zero_durations_are_refused_by_key() {
    assert_eq!(
        env_error(&[("PGUSER", " ")]),
        "invalid `user` in profile `default` (environment variable PGUSER): must not be empty: give a role name"
    );
    assert_eq!(
        env_error(&[("PGDATABASE", "")]),
        "invalid `database` in profile `default` (environment variable PGDATABASE): must not be empty: give a database name, or leave it out to use the user name"
    );
    for (key, var) in [
        ("statement_timeout", "PGTIDE_DEFAULT__STATEMENT_TIMEOUT"),
        ("lock_timeout", "PGTIDE_DEFAULT__LOCK_TIMEOUT"),
        (
            "idle_in_transaction_session_timeout",
            "PGTIDE_DEFAULT__IDLE_IN_TRANSACTION_SESSION_TIMEOUT",
        ),
        ("pool.idle_timeout", "PGTIDE_DEFAULT__POOL__IDLE_TIMEOUT"),
        ("pool.max_lifetime", "PGTIDE_DEFAULT__POOL__MAX_LIFETIME"),
        ("pool.health_check", "PGTIDE_DEFAULT__POOL__HEALTH_CHECK"),
        ("retry.base_delay", "PGTIDE_DEFAULT__RETRY__BASE_DELAY"),
        ("retry.budget", "PGTIDE_DEFAULT__RETRY__BUDGET"),
        (
            "pool.acquire_timeout",
            "PGTIDE_DEFAULT__POOL__ACQUIRE_TIMEOUT",
        ),
    ] {
        assert_eq!(
            env_error(&[(var, "0s")]),
            format!(
                "invalid `{key}` in profile `default` (environment variable {var}): must be greater than zero, e.g. \"250ms\", \"30s\", \"5m\" or \"1h\""
            ),
            "{key}"
        );
    }
}

/// PostgreSQL's timeouts are `int` milliseconds: above 2^31-1 every connect would fail with
/// FATAL, so it is a config error naming the key and the source.
#[test]
fn session_timeouts_above_postgres_limit_are_refused_by_key_and_source() {
    use std::time::Duration;
    let over = Duration::from_millis(2_147_483_648);
    let build = |b: pgtide::config::ConfigBuilder| {
        b.password(SecretString::from("pw"))
            .pool_size(PoolSize::new(1, 2).unwrap())
            .build()
    };
    let limit = "must be at most 2147483647ms (about 24 days, PostgreSQL's limit), got 2147483648ms; use \"off\" for no limit";
    assert_eq!(
        build(Config::builder().statement_timeout(Some(over)))
            .unwrap_err()
            .to_string(),
        format!("invalid `statement_timeout` in profile `default` (set in code): {limit}")
    );
    assert_eq!(
        build(Config::builder().idle_in_transaction_session_timeout(Some(over)))
            .unwrap_err()
            .to_string(),
        format!(
            "invalid `idle_in_transaction_session_timeout` in profile `default` (set in code): {limit}"
        )
    );
    // Half a millisecond over is over: the value is sent rounded up.
    let just_over = Duration::from_millis(2_147_483_647) + Duration::from_micros(1);
    assert!(
        build(Config::builder().lock_timeout(Some(just_over)))
            .unwrap_err()
            .to_string()
            .starts_with(
                "invalid `lock_timeout` in profile `default` (set in code): must be at most"
            )
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__LOCK_TIMEOUT", "600h")]),
        "invalid `lock_timeout` in profile `default` (environment variable PGTIDE_DEFAULT__LOCK_TIMEOUT): must be at most 2147483647ms (about 24 days, PostgreSQL's limit), got 600h; use \"off\" for no limit"
    );
    // The limit itself, and the pool's own (client-side) timeouts, are fine.
    let at = Duration::from_millis(2_147_483_647);
    assert!(build(Config::builder().statement_timeout(Some(at))).is_ok());
    assert!(build(Config::builder().max_lifetime(Some(over * 10))).is_ok());
}

/// A `settings` entry naming a setting that has its own key would be sent beside it (one
/// silently winning); a connection parameter is not a setting at all.
#[test]
fn settings_that_duplicate_a_key_or_name_a_connection_parameter_are_refused() {
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__SETTINGS__STATEMENT_TIMEOUT", "5s")]),
        "invalid `settings.statement_timeout` in profile `default` (environment variable PGTIDE_DEFAULT__SETTINGS__STATEMENT_TIMEOUT): `statement_timeout` has its own key, which would be sent beside this one: set `statement_timeout` instead"
    );
    let err = Config::builder()
        .session_setting("Search_Path", "x")
        .password(SecretString::from("pw"))
        .pool_size(PoolSize::new(1, 2).unwrap())
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid `settings.Search_Path` in profile `default` (set in code): `search_path` has its own key, which would be sent beside this one: set `search_path` instead"
    );
    assert_eq!(
        env_error(&[("PGTIDE_DEFAULT__SETTINGS__OPTIONS", "-c work_mem=1MB")]),
        "invalid `settings.options` in profile `default` (environment variable PGTIDE_DEFAULT__SETTINGS__OPTIONS): is a connection parameter, not a session setting"
    );
}
