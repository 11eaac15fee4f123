//! The project a command runs in: its configuration file, its profile, and the application's
//! configuration loaded by pgtide's own loader (so the CLI sees exactly what the app sees).
//!
//! The file is `--config`, else `$PGTIDE_CONFIG`, else the first `pgtide.toml`,
//! `pgtide.yaml` or `pgtide.yml` found in the working directory or its nearest parent that
//! has one (so `pgtide gen --check` works from any directory of the project).
//!
//! The file may hold a `codegen` table inside a profile (`[default.codegen]`): the library's
//! loader reads and validates it with every other key (each value with the line it came
//! from), and [`codegen_section`] resolves its directories relative to the file.

mod codegen_section;

use std::path::{Path, PathBuf};

use clap::ArgMatches;
use pgtide::config::{Config, ConfigError, ConfigLoader, LoadedConfig, Source};

pub use codegen_section::CodegenDirs;

use crate::failure::Failure;

/// Names searched for, in the library loader's order.
pub const FILE_NAMES: &[&str] = &["pgtide.toml", "pgtide.yaml", "pgtide.yml"];

/// Where the configuration comes from for this run.
#[derive(Debug, Clone)]
pub struct Project {
    /// The configuration file (absolute), if there is one.
    pub file: Option<PathBuf>,
    /// The profile, lower-cased as the loader treats it.
    pub profile: String,
}

impl Project {
    /// Finds the file and profile from `--config`, `--profile` and the environment.
    pub fn from_matches(m: &ArgMatches) -> Result<Self, Box<dyn std::error::Error>> {
        let profile = m
            .get_one::<String>("profile")
            .cloned()
            .or_else(|| std::env::var("PGTIDE_PROFILE").ok())
            .unwrap_or_else(|| "default".into())
            .to_ascii_lowercase();
        let cwd = std::env::current_dir()?;
        let given = m
            .get_one::<PathBuf>("config")
            .cloned()
            .or_else(|| std::env::var_os("PGTIDE_CONFIG").map(PathBuf::from));
        let file = match given {
            Some(path) => {
                let path = cwd.join(path);
                if !path.is_file() {
                    return Err(Box::new(Failure(format!(
                        "configuration file {} does not exist (given by --config or $PGTIDE_CONFIG); `pgtide config init --path {}` writes one",
                        path.display(),
                        path.display()
                    ))));
                }
                Some(path)
            }
            None => search(&cwd)?,
        };
        Ok(Self { file, profile })
    }

    /// The directory relative paths of the `codegen` section are taken from: the file's
    /// directory, else the working directory.
    pub fn base_dir(&self) -> PathBuf {
        self.file
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| std::env::current_dir().unwrap_or_default())
    }

    /// The file as the user would write it: relative to the working directory when inside it.
    pub fn shown_file(&self) -> Option<String> {
        let file = self.file.as_deref()?;
        let cwd = std::env::current_dir().unwrap_or_default();
        Some(
            file.strip_prefix(&cwd)
                .unwrap_or(file)
                .display()
                .to_string(),
        )
    }

    /// Loads, merges and validates the application's configuration for this profile, each
    /// value with its source.
    pub fn load_explained(&self) -> Result<Explained, Box<dyn std::error::Error>> {
        self.load_with(Config::loader())
    }

    /// As [`load`](Self::load), for commands that never connect (`server hints`): the
    /// password is not read at all (an empty one stands in; it is never sent anywhere), so
    /// hints work where the secret is not available.
    pub fn load_without_password(&self) -> Result<Config, Box<dyn std::error::Error>> {
        Ok(self.explained_without_password()?.loaded.into_config())
    }

    /// As [`load_explained`](Self::load_explained), without reading the password (see
    /// [`load_without_password`](Self::load_without_password)).
    pub fn explained_without_password(&self) -> Result<Explained, Box<dyn std::error::Error>> {
        self.load_with(Config::loader().password(pgtide::SecretString::from("")))
    }

    fn load_with(&self, loader: ConfigLoader) -> Result<Explained, Box<dyn std::error::Error>> {
        let mut loader = loader.no_file_search().profile(&self.profile);
        if let Some(file) = &self.file {
            loader = loader.file(file);
        }
        match loader.load_explained() {
            Ok(loaded) => {
                let entries = loaded
                    .entries()
                    .iter()
                    .map(|e| (e.key.clone(), e.value.clone(), e.source.clone()))
                    .collect();
                Ok(Explained { loaded, entries })
            }
            Err(error) => Err(Box::new(ConfigFailure {
                missing_password: matches!(error, ConfigError::Missing { .. }),
                message: error.to_string(),
            })),
        }
    }

    /// The application's configuration for this profile.
    pub fn load(&self) -> Result<Config, Box<dyn std::error::Error>> {
        Ok(self.load_explained()?.loaded.into_config())
    }

    /// The `codegen` section for this profile, with defaults.
    pub fn codegen_dirs(&self) -> Result<CodegenDirs, Box<dyn std::error::Error>> {
        codegen_section::read(self)
    }
}

/// A source as a person reads it: the file relative to the working directory when inside it.
pub fn shown_source(source: &Source) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    match source {
        Source::File { path, line } => {
            let path = path.strip_prefix(&cwd).unwrap_or(path).display();
            match line {
                Some(line) => format!("file {path}, line {line}"),
                None => format!("file {path}"),
            }
        }
        other => other.to_string(),
    }
}

/// A loaded configuration and its entries, sources pointing at the real file.
pub struct Explained {
    /// What the library loaded.
    pub loaded: LoadedConfig,
    /// `(key, value, source)` of every key, password redacted.
    pub entries: Vec<(String, String, Source)>,
}

/// The loader refused the configuration.
#[derive(Debug)]
pub struct ConfigFailure {
    /// The loader's message (already free of secrets), naming the real file.
    pub message: String,
    /// Whether no password was configured at all.
    pub missing_password: bool,
}

impl std::fmt::Display for ConfigFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid configuration: {}", self.message)
    }
}

impl std::error::Error for ConfigFailure {}

/// The first directory from `start` upwards holding one of [`FILE_NAMES`]; two in the same
/// directory is an error, as for the library's loader.
fn search(start: &Path) -> Result<Option<PathBuf>, Box<dyn std::error::Error>> {
    for dir in start.ancestors() {
        let found: Vec<PathBuf> = FILE_NAMES
            .iter()
            .map(|name| dir.join(name))
            .filter(|p| p.is_file())
            .collect();
        match found.as_slice() {
            [] => continue,
            [one] => return Ok(Some(one.clone())),
            [a, b, ..] => {
                return Err(Box::new(Failure(format!(
                    "both {} and {} exist: keep one, or choose with --config",
                    a.display(),
                    b.display()
                ))));
            }
        }
    }
    Ok(None)
}
