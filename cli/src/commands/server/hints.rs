//! `pgtide server hints [--instances N] [--pgbouncer]`: `postgresql.conf` and `pg_hba.conf`
//! lines for this client configuration, and with `--pgbouncer` (or `pgbouncer = true` in the
//! configuration) `pgbouncer.ini` lines too. Needs no connection (and no password).

use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::json;

use super::bouncer::BouncerPlan;
use super::recommend::Recommendation;
use crate::failure::CommandResult;
use crate::output::{Format, format_arg, print_json};
use crate::project::Project;

/// The `server hints` subcommand.
pub fn command() -> Command {
    super::shared_args(
        Command::new("hints")
            .about("print postgresql.conf and pg_hba.conf lines for this client configuration")
            .after_help("Examples:\n  pgtide server hints --instances 4\n  pgtide server hints --instances 8 --pgbouncer\n  pgtide server hints --profile prod --client-address 10.0.2.0/24\n  pgtide server hints --format json"),
    )
    .arg(
        Arg::new("pgbouncer")
            .long("pgbouncer")
            .action(ArgAction::SetTrue)
            .help("the instances connect through PgBouncer in transaction mode: also print pgbouncer.ini lines [default: the configuration's `pgbouncer` key]"),
    )
    .arg(format_arg())
}

/// Prints the lines.
pub fn run(m: &ArgMatches) -> CommandResult {
    let project = Project::from_matches(m)?;
    let config = project.load_without_password()?;
    let instances = *m.get_one::<u32>("instances").unwrap_or(&1);
    let address = m.get_one::<String>("client-address").map(String::as_str);
    let mut rec = Recommendation::new(&config, instances, address)?;
    let bouncer = (m.get_flag("pgbouncer") || config.connection().pgbouncer)
        .then(|| BouncerPlan::new(&config, instances));
    if let Some(plan) = &bouncer {
        plan.apply(&mut rec);
    }
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
            if let Some(plan) = &bouncer {
                print_ini(plan);
            }
        }
        Format::Json => print_json(&json!({
            "postgresql_conf": rec.settings.iter().map(|s| json!({"setting": s.name, "value": s.value, "why": s.why})).collect::<Vec<_>>(),
            "pg_hba_conf": [{"line": rec.hba_line(), "why": rec.hba_why}],
            "pgbouncer_ini": bouncer.as_ref().map(|plan| json!({
                "databases": plan.databases.iter().map(|l| json!({"name": l.name, "value": l.value, "why": l.why})).collect::<Vec<_>>(),
                "pgbouncer": plan.settings.iter().map(|l| json!({"setting": l.name, "value": l.value, "why": l.why})).collect::<Vec<_>>(),
            })),
        })),
    }
    Ok(ExitCode::SUCCESS)
}

/// The `pgbouncer.ini` sections, each line under its reason (PgBouncer reads comments only
/// on lines of their own).
fn print_ini(plan: &BouncerPlan) {
    crate::outln!();
    crate::outln!("# pgbouncer.ini");
    for (section, lines) in [
        ("databases", &plan.databases),
        ("pgbouncer", &plan.settings),
    ] {
        crate::outln!("[{section}]");
        for l in lines.iter() {
            crate::outln!("; {}", l.why);
            crate::outln!("{} = {}", l.name, l.value);
        }
    }
}
