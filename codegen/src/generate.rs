//! Stage 3, no database and no file system: parsed queries + their `.sqlx` metadata → Rust
//! source text, one module per `.sql` file, a `mod.rs`, and `enums.rs` for the PostgreSQL
//! enums the queries use.
//!
//! The output is laid out by hand in rustfmt's style (and marked `#[rustfmt::skip]` in
//! `mod.rs`, because some lines, like the staleness check, are kept on one line on purpose);
//! it is deterministic: the same input gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::parse::{Cardinality, Query, QueryFile};
use crate::sqlx_data::QueryData;
use crate::typemap::{ColumnName, EnumType, PgType, enum_rust_name};

/// Name of the generated module holding the enums (and so a reserved `.sql` file name).
pub const ENUMS_MODULE: &str = "enums";

/// Above this many parameters a query takes a generated params struct.
pub const MAX_ARGS: usize = 4;

/// The `.sqlx` entry of one query, as `gen` needs it.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// The parsed file.
    pub data: QueryData,
    /// Its exact bytes (hashed into the build-time staleness check).
    pub bytes: Vec<u8>,
}

/// Everything `gen` needs besides the parsed files.
#[derive(Debug, Clone, Copy)]
pub struct GenOptions<'a> {
    /// The `.sqlx` directory relative to the output directory, with `/` separators, as
    /// `include_bytes!` in a generated module sees it (e.g. `../../.sqlx`).
    pub sqlx_dir_from_out: &'a str,
    /// The command to suggest when metadata is stale or missing.
    pub regenerate_hint: &'a str,
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

struct Arg {
    name: String,
    /// Argument type as written in a signature (`&str`, `Option<i64>`).
    ty: String,
    /// Field type inside a params struct (`&'a str`).
    field_ty: String,
    pg: String,
    borrowed: bool,
    /// A `json` field of a `:copyfrom` row (sent with `BinaryCopy::field_json`).
    copy_json: bool,
}

struct Column {
    field: String,
    ty: String,
    pg: String,
    nullable: bool,
}

struct Analyzed<'q> {
    query: &'q Query,
    location: String,
    args: Vec<Arg>,
    columns: Vec<Column>,
    include: String,
    hash: u64,
}

