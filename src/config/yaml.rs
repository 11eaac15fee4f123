//! YAML configuration files, read with [`serde_saphyr`].
//!
//! figment's own `yaml` feature reads YAML with `serde_yaml`, which its author archived and
//! marked deprecated in 2024 (its last release is `0.9.34+deprecated`). Of the maintained
//! successors, `serde-saphyr` is chosen: it is pure Rust on the maintained `saphyr` parser
//! lineage (no `unsafe-libyaml` C translation like `serde_yaml_ng` and `serde_norway`), it
//! reports error positions, and it is actively released. [`Yaml`] plugs it into figment.

use std::path::{Path, PathBuf};

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

/// A figment [`Provider`] for a YAML file whose top-level keys are profiles:
///
/// ```yaml
/// default:
///   host: db.internal
/// prod:
///   pool:
///     max_size: 20
/// ```
///
/// [`ConfigLoader`](crate::config::ConfigLoader) reads `.yaml`/`.yml` files with it; use it
/// directly to compose your own figment.
///
/// ```
/// use figment::Figment;
/// use pgtide::config::Yaml;
///
/// let figment = Figment::from(Yaml::string("default:\n  port: 6432\n"));
/// assert_eq!(figment.extract_inner::<u16>("port")?, 6432);
/// # Ok::<(), figment::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Yaml {
    input: Input,
}

#[derive(Debug, Clone)]
enum Input {
    File(PathBuf),
    String(String),
}

impl Yaml {
    /// Reads the YAML file at `path` when figment asks for data.
    pub fn file(path: impl AsRef<Path>) -> Self {
        Self {
            input: Input::File(path.as_ref().to_path_buf()),
        }
    }

    /// Reads YAML from a string.
    pub fn string(text: impl Into<String>) -> Self {
        Self {
            input: Input::String(text.into()),
        }
    }
}

impl Provider for Yaml {
    fn metadata(&self) -> Metadata {
        match &self.input {
            Input::File(path) => Metadata::from("YAML file", path.as_path()),
            Input::String(_) => Metadata::named("YAML string"),
        }
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let text = match &self.input {
            Input::File(path) => std::fs::read_to_string(path)
                .map_err(|e| figment::Error::from(format!("{}: {e}", path.display())))?,
            Input::String(text) => text.clone(),
        };
        let dict = parse(&text).map_err(|(_, message)| figment::Error::from(message))?;
        let mut map = Map::new();
        for (profile, section) in dict {
            match section {
                Value::Dict(_, section) => {
                    map.insert(Profile::new(&profile), section);
                }
                _ => {
                    return Err(figment::Error::from(format!(
                        "top-level key `{profile}` is not a profile mapping"
                    )));
                }
            }
        }
        Ok(map)
    }
}

/// Parses YAML into a dictionary; on error, the line (where known) and a message that
/// quotes no source text (it could hold a password).
pub(crate) fn parse(text: &str) -> Result<Dict, (Option<usize>, String)> {
    if text.trim().is_empty() {
        return Ok(Dict::new());
    }
    serde_saphyr::from_str::<Dict>(text).map_err(|e| {
        let line = e
            .location()
            .and_then(|l| usize::try_from(l.line()).ok())
            .filter(|l| *l > 0);
        let message = match line {
            Some(_) => "invalid YAML: check the syntax on this line".to_string(),
            None => "invalid YAML, or not a mapping of profiles".to_string(),
        };
        (line, message)
    })
}
