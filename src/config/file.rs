//! Configuration files: TOML or YAML, top-level tables are profiles.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::value::{Dict, Value};

use super::ConfigError;
use super::layer::{Layer, leaf_paths};
use super::provenance::{Source, locate};
use super::yaml;

/// Names searched for when no file is given, in this order.
pub(crate) const DEFAULT_NAMES: &[&str] = &["pgtide.toml", "pgtide.yaml", "pgtide.yml"];

/// A parsed configuration file: every profile section, with the text to find lines in.
pub(crate) struct ConfigFile {
    path: PathBuf,
    text: String,
    yaml: bool,
    pub(crate) sections: BTreeMap<String, Dict>,
}

impl ConfigFile {
    /// Reads and parses `path`; the format comes from the extension.
    pub(crate) fn read(path: &Path) -> Result<Self, ConfigError> {
        let error = |line, message: String| ConfigError::File {
            path: path.to_path_buf(),
            line,
            message,
        };
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let yaml = match ext.as_deref() {
            Some("toml") => false,
            Some("yaml" | "yml") => true,
            _ => {
                return Err(error(
                    None,
                    "unknown format: name the file *.toml, *.yaml or *.yml".into(),
                ));
            }
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| error(None, format!("cannot read the file: {e}")))?;
        let dict = if yaml {
            yaml::parse(&text).map_err(|(line, message)| error(line, message))?
        } else {
            parse_toml(&text).map_err(|(line, message)| error(line, message))?
        };
        let mut sections = BTreeMap::new();
        for (profile, section) in dict {
            let Value::Dict(_, section) = section else {
                let line = locate(&text, &[profile.as_str()], yaml);
                return Err(error(
                    line,
                    format!(
                        "top-level key `{profile}` is not a profile table: put settings under a profile, e.g. [default] or [prod]{}",
                        if yaml {
                            " (default: / prod: in YAML)"
                        } else {
                            ""
                        }
                    ),
                ));
            };
            sections.insert(profile, section);
        }
        Ok(Self {
            path: path.to_path_buf(),
            text,
            yaml,
            sections,
        })
    }

    /// The layer of one profile section, each key located to its line.
    pub(crate) fn layer(&self, name: String, profile: &str) -> Option<Layer> {
        let (written, dict) = self
            .sections
            .iter()
            .find(|(p, _)| p.eq_ignore_ascii_case(profile))?;
        let mut layer = Layer::new(name, profile, dict.clone(), Source::file(&self.path, None));
        for path in leaf_paths(dict) {
            let mut full: Vec<&str> = vec![written.as_str()];
            full.extend(path.iter().map(String::as_str));
            let line = locate(&self.text, &full, self.yaml);
            layer
                .origins
                .insert(path.join("."), Source::file(&self.path, line));
        }
        Some(layer)
    }
}

/// Parses TOML; on error, the line and the parser's message without its source excerpt.
fn parse_toml(text: &str) -> Result<Dict, (Option<usize>, String)> {
    toml::from_str::<Dict>(text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        (line, format!("invalid TOML: {}", e.message().trim_end()))
    })
}
