//! Bad input, generated: the configuration loader (environment, DSN, durations, secret
//! references, whole files in TOML and YAML) never panics, and every rejection is an error
//! that names where the bad value came from and never shows the password.
//!
//! Fixed seeds: the same cases on every run (each test prints how many ran). A longer run:
//! `PGTIDE_FUZZ_CASES=100000 cargo nextest run --test fuzz_config` (what
//! `cargo xtask chaos --soak` does).

use std::sync::atomic::{AtomicUsize, Ordering};

use pgtide::config::Config;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRng, TestRunner};

/// A password no error may show.
const PASSWORD: &str = "pw-Fuzz-Secret-91";

fn runner(cases: u32) -> TestRunner {
    let cases = std::env::var("PGTIDE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    let config = RunnerConfig {
        cases,
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    TestRunner::new_with_rng(config, rng)
}

/// Loads from `env` alone; checks the outcome; counts accepted and rejected inputs.
fn check(env: Vec<(String, String)>, names: &str, tally: &Tally) -> Result<(), TestCaseError> {
    match Config::loader().no_file_search().env(env).load() {
        Ok(config) => {
            let shown = format!("{config:?}");
            prop_assert!(
                !shown.contains(PASSWORD),
                "Debug shows the password: {shown}"
            );
            tally.accepted.fetch_add(1, Ordering::Relaxed);
        }
        Err(err) => {
            let text = err.to_string();
            prop_assert!(!text.trim().is_empty());
            prop_assert!(
                !text.contains(PASSWORD),
                "the error shows the password: {text}"
            );
            // Where: the variable itself, or the key and profile the loader found wrong
            // ("invalid `retry.max_delay` in profile `default` (built-in default): …").
            prop_assert!(
                text.contains(names) || text.contains("` in profile `default`"),
                "the error names neither `{names}` nor a key: {text}"
            );
            tally.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    accepted: AtomicUsize,
    rejected: AtomicUsize,
}

impl Tally {
    fn report(&self, what: &str) -> usize {
        let (a, r) = (
            self.accepted.load(Ordering::Relaxed),
            self.rejected.load(Ordering::Relaxed),
        );
        println!("fuzz: {what}: {} cases, {a} accepted, {r} rejected", a + r);
        a + r
    }
}

/// Text that looks like a duration often, and like anything sometimes.
fn duration_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            any::<u64>(),
            prop::sample::select(vec![
                "", "ms", "s", "m", "min", "h", "d", "us", "ns", " s", "sec", "MS", "S", ".5s",
                "e9s", "µs",
            ])
        )
            .prop_map(|(n, unit)| format!("{n}{unit}")),
        "[0-9a-zA-Z .+_-]{0,16}",
        "(-|\\+)?[0-9]{1,30}(\\.[0-9]{0,5})?(ms|s|m|h)?",
        any::<String>(),
    ]
}

#[test]
fn durations_never_panic_and_every_rejection_names_its_key() {
    let tally = Tally::default();
    let keys = prop::sample::select(vec![
        "PGTIDE_DEFAULT__CONNECT_TIMEOUT",
        "PGTIDE_DEFAULT__STATEMENT_TIMEOUT",
        "PGTIDE_DEFAULT__LOCK_TIMEOUT",
        "PGTIDE_DEFAULT__IDLE_IN_TRANSACTION_SESSION_TIMEOUT",
        "PGTIDE_DEFAULT__POOL__ACQUIRE_TIMEOUT",
        "PGTIDE_DEFAULT__POOL__IDLE_TIMEOUT",
        "PGTIDE_DEFAULT__POOL__MAX_LIFETIME",
        "PGTIDE_DEFAULT__RETRY__BASE_DELAY",
        "PGTIDE_DEFAULT__RETRY__MAX_DELAY",
        "PGTIDE_DEFAULT__RETRY__BUDGET",
    ]);
    runner(2000)
        .run(&(keys, duration_text()), |(key, text)| {
            let text = text.replace('\0', "");
            check(
                vec![("PGPASSWORD".into(), PASSWORD.into()), (key.into(), text)],
                key,
                &tally,
            )
        })
        .unwrap();
    assert!(tally.report("durations") >= 2000);
    assert!(
        tally.accepted.load(Ordering::Relaxed) > 0,
        "some durations are valid"
    );
}

