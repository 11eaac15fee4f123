//! Configuration that cannot be wrong at runtime.
//!
//! A [`Config`] is always valid: it is made either by the type-state [`ConfigBuilder`], whose
//! `build()` exists only once a [`SecretString`] password and a checked [`PoolSize`] are
//! given, or by the layered loader, which validates every key and names its source.
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

mod builder;
mod error;
mod pool_size;
mod settings;

pub use builder::{ConfigBuilder, NoPassword, NoPoolSize};
pub use error::ConfigError;
pub use pool_size::PoolSize;
pub use settings::{
    Config, ConnectionSettings, HealthCheck, PoolSettings, RetrySettings, SessionSettings, SslMode,
    TlsSettings,
};
