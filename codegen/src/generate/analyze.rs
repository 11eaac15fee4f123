//! Each query's `.sqlx` description checked and turned into plain data for rendering: its
//! arguments and columns with their Rust types, and the enums it uses.

use std::collections::BTreeMap;

use super::{GenError, GenOptions, Metadata};
use crate::parse::{Cardinality, Query, QueryFile};
use crate::typemap::{ColumnName, CopyEncoding, EnumType, PgType, enum_rust_name};

/// One argument of a generated function (or field of its params struct).
pub(super) struct Arg {
    pub(super) name: String,
    /// Argument type as written in a signature (`&str`, `Option<i64>`).
    pub(super) ty: String,
    /// Field type inside a params struct (`&'a str`).
    pub(super) field_ty: String,
    /// The PostgreSQL type, for docs.
    pub(super) pg: String,
    /// Whether the argument is a reference (so a params struct needs a lifetime).
    pub(super) borrowed: bool,
    /// How a field of a `:copyfrom` row is sent.
    pub(super) copy: CopyEncoding,
}

/// One result column: a field of the row struct (or the value of a one-column query).
pub(super) struct Column {
    pub(super) field: String,
    pub(super) ty: String,
    pub(super) pg: String,
    pub(super) nullable: bool,
    /// The rule that decided `nullable` (pgtide's decisions file), for docs.
    pub(super) rule: Option<String>,
}

/// A `sqlc.embed(table)`: one field of the row holding a nested struct of the table's
/// columns, decoded by column index.
pub(super) struct Embedded {
    /// The row's field.
    pub(super) field: String,
    /// The nested struct's name.
    pub(super) struct_name: String,
    /// The table as written in the SQL, for docs.
    pub(super) table: String,
    /// The first result column of the table's columns.
    pub(super) start: usize,
    /// The nested struct's fields, in column order (their own nullability).
    pub(super) columns: Vec<Column>,
    /// Set when an outer join may leave the table out: the field is an `Option`, `None`
    /// when this result column (a NOT NULL one of the table), or every column when the
    /// table has none, is NULL.
    pub(super) optional: Option<Presence>,
}

/// How a decoder tells a null-extended (absent) embedded row from a present one.
pub(super) enum Presence {
    /// This result column is NOT NULL in the table: NULL means absent.
    Column(usize),
    /// The table has no NOT NULL column: absent when every column is NULL.
    AllNull,
}

/// A query ready to render.
pub(super) struct Analyzed<'q> {
    pub(super) query: &'q Query,
    /// The SQL the statement runs: the query's, with the text casts of `codegen.types`
    /// entries of `"String"` ([`super::cast::with_casts`]).
    pub(super) sql: String,
    /// `file:line` of the query.
    pub(super) location: String,
    pub(super) args: Vec<Arg>,
    pub(super) columns: Vec<Column>,
    /// The query's `sqlc.embed`s: their columns are fields of nested structs, not of the
    /// row (`columns` still lists every result column, in order).
    pub(super) embeds: Vec<Embedded>,
    /// The hash of its `.sqlx` entry and decisions file, as its module manifest line has it
    /// ([`crate::manifest::query_hash`]).
    pub(super) manifest_hash: String,
    /// What `gen` changed on its own (a duplicate column's field name), for the user to see.
    pub(super) warnings: Vec<String>,
}

