//! Configuration that cannot be wrong at runtime.
//!
//! A [`Config`] is always valid: it is made either by the type-state [`ConfigBuilder`], whose
//! `build()` exists only once a [`SecretString`](crate::SecretString) password and a checked
//! [`PoolSize`] are given, or by the layered [`ConfigLoader`], which reads files, the
//! environment and code, names the key, profile and source of every mistake, and ends in the
//! same validation as the builder.
//!
//! In code:
//!
//! ```
//! use pgtide::config::{Config, PoolSize};
//! use pgtide::SecretString;
//!
//! let config = Config::builder()
//!     .host("db.internal")
//!     .database("app")
//!     .user("app")
//!     .password(SecretString::from("s3cret"))
//!     .pool_size(PoolSize::new(2, 16)?)
//!     .build()?;
//! assert_eq!(config.pool().size.max(), 16);
//! assert!(!format!("{config:?}").contains("s3cret"));
//! # Ok::<(), pgtide::config::ConfigError>(())
//! ```
//!
//! From sources (here an injected environment; by default the process's), with errors that
//! say where the mistake is:
//!
//! ```
//! use pgtide::config::Config;
//!
//! let config = Config::loader()
//!     .no_file_search()
//!     .env([
//!         ("DATABASE_URL", "postgres://app:s3cret@db.internal/app"),
//!         ("PGTIDE_DEFAULT__POOL__MAX_SIZE", "20"),
//!     ])
//!     .load()?;
//! assert_eq!(config.pool().size.max(), 20);
//!
//! let err = Config::loader()
//!     .no_file_search()
//!     .env([("PGPASSWORD", "s3cret"), ("PGTIDE_DEFAULT__POOL__MAX_SIZ", "20")])
//!     .load()
//!     .unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "unknown key `pool.max_siz` in profile `default` \
//!      (environment variable PGTIDE_DEFAULT__POOL__MAX_SIZ): did you mean `max_size`?"
//! );
//! # Ok::<(), pgtide::config::ConfigError>(())
//! ```
//!
//! Keys, defaults and precedence are listed on [`ConfigLoader`] and in the README.

mod apply;
mod builder;
mod dsn;
mod duration;
mod env;
mod error;
mod explain;
mod file;
mod hash;
mod keys;
mod layer;
mod load;
mod pool_size;
mod provenance;
mod raw;
mod secret_ref;
mod settings;
mod yaml;

pub use builder::{ConfigBuilder, NoPassword, NoPoolSize};
pub use error::ConfigError;
pub use explain::{Entry, LoadedConfig, REDACTED};
pub use hash::ConfigHash;
pub use load::ConfigLoader;
pub use pool_size::PoolSize;
pub use provenance::Source;
pub use settings::{
    Config, ConnectionSettings, HealthCheck, PoolSettings, RetrySettings, SessionSettings, SslMode,
    TlsSettings,
};
pub use yaml::Yaml;
