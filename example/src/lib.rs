//! The typed queries generated from this repository's `queries/` by `cargo xtask gen`
//! (`pgtide prepare` + `pgtide gen`): checked in, built offline from `.sqlx/`, called by
//! `cargo xtask demo`.

#![deny(warnings)]

pub mod queries;