/// Generates the output directory's files. `metadata` holds the `.sqlx` entry of each query,
/// keyed by its SQL; a missing entry is an error naming the query and the command to run.
pub fn generate(
    files: &[QueryFile],
    metadata: &BTreeMap<String, Metadata>,
    options: GenOptions<'_>,
) -> Result<Vec<GeneratedFile>, GenError> {
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
            analyzed.push(a);
        }
        out.push(GeneratedFile {
            name: format!("{}.rs", file.module),
            contents: render_module(file, &analyzed),
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
    Ok(out)
}

fn analyze<'q>(
    file: &QueryFile,
    query: &'q Query,
    metadata: &BTreeMap<String, Metadata>,
    options: GenOptions<'_>,
    enums: &mut BTreeMap<String, EnumType>,
) -> Result<Analyzed<'q>, GenError> {
    let location = query.location(file);
    let err = |message: String| GenError {
        location: location.clone(),
        name: query.name.clone(),
        message,
    };
    let meta = metadata.get(&query.sql).ok_or_else(|| {
        err(format!(
            "no .sqlx entry for this SQL ({}): the query changed since `pgtide prepare` ran; run {}",
            crate::sqlx_data::file_name(&query.sql),
            options.regenerate_hint
        ))
    })?;
    let describe = &meta.data.describe;
    let empty = Vec::new();
    let param_types = describe["parameters"]["Left"].as_array().unwrap_or(&empty);
    if param_types.len() != query.params.len() {
        return Err(err(format!(
            "the server sees {} parameters, the SQL names {}; run {}",
            param_types.len(),
            query.params.len(),
            options.regenerate_hint
        )));
    }
    let mut args = Vec::new();
    for (param, ty) in query.params.iter().zip(param_types) {
        let ty = PgType::from_json(ty);
        let Some(base) = ty.arg() else {
            return Err(err(format!(
                "parameter `{}` has type `{}`, which pgtide cannot map; cast it to a supported type, e.g. `@{}::text`",
                param.name,
                ty.pg_name(),
                param.name
            )));
        };
        let copy_json = if query.cardinality == Cardinality::CopyFrom {
            let column = query
                .copy
                .as_ref()
                .and_then(|c| c.columns.get(args.len()))
                .map_or(param.name.as_str(), String::as_str);
            ty.copy_json().map_err(|sent| {
                err(format!(
                    "column `{column}` is `{}`, but binary COPY would send {sent}, which the server \
                     rejects; load it with an :exec INSERT instead (e.g. \
                     `INSERT INTO … SELECT * FROM unnest(…)`), or change the column's type",
                    ty.pg_name()
                ))
            })?
        } else {
            false
        };
        collect_enums(&ty, enums).map_err(&err)?;
        let borrowed = base.starts_with('&');
        let field_base = if borrowed {
            format!("&'a {}", &base[1..])
        } else {
            base.clone()
        };
        let (ty_s, field_ty) = if param.nullable {
            (format!("Option<{base}>"), format!("Option<{field_base}>"))
        } else {
            (base, field_base)
        };
        args.push(Arg {
            name: param.name.clone(),
            ty: ty_s,
            field_ty,
            pg: ty.pg_name(),
            borrowed,
            copy_json,
        });
    }

    let mut columns = Vec::new();
    if query.cardinality.returns_rows() {
        let cols = describe["columns"].as_array().unwrap_or(&empty);
        if cols.is_empty() {
            return Err(err(format!(
                "is {} but returns no columns; use :exec or :execrows, or add RETURNING",
                query.cardinality
            )));
        }
        for (i, col) in cols.iter().enumerate() {
            let raw = col["name"].as_str().unwrap_or_default();
            let name = ColumnName::parse(raw);
            let field = crate::names::escape_keyword(&crate::names::to_snake(&name.name));
            if field.is_empty() {
                return Err(err(format!(
                    "column {} (`{raw}`) has no usable name; give it one with `AS name`",
                    i + 1
                )));
            }
            if columns.iter().any(|c: &Column| c.field == field) {
                return Err(err(format!(
                    "two columns are named `{field}`; rename one with `AS other_name`"
                )));
            }
            let ty = PgType::from_json(&col["type_info"]);
            let nullable = name
                .nullable
                .unwrap_or_else(|| describe["nullable"][i].as_bool() != Some(false));
            let base = match (&name.rust_type, ty.owned()) {
                (Some(over), _) => over.clone(),
                (None, Some(owned)) => {
                    collect_enums(&ty, enums).map_err(&err)?;
                    owned
                }
                (None, None) => {
                    return Err(err(format!(
                        "column `{}` has type `{}`, which pgtide cannot map; cast it (`{}::text AS {}`) or name a Rust type that decodes it (`AS \"{}: MyType\"`)",
                        name.name,
                        ty.pg_name(),
                        name.name,
                        name.name,
                        name.name
                    )));
                }
            };
            let ty_s = if nullable {
                format!("Option<{base}>")
            } else {
                base
            };
            columns.push(Column {
                field,
                ty: ty_s,
                pg: ty.pg_name(),
                nullable,
            });
        }
    }
    Ok(Analyzed {
        query,
        location,
        args,
        columns,
        include: format!(
            "{}/{}",
            options.sqlx_dir_from_out,
            crate::sqlx_data::file_name(&query.sql)
        ),
        hash: metadata_hash(&meta.bytes),
    })
}

fn collect_enums(ty: &PgType, enums: &mut BTreeMap<String, EnumType>) -> Result<(), String> {
    for e in ty.enums() {
        let rust = enum_rust_name(e);
        match enums.get(&rust) {
            Some(known) if known != e => {
                return Err(format!(
                    "enum `{}` has different labels in another query's .sqlx entry; run `pgtide prepare` again",
                    e.name
                ));
            }
            Some(_) => {}
            None => {
                enums.insert(rust, e.clone());
            }
        }
    }
    Ok(())
}

/// The same hash as `pgtide::codegen_support::metadata_hash` (FNV-1a over little-endian
/// 8-byte words, then the remaining bytes); a test in this crate's integration tests proves
/// the two agree by building generated code.
pub fn metadata_hash(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let word: [u8; 8] = word.try_into().expect("chunks of 8");
        hash = (hash ^ u64::from_le_bytes(word)).wrapping_mul(PRIME);
        hash ^= hash >> 32;
    }
    for &b in words.remainder() {
        hash = (hash ^ u64::from(b)).wrapping_mul(PRIME);
    }
    hash
}

fn const_name(query: &Query) -> String {
    query.fn_name.to_uppercase()
}

/// A Rust string literal for `s`: raw when that reads better.
fn string_literal(s: &str) -> String {
    if !s.contains(['"', '\\', '\n']) {
        return format!("\"{s}\"");
    }
    let mut hashes = String::from("#");
    while s.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{s}\"{hashes}")
}

