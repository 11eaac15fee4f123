//! `pgtide config example --kind pool|connection|transaction|blocking|listener|codegen`: a complete program for
//! this configuration and profile, with its `Cargo.toml` lines. The test suite builds every
//! kind and runs it against a real server.

use std::process::ExitCode;

use clap::{Arg, ArgMatches, Command};
use serde_json::json;

use crate::failure::CommandResult;
use crate::output::{Format, format_arg, print_json};
use crate::project::Project;

/// Kinds that print a program.
pub const KINDS: &[&str] = &[
    "pool",
    "connection",
    "transaction",
    "blocking",
    "listener",
    "codegen",
];

/// The dependency lines every program needs.
pub const DEPENDENCIES: &str =
    "pgtide = \"0.1\"\ntokio = { version = \"1\", features = [\"rt\", \"macros\"] }\n";

/// The `config example` subcommand.
pub fn command() -> Command {
    Command::new("example")
        .about("print a complete Rust program (and its Cargo.toml lines) for this configuration")
        .after_help(format!(
            "Kinds: {}.\n\nExamples:\n  pgtide config example > src/main.rs   (the Cargo.toml lines go to stderr)\n  pgtide config example --kind transaction --profile prod\n  pgtide config example --kind codegen --format json",
            KINDS.join(", ")
        ))
        .arg(
            Arg::new("kind")
                .long("kind")
                .value_name("KIND")
                .value_parser(KINDS.to_vec())
                .default_value("pool")
                .help("what the program shows"),
        )
        .arg(format_arg())
}

/// The files of one example: `(path, contents)`.
pub fn files(kind: &str, profile: &str) -> Option<Vec<(&'static str, String)>> {
    let main = match kind {
        "pool" => include_str!("examples/pool.rs"),
        "connection" => include_str!("examples/connection.rs"),
        "transaction" => include_str!("examples/transaction.rs"),
        "blocking" => include_str!("examples/blocking.rs"),
        "listener" => include_str!("examples/listener.rs"),
        "codegen" => include_str!("examples/codegen.rs"),
        _ => return None,
    };
    // Profile names are plain words (the loader lower-cases them); escape anyway.
    let quoted = profile.escape_default().to_string();
    let main = main
        .replace("{profile}", &quoted)
        .replace("{PROFILE_UPPER}", &quoted.to_ascii_uppercase());
    let mut out = vec![("src/main.rs", main)];
    if kind == "codegen" {
        out.insert(
            0,
            (
                "queries/example.sql",
                include_str!("examples/codegen.sql").to_string(),
            ),
        );
    }
    Some(out)
}

/// Prints the program: the source on stdout, the Cargo.toml lines on stderr, so
/// `> src/main.rs` captures a file that compiles.
pub fn run(m: &ArgMatches) -> CommandResult {
    let kind = m.get_one::<String>("kind").map_or("pool", String::as_str);
    let project = Project::from_matches(m)?;
    let Some(files) = files(kind, &project.profile) else {
        unreachable!("clap accepts known kinds only");
    };
    match Format::from_matches(m) {
        Format::Json => print_json(&json!({
            "kind": kind,
            "profile": project.profile,
            "cargo_toml_dependencies": DEPENDENCIES,
            "files": files.iter().map(|(p, c)| json!({"path": p, "contents": c})).collect::<Vec<_>>(),
        })),
        Format::Text => {
            eprintln!("# Cargo.toml, [dependencies]:\n{DEPENDENCIES}");
            for (path, contents) in &files {
                if *path != "src/main.rs" {
                    eprintln!("# {path}:\n{contents}");
                }
            }
            if kind == "codegen" {
                eprintln!(
                    "# then: pgtide prepare && pgtide gen   (directories from [default.codegen], else queries/, .sqlx/, src/queries/)\n# src/main.rs:"
                );
            } else {
                eprintln!("# src/main.rs (stdout):");
            }
            let main = files
                .iter()
                .find(|(p, _)| *p == "src/main.rs")
                .map(|(_, c)| c.as_str())
                .unwrap_or_default();
            crate::out!("{main}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
