//! The `codegen.types` table of the config file: a PostgreSQL type name → the Rust type
//! generated code uses for it, for result columns and parameters, and for arrays of it.
//!
//! ```toml
//! [default.codegen.types]
//! tsvector = "String"          # read and sent as text: the generated SQL adds a text cast
//! geometry = "my_app::Wkb"     # a type of yours implementing sqlx's Type/Decode/Encode
//! public.mytype = "my_app::My" # schema-qualified (TOML reads `public.mytype` as a table)
//! ```
//!
//! A type of yours is used as it is: sqlx checks it against the column with your `Type`
//! impl's `compatible`. `"String"` for a type sqlx cannot read as a `String` (everything but
//! `text`, `varchar`, `bpchar`, `name`, `citext` and domains over them) makes `gen` add text
//! casts to the statement it generates: a result column is read as `col::text` (the query
//! is wrapped as `WITH pgtide_cast (c1, …) AS (<query>) SELECT c1, c2::text AS doc, … FROM
//! pgtide_cast`), a parameter is sent as text and cast back (`($1::text::"tsvector")`).
//! `prepare` describes that statement too and writes its `.sqlx` entry, so the statement
//! that runs is one the server has checked, and `.sqlx` describes it.
//!
//! A key is `name` or `schema.name`: a built-in type by its short name (`uuid`, `int8`), any
//! other as `.sqlx` metadata names it (PostgreSQL's `regtype` text, without the schema when
//! the type is on the search path: `public.mytype` matches `mytype`).
//! An entry also replaces a built-in mapping (`uuid = "my_app::Id"`): the table is yours.
//! Rust types are checked as column overrides are ([`crate::typemap::rust_type`]), and must
//! be owned (no `&`): they are row fields.

use std::collections::BTreeMap;

use crate::typemap::PgType;

/// The `codegen.types` table, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeOverrides {
    /// By key as written (`tsvector`, `public.mytype`).
    entries: BTreeMap<String, String>,
}

