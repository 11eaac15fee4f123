//! The configuration file parsed as a plain tree, for what the library's loader does not
//! report: the line of a `codegen` key, and the directory its paths are relative to.

use std::path::Path;

use serde_json::Value;

use crate::failure::Failure;

/// The parsed document of a configuration file: text, whether it is YAML, and its tree
/// (`None` when it does not parse: the library's loader then reports where).
pub struct Document {
    /// The file's text.
    pub text: String,
    /// YAML rather than TOML.
    pub yaml: bool,
    /// The parsed tree.
    pub tree: Option<Value>,
}

impl Document {
    /// Reads and parses `path` (format from the extension, as the library does).
    pub fn read(path: &Path) -> Result<Self, Box<dyn std::error::Error>> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
        let yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        let tree = parse(&text, yaml);
        Ok(Self { text, yaml, tree })
    }
}

/// Parses TOML or YAML into a JSON tree; `None` on a syntax error.
pub fn parse(text: &str, yaml: bool) -> Option<Value> {
    if yaml {
        serde_saphyr::from_str::<Value>(text).ok()
    } else {
        toml::from_str::<Value>(text).ok()
    }
}
