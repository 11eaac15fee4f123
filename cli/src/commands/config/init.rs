//! `pgtide config init [--format toml|yaml] [--path P] [--force]`: a commented template with
//! every key and its default, which the library's loader reads back as the defaults.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};

use crate::failure::{CommandResult, Failure, Usage};

/// The TOML template.
pub const TOML: &str = include_str!("template.toml");
/// The YAML template (the same keys and comments).
pub const YAML: &str = include_str!("template.yaml");

/// The `config init` subcommand.
pub fn command() -> Command {
    Command::new("init")
        .about("write a commented configuration file with every key and its default")
        .after_help("Examples:\n  pgtide config init                    writes ./pgtide.toml\n  pgtide config init --format yaml      writes ./pgtide.yaml\n  pgtide config init --path deploy/pgtide.toml --force")
        .arg(
            Arg::new("format")
                .long("format")
                .value_name("FORMAT")
                .value_parser(["toml", "yaml"])
                .help("file format [default: from --path's extension, else toml]"),
        )
        .arg(
            Arg::new("path")
                .long("path")
                .value_name("P")
                .value_parser(value_parser!(PathBuf))
                .help("where to write [default: pgtide.toml or pgtide.yaml in the working directory]"),
        )
        .arg(
            Arg::new("force")
                .long("force")
                .action(ArgAction::SetTrue)
                .help("overwrite an existing file"),
        )
}

/// Writes the template.
pub fn run(m: &ArgMatches) -> CommandResult {
    let path = m.get_one::<PathBuf>("path").cloned();
    let from_ext = path
        .as_ref()
        .and_then(|p| p.extension())
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let yaml = match (
        m.get_one::<String>("format").map(String::as_str),
        from_ext.as_deref(),
    ) {
        (Some("yaml"), None | Some("yaml" | "yml")) | (None, Some("yaml" | "yml")) => true,
        (Some("toml") | None, None | Some("toml")) => false,
        (_, Some(ext)) => {
            return Err(Box::new(Usage(format!(
                "--path ends in .{ext}: the library reads *.toml, *.yaml and *.yml, in the format the extension names{}",
                m.get_one::<String>("format")
                    .map(|f| format!(" (and --format {f} says otherwise)"))
                    .unwrap_or_default()
            ))));
        }
        (Some(other), None) => unreachable!("clap allows toml and yaml only, got {other}"),
    };
    let path =
        path.unwrap_or_else(|| PathBuf::from(if yaml { "pgtide.yaml" } else { "pgtide.toml" }));
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if m.get_flag("force") {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = match options.open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Box::new(Failure(format!(
                "{} exists; nothing written (pass --force to overwrite it)",
                path.display()
            ))));
        }
        Err(e) => {
            return Err(Box::new(Failure(format!(
                "cannot write {}: {e}",
                path.display()
            ))));
        }
    };
    file.write_all(if yaml { YAML } else { TOML }.as_bytes())?;
    eprintln!(
        "pgtide: wrote {}; set APP_DB_PASSWORD (or edit `password`), then run `pgtide config test`",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
