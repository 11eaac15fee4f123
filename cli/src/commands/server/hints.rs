//! `pgtide server hints [--instances N]`: `postgresql.conf` and `pg_hba.conf` lines for this
//! client configuration. Needs no connection (and no password).

use std::process::ExitCode;

use clap::{ArgMatches, Command};
use serde_json::json;

use super::recommend::Recommendation;
use crate::failure::CommandResult;
use crate::output::{Format, format_arg, print_json};
use crate::project::Project;

/// The `server hints` subcommand.
pub fn command() -> Command {
    super::shared_args(
        Command::new("hints")
            .about("print postgresql.conf and pg_hba.conf lines for this client configuration")
            .after_help("Examples:\n  pgtide server hints --instances 4\n  pgtide server hints --profile prod --client-address 10.0.2.0/24\n  pgtide server hints --format json"),
    )
    .arg(format_arg())
}

/// Prints the lines.
pub fn run(m: &ArgMatches) -> CommandResult {
    let project = Project::from_matches(m)?;
    let config = project.load_without_password()?;
    let instances = *m.get_one::<u32>("instances").unwrap_or(&1);
    let address = m.get_one::<String>("client-address").map(String::as_str);
    let rec = Recommendation::new(&config, instances, address)?;
    match Format::from_matches(m) {
        Format::Text => {
            crate::outln!("# postgresql.conf (for {config})");
            let width = rec
                .settings
                .iter()
                .map(|s| s.name.len() + s.value.len())
                .max()
                .unwrap_or(0);
            for s in &rec.settings {
                let pad = width - s.name.len() - s.value.len();
                crate::outln!("{} = {}{:pad$}  # {}", s.name, s.value, "", s.why);
            }
            crate::outln!();
            crate::outln!("# pg_hba.conf: {}", rec.hba_why);
            if rec.address == super::recommend::ClientAddress::Unknown {
                crate::outln!(
                    "# (this machine's address towards the server is unknown: replace CLIENT-ADDRESS, or pass --client-address)"
                );
            }
            crate::outln!("{}", rec.hba_line());
        }
        Format::Json => print_json(&json!({
            "postgresql_conf": rec.settings.iter().map(|s| json!({"setting": s.name, "value": s.value, "why": s.why})).collect::<Vec<_>>(),
            "pg_hba_conf": [{"line": rec.hba_line(), "why": rec.hba_why}],
        })),
    }
    Ok(ExitCode::SUCCESS)
}
