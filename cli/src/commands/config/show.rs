//! `pgtide config show`: the effective configuration of a profile, each value with where it
//! came from (built-in default, file and line, environment variable), the password redacted.

use std::process::ExitCode;

use clap::{ArgMatches, Command};
use serde_json::json;

use crate::failure::CommandResult;
use crate::output::{Format, format_arg, print_json};
use crate::project::Project;

/// The `config show` subcommand.
pub fn command() -> Command {
    Command::new("show")
        .about("print the effective configuration, each value with its source (password redacted)")
        .after_help("Examples:\n  pgtide config show\n  pgtide config show --profile prod --format json\n  PGTIDE_PROD__POOL__MAX_SIZE=40 pgtide config show --profile prod")
        .arg(format_arg())
}

/// Loads through the library's loader and prints.
pub fn run(m: &ArgMatches) -> CommandResult {
    let project = Project::from_matches(m)?;
    let explained = project.load_explained()?;
    let file = project.shown_file();
    match Format::from_matches(m) {
        Format::Text => {
            crate::outln!(
                "# profile {}, file {}",
                project.profile,
                file.as_deref().unwrap_or("none")
            );
            // The library's entries include the `codegen` section.
            let rows: Vec<(String, String, String)> = explained
                .entries
                .iter()
                .map(|(k, v, s)| (k.clone(), v.clone(), crate::project::shown_source(s)))
                .collect();
            let width = rows
                .iter()
                .map(|(k, v, _)| k.len() + v.len())
                .max()
                .unwrap_or(0);
            for (key, value, source) in rows {
                let pad = width - key.len() - value.len();
                crate::outln!("{key} = {value}{:pad$}  # {source}", "");
            }
        }
        Format::Json => {
            let entries: Vec<serde_json::Value> = explained
                .entries
                .iter()
                .map(|(k, v, s)| json!({"key": k, "value": v, "source": s}))
                .collect();
            print_json(&json!({
                "profile": project.profile,
                "file": file,
                "entries": entries,
            }));
        }
    }
    Ok(ExitCode::SUCCESS)
}
