//! A copy of the configuration file without its `codegen` tables, for the library's loader
//! (which rejects keys it does not know). Lines are blanked, not removed, so every other key
//! keeps its line number; the copy is private (0600 in a 0700 directory) and deleted on drop.

use std::path::{Path, PathBuf};

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

    /// Whether any profile has a `codegen` table.
    pub fn has_codegen(&self) -> bool {
        self.tree.as_ref().is_some_and(has_codegen)
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

fn has_codegen(tree: &Value) -> bool {
    tree.as_object().is_some_and(|profiles| {
        profiles
            .values()
            .any(|section| section.get("codegen").is_some())
    })
}

/// A private copy of the file, deleted with its directory on drop.
pub struct Copy {
    dir: PathBuf,
    path: PathBuf,
}

impl Copy {
    /// Where the copy is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `None` when the file has no `codegen` table (hand the loader the file itself), else a
/// copy without it.
pub fn without_codegen(path: &Path) -> Result<Option<Copy>, Box<dyn std::error::Error>> {
    let doc = Document::read(path)?;
    if !doc.has_codegen() {
        return Ok(None);
    }
    let mut stripped = if doc.yaml {
        strip_yaml(&doc.text)
    } else {
        strip_toml(&doc.text)
    };
    if let (Some(original), Some(tree)) = (&doc.tree, parse(&stripped, doc.yaml)) {
        keep_emptied_profiles(original, &tree, &mut stripped, doc.yaml);
    }
    if parse(&stripped, doc.yaml).is_none_or(|tree| has_codegen(&tree)) {
        return Err(Box::new(Failure(format!(
            "{}: cannot separate the `codegen` table from the rest of the file; write it as a table of its own ({})",
            path.display(),
            if doc.yaml {
                "`codegen:` with one key per line under a profile"
            } else {
                "`[default.codegen]` with one key per line"
            }
        ))));
    }
    write_private_copy(path, &stripped).map(Some)
}

/// A profile that held only a `codegen` table must still exist for the loader (`--profile
/// ci` with only `[ci.codegen]`): an empty table, without moving any line.
fn keep_emptied_profiles(original: &Value, stripped: &Value, text: &mut String, yaml: bool) {
    let Some(profiles) = original.as_object() else {
        return;
    };
    for name in profiles.keys() {
        let now = stripped.get(name);
        if yaml && now.is_some_and(Value::is_null) {
            let fixed: Vec<String> = text
                .split_inclusive('\n')
                .map(|line| {
                    let content = line.split('#').next().unwrap_or_default().trim_end();
                    if !line.starts_with([' ', '\t'])
                        && unquote(content.trim_end_matches(':')) == name
                        && content.ends_with(':')
                    {
                        format!(
                            "{content} {{}}{}",
                            if line.ends_with('\n') { "\n" } else { "" }
                        )
                    } else {
                        line.to_string()
                    }
                })
                .collect();
            *text = fixed.concat();
        } else if !yaml && now.is_none() {
            let quoted = serde_json::to_string(name).unwrap_or_default();
            text.push_str(&format!("\n[{quoted}]\n"));
        }
    }
}

fn write_private_copy(original: &Path, text: &str) -> Result<Copy, Box<dyn std::error::Error>> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let name = original
        .file_name()
        .ok_or_else(|| Failure(format!("{} is not a file", original.display())))?;
    let mut n = 0u32;
    let dir = loop {
        let dir = std::env::temp_dir().join(format!("pgtide-cli-{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => break dir,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => {
                return Err(Box::new(Failure(format!(
                    "cannot create a temporary directory: {e}"
                ))));
            }
        }
    };
    let copy = Copy {
        path: dir.join(name),
        dir,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&copy.path)?;
    file.write_all(text.as_bytes())?;
    Ok(copy)
}

fn unquote(key: &str) -> &str {
    key.trim().trim_matches(['"', '\''])
}

fn dotted(key: &str) -> Vec<&str> {
    key.split('.').map(unquote).collect()
}

/// Blank line that keeps the line break (so line numbers stay).
fn blank(line: &str) -> &'static str {
    if line.ends_with('\n') { "\n" } else { "" }
}

