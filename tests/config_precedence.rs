//! Precedence: for every pair of sources (defaults, file, PG* variables, DATABASE_URL,
//! PGTIDE_ variables, the JSON overlay, code) the higher one wins and is reported as the
//! source; and how profile sections combine with source order.

use pgtide::config::{Config, ConfigLoader};

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

/// One way to set `host`, at each level of the precedence order (lowest first).
#[derive(Clone, Copy, Debug)]
enum Level {
    Default,
    File,
    Libpq,
    DatabaseUrl,
    Env,
    JsonEnv,
    Code,
}

const LEVELS: [Level; 7] = [
    Level::Default,
    Level::File,
    Level::Libpq,
    Level::DatabaseUrl,
    Level::Env,
    Level::JsonEnv,
    Level::Code,
];

impl Level {
    fn host(self) -> &'static str {
        match self {
            Level::Default => "localhost",
            Level::File => "from-file",
            Level::Libpq => "from-pghost",
            Level::DatabaseUrl => "from-url",
            Level::Env => "from-env",
            Level::JsonEnv => "from-json",
            Level::Code => "from-code",
        }
    }

    fn source(self) -> String {
        match self {
            Level::Default => "built-in default".into(),
            Level::File => "file tests/fixtures/config/host.toml, line 2".into(),
            Level::Libpq => "environment variable PGHOST".into(),
            Level::DatabaseUrl => "environment variable DATABASE_URL".into(),
            Level::Env => "environment variable PGTIDE_DEFAULT__HOST".into(),
            Level::JsonEnv => "environment variable PGTIDE_DEFAULT__JSON".into(),
            Level::Code => "set in code".into(),
        }
    }

    fn apply(self, loader: ConfigLoader, env: &mut Vec<(String, String)>) -> ConfigLoader {
        let mut var = |k: &str, v: &str| env.push((k.into(), v.into()));
        match self {
            Level::Default => loader,
            Level::File => loader.file(fixture("host.toml")),
            Level::Libpq => {
                var("PGHOST", "from-pghost");
                loader
            }
            Level::DatabaseUrl => {
                var("DATABASE_URL", "postgres://from-url");
                loader
            }
            Level::Env => {
                var("PGTIDE_DEFAULT__HOST", "from-env");
                loader
            }
            Level::JsonEnv => {
                var("PGTIDE_DEFAULT__JSON", r#"{"host": "from-json"}"#);
                loader
            }
            Level::Code => loader.set("host", "from-code"),
        }
    }
}

#[test]
fn precedence_between_every_pair_of_sources() {
    for (i, low) in LEVELS.iter().enumerate() {
        for high in &LEVELS[i + 1..] {
            let mut env = vec![("PGPASSWORD".to_string(), "pw".to_string())];
            let l = Config::loader().no_file_search();
            let l = low.apply(l, &mut env);
            let l = high.apply(l, &mut env);
            let loaded = l.env(env).load_explained().unwrap();
            assert_eq!(
                loaded.config().connection().host,
                high.host(),
                "{high:?} over {low:?}"
            );
            assert_eq!(
                loaded.entry("host").unwrap().source.to_string(),
                high.source(),
                "{high:?} over {low:?}"
            );
        }
    }
}

#[test]
fn a_higher_source_wins_even_from_its_default_section() {
    let config = loader(&[
        ("PGPASSWORD", "pw"),
        ("PGTIDE_DEFAULT__HOST", "env-default"),
    ])
    .file(fixture("profiles.toml"))
    .profile("prod")
    .load()
    .unwrap();
    assert_eq!(config.connection().host, "env-default");
    let config = loader(&[
        ("PGPASSWORD", "pw"),
        ("PGTIDE_DEFAULT__HOST", "env-default"),
        ("PGTIDE_PROD__HOST", "env-prod"),
    ])
    .profile("prod")
    .load()
    .unwrap();
    assert_eq!(
        config.connection().host,
        "env-prod",
        "inside one source, the profile wins"
    );
}