/// Checks `query` against its `.sqlx` entry and maps its types; records the enums it uses.
pub(super) fn analyze<'q>(
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
    if query.cardinality.is_batch() && query.params.is_empty() {
        return Err(err(format!(
            "{} runs the statement once per parameter set, and this one has no parameters; use {} instead",
            query.cardinality.as_str(),
            match query.cardinality {
                Cardinality::BatchOne => ":one",
                Cardinality::BatchMany => ":many",
                _ => ":exec",
            }
        )));
    }
    let mut args = Vec::new();
    let mut param_casts = Vec::new();
    for (param, ty) in query.params.iter().zip(param_types) {
        let ty = PgType::from_json(ty);
        let mapped = options.types.resolve(&ty);
        let Some(base) = mapped.as_ref().map(|m| m.arg.clone()).or_else(|| ty.arg()) else {
            return Err(err(format!(
                "parameter `{}` has type `{}`, which pgtide cannot map; cast it to a supported type, e.g. `@{}::text`, or map the type in the config file (`[default.codegen.types]`, e.g. `{} = \"String\"`)",
                param.name,
                ty.pg_name(),
                param.name,
                ty.type_name().unwrap_or("mytype"),
            )));
        };
        let cast = mapped.as_ref().and_then(|m| m.param_cast.clone());
        let copy = if let (Some(_), Cardinality::CopyFrom) = (&cast, query.cardinality) {
            return Err(err(format!(
                "parameter `{}` of type `{}` is sent as text with a cast (`codegen.types`), which binary COPY cannot apply; load it with an :exec INSERT instead, or map the type to a type of yours that encodes it",
                param.name,
                ty.pg_name()
            )));
        } else if mapped.is_some() {
            CopyEncoding::Plain
        } else if query.cardinality == Cardinality::CopyFrom {
            let column = query
                .copy
                .as_ref()
                .and_then(|c| c.columns.get(args.len()))
                .map_or(param.name.as_str(), String::as_str);
            ty.copy_encoding().map_err(|why| {
                err(format!(
                    "column `{column}` is `{}`, but binary COPY can send {why}; load it with an \
                     :exec INSERT instead (e.g. `INSERT INTO … SELECT * FROM unnest(…)`), or \
                     change the column's type",
                    ty.pg_name()
                ))
            })?
        } else {
            CopyEncoding::Plain
        };
        if mapped.is_none() {
            collect_enums(&ty, enums).map_err(&err)?;
        }
        param_casts.push(cast);
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
            copy,
        });
    }

    let mut columns = Vec::new();
    let mut column_casts = Vec::new();
    let mut warnings = Vec::new();
    let stored_embeds = meta.decisions.as_ref().map_or(&[][..], |d| &d.embeds[..]);
    let cols = describe["columns"].as_array().unwrap_or(&empty);
    let embed_spans = embed_spans(query, stored_embeds, cols.len(), &file.path, options).map_err(
        |(location, message)| GenError {
            location,
            name: query.name.clone(),
            message,
        },
    )?;
    let in_embed = |i: usize| {
        embed_spans
            .iter()
            .any(|(start, len)| (*start..start + len).contains(&i))
    };
    if query.cardinality.returns_rows() {
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
            let mut field = field;
            if !in_embed(i)
                && columns
                    .iter()
                    .enumerate()
                    .any(|(j, c): (usize, &Column)| !in_embed(j) && c.field == field)
            {
                // As sqlc does: `id`, `id_2`, … (a join's `SELECT *`), with a warning.
                let base = field.clone();
                let mut n = 2;
                while columns
                    .iter()
                    .enumerate()
                    .any(|(j, c): (usize, &Column)| !in_embed(j) && c.field == field)
                {
                    field = format!("{base}_{n}");
                    n += 1;
                }
                warnings.push(format!(
                    "column {} is a second column named `{base}`; its field is `{field}` (rename it with `AS other_name` to choose)",
                    i + 1
                ));
            }
            let ty = PgType::from_json(&col["type_info"]);
            // Inside an embed, a column's own nullability (the embed as a whole is the
            // `Option` when an outer join may leave the table out).
            let own = stored_embeds
                .iter()
                .zip(&embed_spans)
                .find_map(|(e, (start, len))| {
                    (*start..start + len)
                        .contains(&i)
                        .then(|| e.nullable[i - start])
                });
            let nullable = name
                .nullable
                .or(own)
                .unwrap_or_else(|| describe["nullable"][i].as_bool() != Some(false));
            let mapped = options.types.resolve(&ty);
            let mut cast = None;
            let base = match (&name.rust_type, mapped, ty.owned()) {
                (Some(over), _, _) => crate::typemap::rust_type(over)
                    .map_err(|m| err(format!("column `{}`: {m}", name.name.escape_debug())))?,
                (None, Some(mapped), _) => {
                    cast = mapped.column_cast;
                    mapped.owned
                }
                (None, None, Some(owned)) => {
                    collect_enums(&ty, enums).map_err(&err)?;
                    owned
                }
                (None, None, None) => {
                    return Err(err(format!(
                        "column `{}` has type `{}`, which pgtide cannot map; cast it (`{}::text AS {}`), name a Rust type that decodes it (`AS \"{}: MyType\"`), or map the type in the config file (`[default.codegen.types]`, e.g. `{} = \"String\"`)",
                        name.name,
                        ty.pg_name(),
                        name.name,
                        name.name,
                        name.name,
                        ty.type_name().unwrap_or("mytype"),
                    )));
                }
            };
            column_casts.push((name.name.clone(), cast));
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
                rule: meta
                    .decisions
                    .as_ref()
                    .and_then(|d| d.rules.get(i).cloned()),
            });
        }
    }
    let embeds = embedded(query, stored_embeds, &embed_spans, &columns, &file.path)?;
    Ok(Analyzed {
        query,
        sql: super::cast::with_casts(&query.sql, &param_casts, &column_casts),
        location,
        args,
        columns,
        embeds,
        manifest_hash: meta.hash().to_owned(),
        warnings,
    })
}