/// URLs that are nearly right, and anything at all.
fn dsn_text() -> impl Strategy<Value = String> {
    let part = "[a-zA-Z0-9%@:/?&=.\\[\\]_-]{0,12}";
    prop_oneof![
        (
            prop::sample::select(vec![
                "postgres://",
                "postgresql://",
                "postgres:",
                "pg://",
                ""
            ]),
            part,
            part,
            part,
            "[0-9a-z]{0,7}",
            part,
            "[a-z_=&%0-9-]{0,24}",
        )
            .prop_map(|(scheme, user, at, host, port, db, query)| {
                format!("{scheme}{user}:{PASSWORD}@{at}{host}:{port}/{db}?{query}")
            }),
        (
            prop::sample::select(vec!["postgres://", "postgresql://"]),
            any::<String>()
        )
            .prop_map(|(scheme, rest)| format!("{scheme}{rest}")),
        any::<String>(),
    ]
}

#[test]
fn dsns_never_panic_and_every_rejection_names_database_url() {
    let tally = Tally::default();
    runner(2000)
        .run(&dsn_text(), |url| {
            let url = url.replace('\0', "");
            check(vec![("DATABASE_URL".into(), url)], "DATABASE_URL", &tally)
        })
        .unwrap();
    assert!(tally.report("DSNs (DATABASE_URL)") >= 2000);
}

#[test]
fn secret_references_never_panic_and_every_rejection_names_the_password_key() {
    let tally = Tally::default();
    // No `/` after `file/`: the cases stay inside the working directory (no device files).
    let reference = prop_oneof![
        "secret://(env|file|ENV|x)?/?[A-Za-z0-9_.~%-]{0,12}",
        "secret:/{0,3}[A-Za-z0-9_./-]{0,8}",
        (Just("secret://"), "[^/]{0,16}").prop_map(|(a, b)| format!("{a}{b}")),
    ];
    runner(1000)
        .run(&reference, |reference| {
            let reference = reference.replace('\0', "");
            check(
                vec![
                    ("PGTIDE_DEFAULT__PASSWORD".into(), reference),
                    ("SECRET_SET".into(), PASSWORD.into()),
                ],
                "PGTIDE_DEFAULT__PASSWORD",
                &tally,
            )
        })
        .unwrap();
    assert!(tally.report("secret references") >= 1000);
}

/// Configuration files: real keys and sections, broken syntax, wrong types, any text.
fn file_text(yaml: bool) -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "host",
        "port",
        "database",
        "user",
        "password",
        "dsn",
        "sslmode",
        "connect_timeout",
        "statement_timeout",
        "pool",
        "max_size",
        "min_size",
        "retry",
        "attempts",
        "settings",
        "codegen",
        "profile",
        "default",
        "[default]",
        "[default.pool]",
        "[production]",
    ]);
    let value = prop::sample::select(vec![
        "1",
        "-1",
        "0",
        "65536",
        "\"5s\"",
        "\"x\"",
        "true",
        "[]",
        "{}",
        "\"",
        "'",
        "[",
        "4294967296",
        "\"secret://env/SECRET_SET\"",
        "1e99",
        "~",
        "null",
        "\"off\"",
    ]);
    let line = (key, value, any::<bool>()).prop_map(move |(k, v, nested)| match (yaml, nested) {
        (false, _) if k.starts_with('[') => format!("{k}\n"),
        (false, _) => format!("{k} = {v}\n"),
        (true, true) => format!("  {k}: {v}\n"),
        (true, false) => format!("{}:\n", k.trim_matches(['[', ']'])),
    });
    prop_oneof![
        4 => prop::collection::vec(line, 0..12).prop_map(|l| l.concat()),
        1 => any::<String>(),
    ]
}

fn fuzz_files(yaml: bool) {
    let tally = Tally::default();
    let dir = std::env::temp_dir().join(format!("pgtide-fuzz-{}-{yaml}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(if yaml { "pgtide.yaml" } else { "pgtide.toml" });
    let shown = path.display().to_string();
    let result = runner(600).run(&file_text(yaml), |text| {
        std::fs::write(&path, &text).unwrap();
        let loaded = Config::loader()
            .no_file_search()
            .file(&path)
            .env([("PGPASSWORD", PASSWORD), ("SECRET_SET", PASSWORD)])
            .load();
        match loaded {
            Ok(_) => {
                tally.accepted.fetch_add(1, Ordering::Relaxed);
            }
            Err(err) => {
                let text = err.to_string();
                prop_assert!(
                    !text.contains(PASSWORD),
                    "the error shows the password: {text}"
                );
                // Every rejection says where: the file, or the environment key it came from.
                prop_assert!(
                    text.contains(&shown)
                        || text.contains("PGPASSWORD")
                        || text.contains("pgtide."),
                    "the error does not say where: {text}"
                );
                tally.rejected.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    result.unwrap();
    assert!(tally.report(if yaml { "YAML files" } else { "TOML files" }) >= 600);
}

#[test]
fn toml_files_never_panic_and_every_rejection_names_the_file() {
    fuzz_files(false);
}

#[test]
fn yaml_files_never_panic_and_every_rejection_names_the_file() {
    fuzz_files(true);
}
