//! One module per subcommand; each is a thin layer over a library.

pub mod r#gen;
pub mod prepare;
pub mod verify;

use clap::ArgMatches;
use pgtide_codegen::Codegen;

/// The codegen directories from `--queries` and `--sqlx-dir` (and `--out` where present).
fn codegen(m: &ArgMatches) -> Codegen {
    let get = |id: &str| m.get_one::<String>(id).cloned().unwrap_or_default();
    let out = m
        .try_get_one::<String>("out")
        .ok()
        .flatten()
        .cloned()
        .unwrap_or_default();
    Codegen::new(get("queries"), get("sqlx-dir"), out)
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}