/// Blanks `[p.codegen]` / `[p.codegen.x]` tables, `codegen.k = v` / `codegen = {..}` lines
/// inside a profile table, and `p.codegen.k = v` at the top.
pub fn strip_toml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut table: Vec<String> = Vec::new();
    let mut in_codegen = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if let Some(header) = t.strip_prefix('[') {
            let header = header.trim_start_matches('[');
            let end = header.find(']').unwrap_or(header.len());
            table = dotted(&header[..end])
                .into_iter()
                .map(String::from)
                .collect();
            in_codegen = table.get(1).is_some_and(|k| k == "codegen");
        } else if !in_codegen
            && !t.starts_with('#')
            && let Some((key, _)) = t.split_once('=')
        {
            let mut full: Vec<&str> = table.iter().map(String::as_str).collect();
            full.extend(dotted(key));
            if full.get(1) == Some(&"codegen") {
                out.push_str(blank(line));
                continue;
            }
        }
        out.push_str(if in_codegen { blank(line) } else { line });
    }
    out
}

/// Blanks a `codegen:` mapping directly under a top-level (profile) key, and its children.
pub fn strip_yaml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Indent of the first key under the current profile, and of the codegen key being skipped.
    let mut child_indent: Option<usize> = None;
    let mut skipping: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let content = trimmed.trim_end();
        let indent = line.len() - trimmed.len();
        let is_blank = content.is_empty() || content.starts_with('#');
        if let Some(at) = skipping {
            if is_blank || indent > at {
                out.push_str(blank(line));
                continue;
            }
            skipping = None;
        }
        if is_blank || content.starts_with("---") {
            out.push_str(line);
            continue;
        }
        if indent == 0 {
            child_indent = None;
        } else if child_indent.is_none() {
            child_indent = Some(indent);
        }
        let key = content.split_once(':').map(|(k, _)| unquote(k));
        if indent > 0 && Some(indent) == child_indent && key == Some("codegen") {
            skipping = Some(indent);
            out.push_str(blank(line));
            continue;
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_tables_and_dotted_keys_go_lines_stay() {
        let text = "[default]\nhost = \"h\"\ncodegen.out = \"o\"\n\n[default.codegen]\nqueries = \"q\"\n\n[prod]\nport = 1\n";
        let stripped = strip_toml(text);
        assert_eq!(stripped.lines().count(), text.lines().count());
        let tree = parse(&stripped, false).unwrap();
        assert!(!has_codegen(&tree));
        assert_eq!(tree["prod"]["port"], 1);
        assert_eq!(tree["default"]["host"], "h");

        let text = "[default]\nhost = \"h\"\n[ci.codegen]\nout = \"o\"\n";
        let mut stripped = strip_toml(text);
        let tree = parse(&stripped, false).unwrap();
        keep_emptied_profiles(&parse(text, false).unwrap(), &tree, &mut stripped, false);
        assert!(
            parse(&stripped, false).unwrap()["ci"].is_object(),
            "{stripped}"
        );
    }

    #[test]
    fn yaml_mapping_goes_lines_stay() {
        let text = "default:\n  host: h\n  codegen:\n    queries: q\n\n    out: o\n  port: 2\nprod:\n  codegen: {out: x}\n";
        let mut stripped = strip_yaml(text);
        assert_eq!(stripped.lines().count(), text.lines().count());
        let tree = parse(&stripped, true).unwrap();
        assert!(!has_codegen(&tree));
        assert_eq!(tree["default"]["port"], 2);
        keep_emptied_profiles(&parse(text, true).unwrap(), &tree, &mut stripped, true);
        assert_eq!(stripped.lines().count(), text.lines().count());
        assert!(
            parse(&stripped, true).unwrap()["prod"].is_object(),
            "{stripped}"
        );
    }
}
