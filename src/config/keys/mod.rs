//! The one table of configuration keys.
//!
//! Every key pgtide reads is one [`Key`] row in [`KEYS`]: its dotted name, what it holds,
//! its default (the only place defaults are written), its documentation, how a written value
//! is stored ([`Read`]), how it is shown by `load_explained` and how it enters the config
//! hash. Loading, the unknown-key check, the defaults of the builder, `LoadedConfig`, the
//! hash and the key table in the module docs all walk this table, so a key cannot be read
//! into another key's field, and a new key is one new row.

mod table;
#[cfg(test)]
mod tests;

use figment::value::Value;

use super::builder::Draft;
use super::settings::Config;

pub(crate) use table::KEYS;

/// What a key holds (the unknown-key check and the docs read it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Secret,
    Dsn,
    Port,
    Count,
    Bool,
    Duration,
    /// A duration, or `"off"` to leave the server default (or never).
    OptDuration,
    SslMode,
    HealthCheck,
    Path,
    /// A table of free-form session settings.
    Settings,
    /// A table of PostgreSQL type name → Rust type (`codegen.types`).
    TypeMap,
    /// A secret other than the password (object store keys and tokens), stored as written
    /// and resolved after the build by `config::storage`.
    StorageSecret,
}

impl Kind {
    /// How the docs describe a value of this kind.
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the docs test"))]
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Secret => "secret",
            Self::Dsn => "URL (secret)",
            Self::Port => "port",
            Self::Count => "whole number",
            Self::Bool => "true/false",
            Self::Duration => "duration",
            Self::OptDuration => "duration or \"off\"",
            Self::SslMode => "sslmode",
            Self::HealthCheck => "\"always\", \"never\" or duration",
            Self::Path => "path",
            Self::Settings => "table",
            Self::TypeMap => "table of type → Rust type",
            Self::StorageSecret => "secret",
        }
    }
}

/// Stores one written value into the builder's draft, or says what is wrong with it.
pub(crate) type Store = fn(&mut Draft, &Value) -> Result<(), String>;

/// Stores one entry (its name inside the table, its value) of a table-shaped key.
pub(crate) type StoreEntry = fn(&mut Draft, &str, &Value) -> Result<(), String>;

/// How the loader reads a key.
#[derive(Clone, Copy)]
pub(crate) enum Read {
    /// Parsed and stored into its own field of the builder draft.
    Draft(Store),
    /// Read by the loader itself: the password (resolved secret references), `dsn`
    /// (expanded per layer) and the pool bounds (the type-checked [`PoolSize`](super::PoolSize)).
    Loader,
    /// The free-form `settings` table.
    Settings,
    /// A table whose entries are stored one by one (`codegen.types`); an entry may be a
    /// table of its own one level down (`public.mytype`, which TOML and the environment
    /// write as nested tables), stored under its dotted name.
    Entries(StoreEntry),
}

/// One configuration key.
pub(crate) struct Key {
    /// Dotted path, as files write it (`pool.max_size`).
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// The default as a file would write it; `None` when there is none or it is derived
    /// from other keys (the docs say how, in `doc`).
    pub(crate) default: Option<&'static str>,
    /// One line for the docs.
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the docs test"))]
    pub(crate) doc: &'static str,
    /// A valid value other than the default, as an environment variable would spell it
    /// (the round-trip test sets each key to it through every source).
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the round-trip test"))]
    pub(crate) example: &'static str,
    pub(crate) read: Read,
    /// The effective value as `load_explained` shows it; `None` for keys not shown
    /// themselves (`dsn` is expanded into its parts, `settings` shown one entry each).
    pub(crate) show: Option<fn(&Config) -> String>,
    /// The value as it enters the config hash; `None` for keys that do not (the password
    /// enters through an HMAC, `dsn` through its parts).
    pub(crate) hash: Option<fn(&Config) -> String>,
}

/// The row of `name`.
pub(crate) fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The default of a key whose default is a whole number (the pool bounds).
pub(crate) fn default_count(name: &str) -> u32 {
    find(name)
        .and_then(|k| k.default)
        .and_then(|d| d.parse().ok())
        .expect("the key table gives this key a whole-number default")
}

/// A draft holding every default of the table (applied through each key's own `Store`).
pub(crate) fn default_draft() -> Draft {
    let mut draft = Draft::blank();
    for key in KEYS {
        if let (Read::Draft(store), Some(default)) = (key.read, key.default) {
            store(&mut draft, &Value::from(default))
                .expect("every default in the key table parses (tested)");
        }
    }
    draft
}

/// The key table as Markdown, as the module docs of `pgtide::config` show it.
#[cfg(test)]
pub(crate) fn markdown_table() -> String {
    let mut out = String::from("| key | value | default | meaning |\n|---|---|---|---|\n");
    for key in KEYS {
        let default = key.default.map_or_else(|| "—".into(), |d| format!("`{d}`"));
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            key.name,
            key.kind.describe(),
            default,
            key.doc
        ));
    }
    out
}
