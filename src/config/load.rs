//! [`ConfigLoader`]: layered loading from files, the environment and code.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::value::{Dict, Value};
use secrecy::SecretString;
use serde::Serialize;

use super::ConfigError;
use super::apply::Merged;
use super::env::{self, PgtideVars};
use super::explain::LoadedConfig;
use super::file::{ConfigFile, DEFAULT_NAMES};
use super::layer::{Layer, insert_path};
use super::provenance::Source;
use super::settings::Config;

/// Loads a [`Config`] from layered sources. Later sources win, key by key:
///
/// 1. built-in defaults (documented on each field of [`Config`]'s setting groups);
/// 2. the configuration file ([`file`](Self::file); else `$PGTIDE_CONFIG`; else the first
///    of `pgtide.toml`, `pgtide.yaml`, `pgtide.yml` in [`search_dir`](Self::search_dir));
/// 3. libpq's variables `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`,
///    `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`, `PGAPPNAME`,
///    `PGCONNECT_TIMEOUT` (seconds);
/// 4. `DATABASE_URL` (`postgres://user:password@host:port/db?sslmode=...`);
/// 5. `PGTIDE_<PROFILE>__<KEY>__<SUBKEY>=value` (`__` separates levels, so
///    `PGTIDE_PROD__POOL__MAX_SIZE` sets `pool.max_size` of profile `prod`);
/// 6. `PGTIDE_<PROFILE>__JSON='{"pool": {"max_size": 20}}'`, the file shape as JSON;
/// 7. values set in code: [`set`](Self::set) and [`password`](Self::password).
///
/// Within one source the loaded profile's section overlays the `default` section; a higher
/// source always wins over a lower one, whichever section it sets. A `dsn` key (a URL)
/// counts as the source it is written in, and keys written beside it in the same section
/// win over its parts.
///
/// The environment is a snapshot taken by [`new`](Self::new) (`std::env::vars()`); replace
/// it with [`env`](Self::env) to load from a map, as tests do.
///
/// ```
/// use pgtide::config::Config;
///
/// let dir = std::env::temp_dir().join(format!("pgtide-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let file = dir.join("pgtide.toml");
/// std::fs::write(&file, r#"
/// [default]
/// host = "db.internal"
/// password = "secret://env/APP_DB_PASSWORD"
/// statement_timeout = "15s"
///
/// [prod.pool]
/// max_size = 20
/// "#)?;
///
/// let config = Config::loader()
///     .file(&file)
///     .profile("prod")
///     .env([
///         ("APP_DB_PASSWORD", "s3cret"),
///         ("PGTIDE_PROD__POOL__MIN_SIZE", "4"),
///     ])
///     .set("application_name", "billing")
///     .load()?;
/// assert_eq!(config.connection().host, "db.internal");
/// assert_eq!(config.pool().size.min(), 4);
/// assert_eq!(config.pool().size.max(), 20);
/// assert_eq!(config.session().statement_timeout, Some(std::time::Duration::from_secs(15)));
/// assert!(!format!("{config:?}").contains("s3cret"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub struct ConfigLoader {
    files: Vec<PathBuf>,
    search_dir: Option<PathBuf>,
    search: bool,
    profile: Option<String>,
    env: BTreeMap<String, String>,
    explicit: Vec<(String, Result<Value, String>)>,
    password: Option<SecretString>,
}

