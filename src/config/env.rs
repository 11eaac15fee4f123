//! The environment: `PGTIDE_<PROFILE>__<KEY>__<SUBKEY>`, `PGTIDE_<PROFILE>__JSON`, libpq's
//! `PG*` variables and `DATABASE_URL`.
//!
//! The loader reads a snapshot (a map), never the process environment directly, so tests
//! inject one and nothing here depends on global state.

use std::collections::{BTreeMap, BTreeSet};

use figment::value::{Dict, Value};

use super::ConfigError;
use super::layer::{Layer, insert_path};
use super::provenance::Source;

/// Prefix of pgtide's own variables.
pub(crate) const PREFIX: &str = "PGTIDE_";

/// libpq's variables and the keys they set.
pub(crate) const LIBPQ: &[(&str, &str)] = &[
    ("PGHOST", "host"),
    ("PGPORT", "port"),
    ("PGUSER", "user"),
    ("PGPASSWORD", "password"),
    ("PGDATABASE", "database"),
    ("PGSSLMODE", "sslmode"),
    ("PGSSLROOTCERT", "sslrootcert"),
    ("PGSSLCERT", "sslcert"),
    ("PGSSLKEY", "sslkey"),
    ("PGREQUIREAUTH", "require_auth"),
    ("PGAPPNAME", "application_name"),
    ("PGCONNECT_TIMEOUT", "connect_timeout"),
    ("PGTARGETSESSIONATTRS", "target_session_attrs"),
];

/// `PGTIDE_*` variables split by profile: plain keys and the JSON overlay.
#[derive(Default)]
pub(crate) struct PgtideVars {
    /// profile → (dotted key → (variable, value)).
    keys: BTreeMap<String, BTreeMap<String, (String, String)>>,
    /// profile → (variable, JSON text).
    json: BTreeMap<String, (String, String)>,
}

impl PgtideVars {
    /// Picks `PGTIDE_<PROFILE>__...` variables; others (`PGTIDE_PROFILE`, no `__`) are not keys.
    pub(crate) fn from_env(env: &BTreeMap<String, String>) -> Self {
        let mut vars = Self::default();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix(PREFIX) else {
                continue;
            };
            let Some((profile, key)) = rest.split_once("__") else {
                continue;
            };
            if profile.is_empty() || key.is_empty() {
                continue;
            }
            let profile = profile.to_ascii_lowercase();
            let key = key.to_ascii_lowercase();
            if key == "json" {
                vars.json.insert(profile, (name.clone(), value.clone()));
            } else {
                vars.keys
                    .entry(profile)
                    .or_default()
                    .insert(key.replace("__", "."), (name.clone(), value.clone()));
            }
        }
        vars
    }

    /// Every profile named by a variable.
    pub(crate) fn profiles(&self) -> BTreeSet<String> {
        self.keys.keys().chain(self.json.keys()).cloned().collect()
    }

    /// Checks the keys of every profile, so a typo is caught whichever profile is loaded.
    pub(crate) fn check_keys(&self) -> Result<(), ConfigError> {
        for profile in self.keys.keys() {
            if let Some(layer) = self.layer(String::new(), profile) {
                layer.check_keys()?;
            }
        }
        for profile in self.json.keys() {
            if let Some(layer) = self.json_layer(String::new(), profile)? {
                layer.check_keys()?;
            }
        }
        Ok(())
    }

    /// The `PGTIDE_<PROFILE>__KEY` variables of `profile`.
    pub(crate) fn layer(&self, name: String, profile: &str) -> Option<Layer> {
        let vars = self.keys.get(profile)?;
        let mut dict = Dict::new();
        let mut origins = BTreeMap::new();
        for (key, (var, value)) in vars {
            insert_path(&mut dict, key, Value::from(value.clone()));
            origins.insert(key.clone(), Source::env(var.clone()));
        }
        let fallback = Source::env(format!("{PREFIX}{}__*", profile.to_ascii_uppercase()));
        let mut layer = Layer::new(name, profile, dict, fallback);
        layer.origins = origins;
        Some(layer)
    }

    /// `PGTIDE_<PROFILE>__JSON` of `profile`: a JSON object in the file shape.
    pub(crate) fn json_layer(
        &self,
        name: String,
        profile: &str,
    ) -> Result<Option<Layer>, ConfigError> {
        let Some((var, text)) = self.json.get(profile) else {
            return Ok(None);
        };
        let origin = Source::env(var.clone());
        let invalid = |message: String| ConfigError::Value {
            key: "json".into(),
            profile: profile.into(),
            origin: Box::new(origin.clone()),
            message,
        };
        // Parse to JSON first: serde_json's syntax errors give positions, never content.
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(format!("invalid JSON: {e}")))?;
        if !json.is_object() {
            return Err(invalid(
                "expected a JSON object in the file shape, e.g. {\"pool\": {\"max_size\": 20}}"
                    .into(),
            ));
        }
        let dict = match Value::serialize(json) {
            Ok(Value::Dict(_, dict)) => dict,
            _ => return Err(invalid("expected a JSON object".into())),
        };
        Ok(Some(Layer::new(name, profile, dict, origin)))
    }
}

/// libpq's `PG*` variables, for every profile.
pub(crate) fn libpq_layer(name: String, profile: &str, env: &BTreeMap<String, String>) -> Layer {
    let mut layer = Layer::new(name, profile, Dict::new(), Source::env("PG*"));
    for (var, key) in LIBPQ {
        if let Some(value) = env.get(*var) {
            let value = if *key == "connect_timeout" && value.bytes().all(|b| b.is_ascii_digit()) {
                // libpq counts whole seconds.
                format!("{value}s")
            } else {
                value.clone()
            };
            layer.dict.insert((*key).into(), Value::from(value));
            layer.origins.insert((*key).into(), Source::env(*var));
        }
    }
    layer
}

/// libpq's variables for settings sqlx cannot honour (`PGCHANNELBINDING`, `PGGSSENCMODE`):
/// fine when they ask for nothing (`disable`, `prefer`), refused when they `require` it.
pub(crate) fn check_unsupported(
    profile: &str,
    env: &BTreeMap<String, String>,
) -> Result<(), ConfigError> {
    for (var, key) in [
        ("PGCHANNELBINDING", "channel_binding"),
        ("PGGSSENCMODE", "gssencmode"),
    ] {
        if let Some(message) = env
            .get(var)
            .and_then(|v| super::require_auth::unsupported(key, v))
        {
            return Err(ConfigError::Value {
                key: key.into(),
                profile: profile.into(),
                origin: Box::new(Source::env(var)),
                message,
            });
        }
    }
    Ok(())
}

/// `DATABASE_URL`, for every profile.
pub(crate) fn database_url_layer(
    name: String,
    profile: &str,
    env: &BTreeMap<String, String>,
) -> Option<Layer> {
    let url = env.get("DATABASE_URL")?;
    let dict = Dict::from([("dsn".to_string(), Value::from(url.clone()))]);
    Some(Layer::new(name, profile, dict, Source::env("DATABASE_URL")))
}
