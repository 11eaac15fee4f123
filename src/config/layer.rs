//! One layer of configuration: the keys one source sets for the loaded profile, and where
//! each key came from. Layers are merged by figment in precedence order.

use std::collections::BTreeMap;

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use super::ConfigError;
use super::dsn;
use super::provenance::Source;
use super::raw;
use super::secret_ref;

/// The keys one source sets for one profile section.
#[derive(Clone)]
pub(crate) struct Layer {
    /// Unique among a loader's layers: figment's metadata name, used to find the layer back.
    pub(crate) name: String,
    /// The profile section the values came from (`default`, or the one loaded).
    pub(crate) profile: String,
    pub(crate) dict: Dict,
    /// Dotted key → its source, where it differs from `fallback`.
    pub(crate) origins: BTreeMap<String, Source>,
    pub(crate) fallback: Source,
}

impl Layer {
    pub(crate) fn new(name: String, profile: &str, dict: Dict, fallback: Source) -> Self {
        Self {
            name,
            profile: profile.into(),
            dict,
            origins: BTreeMap::new(),
            fallback,
        }
    }

    /// Where `key` (dotted) came from in this layer.
    pub(crate) fn origin(&self, key: &str) -> Source {
        let mut key = key;
        loop {
            if let Some(source) = self.origins.get(key) {
                return source.clone();
            }
            match key.rsplit_once('.') {
                Some((parent, _)) => key = parent,
                None => return self.fallback.clone(),
            }
        }
    }

    /// Rejects keys pgtide does not know, naming this layer's source.
    pub(crate) fn check_keys(&self) -> Result<(), ConfigError> {
        raw::check_keys(&self.dict).map_err(|unknown| ConfigError::UnknownKey {
            origin: Box::new(self.origin(&unknown.key)),
            key: unknown.key,
            profile: self.profile.clone(),
            hint: unknown.hint,
        })
    }

    /// Replaces a `dsn` key by the keys it spells; keys set beside it in the same layer win.
    pub(crate) fn expand_dsn(&mut self, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
        let Some(value) = self.dict.remove("dsn") else {
            return Ok(());
        };
        let origin = self.origin("dsn");
        let invalid = |message: String| ConfigError::Value {
            key: "dsn".into(),
            profile: self.profile.clone(),
            origin: Box::new(origin.clone()),
            message,
        };
        let written = raw::secret_text(&value).map_err(invalid)?;
        let url = secret_ref::resolve(written, env).map_err(|reason| ConfigError::Secret {
            key: "dsn".into(),
            profile: self.profile.clone(),
            origin: Box::new(origin.clone()),
            reference: written.to_string(),
            reason,
        })?;
        let parts = dsn::parse(secrecy::ExposeSecret::expose_secret(&url)).map_err(invalid)?;
        for (key, part) in parts {
            if !self.dict.contains_key(&key) {
                self.origins.insert(key.clone(), origin.clone());
                self.dict.insert(key, part);
            }
        }
        Ok(())
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Map::from([(Profile::Default, self.dict.clone())]))
    }
}

/// Every leaf key of `dict` as a dotted path, tables of `settings` included.
pub(crate) fn leaf_paths(dict: &Dict) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    collect(dict, &mut Vec::new(), &mut out);
    out
}

fn collect(dict: &Dict, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for (key, value) in dict {
        path.push(key.clone());
        match value {
            Value::Dict(_, inner) if !inner.is_empty() => collect(inner, path, out),
            _ => out.push(path.clone()),
        }
        path.pop();
    }
}

/// Inserts `value` at a dotted path, making tables on the way.
pub(crate) fn insert_path(dict: &mut Dict, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            dict.insert(path.into(), value);
        }
        Some((head, rest)) => {
            let entry = dict
                .entry(head.into())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}
