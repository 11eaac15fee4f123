//! The effective configuration, key by key, with where each value came from.

use std::fmt;

use serde::Serialize;

use super::keys::KEYS;
use super::provenance::Source;
use super::settings::Config;

/// What the password is shown as.
pub const REDACTED: &str = "[redacted]";

/// A loaded [`Config`] and, for each key, its effective value and source: what
/// `pgtide config show` prints. Serialisable; the password is always [`REDACTED`].
#[derive(Debug, Clone, Serialize)]
pub struct LoadedConfig {
    #[serde(skip)]
    config: Config,
    profile: String,
    entries: Vec<Entry>,
}

/// One key of a [`LoadedConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Entry {
    /// Dotted key path, as written in files (`pool.max_size`).
    pub key: String,
    /// The effective value as a file would spell it (`"30s"`, `"off"`, `[redacted]`).
    pub value: String,
    /// Where the value came from.
    pub source: Source,
}

impl LoadedConfig {
    pub(crate) fn new(config: Config, origin: impl Fn(&str) -> Source) -> Self {
        let entries = effective_values(&config)
            .into_iter()
            .map(|(key, value)| Entry {
                source: origin(&key),
                key,
                value,
            })
            .collect();
        Self {
            profile: config.profile().to_string(),
            config,
            entries,
        }
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The validated configuration, by value.
    pub fn into_config(self) -> Config {
        self.config
    }

    /// Every key with its effective value and source, in a stable order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry of one dotted key, e.g. `pool.max_size`.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

impl fmt::Display for LoadedConfig {
    /// One `key = value  # source` line per key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# profile {}", self.profile)?;
        for e in &self.entries {
            writeln!(f, "{} = {}  # {}", e.key, e.value, e.source)?;
        }
        Ok(())
    }
}

/// Every key of `config` the key table shows, spelled as in a file (the password
/// redacted), then one entry per session setting and one per `codegen.types` entry.
fn effective_values(config: &Config) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = KEYS
        .iter()
        .filter_map(|key| Some((key.name.to_string(), (key.show?)(config))))
        .collect();
    out.extend(
        config
            .session()
            .extra
            .iter()
            .map(|(k, v)| (format!("settings.{k}"), v.clone())),
    );
    out.extend(
        config
            .codegen()
            .types
            .iter()
            .map(|(k, v)| (format!("codegen.types.{k}"), v.clone())),
    );
    out
}
