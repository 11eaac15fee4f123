//! The `codegen.types` table of a profile: a map-shaped key read from files (TOML, YAML),
//! the environment and code, checked as Rust types when the config loads, shown entry by
//! entry with where each came from.

use pgtide::config::{Config, ConfigLoader};

fn loader(env: &[(&str, &str)]) -> ConfigLoader {
    Config::loader()
        .no_file_search()
        .env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

/// A scratch directory with one config file, removed on drop.
struct File {
    dir: std::path::PathBuf,
    path: std::path::PathBuf,
}

impl File {
    fn new(name: &str, text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "pgtide-codegen-types-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        Self { dir, path }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const TOML: &str = r#"[default]
password = ""

[default.codegen.types]
tsvector = "String"
public.mytype = "my_app::My"

[ci.codegen.types]
geometry = "Vec<u8>"
"#;

#[test]
fn a_file_table_is_loaded_with_nested_schema_names_and_shown_with_its_lines() {
    let file = File::new("pgtide.toml", TOML);
    let loaded = loader(&[]).file(&file.path).load_explained().unwrap();
    let types = &loaded.config().codegen().types;
    assert_eq!(types.len(), 2, "{types:?}");
    assert_eq!(types["tsvector"], "String");
    assert_eq!(types["public.mytype"], "my_app::My");
    let entry = loaded.entry("codegen.types.tsvector").unwrap();
    assert_eq!(entry.value, "String");
    assert!(
        entry.source.to_string().ends_with("pgtide.toml, line 5"),
        "{}",
        entry.source
    );
    assert!(
        loaded
            .to_string()
            .contains("codegen.types.public.mytype = my_app::My  # file "),
        "{loaded}"
    );
    // A profile overlays default's table entry by entry.
    let ci = loader(&[]).file(&file.path).profile("ci").load().unwrap();
    assert_eq!(ci.codegen().types.len(), 3);
    assert_eq!(ci.codegen().types["geometry"], "Vec<u8>");
}

#[test]
fn yaml_and_the_environment_write_the_same_table() {
    let yaml = File::new(
        "pgtide.yaml",
        "default:\n  password: ''\n  codegen:\n    types:\n      tsvector: String\n",
    );
    let config = loader(&[]).file(&yaml.path).load().unwrap();
    assert_eq!(config.codegen().types["tsvector"], "String");

    let loaded = loader(&[
        ("PGPASSWORD", "pw"),
        ("PGTIDE_DEFAULT__CODEGEN__TYPES__LTREE", "String"),
        (
            "PGTIDE_DEFAULT__CODEGEN__TYPES__PUBLIC__MYTYPE",
            "my_app::My",
        ),
    ])
    .load_explained()
    .unwrap();
    let types = &loaded.config().codegen().types;
    assert_eq!(types["ltree"], "String");
    assert_eq!(types["public.mytype"], "my_app::My");
    assert_eq!(
        loaded
            .entry("codegen.types.ltree")
            .unwrap()
            .source
            .to_string(),
        "environment variable PGTIDE_DEFAULT__CODEGEN__TYPES__LTREE"
    );
    // And code.
    let config = loader(&[("PGPASSWORD", "pw")])
        .set("codegen.types.hstore", "my_app::Attrs")
        .load()
        .unwrap();
    assert_eq!(config.codegen().types["hstore"], "my_app::Attrs");
}

#[test]
fn a_value_that_is_not_a_plain_rust_type_is_a_config_error_naming_key_and_line() {
    let file = File::new(
        "pgtide.toml",
        "[default]\npassword = \"\"\n\n[default.codegen.types]\ntsvector = \"String } fn evil() {} struct Z {\"\n",
    );
    let err = loader(&[]).file(&file.path).load().unwrap_err().to_string();
    assert!(err.contains("codegen.types.tsvector"), "{err}");
    assert!(err.contains("pgtide.toml, line 5"), "{err}");
    assert!(err.contains("is not a Rust type pgtide accepts"), "{err}");

    let err = loader(&[
        ("PGPASSWORD", "pw"),
        ("PGTIDE_DEFAULT__CODEGEN__TYPES__TSVECTOR", "&str"),
    ])
    .load()
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("codegen.types.tsvector")
            && err.contains("PGTIDE_DEFAULT__CODEGEN__TYPES__TSVECTOR")
            && err.contains("is a reference"),
        "{err}"
    );

    // Names go into SQL casts: only `name` or `schema.name` of identifier characters.
    let err = loader(&[("PGPASSWORD", "pw")])
        .set("codegen.types", serde_json::json!({"a-b": "String"}))
        .load()
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a PostgreSQL type name"), "{err}");
}

#[test]
fn a_value_instead_of_a_table_gets_a_hint() {
    let err = loader(&[
        ("PGPASSWORD", "pw"),
        ("PGTIDE_DEFAULT__CODEGEN__TYPES", "String"),
    ])
    .load()
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`codegen.types` is a table of PostgreSQL type → Rust type"),
        "{err}"
    );
}
