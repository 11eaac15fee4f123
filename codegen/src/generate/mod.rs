//! Stage 3, no database and no file system: parsed queries + their `.sqlx` metadata → Rust
//! source text, one module per `.sql` file, a `mod.rs`, and `enums.rs` for the PostgreSQL
//! enums the queries use.
//!
//! The output is laid out by hand in rustfmt's style (and marked `#[rustfmt::skip]` in
//! `mod.rs`, because some lines are kept long on purpose); it is deterministic: the same input
//! gives the same bytes.
//!
//! The stage is split by what it makes: [`analyze`](self) checks a query against its `.sqlx`
//! entry and maps its types; `module` renders a query module (one function per item it
//! generates), with `imports` deciding which paths the module `use`s; `enums` and `index`
//! render `enums.rs` and `mod.rs`; `rust` holds the literal and layout helpers.

mod analyze;
mod cast;
mod embed;
mod enums;
mod imports;
mod index;
mod module;
mod rust;

use std::collections::BTreeMap;

use crate::parse::QueryFile;
use crate::sqlx_data::QueryData;
use crate::typemap::EnumType;

use analyze::analyze;
pub(crate) use analyze::statement_sql;
use enums::render_enums;
use index::render_mod;
use module::render_module;

/// Name of the generated module holding the enums (and so a reserved `.sql` file name).
pub const ENUMS_MODULE: &str = "enums";

/// Above this many parameters a query takes a generated params struct.
pub const MAX_ARGS: usize = 4;

/// The `.sqlx` entry of one query, as `gen` needs it.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// The parsed file.
    pub data: QueryData,
    /// Its exact bytes (hashed into the module manifest, [`crate::manifest`]).
    pub bytes: Vec<u8>,
    /// pgtide's nullability decisions for the query, hashed with the entry
    /// (`None`: the entry's own nullability).
    pub decisions: Option<Decisions>,
    /// [`crate::manifest::query_hash`] of `bytes` and the decisions' bytes, computed once
    /// ([`Metadata::new`]): the module's manifest lines and `gen`'s check of the manifest on
    /// disk both read it.
    hash: String,
}

impl Metadata {
    /// The entry `data` read from `bytes`, with pgtide's `decisions`; hashes them once.
    pub fn new(data: QueryData, bytes: Vec<u8>, decisions: Option<Decisions>) -> Self {
        let hash = crate::manifest::query_hash(&bytes, decisions.as_ref().map(|d| &d.bytes[..]));
        Self {
            data,
            bytes,
            decisions,
            hash,
        }
    }

    /// The hash of the entry and its decisions, as its module manifest line has it.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

/// pgtide's nullability decisions file of one query ([`crate::nullability::store`]).
#[derive(Debug, Clone)]
pub struct Decisions {
    /// Its name in the `.sqlx` directory.
    pub file_name: String,
    /// Its exact bytes (hashed into the module manifest with the entry).
    pub bytes: Vec<u8>,
    /// Per result column, the rule that decided its nullability (named in the row's docs).
    pub rules: Vec<String>,
    /// Where each `sqlc.embed(table)` of the query lands (empty without embeds).
    pub embeds: Vec<crate::nullability::store::StoredEmbed>,
}

/// Everything `gen` needs besides the parsed files.
#[derive(Debug, Clone, Copy)]
pub struct GenOptions<'a> {
    /// The `.sqlx` directory relative to the output directory, with `/` separators, as
    /// `include_str!` in a generated module sees it (e.g. `../../.sqlx`).
    pub sqlx_dir_from_out: &'a str,
    /// The command to suggest when metadata is stale or missing.
    pub regenerate_hint: &'a str,
    /// The `codegen.types` table
    /// ([`TypeOverrides::new`](crate::overrides::TypeOverrides::new) for none).
    pub types: &'a crate::overrides::TypeOverrides,
    /// The `codegen.derives` list: what row structs derive besides `Debug`.
    pub derives: &'a crate::overrides::Derives,
}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// File name inside the output directory, e.g. `authors.rs`.
    pub name: String,
    /// Its contents.
    pub contents: String,
}