/// The SQL the statement of `query` runs: its own, or with the text casts of `codegen.types`
/// entries of `"String"`; `Err` when `gen` would refuse the query.
pub(crate) fn statement_sql(
    file: &QueryFile,
    query: &Query,
    metadata: &BTreeMap<String, Metadata>,
    options: GenOptions<'_>,
) -> Result<String, GenError> {
    analyze(file, query, metadata, options, &mut BTreeMap::new()).map(|a| a.sql)
}

/// Per stored embed of `query`, its result columns `(start, len)`, checked against the
/// query's `sqlc.embed`s and its result; `Err` is `(file:line, message)`.
fn embed_spans(
    query: &Query,
    stored: &[crate::nullability::store::StoredEmbed],
    columns: usize,
    path: &str,
    options: GenOptions<'_>,
) -> Result<Vec<(usize, usize)>, (String, String)> {
    let Some(first) = query.embeds.first() else {
        return Ok(Vec::new());
    };
    let at = |line: usize| format!("{path}:{line}");
    if !query.cardinality.returns_rows() {
        return Err((
            at(first.line),
            format!(
                "`sqlc.embed({})` in a query that returns no rows ({}); remove it",
                first.table,
                query.cardinality.as_str()
            ),
        ));
    }
    let same = stored.len() == query.embeds.len()
        && stored
            .iter()
            .zip(&query.embeds)
            .all(|(s, e)| s.table == e.table);
    if !same {
        return Err((
            at(first.line),
            format!(
                "no placement of `sqlc.embed({})` in the nullability decisions; run {}",
                first.table, options.regenerate_hint
            ),
        ));
    }
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (s, e) in stored.iter().zip(&query.embeds) {
        let end = s.start + s.nullable.len();
        let overlaps = spans.iter().any(|(a, l)| s.start < a + l && *a < end);
        if s.nullable.is_empty() || end > columns || overlaps {
            return Err((
                at(e.line),
                format!(
                    "the placement of `sqlc.embed({})` does not fit the result's {columns} columns; run {}",
                    e.table, options.regenerate_hint
                ),
            ));
        }
        spans.push((s.start, s.nullable.len()));
    }
    Ok(spans)
}

