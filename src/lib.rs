//! # pgtide
//!
//! Rust applications on PostgreSQL, safely and fast.
//!
//! - [`config`]: a [`Config`](config::Config) that cannot be wrong at runtime — a type-state
//!   builder and layered loading with errors that name the key and its source.
//! - [`Error`]: one error type whose [`kind`](Error::kind) says what to do, with SQLSTATE,
//!   constraint and retryability.
//!
//! pgtide sits on [`sqlx`], re-exported here so that generated code and applications need
//! only this crate; anything pgtide does not wrap stays reachable through it.

pub mod config;
mod error;

pub use error::{Error, ErrorKind, Result, classify_sqlstate};

pub use secrecy::{ExposeSecret, SecretString};
pub use sqlx;
