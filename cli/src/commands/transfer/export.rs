//! `pgtide export`: a table or a query as CSV, streamed by `COPY … TO STDOUT` to a file or
//! stdout.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Arg, ArgAction, ArgGroup, ArgMatches, Command};
use pgtide::Pool;
use pgtide::copy::CopyOut;

use super::blocking::Blocking;
use crate::failure::{CommandResult, fail};
use crate::project::Project;

/// The `export` subcommand.
pub fn command() -> Command {
    Command::new("export")
        .about("write a table or a query's rows as CSV to a file or stdout (streamed, COPY TO STDOUT)")
        .after_help("Examples:\n  pgtide export --table books books.csv --header\n  pgtide export --query 'SELECT id, title FROM books' - --delimiter ';'")
        .arg(Arg::new("table").long("table").value_name("TABLE").help("the table to export (one name, quoted as an identifier)"))
        .arg(Arg::new("query").long("query").value_name("SQL").help("a SELECT whose rows to export"))
        .group(ArgGroup::new("source").args(["table", "query"]).required(true))
        .arg(Arg::new("file").value_name("FILE|-").required(true).help("where to write, `-` for stdout"))
        .arg(Arg::new("delimiter").long("delimiter").value_name("C").help("field delimiter [default: ,]; `tab` for a tab"))
        .arg(Arg::new("header").long("header").action(ArgAction::SetTrue).help("write the column names as the first line"))
        .arg(Arg::new("encoding").long("encoding").value_name("NAME").help("the file's encoding, converted by the server (e.g. LATIN1) [default: UTF8]"))
}

/// Runs the export.
pub fn run(m: &ArgMatches) -> CommandResult {
    let mut copy = match (m.get_one::<String>("table"), m.get_one::<String>("query")) {
        (Some(t), _) => CopyOut::table(t),
        (None, Some(q)) => CopyOut::query(q),
        (None, None) => unreachable!("clap requires --table or --query"),
    }
    .csv();
    if let Some(d) = super::delimiter(m)? {
        copy = copy.delimiter(d);
    }
    if m.get_flag("header") {
        copy = copy.header(true);
    }
    if let Some(e) = m.get_one::<String>("encoding") {
        copy = copy.encoding(e);
    }
    let file = m.get_one::<String>("file").expect("required");
    let config = Project::from_matches(m)?.load()?;
    let started = Instant::now();
    let out: Box<dyn Write> = if file == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        match std::fs::File::create(file) {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => return fail(format!("cannot create {file}: {e}")),
        }
    };
    let written = crate::commands::runtime()?.block_on(async {
        let pool = Pool::connect(&config).await?;
        copy.to_writer(&pool, Blocking(out)).await
    })?;
    if file != "-" {
        let _ = writeln!(
            std::io::stderr(),
            "exported {written} bytes to {file} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
