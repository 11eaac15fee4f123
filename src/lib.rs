//! # pgtide
//!
//! Rust applications on PostgreSQL, safely and fast.
//!
//! - [`config`]: a [`Config`](config::Config) that cannot be wrong at runtime — a type-state
//!   builder and layered loading with errors that name the key and its source.
//!
//! pgtide sits on [`sqlx`], re-exported here so that generated code and applications need
//! only this crate; anything pgtide does not wrap stays reachable through it.

pub mod config;

pub use secrecy::{ExposeSecret, SecretString};
pub use sqlx;
