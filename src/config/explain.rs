//! The effective configuration, key by key, with where each value came from.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::duration::format_duration;
use super::provenance::Source;
use super::settings::{Config, HealthCheck};

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

fn opt(d: Option<Duration>) -> String {
    d.map_or_else(|| "off".into(), format_duration)
}

/// Every key of `config`, spelled as in a file; the password redacted.
fn effective_values(config: &Config) -> Vec<(String, String)> {
    let c = config.connection();
    let t = config.tls();
    let s = config.session();
    let p = config.pool();
    let r = config.retry();
    let path = |p: &Option<std::path::PathBuf>| {
        p.as_ref()
            .map_or_else(|| "none".into(), |p| p.display().to_string())
    };
    let mut out: Vec<(&str, String)> = vec![
        ("host", c.host.clone()),
        ("port", c.port.to_string()),
        ("database", c.database.clone()),
        ("user", c.user.clone()),
        ("password", REDACTED.into()),
        ("sslmode", t.mode.as_str().into()),
        ("sslrootcert", path(&t.root_cert)),
        ("sslcert", path(&t.client_cert)),
        ("sslkey", path(&t.client_key)),
        ("application_name", c.application_name.clone()),
        (
            "search_path",
            s.search_path
                .clone()
                .unwrap_or_else(|| "server default".into()),
        ),
        ("connect_timeout", format_duration(c.connect_timeout)),
        ("statement_timeout", opt(s.statement_timeout)),
        ("lock_timeout", opt(s.lock_timeout)),
        (
            "idle_in_transaction_session_timeout",
            opt(s.idle_in_transaction_session_timeout),
        ),
        ("pool.min_size", p.size.min().to_string()),
        ("pool.max_size", p.size.max().to_string()),
        ("pool.acquire_timeout", format_duration(p.acquire_timeout)),
        ("pool.idle_timeout", opt(p.idle_timeout)),
        ("pool.max_lifetime", opt(p.max_lifetime)),
        (
            "pool.health_check",
            match p.health_check {
                HealthCheck::Always => "always".into(),
                HealthCheck::Never => "never".into(),
                HealthCheck::IdleLongerThan(d) => format_duration(d),
            },
        ),
        ("retry.attempts", r.attempts.to_string()),
        ("retry.base_delay", format_duration(r.base_delay)),
        ("retry.max_delay", format_duration(r.max_delay)),
        ("retry.jitter", r.jitter.to_string()),
        ("retry.budget", format_duration(r.budget)),
    ];
    let settings: Vec<(String, String)> = s
        .extra
        .iter()
        .map(|(k, v)| (format!("settings.{k}"), v.clone()))
        .collect();
    let mut all: Vec<(String, String)> = out.drain(..).map(|(k, v)| (k.to_string(), v)).collect();
    all.extend(settings);
    all
}
