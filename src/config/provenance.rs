//! Where a value came from: a file and line, an environment variable, code, or the defaults.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// The source of one configuration value, as shown in errors and in
/// [`LoadedConfig::entries`](crate::config::LoadedConfig::entries).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Source {
    /// The documented built-in default.
    Default,
    /// A configuration file; `line` is 1-based, `None` where the key could not be located.
    File {
        /// The path as given to (or found by) the loader.
        path: PathBuf,
        /// The line the key is on, where it could be located.
        line: Option<usize>,
    },
    /// An environment variable (`PGTIDE_PROD__POOL__MAX_SIZE`, `PGHOST`, `DATABASE_URL`, ...).
    Env {
        /// The variable's name (never its value).
        var: String,
    },
    /// A value set in code, with the builder or [`ConfigLoader::set`](crate::config::ConfigLoader::set).
    Code,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("built-in default"),
            Self::File {
                path,
                line: Some(line),
            } => write!(f, "file {}, line {line}", path.display()),
            Self::File { path, line: None } => write!(f, "file {}", path.display()),
            Self::Env { var } => write!(f, "environment variable {var}"),
            Self::Code => f.write_str("set in code"),
        }
    }
}

impl Source {
    pub(crate) fn file(path: &Path, line: Option<usize>) -> Self {
        Self::File {
            path: path.to_path_buf(),
            line,
        }
    }

    pub(crate) fn env(var: impl Into<String>) -> Self {
        Self::Env { var: var.into() }
    }
}

/// Finds the 1-based line of `path` (profile first, e.g. `["prod", "pool", "max_size"]`) in
/// the text of a TOML or YAML file. Best effort: a line scan that understands TOML table
/// headers and dotted keys and YAML indentation, which is what configuration files use; it
/// returns `None` rather than a wrong line when the layout is more exotic.
pub(crate) fn locate(text: &str, path: &[&str], yaml: bool) -> Option<usize> {
    if yaml {
        locate_yaml(text, path)
    } else {
        locate_toml(text, path)
    }
}

fn unquote(key: &str) -> &str {
    key.trim().trim_matches(['"', '\''])
}

fn split_dotted(key: &str) -> Vec<&str> {
    key.split('.').map(unquote).collect()
}

fn locate_toml(text: &str, path: &[&str]) -> Option<usize> {
    let mut table: Vec<&str> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_start_matches('[');
            let end = header.find(']')?;
            table = split_dotted(&header[..end]);
            if table == path {
                return Some(index + 1);
            }
            continue;
        }
        let Some((key, _)) = line.split_once('=') else {
            continue;
        };
        let mut full = table.clone();
        full.extend(split_dotted(key));
        if full.len() <= path.len() && path[..full.len()] == full[..] {
            return Some(index + 1);
        }
    }
    None
}

fn locate_yaml(text: &str, path: &[&str]) -> Option<usize> {
    // The stack of (indent, key) of the mappings enclosing the current line.
    let mut stack: Vec<(usize, &str)> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
            continue;
        }
        let indent = raw.len() - trimmed.len();
        let Some((key, _)) = trimmed.split_once(':') else {
            continue;
        };
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, unquote(key)));
        if stack.len() <= path.len()
            && stack
                .iter()
                .map(|(_, k)| *k)
                .eq(path[..stack.len()].iter().copied())
            && stack.len() == path.len()
        {
            return Some(index + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_in_toml() {
        let text = "# c\n[default]\nhost = \"a\"\n\n[prod.pool]\nmax_size = 3\n[prod]\nretry.attempts = 2\n";
        assert_eq!(locate(text, &["default", "host"], false), Some(3));
        assert_eq!(locate(text, &["prod", "pool", "max_size"], false), Some(6));
        assert_eq!(locate(text, &["prod", "retry", "attempts"], false), Some(8));
        assert_eq!(locate(text, &["prod", "port"], false), None);
    }

    #[test]
    fn finds_keys_in_yaml() {
        let text =
            "default:\n  host: a\n  pool:\n    max_size: 3\nprod:\n  pool:\n    max_size: 4\n";
        assert_eq!(
            locate(text, &["default", "pool", "max_size"], true),
            Some(4)
        );
        assert_eq!(locate(text, &["prod", "pool", "max_size"], true), Some(7));
        assert_eq!(locate(text, &["prod", "host"], true), None);
    }
}
