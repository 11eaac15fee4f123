//! `sqlc.embed(table)`: the nested struct of one embedded table, and the row field that
//! decodes it by column index (sqlx's `FromRow` cannot flatten a prefix of columns with
//! offline metadata, so the decoding is written out, as by hand).

use std::fmt::Write as _;

use super::analyze::{Analyzed, Embedded, Presence};
use super::imports::Imports;
use super::rust::code;
use crate::names::raw_ident;

/// The nested structs of `a`'s embeds, before its row struct.
pub(super) fn render_embed_structs(
    s: &mut String,
    imports: &mut Imports,
    a: &Analyzed<'_>,
    derive: &str,
) {
    for e in &a.embeds {
        let _ = writeln!(
            s,
            "/// The columns of {} in a row of [`{}`].\n{derive}\npub struct {} {{",
            code(&format!("sqlc.embed({})", e.table)),
            raw_ident(&a.query.fn_name),
            e.struct_name
        );
        for c in &e.columns {
            let null = if c.nullable { ", nullable" } else { "" };
            let _ = writeln!(
                s,
                "    /// {}{null}\n    pub {}: {},",
                code(&c.pg),
                c.field,
                imports.ty(&c.ty)
            );
        }
        s.push_str("}\n\n");
    }
}

/// The row field of embed `e`: its doc line and declaration.
pub(super) fn embed_field(e: &Embedded) -> String {
    let (ty, null) = match e.optional {
        Some(_) => (
            format!("Option<{}>", e.struct_name),
            ", `None` when an outer join left the table out",
        ),
        None => (e.struct_name.clone(), ""),
    };
    format!(
        "    /// {}{null}\n    pub {}: {ty},\n",
        code(&format!("sqlc.embed({})", e.table)),
        e.field
    )
}

/// The field initialiser of embed `e` inside `from_row` (`row` is the `PgRow`).
pub(super) fn render_embed(s: &mut String, imports: &mut Imports, e: &Embedded) {
    // The struct literal, its fields indented `pad` spaces.
    let value = |pad: usize| {
        let fields: String = e
            .columns
            .iter()
            .enumerate()
            .map(|(k, c)| format!("{:pad$}{}: row.try_get({})?,\n", "", c.field, e.start + k))
            .collect();
        format!(
            "{} {{\n{fields}{:close$}}}",
            e.struct_name,
            "",
            close = pad - 4
        )
    };
    let test = match e.optional {
        None => {
            let _ = writeln!(s, "            {}: {},", e.field, value(16));
            return;
        }
        Some(Presence::Column(i)) => {
            imports.use_trait("pgtide::sqlx::ValueRef");
            format!("row.try_get_raw({i})?.is_null()")
        }
        Some(Presence::AllNull) => {
            imports.use_trait("pgtide::sqlx::ValueRef");
            let end = e.start + e.columns.len();
            format!(
                "({}..{end}).all(|i| row.try_get_raw(i).is_ok_and(|v| v.is_null()))",
                e.start
            )
        }
    };
    // A null-extended row has NULL in the table's NOT NULL column: the table is absent.
    let _ = writeln!(
        s,
        "            {}: if {test} {{\n                None\n            }} else {{\n                Some({})\n            }},",
        e.field,
        value(20)
    );
}
