//! From merged layers to a [`Config`]: read each key with its type, then run the builder's
//! own validation, so a loaded and a built configuration are checked by the same code.

use std::collections::BTreeMap;

use figment::Figment;
use figment::value::Value;
use secrecy::SecretString;

use super::builder::ConfigBuilder;
use super::keys::{KEYS, Key, Read};
use super::layer::Layer;
use super::provenance::Source;
use super::raw;
use super::secret_ref;
use super::settings::Config;
use super::{ConfigError, PoolSize};

/// The merged layers of one load, and how to tell where a key came from.
pub(crate) struct Merged<'a> {
    pub(crate) figment: Figment,
    pub(crate) layers: &'a [Layer],
    pub(crate) profile: &'a str,
    /// The password given in code, which wins over every layer.
    pub(crate) code_password: Option<SecretString>,
    pub(crate) env: &'a BTreeMap<String, String>,
}

impl Merged<'_> {
    /// Where the effective value of `key` came from; `Default` if no layer sets it.
    pub(crate) fn origin(&self, key: &str) -> Source {
        if key == "password" && self.code_password.is_some() {
            return Source::Code;
        }
        let Ok(value) = self.figment.find_value(key) else {
            return Source::Default;
        };
        self.figment
            .get_metadata(value.tag())
            .and_then(|meta| self.layers.iter().find(|l| l.name == meta.name))
            .map_or(Source::Default, |layer| layer.origin(key))
    }

    fn error(&self, key: &str, message: String) -> ConfigError {
        ConfigError::value(key, self.profile, self.origin(key), message)
    }

    /// Turns a builder's error (key and message) into one naming the profile and source.
    fn locate(&self, error: ConfigError) -> ConfigError {
        match error {
            ConfigError::Invalid { key, message } => self.error(&key, message),
            other => other,
        }
    }

    fn get(&self, key: &str) -> Option<Value> {
        self.figment.find_value(key).ok()
    }

    fn read<T>(
        &self,
        key: &str,
        parse: impl Fn(&Value) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        self.get(key)
            .map(|v| parse(&v).map_err(|message| self.error(key, message)))
            .transpose()
    }

    /// Reads every key into a builder draft and builds.
    pub(crate) fn to_config(&self) -> Result<Config, ConfigError> {
        let mut builder = Config::builder().profile(self.profile);
        for key in KEYS {
            self.apply(&mut builder, key)?;
        }
        let password = self.password()?;
        let min = self.read("pool.min_size", raw::count)?;
        let max = self.read("pool.max_size", raw::count)?;
        let default = PoolSize::default(); // the key table's defaults
        let size = PoolSize::new(min.unwrap_or(default.min()), max.unwrap_or(default.max()))
            .map_err(|e| self.locate(e))?;
        let mut config = builder
            .password(password)
            .pool_size(size)
            .check()
            .map_err(|e| self.locate(e))?;
        config.password_reference = self.file_reference();
        Ok(config)
    }

    /// The effective password's `secret://file/…` reference, if it is one: pools re-read it.
    fn file_reference(&self) -> Option<String> {
        if self.code_password.is_some() {
            return None;
        }
        let value = self.get("password")?;
        let written = raw::secret_text(&value).ok()?;
        secret_ref::is_file_reference(written).then(|| written.to_owned())
    }

    /// The password as it will be used, if it resolves: for scrubbing errors.
    pub(crate) fn resolved_password(&self) -> Option<String> {
        self.password()
            .ok()
            .map(|p| secrecy::ExposeSecret::expose_secret(&p).to_string())
    }

    fn password(&self) -> Result<SecretString, ConfigError> {
        if let Some(password) = &self.code_password {
            return Ok(password.clone());
        }
        let Some(value) = self.get("password") else {
            return Err(ConfigError::Missing {
                key: "password".into(),
                profile: self.profile.into(),
                hint: "set `password` (a secret reference such as secret://env/NAME keeps it out of the file), PGTIDE_<PROFILE>__PASSWORD, PGPASSWORD, or a URL with one; use an empty string for trust or peer authentication".into(),
            });
        };
        let written = raw::secret_text(&value).map_err(|m| self.error("password", m))?;
        secret_ref::resolve(written, self.env).map_err(|reason| ConfigError::Secret {
            key: "password".into(),
            profile: self.profile.into(),
            origin: Box::new(self.origin("password")),
            reference: if secret_ref::is_reference(written) {
                written.into()
            } else {
                "[redacted]".into()
            },
            reason,
        })
    }

    /// Stores one key, if any layer sets it, through its own row of the key table.
    fn apply(&self, b: &mut ConfigBuilder, key: &Key) -> Result<(), ConfigError> {
        let Some(value) = self.get(key.name) else {
            return Ok(());
        };
        match key.read {
            Read::Draft(store) => {
                store(&mut b.draft, &value).map_err(|message| self.error(key.name, message))
            }
            // The type-checked pair and the password are read by `to_config`; `dsn` was
            // expanded into its parts per layer.
            Read::Loader => Ok(()),
            Read::Settings => {
                let Value::Dict(_, settings) = value else {
                    return Ok(()); // `check_keys` refused anything but a table
                };
                for (name, value) in settings {
                    let full = format!("{}.{name}", key.name);
                    let value = raw::text(&value).map_err(|m| self.error(&full, m))?;
                    b.draft.session.extra.insert(name, value);
                }
                Ok(())
            }
            Read::Entries(store) => {
                let Value::Dict(_, entries) = value else {
                    return Ok(()); // `check_keys` refused anything but a table
                };
                for (name, value) in entries {
                    // `public.mytype = "…"` is a nested table in TOML and the environment.
                    let nested = match value {
                        Value::Dict(_, inner) => inner
                            .into_iter()
                            .map(|(inner_name, v)| (format!("{name}.{inner_name}"), v))
                            .collect(),
                        value => vec![(name, value)],
                    };
                    for (name, value) in nested {
                        let full = format!("{}.{name}", key.name);
                        store(&mut b.draft, &name, &value).map_err(|m| self.error(&full, m))?;
                    }
                }
                Ok(())
            }
        }
    }
}
