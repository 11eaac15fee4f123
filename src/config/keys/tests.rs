//! The key table is whole: every default parses, every key lands in its own field from
//! every source, and the docs list every key.

use std::collections::BTreeMap;

use secrecy::ExposeSecret;

use super::*;
use crate::config::ConfigLoader;

#[test]
fn every_default_parses_and_names_are_unique() {
    let draft = default_draft();
    assert_eq!(draft.hosts, ["localhost"]);
    assert_eq!(draft.retry.attempts, 3);
    for (i, key) in KEYS.iter().enumerate() {
        assert!(
            KEYS[..i].iter().all(|k| k.name != key.name),
            "{} twice",
            key.name
        );
        assert_ne!(
            key.default,
            Some(key.example),
            "{}: example is the default",
            key.name
        );
    }
    assert_eq!(default_count("pool.min_size"), 1);
    assert_eq!(default_count("pool.max_size"), 10);
}

/// Where a test writes one value.
#[derive(Clone, Copy, Debug)]
enum Via {
    File,
    Env,
    Code,
}

/// The key as written: `settings` is a table, so one setting inside it.
fn written_name(key: &Key) -> String {
    match key.read {
        Read::Settings => format!("{}.work_mem", key.name),
        Read::Entries(_) => format!("{}.tsvector", key.name),
        _ => key.name.to_string(),
    }
}

/// Loads `values` (dotted key, value) written through `via`, and returns the loader's view.
fn load(via: Via, values: &[(String, String)]) -> crate::config::LoadedConfig {
    let base = ConfigLoader::new().no_file_search();
    let loader = match via {
        Via::File => {
            let dir = std::env::temp_dir().join(format!(
                "pgtide-keys-{}-{}",
                std::process::id(),
                values.last().map_or("none", |(k, _)| k.as_str())
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join("pgtide.toml");
            let mut toml = String::from("[default]\n");
            for (k, v) in values {
                toml.push_str(&format!("{k} = \"{v}\"\n"));
            }
            std::fs::write(&file, toml).unwrap();
            let loaded = base.env(BTreeMap::<String, String>::new()).file(&file);
            let out = loaded.load_explained();
            std::fs::remove_dir_all(&dir).unwrap();
            return out.unwrap_or_else(|e| panic!("{values:?} via file: {e}"));
        }
        Via::Env => base.env(values.iter().map(|(k, v)| {
            (
                format!("PGTIDE_DEFAULT__{}", k.replace('.', "__").to_uppercase()),
                v.clone(),
            )
        })),
        Via::Code => {
            values
                .iter()
                .fold(base.env(BTreeMap::<String, String>::new()), |l, (k, v)| {
                    // In code the password is only accepted as a secret.
                    if k == "password" {
                        l.password(secrecy::SecretString::from(v.as_str()))
                    } else {
                        l.set(k, v)
                    }
                })
        }
    };
    loader
        .load_explained()
        .unwrap_or_else(|e| panic!("{values:?} via {via:?}: {e}"))
}

fn shown(loaded: &crate::config::LoadedConfig) -> BTreeMap<String, String> {
    loaded
        .entries()
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect()
}

/// Every key, set through a file, the environment and code, changes what is shown for that
/// key and nothing else: no key is stored into another key's field. (`dsn` is the one key
/// that sets others, its parts; its own tests are in tests/config.rs.)
#[test]
fn every_key_round_trips_through_every_source_into_its_own_field() {
    // Keys whose default derives from others are pinned, so only the key under test moves.
    let pinned = [
        ("database", "basedb"),
        ("sslmode", "disable"),
        ("password", "pw"),
        ("require_auth", "password"),
    ];
    for via in [Via::File, Via::Env, Via::Code] {
        for key in KEYS.iter().filter(|k| k.read_kind() != "dsn") {
            let name = written_name(key);
            let mut values: Vec<(String, String)> = pinned
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let before = shown(&load(via, &values));
            values.retain(|(k, _)| *k != name);
            values.push((name.clone(), key.example.to_string()));
            let loaded = load(via, &values);
            let after = shown(&loaded);
            let changed: Vec<&String> = after
                .iter()
                .filter(|(k, v)| before.get(*k) != Some(*v))
                .map(|(k, _)| k)
                .collect();
            if key.kind == Kind::Secret {
                assert_eq!(
                    loaded.config().connection.password.expose_secret(),
                    key.example,
                    "{name} via {via:?}"
                );
                assert!(changed.is_empty(), "{name} via {via:?} changed {changed:?}");
            } else {
                assert_eq!(changed, [&name], "{name} via {via:?}");
            }
        }
    }
}

impl Key {
    fn read_kind(&self) -> &'static str {
        if self.kind == Kind::Dsn { "dsn" } else { "" }
    }
}

/// The table in the module docs of `pgtide::config` is this table.
#[test]
fn the_module_docs_show_the_key_table() {
    let docs: String = include_str!("../mod.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("//! "))
        .filter(|l| l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        docs,
        markdown_table(),
        "regenerate the table in src/config/mod.rs from the key table"
    );
}

/// The README's configuration example writes every key, or names it in a comment.
#[test]
fn the_readme_config_example_lists_every_key() {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("<!-- config-example")
        .expect("marker in README");
    let block = &readme[start..];
    let block = &block[..block[3..].find("```\n").map_or(block.len(), |i| i + 3)];
    for key in KEYS {
        let leaf = key.name.rsplit('.').next().unwrap_or(key.name);
        assert!(
            block.contains(leaf),
            "README config example does not mention `{}`",
            key.name
        );
    }
}