/// The nested structs of `query`'s embeds, from the analysed `columns`.
fn embedded(
    query: &Query,
    stored: &[crate::nullability::store::StoredEmbed],
    spans: &[(usize, usize)],
    columns: &[Column],
    path: &str,
) -> Result<Vec<Embedded>, GenError> {
    let mut out: Vec<Embedded> = Vec::new();
    if let (Some(e), 1) = (query.embeds.first(), columns.len()) {
        return Err(GenError {
            location: format!("{path}:{}", e.line),
            name: query.name.clone(),
            message: format!(
                "`sqlc.embed({})` is the query's only column; select the column itself",
                e.table
            ),
        });
    }
    for ((s, e), (start, len)) in stored.iter().zip(&query.embeds).zip(spans) {
        let field =
            crate::names::escape_keyword(&crate::names::to_snake(e.table.trim_matches('"')));
        let err = |message: String| GenError {
            location: format!("{path}:{}", e.line),
            name: query.name.clone(),
            message,
        };
        let struct_name = format!("{}{}", query.type_name, crate::names::to_camel(&field));
        let plain = |name: &str| {
            let name = name.strip_prefix("r#").unwrap_or(name);
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if !plain(&field) || !plain(&struct_name) {
            return Err(err(format!(
                "`sqlc.embed({})` makes no Rust name; embed the table under a plain alias (`FROM authors a` … `sqlc.embed(a)`)",
                e.table.escape_debug()
            )));
        }
        let clash = out.iter().any(|o| o.field == field)
            || columns.iter().enumerate().any(|(j, c)| {
                !spans.iter().any(|(a, l)| (*a..a + l).contains(&j)) && c.field == field
            });
        if clash {
            return Err(err(format!(
                "`sqlc.embed({})` makes field `{field}`, which another column or embed of the row already has; embed it under another alias",
                e.table
            )));
        }
        let mut inner: Vec<Column> = Vec::new();
        for c in &columns[*start..start + len] {
            if inner.iter().any(|i| i.field == c.field) {
                return Err(err(format!(
                    "`sqlc.embed({})` has two columns named `{}`",
                    e.table, c.field
                )));
            }
            inner.push(Column {
                field: c.field.clone(),
                ty: c.ty.clone(),
                pg: c.pg.clone(),
                nullable: c.nullable,
                rule: None,
            });
        }
        let optional = s
            .outer
            .as_ref()
            .map(|_| match inner.iter().position(|c| !c.nullable) {
                Some(k) => Presence::Column(start + k),
                None => Presence::AllNull,
            });
        out.push(Embedded {
            field,
            struct_name,
            table: e.table.clone(),
            start: *start,
            columns: inner,
            optional,
        });
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::generate::{Decisions, GenOptions, Metadata, generate};
    use crate::nullability::Rule;
    use crate::nullability::store::StoredEmbed;
    use crate::parse::parse_file;

    const OPTIONS: GenOptions<'static> = GenOptions {
        sqlx_dir_from_out: "../.sqlx",
        regenerate_hint: "`pgtide prepare`",
        types: &crate::overrides::TypeOverrides::new(),
        derives: &crate::overrides::Derives::new(),
    };

    fn gen_embed(sql: &str, embeds: Option<Vec<StoredEmbed>>) -> Result<String, String> {
        let file = parse_file("q.sql", &format!("-- name: Q :many\n{sql}")).unwrap();
        let columns = serde_json::json!([
            {"ordinal": 0, "name": "id", "type_info": "Int8"},
            {"ordinal": 1, "name": "id", "type_info": "Int8"},
            {"ordinal": 2, "name": "note", "type_info": "Text"},
        ]);
        let describe = serde_json::json!({
            "columns": columns, "parameters": {"Left": []}, "nullable": [false, true, true],
        });
        let text = crate::sqlx_data::render(&file.queries[0].sql, &describe);
        let decisions = embeds.map(|embeds| Decisions {
            file_name: "nullability-x.json".into(),
            bytes: Vec::new(),
            rules: Vec::new(),
            embeds,
        });
        let meta = Metadata::new(
            serde_json::from_str(&text).unwrap(),
            text.into_bytes(),
            decisions,
        );
        let metadata = BTreeMap::from([(file.queries[0].sql.clone(), meta)]);
        generate(&[file], &metadata, OPTIONS)
            .map(|files| files[0].contents.clone())
            .map_err(|e| e.to_string())
    }

    fn placed(table: &str, outer: bool) -> Vec<StoredEmbed> {
        vec![StoredEmbed {
            table: table.into(),
            start: 1,
            nullable: vec![false, true],
            outer: outer.then(|| Rule::new("right side of LEFT JOIN")),
        }]
    }

    #[test]
    fn embeds_become_nested_structs_or_clear_errors() {
        let sql = "SELECT a.id,\n  sqlc.embed(notes) FROM a LEFT JOIN notes ON true";
        let out = gen_embed(sql, Some(placed("notes", true))).unwrap();
        assert!(out.contains("pub struct QNotes {"), "{out}");
        assert!(out.contains("pub notes: Option<QNotes>,"), "{out}");
        assert!(
            out.contains("notes: if row.try_get_raw(1)?.is_null() {"),
            "{out}"
        );
        let out = gen_embed(sql, Some(placed("notes", false))).unwrap();
        assert!(out.contains("pub notes: QNotes,"), "{out}");
        // The embedded `id` is the struct's own: no `id_2` in the row.
        assert!(!out.contains("id_2"), "{out}");

        let err = gen_embed(sql, None).unwrap_err();
        assert_eq!(
            err,
            "q.sql:3: query `Q`: no placement of `sqlc.embed(notes)` in the nullability decisions; run `pgtide prepare`"
        );
        // Names are made of what is plain in them, or refused.
        let hostile = "SELECT a.id, sqlc.embed(\"Ünï{}\") FROM a";
        let out = gen_embed(hostile, Some(placed("\"Ünï{}\"", false))).unwrap();
        assert!(out.contains("    pub n: QN,\n"), "{out}");
        let hostile = "SELECT a.id, sqlc.embed(\"Ü\") FROM a";
        let err = gen_embed(hostile, Some(placed("\"Ü\"", false))).unwrap_err();
        assert!(err.contains("makes no Rust name"), "{err}");
        let clash = "SELECT a.id, sqlc.embed(id) FROM a id";
        let err = gen_embed(clash, Some(placed("id", false))).unwrap_err();
        assert!(err.contains("already has"), "{err}");
        let mut outside = placed("notes", false);
        outside[0].start = 2;
        let err = gen_embed(sql, Some(outside)).unwrap_err();
        assert!(err.contains("does not fit the result's 3 columns"), "{err}");
    }

    /// A column override beats the `codegen.types` table for its column, and leaves the
    /// statement uncast; a `:copyfrom` of a type the table sends as text is refused.
    #[test]
    fn column_overrides_win_and_copy_cannot_cast() {
        let types =
            crate::overrides::TypeOverrides::from_entries([("tsvector", "String")]).unwrap();
        let options = GenOptions {
            types: &types,
            derives: &crate::overrides::Derives::new(),
            ..OPTIONS
        };
        let tsvector = serde_json::json!({"Custom": {"name": "tsvector", "kind": "Simple"}});
        let run = |text: &str, columns: serde_json::Value, params: serde_json::Value| {
            let file = parse_file("q.sql", text).unwrap();
            let describe = serde_json::json!({
                "columns": columns, "parameters": {"Left": params}, "nullable": [false, false],
            });
            let data = crate::sqlx_data::render(&file.queries[0].sql, &describe);
            let meta = Metadata::new(
                serde_json::from_str(&data).unwrap(),
                data.into_bytes(),
                None,
            );
            let metadata = BTreeMap::from([(file.queries[0].sql.clone(), meta)]);
            generate(&[file], &metadata, options).map(|f| f[0].contents.clone())
        };
        let columns = serde_json::json!([
            {"ordinal": 0, "name": "a: my::Tsv", "type_info": tsvector},
            {"ordinal": 1, "name": "b", "type_info": tsvector},
        ]);
        let out = run(
            "-- name: Q :one\nSELECT a AS \"a: my::Tsv\", b FROM t",
            columns,
            serde_json::json!([]),
        )
        .unwrap();
        assert!(
            out.contains("    pub a: my::Tsv,\n    /// `tsvector`\n    pub b: String,"),
            "{out}"
        );
        assert!(
            out.contains("SELECT c1 AS \\\"a\\\", c2::text AS \\\"b\\\""),
            "{out}"
        );
        let err = run(
            "-- name: C :copyfrom\nINSERT INTO t (b) VALUES (@b)",
            serde_json::json!([]),
            serde_json::json!([tsvector]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("which binary COPY cannot apply"),
            "{err}"
        );
    }
}