impl fmt::Debug for ConfigLoader {
    /// Shows variable names and keys, never values: the environment may hold passwords.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigLoader")
            .field("files", &self.files)
            .field("search_dir", &self.search_dir)
            .field("search", &self.search)
            .field("profile", &self.profile)
            .field("env_vars", &self.env.keys().collect::<Vec<_>>())
            .field(
                "explicit_keys",
                &self.explicit.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Config {
    /// Starts a [`ConfigLoader`] over the process environment.
    pub fn loader() -> ConfigLoader {
        ConfigLoader::new()
    }

    /// Loads the profile named by `PGTIDE_PROFILE` (else `default`) from the default file
    /// search and the process environment: `Config::loader().load()`.
    pub fn load() -> Result<Config, ConfigError> {
        ConfigLoader::new().load()
    }
}

impl Default for ConfigLoader {
    fn default() -> Self {
        Self::new()
    }
}

impl ConfigLoader {
    /// A loader over a snapshot of the process environment (variables that are not UTF-8
    /// are skipped), searching the working directory.
    pub fn new() -> Self {
        Self {
            files: Vec::new(),
            search_dir: None,
            search: true,
            profile: None,
            // Variables that are not UTF-8 cannot be configuration; skip them, don't panic.
            env: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            explicit: Vec::new(),
            password: None,
        }
    }

    /// Reads this file (`*.toml`, `*.yaml` or `*.yml`) instead of searching; it must exist.
    /// Several files are layered in the order given, later ones winning.
    pub fn file(mut self, path: impl AsRef<Path>) -> Self {
        self.files.push(path.as_ref().to_path_buf());
        self
    }

    /// Where to look for `pgtide.toml` / `pgtide.yaml` / `pgtide.yml` when no file is given.
    /// Default: the working directory.
    pub fn search_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.search_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Reads no file unless one is given with [`file`](Self::file).
    pub fn no_file_search(mut self) -> Self {
        self.search = false;
        self
    }

    /// The profile to load. Default: `$PGTIDE_PROFILE`, else `default`.
    /// Profile names are case-insensitive.
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// Replaces the environment snapshot: the loader then reads these variables only.
    pub fn env<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.env = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Sets a key (dotted, e.g. `pool.max_size`) in code; it wins over every other source.
    /// Values are typed as in files: `20`, `"30s"`, `true`. The password cannot be set here
    /// as plain text, nor a `dsn` URL holding one: use [`password`](Self::password).
    pub fn set(mut self, key: &str, value: impl Serialize) -> Self {
        let value = Value::serialize(value).map_err(|e| e.to_string());
        self.explicit.push((key.to_string(), value));
        self
    }

    /// Sets the password in code; it wins over every other source.
    pub fn password(mut self, password: SecretString) -> Self {
        self.password = Some(password);
        self
    }

    /// Loads, merges and validates.
    pub fn load(self) -> Result<Config, ConfigError> {
        // `load_explained` scrubs secrets from its errors.
        self.load_explained().map(LoadedConfig::into_config)
    }

    /// As [`load`](Self::load), and also reports each key's effective value (the password
    /// redacted) and its source, as `pgtide config show` prints them.
    pub fn load_explained(self) -> Result<LoadedConfig, ConfigError> {
        let mut secrets = Vec::new();
        let result = self.load_inner(&mut secrets);
        // References (`secret://env/NAME`) are shown on purpose; they are not secrets.
        secrets.retain(|s| !super::secret_ref::is_reference(s));
        let result = result.map_err(|error| error.scrub(&secrets));
        // The copies collected for scrubbing are wiped, not just freed.
        secrets.iter_mut().for_each(zeroize::Zeroize::zeroize);
        result
    }

    /// Loads; `secrets` collects every password seen, to scrub from errors.
    fn load_inner(&self, secrets: &mut Vec<String>) -> Result<LoadedConfig, ConfigError> {
        for (name, value) in &self.env {
            let is_password = name == "PGPASSWORD"
                || (name.starts_with(env::PREFIX) && name.ends_with("__PASSWORD"));
            if is_password {
                secrets.push(value.clone());
            }
            let is_url = name == "DATABASE_URL"
                || (name.starts_with(env::PREFIX) && name.ends_with("__DSN"));
            if is_url
                && let Ok(parts) = super::dsn::parse(value)
                && let Some(Value::String(_, password)) = parts.get("password")
            {
                secrets.push(password.clone());
            }
        }
        if let Some(password) = &self.password {
            secrets.push(secrecy::ExposeSecret::expose_secret(password).to_string());
        }
        for (key, value) in &self.explicit {
            if let (true, Ok(Value::String(_, s))) = (key == "password", value) {
                secrets.push(s.clone());
            }
        }
        let profile = self
            .profile
            .clone()
            .or_else(|| self.env.get("PGTIDE_PROFILE").cloned())
            .unwrap_or_else(|| "default".into())
            .to_ascii_lowercase();

        let files = self
            .config_files()?
            .iter()
            .map(|p| ConfigFile::read(p))
            .collect::<Result<Vec<_>, _>>()?;
        for file in &files {
            for section in file.sections.values() {
                collect_secrets(section, secrets);
            }
        }
        for (var, value) in &self.env {
            // A JSON overlay or URL may hold a password; take what can be taken apart.
            if var.starts_with(env::PREFIX)
                && var.ends_with("__JSON")
                && let Ok(dict) = serde_json::from_str::<Dict>(value)
            {
                collect_secrets(&dict, secrets);
            }
        }
        let vars = PgtideVars::from_env(&self.env);

        let mut known: BTreeSet<String> = BTreeSet::from(["default".to_string()]);
        for file in &files {
            known.extend(file.sections.keys().map(|p| p.to_ascii_lowercase()));
        }
        known.extend(vars.profiles());
        if !known.contains(&profile) {
            return Err(ConfigError::UnknownProfile {
                profile,
                available: known.into_iter().collect(),
            });
        }

        // Unknown keys are reported in every profile, not just the one loaded.
        for (i, file) in files.iter().enumerate() {
            for section in file.sections.keys() {
                if let Some(layer) = file.layer(format!("file{i}"), section) {
                    layer.check_keys()?;
                }
            }
        }
        vars.check_keys()?;
        env::check_unsupported(&profile, &self.env)?;

        let sections: Vec<&str> = if profile == "default" {
            vec!["default"]
        } else {
            vec!["default", profile.as_str()]
        };
        let mut layers: Vec<Layer> = Vec::new();
        for (i, file) in files.iter().enumerate() {
            for section in &sections {
                layers.extend(file.layer(format!("file{i}:{section}"), section));
            }
        }
        layers.push(env::libpq_layer("libpq".into(), &profile, &self.env));
        layers.extend(env::database_url_layer(
            "DATABASE_URL".into(),
            &profile,
            &self.env,
        ));
        for section in &sections {
            layers.extend(vars.layer(format!("env:{section}"), section));
        }
        for section in &sections {
            layers.extend(vars.json_layer(format!("json:{section}"), section)?);
        }
        layers.push(self.code_layer(&profile)?);

        for layer in &mut layers {
            let dsn = layer
                .dict
                .get("dsn")
                .and_then(|v| v.as_str().map(str::to_owned));
            if let Some(dsn) = dsn {
                secrets.push(dsn);
            }
            layer.expand_dsn(&self.env)?;
            collect_secrets(&layer.dict, secrets);
        }
        let figment = layers.iter().fold(Figment::new(), |figment, layer| {
            figment.merge(layer.clone())
        });
        let merged = Merged {
            figment,
            layers: &layers,
            profile: &profile,
            code_password: self.password.clone(),
            env: &self.env,
        };
        if let Some(password) = merged.resolved_password() {
            secrets.push(password);
        }
        let config = super::storage::resolve_secrets(merged.to_config()?, &merged)?;
        Ok(LoadedConfig::new(config, |key| merged.origin(key)))
    }

    /// The files to read: given ones, else `$PGTIDE_CONFIG`, else the default search.
    fn config_files(&self) -> Result<Vec<PathBuf>, ConfigError> {
        if !self.files.is_empty() {
            return Ok(self.files.clone());
        }
        if let Some(path) = self.env.get("PGTIDE_CONFIG") {
            return Ok(vec![PathBuf::from(path)]);
        }
        if !self.search {
            return Ok(Vec::new());
        }
        let dir = self
            .search_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("."));
        let found: Vec<PathBuf> = DEFAULT_NAMES
            .iter()
            .map(|name| dir.join(name))
            .filter(|path| path.is_file())
            .collect();
        if found.len() > 1 {
            return Err(ConfigError::File {
                path: found[1].clone(),
                line: None,
                message: format!(
                    "both {} and {} exist: keep one, or choose with ConfigLoader::file",
                    found[0].display(),
                    found[1].display()
                ),
            });
        }
        Ok(found)
    }

    /// Values set in code, as the highest layer.
    fn code_layer(&self, profile: &str) -> Result<Layer, ConfigError> {
        let mut dict = Dict::new();
        for (key, value) in &self.explicit {
            let error = |message: String| ConfigError::value(key, profile, Source::Code, message);
            if key == "password" {
                return Err(error(
                    "the password cannot be set as plain text: use ConfigLoader::password with a SecretString".into(),
                ));
            }
            if let (true, Ok(Value::String(_, url))) = (key == "dsn", value)
                && super::dsn::has_password(url)
            {
                return Err(error(
                    "a URL with a password cannot be set as plain text in code: set the URL without it and the password with ConfigLoader::password (a SecretString)".into(),
                ));
            }
            let value = value.clone().map_err(error)?;
            insert_path(&mut dict, key, value);
        }
        let layer = Layer::new("code".into(), profile, dict, Source::Code);
        layer.check_keys()?;
        Ok(layer)
    }
}

/// Passwords written in a section (also inside a `dsn` URL), for scrubbing errors.
fn collect_secrets(section: &Dict, secrets: &mut Vec<String>) {
    for key in ["password", "dsn"] {
        if let Some(Value::String(_, value)) = section.get(key) {
            secrets.push(value.clone());
            if key == "dsn"
                && let Ok(parts) = super::dsn::parse(value)
                && let Some(Value::String(_, password)) = parts.get("password")
            {
                secrets.push(password.clone());
            }
        }
    }
}
