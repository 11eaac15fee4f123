//! From merged layers to a [`Config`]: read each key with its type, then run the builder's
//! own validation, so a loaded and a built configuration are checked by the same code.

use std::collections::BTreeMap;
use std::path::PathBuf;

use figment::Figment;
use figment::value::Value;
use secrecy::SecretString;

use super::builder::ConfigBuilder;
use super::layer::Layer;
use super::provenance::Source;
use super::raw::{self, KEYS, Kind};
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
        for (key, kind) in KEYS {
            self.apply(&mut builder, key, *kind)?;
        }
        let password = self.password()?;
        let min = self.read("pool.min_size", raw::count)?;
        let max = self.read("pool.max_size", raw::count)?;
        let default = PoolSize::default();
        let size = PoolSize::new(min.unwrap_or(default.min()), max.unwrap_or(default.max()))
            .map_err(|e| self.locate(e))?;
        builder
            .password(password)
            .pool_size(size)
            .check()
            .map_err(|e| self.locate(e))
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

    fn apply(&self, b: &mut ConfigBuilder, key: &str, kind: Kind) -> Result<(), ConfigError> {
        let d = &mut b.draft;
        match kind {
            // Read elsewhere: the type-checked pair, and `dsn` expanded per layer.
            Kind::Secret | Kind::Dsn => {}
            Kind::Count if key.starts_with("pool.") => {}
            Kind::Text => {
                if let Some(v) = self.read(key, raw::text)? {
                    match key {
                        "host" => d.host = v,
                        "database" => d.database = Some(v),
                        "user" => d.user = v,
                        "application_name" => d.application_name = Some(v),
                        "search_path" => d.session.search_path = Some(v),
                        _ => unreachable!("text key {key} has no field"),
                    }
                }
            }
            Kind::Port => {
                if let Some(v) = self.read(key, raw::port)? {
                    d.port = v;
                }
            }
            Kind::Count => {
                if let Some(v) = self.read(key, raw::count)? {
                    d.retry.attempts = v;
                }
            }
            Kind::Bool => {
                if let Some(v) = self.read(key, raw::boolean)? {
                    d.retry.jitter = v;
                }
            }
            Kind::Duration => {
                if let Some(v) = self.read(key, raw::duration)? {
                    match key {
                        "connect_timeout" => d.connect_timeout = v,
                        "pool.acquire_timeout" => d.pool.acquire_timeout = v,
                        "retry.base_delay" => d.retry.base_delay = v,
                        "retry.max_delay" => d.retry.max_delay = v,
                        "retry.budget" => d.retry.budget = v,
                        _ => unreachable!("duration key {key} has no field"),
                    }
                }
            }
            Kind::OptDuration => {
                if let Some(v) = self.read(key, raw::optional_duration)? {
                    match key {
                        "statement_timeout" => d.session.statement_timeout = v,
                        "lock_timeout" => d.session.lock_timeout = v,
                        "idle_in_transaction_session_timeout" => {
                            d.session.idle_in_transaction_session_timeout = v;
                        }
                        "pool.idle_timeout" => d.pool.idle_timeout = v,
                        "pool.max_lifetime" => d.pool.max_lifetime = v,
                        _ => unreachable!("optional duration key {key} has no field"),
                    }
                }
            }
            Kind::SslMode => {
                if let Some(v) = self.read(key, raw::ssl_mode)? {
                    d.ssl_mode = Some(v);
                }
            }
            Kind::HealthCheck => {
                if let Some(v) = self.read(key, raw::health_check)? {
                    d.pool.health_check = v;
                }
            }
            Kind::Path => {
                if let Some(v) = self.read(key, raw::text)? {
                    let v = Some(PathBuf::from(v));
                    match key {
                        "sslrootcert" => d.root_cert = v,
                        "sslcert" => d.client_cert = v,
                        "sslkey" => d.client_key = v,
                        _ => unreachable!("path key {key} has no field"),
                    }
                }
            }
            Kind::Settings => {
                if let Some(Value::Dict(_, settings)) = self.get(key) {
                    for (name, value) in settings {
                        let full = format!("settings.{name}");
                        let value = raw::text(&value).map_err(|m| self.error(&full, m))?;
                        d.session.extra.insert(name, value);
                    }
                }
            }
        }
        Ok(())
    }
}