/// An entry of `codegen.types` that cannot be used; names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("codegen.types.{key}: {message}")]
pub struct OverrideError {
    /// The PostgreSQL type name, as written.
    pub key: String,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl TypeOverrides {
    /// No overrides: every type maps as built in.
    pub const fn new() -> Self {
        Self {
            entries: BTreeMap::new(),
        }
    }

    /// Checks a table of PostgreSQL type name → Rust type (as pgtide's config loader
    /// returns it in `config.codegen().types`).
    ///
    /// ```
    /// use pgtide_codegen::overrides::TypeOverrides;
    ///
    /// let types = TypeOverrides::from_entries([("tsvector", "String")])?;
    /// assert_eq!(types.get("tsvector"), Some("String"));
    /// let err = TypeOverrides::from_entries([("tsvector", "String; fn evil() {}")]).unwrap_err();
    /// assert!(err.to_string().starts_with("codegen.types.tsvector: "));
    /// # Ok::<(), pgtide_codegen::overrides::OverrideError>(())
    /// ```
    pub fn from_entries<K: AsRef<str>, V: AsRef<str>>(
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, OverrideError> {
        let mut out = BTreeMap::new();
        for (key, value) in entries {
            let key = key.as_ref().to_owned();
            let error = |message: String| OverrideError {
                key: key.clone(),
                message,
            };
            let rust =
                pgtide_type_rules::type_entry(out.keys().map(String::as_str), &key, value.as_ref())
                    .map_err(error)?;
            out.insert(key, rust);
        }
        Ok(Self { entries: out })
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The Rust type of `pg_name` as written in the table (the key as written).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// The entry for a type named as `.sqlx` metadata names it (PostgreSQL's `regtype`
    /// text: schema-qualified only when not on the search path, quoted when needed).
    fn find(&self, sqlx_name: &str) -> Option<(&str, &str)> {
        let name = sqlx_name.replace('"', "");
        if let Some((k, v)) = self.entries.get_key_value(&name) {
            return Some((k, v));
        }
        let qualified = name.contains('.');
        self.entries
            .iter()
            .find(|(k, _)| (qualified != k.contains('.')) && last_part(k) == last_part(&name))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How `ty` maps under the table; `None` when no entry applies (the built-in mapping,
    /// if any, does).
    pub(crate) fn resolve(&self, ty: &PgType) -> Option<Mapped> {
        if self.is_empty() {
            return None;
        }
        if let Some(name) = ty.type_name()
            && let Some((key, rust)) = self.find(name)
        {
            if rust != "String" {
                return Some(Mapped {
                    owned: rust.to_owned(),
                    arg: format!("&{rust}"),
                    column_cast: None,
                    param_cast: None,
                });
            }
            let cast_type = sql_type(if key.contains('.') { key } else { name });
            return Some(Mapped {
                owned: "String".into(),
                arg: "&str".into(),
                column_cast: (!ty.decodes_as_string()).then(|| "::text".to_owned()),
                param_cast: (!ty.is_text()).then(|| format!("::text::{cast_type}")),
            });
        }
        match ty {
            PgType::Array(elem) => {
                let inner = self.resolve(elem)?;
                Some(Mapped {
                    arg: format!("&[{}]", inner.owned),
                    owned: format!("Vec<{}>", inner.owned),
                    column_cast: inner.column_cast.map(|c| format!("{c}[]")),
                    param_cast: inner.param_cast.map(|c| {
                        let (_, to) = c.rsplit_once("::").expect("a cast");
                        format!("::text[]::{to}[]")
                    }),
                })
            }
            PgType::Domain { base, .. } => self.resolve(base),
            _ => None,
        }
    }
}

/// A type as an override maps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mapped {
    /// The owned Rust type (row fields).
    pub(crate) owned: String,
    /// The argument type of generated functions.
    pub(crate) arg: String,
    /// What a result column of the type gets appended (`::text`), when sqlx cannot decode
    /// the type as the override's `String`.
    pub(crate) column_cast: Option<String>,
    /// What a parameter of the type gets appended (`::text::"tsvector"`), when sqlx cannot
    /// send a `String` as the type.
    pub(crate) param_cast: Option<String>,
}

fn last_part(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// A type name as SQL: each part quoted (so it is exactly the name, and nothing else).
fn sql_type(name: &str) -> String {
    name.replace('"', "")
        .split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ty(v: serde_json::Value) -> PgType {
        PgType::from_json(&v)
    }

    #[test]
    fn entries_are_checked_and_name_their_key() {
        let err = TypeOverrides::from_entries([("tsvector", "Vec<u8")]).unwrap_err();
        assert_eq!(err.key, "tsvector");
        assert!(
            err.message.contains("is not a Rust type pgtide accepts"),
            "{err}"
        );
        let err = TypeOverrides::from_entries([("ts vector", "String")]).unwrap_err();
        assert!(err.message.contains("not a PostgreSQL type name"), "{err}");
        let err = TypeOverrides::from_entries([("x\"; DROP", "String")]).unwrap_err();
        assert!(err.message.contains("not a PostgreSQL type name"), "{err}");
        let err = TypeOverrides::from_entries([("t", "&str")]).unwrap_err();
        assert!(err.message.contains("is a reference"), "{err}");
        let err = TypeOverrides::from_entries([("a.t", "String"), ("b.t", "String")]).unwrap_err();
        assert!(err.message.contains("`a.t` names a type `t` too"), "{err}");
    }

    #[test]
    fn string_adds_casts_only_where_sqlx_cannot_read_or_send_text() {
        let types =
            TypeOverrides::from_entries([("tsvector", "String"), ("citext", "String")]).unwrap();
        let tsvector = json!({"Custom": {"name": "tsvector", "kind": "Simple"}});
        let m = types.resolve(&ty(tsvector.clone())).unwrap();
        assert_eq!((m.owned.as_str(), m.arg.as_str()), ("String", "&str"));
        assert_eq!(m.column_cast.as_deref(), Some("::text"));
        assert_eq!(m.param_cast.as_deref(), Some("::text::\"tsvector\""));
        let arr = json!({"Custom": {"name": "tsvector[]", "kind": {"Array": tsvector}}});
        let m = types.resolve(&ty(arr)).unwrap();
        assert_eq!(
            (m.owned.as_str(), m.arg.as_str()),
            ("Vec<String>", "&[String]")
        );
        assert_eq!(m.column_cast.as_deref(), Some("::text[]"));
        assert_eq!(m.param_cast.as_deref(), Some("::text[]::\"tsvector\"[]"));
        // sqlx reads citext as a String; a parameter keeps citext's comparison.
        let citext = json!({"Custom": {"name": "citext", "kind": "Simple"}});
        let m = types.resolve(&ty(citext)).unwrap();
        assert_eq!(m.column_cast, None);
        assert_eq!(m.param_cast.as_deref(), Some("::text::\"citext\""));
        assert_eq!(types.resolve(&ty(json!("Int8"))), None);
    }

    #[test]
    fn user_types_and_names_as_sqlx_writes_them() {
        let types = TypeOverrides::from_entries([
            ("public.mytype", "my::My"),
            ("uuid", "my::Id"),
            ("geometry", "my::Wkb"),
        ])
        .unwrap();
        let my = json!({"Custom": {"name": "mytype", "kind": "Simple"}});
        let m = types.resolve(&ty(my)).unwrap();
        assert_eq!((m.owned.as_str(), m.arg.as_str()), ("my::My", "&my::My"));
        assert_eq!((m.column_cast, m.param_cast), (None, None));
        let quoted = json!({"Custom": {"name": "postgis.\"geometry\"", "kind": "Simple"}});
        assert_eq!(types.resolve(&ty(quoted)).unwrap().owned, "my::Wkb");
        assert_eq!(
            types.resolve(&ty(json!("UuidArray"))).unwrap().owned,
            "Vec<my::Id>"
        );
        let domain = json!({"Custom": {"name": "doc_id", "kind": {"Domain": "Uuid"}}});
        assert_eq!(types.resolve(&ty(domain)).unwrap().owned, "my::Id");
        let other = json!({"Custom": {"name": "other.mytype", "kind": "Simple"}});
        assert_eq!(types.resolve(&ty(other)), None);
    }
}

/// The `codegen.derives` list: traits generated row structs derive besides `Debug`, which
/// they always derive. Empty by default, as sqlx's `query!` records: every derive is compile
/// time in the crate that holds the generated code (README "Performance"). Each entry is
/// checked as a plain Rust path (`pgtide_type_rules::derives`) before it reaches generated code.
///
/// ```
/// use pgtide_codegen::overrides::Derives;
///
/// assert_eq!(Derives::default().attribute(), "#[derive(Debug)]");
/// let derives = Derives::from_list(["Clone", "serde::Serialize"])?;
/// assert_eq!(derives.attribute(), "#[derive(Debug, Clone, serde::Serialize)]");
/// let err = Derives::from_list(["Clone)] struct Z; #[derive(Eq"]).unwrap_err();
/// assert!(err.to_string().starts_with("codegen.derives: "));
/// assert!(Derives::from_list(["Clone, PartialEq"]).is_err(), "one trait per entry");
/// # Ok::<(), pgtide_codegen::overrides::DerivesError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derives {
    traits: Vec<String>,
}

/// A `codegen.derives` entry that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("codegen.derives: {0}")]
pub struct DerivesError(pub String);

impl Derives {
    /// Nothing besides `Debug` (the default).
    pub const fn new() -> Self {
        Self { traits: Vec::new() }
    }

    /// The traits, each checked; `Debug` is skipped (always derived), a trait named twice is
    /// refused.
    pub fn from_list<S: AsRef<str>>(
        traits: impl IntoIterator<Item = S>,
    ) -> Result<Self, DerivesError> {
        let entries: Vec<String> = traits.into_iter().map(|t| t.as_ref().to_owned()).collect();
        if let Some(bad) = entries.iter().find(|t| t.contains(',')) {
            return Err(DerivesError(format!(
                "`{}` is more than one trait; give each its own entry",
                bad.escape_debug()
            )));
        }
        let traits = pgtide_type_rules::derives(&entries.join(",")).map_err(DerivesError)?;
        Ok(Self { traits })
    }

    /// The attribute a row struct carries, e.g. `#[derive(Debug, Clone)]`.
    pub fn attribute(&self) -> String {
        let mut attribute = String::from("#[derive(Debug");
        for t in &self.traits {
            attribute.push_str(", ");
            attribute.push_str(t);
        }
        attribute.push_str(")]");
        attribute
    }
}