fn render_module(file: &QueryFile, queries: &[Analyzed<'_>]) -> String {
    let mut s = String::with_capacity(4096 * queries.len().max(1));
    let _ = writeln!(
        s,
        "//! Queries from `{}`.\n//!\n//! Generated by `pgtide gen` from that file and its `.sqlx` metadata; do not edit.\n\n// An application rarely calls every query it has written (yet).\n#![allow(dead_code)]\n",
        file.path
    );
    s.push_str("use pgtide::sqlx;\n");
    for q in queries {
        s.push('\n');
        render_query(&mut s, q);
    }
    s
}

fn render_query(s: &mut String, a: &Analyzed<'_>) {
    let q = a.query;
    let konst = const_name(q);
    let fn_ident = crate::names::raw_ident(&q.fn_name);
    let sql = match &q.copy {
        Some(target) => target.copy_sql(),
        None => q.sql.clone(),
    };
    // Statement descriptor and the build-time staleness check.
    let _ = writeln!(
        s,
        "/// The statement [`{}`] runs.\npub const {konst}: pgtide::codegen_support::Statement = pgtide::codegen_support::Statement {{\n    name: \"{}\",\n    sql: {},\n    source: \"{}\",\n}};\n",
        fn_ident,
        q.name,
        string_literal(&sql),
        a.location
    );
    // The build-time staleness check: a missing entry fails `include_bytes!` (the comment
    // inside the call shows in the compiler's snippet), a changed one fails the assertion.
    let _ = writeln!(
        s,
        "const {konst}_SQLX: &[u8] = include_bytes!(\n    // .sqlx entry of query `{name}` ({loc}); missing? run `pgtide prepare` and `pgtide gen`\n    \"{include}\"\n);\nconst _: () = assert!(\n    pgtide::codegen_support::metadata_hash({konst}_SQLX) == {hash:#018x},\n    \"query `{name}` ({loc}): its .sqlx entry changed since `pgtide gen`; run `pgtide gen`\",\n);\n",
        name = q.name,
        loc = a.location,
        include = a.include,
        hash = a.hash,
    );

    let use_struct = q.cardinality == Cardinality::CopyFrom || a.args.len() > MAX_ARGS;
    let struct_lifetime = a.args.iter().any(|arg| arg.borrowed);
    let params_ty = format!("{}Params", q.type_name);
    let params_ty_use = if struct_lifetime {
        format!("{params_ty}<'_>")
    } else {
        params_ty.clone()
    };
    if use_struct {
        let what = if q.cardinality == Cardinality::CopyFrom {
            format!("One row for [`{}`].", fn_ident)
        } else {
            format!("Parameters of [`{}`].", fn_ident)
        };
        let generics = if struct_lifetime { "<'a>" } else { "" };
        let _ = writeln!(
            s,
            "/// {what}\n#[derive(Debug, Clone)]\npub struct {params_ty}{generics} {{"
        );
        for arg in &a.args {
            let _ = writeln!(
                s,
                "    /// `{}` (`{}`)\n    pub {}: {},",
                arg.name, arg.pg, arg.name, arg.field_ty
            );
        }
        s.push_str("}\n\n");
    }

    let row_ty = format!("{}Row", q.type_name);
    let scalar = a.columns.len() == 1;
    if q.cardinality.returns_rows() && !scalar {
        let _ = writeln!(
            s,
            "/// A row returned by [`{}`].\n#[derive(Debug, Clone)]\npub struct {row_ty} {{",
            fn_ident
        );
        for c in &a.columns {
            let null = if c.nullable { ", nullable" } else { "" };
            let _ = writeln!(
                s,
                "    /// `{}` (`{}`{null})\n    pub {}: {},",
                c.field, c.pg, c.field, c.ty
            );
        }
        let _ = writeln!(
            s,
            "}}\n\nimpl {row_ty} {{\n    fn from_row(row: sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {{\n        use sqlx::Row as _;\n        Ok(Self {{"
        );
        for (i, c) in a.columns.iter().enumerate() {
            let _ = writeln!(s, "            {}: row.try_get({i})?,", c.field);
        }
        s.push_str("        })\n    }\n}\n\n");
    }

    // Rustdoc: name, location, the user's comments, the SQL.
    let _ = writeln!(s, "/// `{}` (`{}`)", q.name, a.location);
    if !q.doc.is_empty() {
        s.push_str("///\n");
        for line in &q.doc {
            if line.is_empty() {
                s.push_str("///\n");
            } else {
                let _ = writeln!(s, "/// {line}");
            }
        }
    }
    s.push_str("///\n/// ```sql\n");
    for line in q.sql.lines() {
        if line.is_empty() {
            s.push_str("///\n");
        } else {
            let _ = writeln!(s, "/// {line}");
        }
    }
    s.push_str("/// ```\n");
    match q.cardinality {
        Cardinality::One => s.push_str(
            "///\n/// Returns [`pgtide::Error::NotFound`] when no row matches.\n",
        ),
        Cardinality::CopyFrom => s.push_str(
            "///\n/// Sends the rows with `COPY … FROM STDIN (FORMAT binary)`; returns the number of rows copied.\n",
        ),
        _ => {}
    }

    let item_ty = if scalar {
        a.columns[0].ty.clone()
    } else {
        row_ty.clone()
    };

    if q.cardinality == Cardinality::CopyFrom {
        let (generics, item) = if struct_lifetime {
            ("<'a, I>", format!("{params_ty}<'a>"))
        } else {
            ("<I>", params_ty.clone())
        };
        let _ = writeln!(
            s,
            "pub async fn {}{generics}(conn: &mut sqlx::PgConnection, rows: I) -> pgtide::Result<u64>\nwhere\n    I: IntoIterator<Item = {item}>,\n{{\n    let mut copy = pgtide::codegen_support::BinaryCopy::new();\n    for row in rows {{\n        copy.row({});",
            fn_ident,
            a.args.len()
        );
        for arg in &a.args {
            let method = if arg.copy_json { "field_json" } else { "field" };
            let _ = writeln!(s, "        copy.{method}(&row.{})?;", arg.name);
        }
        let _ = writeln!(s, "    }}\n    copy.send(conn, &{konst}).await\n}}");
        return;
    }

    // Signature.
    let mut sig_args = String::from("db: E");
    if use_struct {
        let _ = write!(sig_args, ", params: {params_ty_use}");
    } else {
        for arg in &a.args {
            let _ = write!(sig_args, ", {}: {}", arg.name, arg.ty);
        }
    }
    let (asyncness, ret, bound) = match q.cardinality {
        Cardinality::One => ("async ", format!("pgtide::Result<{item_ty}>"), ""),
        Cardinality::Opt => ("async ", format!("pgtide::Result<Option<{item_ty}>>"), ""),
        Cardinality::Many => ("async ", format!("pgtide::Result<Vec<{item_ty}>>"), ""),
        Cardinality::Exec => ("async ", "pgtide::Result<()>".to_owned(), ""),
        Cardinality::ExecRows => ("async ", "pgtide::Result<u64>".to_owned(), ""),
        Cardinality::Stream => (
            "",
            format!("pgtide::codegen_support::RowStream<'e, {item_ty}>"),
            " + 'e",
        ),
        Cardinality::CopyFrom => unreachable!("handled above"),
    };
    let one_line = format!("pub {asyncness}fn {}<'e, E>({sig_args}) -> {ret}", fn_ident);
    if one_line.len() <= 100 {
        s.push_str(&one_line);
        s.push('\n');
    } else {
        let _ = writeln!(s, "pub {asyncness}fn {}<'e, E>(", fn_ident);
        for part in sig_args.split(", ") {
            let _ = writeln!(s, "    {part},");
        }
        let _ = writeln!(s, ") -> {ret}");
    }
    let _ = writeln!(s, "where\n    E: sqlx::PgExecutor<'e>{bound},\n{{");

    // Body: bind the arguments, then one shared helper runs the statement.
    let mut chain = format!("let query = sqlx::query({konst}.sql)");
    for arg in &a.args {
        if use_struct {
            let _ = write!(chain, "\n        .bind(params.{})", arg.name);
        } else {
            let _ = write!(chain, "\n        .bind({})", arg.name);
        }
    }
    let flat = chain.replace("\n        ", "");
    if flat.len() + 5 <= 100 {
        let _ = writeln!(s, "    {flat};");
    } else {
        let _ = writeln!(s, "    {chain};");
    }
    let mapper = if scalar {
        "pgtide::codegen_support::first_column".to_owned()
    } else {
        format!("{row_ty}::from_row")
    };
    let konst_ref = format!("&{konst}");
    let call = match q.cardinality {
        Cardinality::One => {
            helper_call("fetch_one", &["db", &konst_ref, "query", &mapper], ".await")
        }
        Cardinality::Opt => helper_call(
            "fetch_optional",
            &["db", &konst_ref, "query", &mapper],
            ".await",
        ),
        Cardinality::Many => {
            helper_call("fetch_all", &["db", &konst_ref, "query", &mapper], ".await")
        }
        Cardinality::Exec => helper_call(
            "execute",
            &["db", &konst_ref, "query"],
            ".await?;\n    Ok(())",
        ),
        Cardinality::ExecRows => helper_call("execute", &["db", &konst_ref, "query"], ".await"),
        Cardinality::Stream => {
            helper_call("fetch_stream", &["db", &konst_ref, "query", &mapper], "")
        }
        Cardinality::CopyFrom => unreachable!("handled above"),
    };
    let _ = writeln!(s, "    {call}\n}}");
}

fn render_enums(enums: &BTreeMap<String, EnumType>) -> String {
    let mut s = String::from(
        "//! PostgreSQL enums used by the queries in this directory, one Rust enum each.\n//!\n//! Generated by `pgtide gen`; do not edit.\n\n#![allow(dead_code)]\n\nuse pgtide::sqlx;\n",
    );
    for (rust, e) in enums {
        let variants = variant_names(&e.labels);
        let pg = &e.name;
        let _ = writeln!(
            s,
            "\n/// PostgreSQL enum `{pg}`.\n#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\npub enum {rust} {{"
        );
        for (label, v) in e.labels.iter().zip(&variants) {
            let _ = writeln!(s, "    /// `{label}`\n    {v},");
        }
        let _ = writeln!(
            s,
            "}}\n\nimpl {rust} {{\n    /// Every label, in declaration order.\n    pub const ALL: [Self; {}] = [{}];\n\n    /// The label as PostgreSQL spells it.\n    pub const fn as_str(self) -> &'static str {{\n        match self {{",
            variants.len(),
            variants
                .iter()
                .map(|v| format!("Self::{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (label, v) in e.labels.iter().zip(&variants) {
            let _ = writeln!(s, "            Self::{v} => {},", string_literal(label));
        }
        let _ = writeln!(
            s,
            "        }}\n    }}\n}}\n\nimpl std::fmt::Display for {rust} {{\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n        f.write_str(self.as_str())\n    }}\n}}\n\nimpl sqlx::Type<sqlx::Postgres> for {rust} {{\n    fn type_info() -> sqlx::postgres::PgTypeInfo {{\n        sqlx::postgres::PgTypeInfo::with_name({lit})\n    }}\n}}\n\nimpl sqlx::postgres::PgHasArrayType for {rust} {{\n    fn array_type_info() -> sqlx::postgres::PgTypeInfo {{\n        sqlx::postgres::PgTypeInfo::array_of({lit})\n    }}\n}}\n\nimpl sqlx::Encode<'_, sqlx::Postgres> for {rust} {{\n    fn encode_by_ref(\n        &self,\n        buf: &mut sqlx::postgres::PgArgumentBuffer,\n    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {{\n        <&str as sqlx::Encode<'_, sqlx::Postgres>>::encode(self.as_str(), buf)\n    }}\n}}\n\nimpl<'r> sqlx::Decode<'r, sqlx::Postgres> for {rust} {{\n    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {{\n        match <&str as sqlx::Decode<'r, sqlx::Postgres>>::decode(value)? {{",
            lit = string_literal(pg)
        );
        for (label, v) in e.labels.iter().zip(&variants) {
            let _ = writeln!(s, "            {} => Ok(Self::{v}),", string_literal(label));
        }
        let _ = writeln!(
            s,
            "            other => Err(format!(\n                \"unknown label {{other:?}} of enum `{pg}`; run `pgtide prepare` and `pgtide gen`\"\n            )\n            .into()),\n        }}\n    }}\n}}"
        );
    }
    s
}

/// One CamelCase variant per enum label: `in_progress` → `InProgress`, `1st` → `V1st`; a
/// label that makes no usable name (`Self`, `日本`) or the same name as an earlier label
/// (`a-b` after `a_b`) becomes `V<position>` (1-based). The labels themselves stay exact in
/// `as_str` and decoding.
fn variant_names(labels: &[String]) -> Vec<String> {
    let mut used = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(labels.len());
    for (i, label) in labels.iter().enumerate() {
        let mut v = crate::names::to_camel(label);
        if v.starts_with(|c: char| c.is_ascii_digit()) {
            v = format!("V{v}");
        }
        if v.is_empty() || v == "Self" || used.contains(&v) {
            v = format!("V{}", i + 1);
            let mut n = 2;
            while used.contains(&v) {
                v = format!("V{}_{n}", i + 1);
                n += 1;
            }
        }
        used.insert(v.clone());
        out.push(v);
    }
    out
}

fn render_mod(files: &[QueryFile], enums: &BTreeMap<String, EnumType>) -> String {
    let mut s = String::from(
        "//! Typed queries generated by `pgtide gen`; do not edit.\n//!\n//! | module | from | queries |\n//! |---|---|---|\n",
    );
    for f in files {
        let _ = writeln!(
            s,
            "//! | [`{}`] | `{}` | {} |",
            crate::names::raw_ident(&f.module),
            f.path,
            f.queries.len()
        );
    }
    s.push('\n');
    for f in files {
        let _ = writeln!(
            s,
            "#[rustfmt::skip]\npub mod {};",
            crate::names::raw_ident(&f.module)
        );
    }
    if !enums.is_empty() {
        let _ = writeln!(s, "#[rustfmt::skip]\npub mod {ENUMS_MODULE};");
        let names: Vec<&str> = enums.keys().map(String::as_str).collect();
        let list = if names.len() == 1 {
            names[0].to_owned()
        } else {
            format!("{{{}}}", names.join(", "))
        };
        let _ = writeln!(
            s,
            "\n#[allow(unused_imports)]\npub use {ENUMS_MODULE}::{list};"
        );
    }
    s
}

/// `pgtide::codegen_support::<helper>(args)<suffix>`, laid out as rustfmt would: on one line
/// when it fits in 100 columns (at the body's indent), else one argument per line.
fn helper_call(helper: &str, args: &[&str], suffix: &str) -> String {
    let one_line = format!(
        "pgtide::codegen_support::{helper}({}){suffix}",
        args.join(", ")
    );
    let first_line_len = 4 + one_line.lines().next().map_or(0, str::len);
    if first_line_len <= 100 {
        return one_line;
    }
    let mut call = format!("pgtide::codegen_support::{helper}(\n");
    for arg in args {
        let _ = writeln!(call, "        {arg},");
    }
    call.push_str("    )");
    if let Some(rest) = suffix.strip_prefix(".await") {
        let _ = write!(call, "\n    .await{rest}");
    } else {
        call.push_str(suffix);
    }
    call
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
        Metadata {
            data: serde_json::from_str(&text).unwrap(),
            bytes: text.into_bytes(),
        }
    }

    const OPTIONS: GenOptions<'static> = GenOptions {
        sqlx_dir_from_out: "../.sqlx",
        regenerate_hint: "`cargo xtask gen`",
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
             cast it (`r::text AS r`) or name a Rust type that decodes it (`AS \"r: MyType\"`)"
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
            out[0].contents.contains("pub async fn r#move<'e, E>("),
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
    fn enum_variants_are_unique_valid_identifiers() {
        let labels: Vec<String> = ["v4", "self", "a_b", "a-b", "日本", "2nd", "V4"]
            .map(String::from)
            .into();
        assert_eq!(
            variant_names(&labels),
            ["V4", "V2", "AB", "V4_2", "V5", "V2nd", "V7"]
        );
    }

    #[test]
    fn copyfrom_sends_json_with_field_json_and_rejects_relabelled_arrays() {
        let text = "-- name: CopyDocs :copyfrom\nINSERT INTO docs (doc, tags) VALUES (@doc, @tags)";
        let file = parse_file("q.sql", text).unwrap();
        let gen_with = |tags: &str| {
            let meta = metadata_for(
                &file.queries[0].sql,
                serde_json::json!([]),
                serde_json::json!(["Json", tags]),
            );
            let metadata = BTreeMap::from([(file.queries[0].sql.clone(), meta)]);
            generate(std::slice::from_ref(&file), &metadata, OPTIONS)
        };
        let out = gen_with("TextArray").unwrap();
        assert!(out[0].contents.contains("copy.field_json(&row.doc)?;"));
        assert!(out[0].contents.contains("copy.field(&row.tags)?;"));
        let err = gen_with("VarcharArray").unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.sql:1: query `CopyDocs`: column `tags` is `varchar[]`, but binary COPY would send \
             `text[]`, which the server rejects; load it with an :exec INSERT instead (e.g. \
             `INSERT INTO … SELECT * FROM unnest(…)`), or change the column's type"
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
            a[0].contents
                .contains("pub async fn one<'e, E>(db: E, y: &str) -> pgtide::Result<i64>")
        );
    }
}
