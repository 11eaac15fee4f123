//! The `codegen` table of a profile: where `pgtide prepare`, `gen` and `verify` find the
//! queries, the `.sqlx` metadata and the generated modules, relative to the config file.
//!
//! ```toml
//! [default.codegen]       # a table inside a profile: top-level tables are profiles
//! queries = "queries"     # default queries/
//! sqlx_dir = ".sqlx"      # default .sqlx/
//! out = "src/queries"     # default src/queries/
//! ```
//!
//! `[<profile>.codegen]` overlays `[default.codegen]` key by key, as for every other key.

use std::path::PathBuf;

use serde_json::Value;

use super::Project;
use super::document::Document;
use crate::failure::Failure;

/// The keys of the table and their defaults.
pub const KEYS: &[(&str, &str)] = &[
    ("queries", "queries"),
    ("sqlx_dir", ".sqlx"),
    ("out", "src/queries"),
];

/// One directory of the codegen section.
#[derive(Debug, Clone)]
pub struct Setting {
    /// The key (`queries`, `sqlx_dir`, `out`).
    pub key: &'static str,
    /// As written (or the default).
    pub written: String,
    /// Resolved against the config file's directory.
    pub path: PathBuf,
    /// `built-in default`, or `file F, line N`.
    pub source: String,
}

/// The three directories.
#[derive(Debug, Clone)]
pub struct CodegenDirs {
    /// `*.sql` files.
    pub queries: Setting,
    /// `query-*.json` files.
    pub sqlx_dir: Setting,
    /// Generated modules.
    pub out: Setting,
}

impl CodegenDirs {
    /// The three settings in key order.
    pub fn all(&self) -> [&Setting; 3] {
        [&self.queries, &self.sqlx_dir, &self.out]
    }
}

/// Reads the section of `project`'s profile (and `default`), with defaults.
pub fn read(project: &Project) -> Result<CodegenDirs, Box<dyn std::error::Error>> {
    let base = project.base_dir();
    let mut values: Vec<Setting> = KEYS
        .iter()
        .map(|(key, default)| Setting {
            key,
            written: (*default).into(),
            path: base.join(default),
            source: "built-in default".into(),
        })
        .collect();
    if let Some(file) = &project.file {
        let doc = Document::read(file)?;
        let Some(tree) = &doc.tree else {
            // The library's loader says where the syntax error is.
            project.load()?;
            return Err(Box::new(Failure(format!(
                "cannot parse {}",
                file.display()
            ))));
        };
        let shown = project.shown_file().unwrap_or_default();
        let mut sections = vec!["default".to_string()];
        if project.profile != "default" {
            sections.push(project.profile.clone());
        }
        for wanted in &sections {
            let Some((written_profile, section)) = tree.as_object().and_then(|profiles| {
                profiles
                    .iter()
                    .find(|(p, _)| p.eq_ignore_ascii_case(wanted))
            }) else {
                continue;
            };
            let Some(codegen) = section.get("codegen") else {
                continue;
            };
            let where_ = |key: Option<&str>| {
                let line = locate(&doc.text, doc.yaml, written_profile, key);
                match line {
                    Some(line) => format!("file {shown}, line {line}"),
                    None => format!("file {shown}"),
                }
            };
            let Value::Object(table) = codegen else {
                return Err(Box::new(Failure(format!(
                    "`codegen` in profile `{wanted}` ({}) must be a table of {}",
                    where_(None),
                    key_list()
                ))));
            };
            for (key, value) in table {
                let Some(setting) = values.iter_mut().find(|s| s.key == key) else {
                    return Err(Box::new(Failure(format!(
                        "unknown key `codegen.{key}` in profile `{wanted}` ({}): valid keys are {}",
                        where_(Some(key)),
                        key_list()
                    ))));
                };
                let Value::String(dir) = value else {
                    return Err(Box::new(Failure(format!(
                        "invalid `codegen.{key}` in profile `{wanted}` ({}): expected a directory path as a string",
                        where_(Some(key))
                    ))));
                };
                setting.written = dir.clone();
                setting.path = base.join(dir);
                setting.source = where_(Some(key));
            }
        }
    }
    let mut it = values.into_iter();
    let (Some(queries), Some(sqlx_dir), Some(out)) = (it.next(), it.next(), it.next()) else {
        unreachable!("three keys");
    };
    Ok(CodegenDirs {
        queries,
        sqlx_dir,
        out,
    })
}

fn key_list() -> String {
    KEYS.iter()
        .map(|(k, d)| format!("{k} (default {d})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The 1-based line of `profile.codegen[.key]`: a line scan that knows TOML table headers and
/// dotted keys, and YAML indentation. `None` rather than a wrong line.
fn locate(text: &str, yaml: bool, profile: &str, key: Option<&str>) -> Option<usize> {
    let mut path = vec![profile, "codegen"];
    path.extend(key);
    if yaml {
        let mut stack: Vec<(usize, String)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let t = raw.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let indent = raw.len() - t.len();
            let Some((k, _)) = t.split_once(':') else {
                continue;
            };
            while stack.last().is_some_and(|(at, _)| *at >= indent) {
                stack.pop();
            }
            stack.push((indent, k.trim().trim_matches(['"', '\'']).to_string()));
            if stack
                .iter()
                .map(|(_, k)| k.as_str())
                .eq(path.iter().copied())
            {
                return Some(i + 1);
            }
        }
        return None;
    }
    let mut table: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let split = |s: &str| -> Vec<String> {
            s.split('.')
                .map(|p| p.trim().trim_matches(['"', '\'']).to_string())
                .collect()
        };
        if let Some(h) = t.strip_prefix('[') {
            let h = h.trim_start_matches('[');
            table = split(&h[..h.find(']').unwrap_or(h.len())]);
            if table == path {
                return Some(i + 1);
            }
            continue;
        }
        let Some((k, _)) = t.split_once('=') else {
            continue;
        };
        let mut full = table.clone();
        full.extend(split(k));
        if full.len() <= path.len()
            && full
                .iter()
                .map(String::as_str)
                .eq(path[..full.len()].iter().copied())
        {
            return Some(i + 1);
        }
    }
    None
}
