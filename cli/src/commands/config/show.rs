//! `pgtide config show`: the effective configuration of a profile, each value with where it
//! came from (built-in default, file and line, environment variable), the password redacted.

use std::process::ExitCode;

use clap::{ArgMatches, Command};
use pgtide::config::Source;
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
    let codegen = project.codegen_dirs()?;
    let file = project.shown_file();
    match Format::from_matches(m) {
        Format::Text => {
            crate::outln!(
                "# profile {}, file {}",
                project.profile,
                file.as_deref().unwrap_or("none")
            );
            let mut rows: Vec<(String, String, String)> = explained
                .entries
                .iter()
                .map(|(k, v, s)| (k.clone(), v.clone(), shown_source(s)))
                .collect();
            rows.extend(codegen.all().iter().map(|s| {
                (
                    format!("codegen.{}", s.key),
                    s.written.clone(),
                    s.source.clone(),
                )
            }));
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
            let mut entries: Vec<serde_json::Value> = explained
                .entries
                .iter()
                .map(|(k, v, s)| json!({"key": k, "value": v, "source": s}))
                .collect();
            entries.extend(codegen.all().iter().map(|s| {
                json!({"key": format!("codegen.{}", s.key), "value": s.written, "source": s.source})
            }));
            print_json(&json!({
                "profile": project.profile,
                "file": file,
                "entries": entries,
            }));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A source as a person reads it, the file relative to the working directory.
fn shown_source(source: &Source) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    match source {
        Source::File { path, line } => {
            let path = path.strip_prefix(&cwd).unwrap_or(path).display();
            match line {
                Some(line) => format!("file {path}, line {line}"),
                None => format!("file {path}"),
            }
        }
        other => other.to_string(),
    }
}
