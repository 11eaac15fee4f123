//! The one owner of "which Rust type text may go into generated code", shared by
//! `pgtide-codegen` (column overrides `AS "col: Type"`, the `codegen.types` table) and pgtide's
//! config loader (which checks `codegen.types` when it loads, so a bad value is a config error
//! naming the key and its source). Both depend on this crate, so the two cannot drift; it
//! depends on `syn` only.
//!
//! ```
//! use pgtide_type_rules::{rust_type, type_entry};
//!
//! assert_eq!(rust_type(" Vec<my::Money> ").unwrap(), "Vec<my::Money>");
//! // Text that would close the field it is pasted into and add an item is refused.
//! assert!(rust_type("i32, b: i32 } fn evil() {} struct Z { c: i32").is_err());
//! // A `codegen.types` entry: a PostgreSQL type name and an owned Rust type.
//! assert_eq!(type_entry([].into_iter(), "public.ltree", "String").unwrap(), "String");
//! assert!(type_entry(["ltree"].into_iter(), "public.ltree", "String").is_err());
//! ```

#![warn(missing_docs)]

/// A Rust type written by a user, checked before it goes into generated code: it must parse
/// as one Rust type (with `syn`) made only of paths, references, slices, tuples and arrays of
/// literal length, with no comments. So it cannot close the field it is pasted into, add
/// items, or call a macro. `Ok` is the type trimmed.
pub fn rust_type(text: &str) -> Result<String, String> {
    let text = text.trim();
    let refuse = |why: &str| {
        format!(
            "`{}` is not a Rust type pgtide accepts: {why}",
            text.escape_debug()
        )
    };
    if text.contains(['/', '\n', '\r']) || text.contains(char::is_control) {
        return Err(refuse("it has a comment or a line break"));
    }
    let ty: syn::Type = syn::parse_str(text).map_err(|e| refuse(&e.to_string()))?;
    check_type(&ty).map_err(|what| refuse(&format!("{what} is not allowed")))?;
    Ok(text.to_owned())
}

/// A PostgreSQL type name as a key of the `codegen.types` table: `name` or `schema.name`,
/// each part an identifier (letters, digits, `_`, `$`, not starting with a digit or `$`).
/// Such a name goes into the SQL of a text cast (quoted), so nothing else is accepted.
pub fn pg_type_name(text: &str) -> Result<(), String> {
    let parts: Vec<&str> = text.split('.').collect();
    let part_ok = |p: &str| {
        p.starts_with(|c: char| c.is_alphabetic() || c == '_')
            && p.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    };
    if parts.len() > 2 || !parts.iter().all(|p| part_ok(p)) {
        return Err(format!(
            "`{}` is not a PostgreSQL type name pgtide accepts: write `name` or `schema.name` (letters, digits, `_`), e.g. `tsvector` or `public.mytype`; arrays of the type follow it",
            text.escape_debug()
        ));
    }
    Ok(())
}

/// One entry of the `codegen.types` table, checked against the entries before it
/// (`existing`): the name as [`pg_type_name`] accepts it, the value an owned Rust type (row
/// fields own their values), and no two names of one type as `.sqlx` metadata writes it (a
/// type on the search path is written without its schema). `Ok` is the Rust type trimmed.
pub fn type_entry<'a>(
    mut existing: impl Iterator<Item = &'a str>,
    name: &str,
    rust: &str,
) -> Result<String, String> {
    pg_type_name(name)?;
    let rust = rust_type(rust)?;
    if rust.starts_with('&') {
        return Err(format!(
            "`{rust}` is a reference; name an owned type (row fields own their values), e.g. `String`"
        ));
    }
    let last = |n: &'a str| n.rsplit('.').next().unwrap_or(n);
    let own = name.rsplit('.').next().unwrap_or(name);
    if let Some(other) = existing.find(|k| last(k) == own) {
        return Err(format!(
            "`{other}` names a type `{own}` too, and `.sqlx` metadata writes a type on the search path without its schema; keep one"
        ));
    }
    Ok(rust)
}

fn check_type(ty: &syn::Type) -> Result<(), &'static str> {
    use syn::{Expr, GenericArgument, Lit, PathArguments, Type};
    match ty {
        Type::Path(p) => {
            if p.qself.is_some() {
                return Err("a qualified path (`<T as Trait>::X`)");
            }
            for segment in &p.path.segments {
                match &segment.arguments {
                    PathArguments::None => {}
                    PathArguments::AngleBracketed(args) => {
                        for arg in &args.args {
                            match arg {
                                GenericArgument::Type(t) => check_type(t)?,
                                GenericArgument::Lifetime(_) => {}
                                _ => {
                                    return Err("a generic argument other than a type or lifetime");
                                }
                            }
                        }
                    }
                    PathArguments::Parenthesized(_) => {
                        return Err("a function-style path (`Fn(…)`)");
                    }
                }
            }
            Ok(())
        }
        Type::Reference(r) => check_type(&r.elem),
        Type::Slice(s) => check_type(&s.elem),
        Type::Paren(p) => check_type(&p.elem),
        Type::Tuple(t) => t.elems.iter().try_for_each(check_type),
        Type::Array(a) => match &a.len {
            Expr::Lit(lit) if matches!(lit.lit, Lit::Int(_)) => check_type(&a.elem),
            _ => Err("an array length other than a number"),
        },
        _ => Err("this kind of type (macro, `impl`, `dyn`, fn pointer, `_`, `!`)"),
    }
}

/// The `codegen.derives` value: traits to derive on generated row structs besides `Debug`
/// (always derived), written as a comma-separated list, e.g. `"Clone, PartialEq,
/// serde::Serialize"`. Each must be a plain path (no generics, no comments); `Debug` is
/// skipped and a trait named twice is refused (the derives would clash). `Ok` is the list
/// trimmed, in the order written.
///
/// ```
/// use pgtide_type_rules::derives;
///
/// assert_eq!(derives(" Clone, serde::Serialize ,").unwrap(), ["Clone", "serde::Serialize"]);
/// assert_eq!(derives("Debug").unwrap(), Vec::<String>::new());
/// assert!(derives("Clone, Clone").is_err());
/// assert!(derives("Clone)] struct Z; #[derive(Eq").is_err());
/// assert!(derives("Into<String>").is_err());
/// ```
pub fn derives(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let refuse = |why: &str| {
            format!(
                "`{}` is not a trait pgtide can derive: {why}; write paths such as `Clone, PartialEq, serde::Serialize`",
                item.escape_debug()
            )
        };
        if item.contains(['/', '\n', '\r']) || item.contains(char::is_control) {
            return Err(refuse("it has a comment or a line break"));
        }
        let path: syn::Path = syn::parse_str(item).map_err(|e| refuse(&e.to_string()))?;
        if path
            .segments
            .iter()
            .any(|s| !matches!(s.arguments, syn::PathArguments::None))
        {
            return Err(refuse("a derive takes no generic arguments"));
        }
        if item == "Debug" || item == "std::fmt::Debug" || item == "core::fmt::Debug" {
            continue;
        }
        if out.iter().any(|seen| seen == item) {
            return Err(refuse("it is named twice"));
        }
        out.push(item.to_owned());
    }
    Ok(out)
}
