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
//! The library's loader owns the keys (their defaults, validation, unknown-key hints, and the
//! line each value came from, which `pgtide config show` prints); the commands take the paths
//! relative to the file's directory ([`Project::base_dir`]).

use std::path::PathBuf;

use super::Project;
use crate::failure::Failure;

/// The three directories, as written (or their defaults), relative to [`Project::base_dir`].
#[derive(Debug, Clone)]
pub struct CodegenDirs {
    /// `*.sql` files.
    pub queries: PathBuf,
    /// `query-*.json` files.
    pub sqlx_dir: PathBuf,
    /// Generated modules.
    pub out: PathBuf,
}

/// The section of `project`'s profile (and `default`), with defaults, from the library's
/// loader. Codegen never connects, so the password is not read.
pub fn read(project: &Project) -> Result<CodegenDirs, Box<dyn std::error::Error>> {
    let explained = project.explained_without_password()?;
    let value = |key: &str| -> Result<PathBuf, Failure> {
        explained
            .loaded
            .entry(&format!("codegen.{key}"))
            .map(|entry| PathBuf::from(&entry.value))
            .ok_or_else(|| Failure(format!("the loader reports no `codegen.{key}`")))
    };
    Ok(CodegenDirs {
        queries: value("queries")?,
        sqlx_dir: value("sqlx_dir")?,
        out: value("out")?,
    })
}
