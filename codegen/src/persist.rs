//! Stage 4, the only stage that writes files: bring a directory in line with what the
//! pipeline produced, or (`--check`) only report what would change.

use std::path::{Path, PathBuf};

/// What happened (or would happen) to one file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Created (did not exist).
    Added(PathBuf),
    /// Contents replaced.
    Changed(PathBuf),
    /// Removed: produced by an earlier run, no longer produced.
    Removed(PathBuf),
}

impl Change {
    /// The file.
    pub fn path(&self) -> &Path {
        match self {
            Change::Added(p) | Change::Changed(p) | Change::Removed(p) => p,
        }
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, path) = match self {
            Change::Added(p) => ("added", p),
            Change::Changed(p) => ("changed", p),
            Change::Removed(p) => ("removed", p),
        };
        write!(f, "{what:>7} {}", path.display())
    }
}

/// Writing or reading a file failed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct PersistError {
    /// The file or directory.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

/// Makes `dir` hold exactly `files` (name, contents) among the files `owned` claims; other
/// files are left alone. With `check`, writes nothing and returns what would change.
/// Changes come back sorted by path.
pub fn sync_dir(
    dir: &Path,
    files: &[(String, String)],
    owned: impl Fn(&str, &[u8]) -> bool,
    check: bool,
) -> Result<Vec<Change>, PersistError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PersistError { path, source }
    };
    let mut changes = Vec::new();
    for (name, contents) in files {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(old) if old == contents.as_bytes() => continue,
            Ok(_) => changes.push(Change::Changed(path.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                changes.push(Change::Added(path.clone()))
            }
            Err(e) => return Err(io(&path)(e)),
        }
        if !check {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
            std::fs::write(&path, contents).map_err(io(&path))?;
        }
    }
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(io(dir))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if files.iter().any(|(n, _)| *n == name) || !entry.path().is_file() {
                    continue;
                }
                let path = entry.path();
                let head = std::fs::read(&path).map_err(io(&path))?;
                if owned(&name, &head) {
                    if !check {
                        std::fs::remove_file(&path).map_err(io(&path))?;
                    }
                    changes.push(Change::Removed(path));
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(dir)(e)),
    }
    changes.sort();
    Ok(changes)
}