/// A query `gen` cannot turn into Rust; points at `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: query `{name}`: {message}")]
pub struct GenError {
    /// `file:line` of the query.
    pub location: String,
    /// The query's name.
    pub name: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Something `gen` decided on its own that the user should see (e.g. a duplicate column
/// named `id_2`); points at `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: query `{name}`: warning: {message}")]
pub struct GenWarning {
    /// `file:line` of the query.
    pub location: String,
    /// The query's name.
    pub name: String,
    /// What was decided and how to choose otherwise.
    pub message: String,
}

/// The output of [`generate_with_warnings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The files to write.
    pub files: Vec<GeneratedFile>,
    /// What to show the user (the files are valid without acting on them).
    pub warnings: Vec<GenWarning>,
}

/// Generates the output directory's files. `metadata` holds the `.sqlx` entry of each query,
/// keyed by its SQL; a missing entry is an error naming the query and the command to run.
/// Drops the warnings; see [`generate_with_warnings`].
pub fn generate(
    files: &[QueryFile],
    metadata: &BTreeMap<String, Metadata>,
    options: GenOptions<'_>,
) -> Result<Vec<GeneratedFile>, GenError> {
    generate_with_warnings(files, metadata, options).map(|g| g.files)
}

/// [`generate`], with the warnings to show the user.
pub fn generate_with_warnings(
    files: &[QueryFile],
    metadata: &BTreeMap<String, Metadata>,
    options: GenOptions<'_>,
) -> Result<Generated, GenError> {
    let mut warnings = Vec::new();
    let mut enums: BTreeMap<String, EnumType> = BTreeMap::new();
    let mut out = Vec::new();
    let mut modules: BTreeMap<&str, &str> = BTreeMap::new();
    for file in files {
        if let Some(other) = modules.insert(&file.module, &file.path) {
            return Err(GenError {
                location: format!("{}:1", file.path),
                name: file.module.clone(),
                message: format!(
                    "`{}` and `{other}` both make module `{}`; rename one",
                    file.path, file.module
                ),
            });
        }
        if file.module == ENUMS_MODULE || file.module == "mod" {
            return Err(GenError {
                location: format!("{}:1", file.path),
                name: file.module.clone(),
                message: format!(
                    "`{}` is reserved for generated code; rename the file",
                    file.path
                ),
            });
        }
        let mut analyzed = Vec::new();
        for query in &file.queries {
            let a = analyze(file, query, metadata, options, &mut enums)?;
            warnings.extend(a.warnings.iter().map(|message| GenWarning {
                location: a.location.clone(),
                name: query.name.clone(),
                message: message.clone(),
            }));
            analyzed.push(a);
        }
        out.push(GeneratedFile {
            name: format!("{}.rs", file.module),
            contents: render_module(file, &analyzed, options),
        });
    }
    if !enums.is_empty() {
        out.push(GeneratedFile {
            name: format!("{ENUMS_MODULE}.rs"),
            contents: render_enums(&enums),
        });
    }
    out.push(GeneratedFile {
        name: "mod.rs".into(),
        contents: render_mod(files, &enums),
    });
    Ok(Generated {
        files: out,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_file;

    fn metadata_for(sql: &str, columns: serde_json::Value, params: serde_json::Value) -> Metadata {
        let describe = serde_json::json!({
            "columns": columns,
            "parameters": {"Left": params},
            "nullable": [false],
        });
        let text = crate::sqlx_data::render(sql, &describe);
        Metadata::new(
            serde_json::from_str(&text).unwrap(),
            text.into_bytes(),
            None,
        )
    }

    const OPTIONS: GenOptions<'static> = GenOptions {
        sqlx_dir_from_out: "../.sqlx",
        regenerate_hint: "`cargo xtask gen`",
        types: &crate::overrides::TypeOverrides::new(),
        derives: &crate::overrides::Derives::new(),
    };

    #[test]
    fn unmappable_column_names_query_column_and_override() {
        let file = parse_file("q.sql", "\n-- name: Ranges :many\nSELECT r FROM t").unwrap();
        let columns = serde_json::json!([{"ordinal": 0, "name": "r", "type_info": {"Custom": {"name": "tsvector", "kind": "Simple"}}}]);
        let meta = metadata_for(&file.queries[0].sql, columns, serde_json::json!([]));
        let metadata = BTreeMap::from([(file.queries[0].sql.clone(), meta)]);
        let err = generate(&[file], &metadata, OPTIONS).unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.sql:2: query `Ranges`: column `r` has type `tsvector`, which pgtide cannot map; \
             cast it (`r::text AS r`), name a Rust type that decodes it (`AS \"r: MyType\"`), \
             or map the type in the config file (`[default.codegen.types]`, e.g. `tsvector = \"String\"`)"
        );
    }

    #[test]
    fn missing_metadata_names_the_query_and_the_command() {
        let file = parse_file("q.sql", "-- name: Gone :exec\nDELETE FROM t").unwrap();
        let err = generate(&[file], &BTreeMap::new(), OPTIONS).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("q.sql:1: query `Gone`: no .sqlx entry")
        );
        assert!(err.to_string().ends_with("run `cargo xtask gen`"));
    }

    #[test]
    fn keyword_names_become_raw_identifiers() {
        let file = parse_file("queries/type.sql", "-- name: Move :one\nSELECT x FROM t").unwrap();
        let columns = serde_json::json!([{"ordinal": 0, "name": "x", "type_info": "Int8"}]);
        let meta = metadata_for(&file.queries[0].sql, columns, serde_json::json!([]));
        let metadata = BTreeMap::from([(file.queries[0].sql.clone(), meta)]);
        let out = generate(&[file], &metadata, OPTIONS).unwrap();
        assert_eq!(out[0].name, "type.rs");
        assert!(
            out[0]
                .contents
                .contains("pub fn r#move<'e, E: PgExecutor<'e> + 'e>("),
            "{}",
            out[0].contents
        );
        assert!(out[0].contents.contains("pub const MOVE: "));
        assert!(out[1].contents.contains("pub mod r#type;"));
    }

    #[test]
    fn module_clashes_name_both_files() {
        let a = parse_file("queries/Authors.sql", "").unwrap();
        let b = parse_file("queries/authors.sql", "").unwrap();
        let err = generate(&[a, b], &BTreeMap::new(), OPTIONS).unwrap_err();
        assert_eq!(
            err.to_string(),
            "queries/authors.sql:1: query `authors`: `queries/authors.sql` and `queries/Authors.sql` both make module `authors`; rename one"
        );
    }

    #[test]
    fn copyfrom_sends_json_with_field_json_and_relabelled_arrays_with_their_element_type() {
        let text = "-- name: CopyDocs :copyfrom\nINSERT INTO docs (doc, tags) VALUES (@doc, @tags)";
        let file = parse_file("q.sql", text).unwrap();
        let gen_with = |tags: serde_json::Value| {
            let meta = metadata_for(
                &file.queries[0].sql,
                serde_json::json!([]),
                serde_json::json!(["Json", tags]),
            );
            let metadata = BTreeMap::from([(file.queries[0].sql.clone(), meta)]);
            generate(std::slice::from_ref(&file), &metadata, OPTIONS)
        };
        let out = gen_with(serde_json::json!("TextArray")).unwrap();
        assert!(out[0].contents.contains("copy.field_json(&row.doc)?;"));
        assert!(out[0].contents.contains("copy.field(&row.tags)?;"));
        let out = gen_with(serde_json::json!("VarcharArray")).unwrap();
        assert!(
            out[0]
                .contents
                .contains("const ELEMENT_TYPES: &[ElementType] = &[ElementType::Builtin(1043)];"),
            "{}",
            out[0].contents
        );
        assert!(
            out[0]
                .contents
                .contains("copy.field(&ArrayOf::new(Some(row.tags), types[0]))?;")
        );
        let tsvector = serde_json::json!({"Custom": {"name": "tsvector", "kind": "Simple"}});
        let err = gen_with(tsvector).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "q.sql:1: query `CopyDocs`: parameter `tags` has type `tsvector`, which pgtide cannot map"
            ),
            "{err}"
        );
    }

    #[test]
    fn output_is_deterministic() {
        let file = parse_file("q.sql", "-- name: One :one\nSELECT x FROM t WHERE y = @y").unwrap();
        let columns = serde_json::json!([{"ordinal": 0, "name": "x", "type_info": "Int8"}]);
        let meta = metadata_for(&file.queries[0].sql, columns, serde_json::json!(["Text"]));
        let metadata = BTreeMap::from([(file.queries[0].sql.clone(), meta)]);
        let a = generate(std::slice::from_ref(&file), &metadata, OPTIONS).unwrap();
        let b = generate(&[file], &metadata, OPTIONS).unwrap();
        assert_eq!(a, b);
        assert!(
            a[0].contents.contains(
                "pub fn one<'e, E: PgExecutor<'e> + 'e>(db: E, y: &str) -> FetchOne<'e, i64> {"
            ),
            "{}",
            a[0].contents
        );
    }
}
