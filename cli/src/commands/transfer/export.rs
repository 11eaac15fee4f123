//! `pgtide export`: a table or a query as CSV, through the library's
//! [`pgtide::transfer::export`], to a file, stdout (`-`) or an object (`s3://`, `az://`,
//! `gs://`, `file://`; `.gz`: gzipped). A failed export leaves no file or object behind.

use std::io::Write;
use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgGroup, ArgMatches, Command};
use pgtide::Pool;
use pgtide::transfer::{self, ExportOptions, Source};

use crate::failure::{CommandResult, fail};
use crate::project::Project;

/// The `export` subcommand.
pub fn command() -> Command {
    Command::new("export")
        .about("write a table or a query's rows as CSV to a file, stdout or an object (streamed, COPY TO STDOUT)")
        .after_help("Examples:\n  pgtide export --table books books.csv --header\n  pgtide export --query 'SELECT id, title FROM books' - --delimiter ';'\n  pgtide export --table orders az://container/exports/orders.csv.gz")
        .arg(Arg::new("table").long("table").value_name("TABLE").help("the table to export (one name, quoted as an identifier)"))
        .arg(Arg::new("query").long("query").value_name("SQL").help("a SELECT whose rows to export"))
        .group(ArgGroup::new("source").args(["table", "query"]).required(true))
        .arg(Arg::new("file").value_name("FILE|URL|-").required(true).help("where to write: a path, `-` for stdout, or s3://, az://, abfs://, gs://, file:// (`.gz`: gzipped)"))
        .arg(Arg::new("delimiter").long("delimiter").value_name("C").help("field delimiter [default: ,]; `tab` for a tab"))
        .arg(Arg::new("header").long("header").action(ArgAction::SetTrue).help("write the column names as the first line"))
        .arg(Arg::new("encoding").long("encoding").value_name("NAME").help("the file's encoding, converted by the server (e.g. LATIN1) [default: UTF8]"))
        .arg(super::progress::arg())
}

/// Runs the export.
pub fn run(m: &ArgMatches) -> CommandResult {
    let source = match (m.get_one::<String>("table"), m.get_one::<String>("query")) {
        (Some(t), _) => Source::table(t),
        (None, Some(q)) => Source::query(q),
        (None, None) => unreachable!("clap requires --table or --query"),
    };
    let mut options = ExportOptions::new().header(m.get_flag("header"));
    if let Some(d) = super::delimiter(m)? {
        options = options.delimiter(d);
    }
    if let Some(e) = m.get_one::<String>("encoding") {
        options = options.encoding(e);
    }
    let file = m.get_one::<String>("file").expect("required");
    let bar = super::progress::wanted(m).then(|| {
        let (bar, callback) = super::progress::Progress::new("written", None).shared();
        options = options.clone().progress(callback);
        bar
    });
    let config = Project::from_matches(m)?.load()?;
    let done = crate::commands::runtime()?.block_on(async {
        let pool = Pool::connect(&config).await?;
        Ok::<_, transfer::Error>(transfer::export(&pool, &source, file, &options).await)
    })?;
    if let Some(bar) = bar
        && let Ok(mut bar) = bar.lock()
    {
        bar.finish();
    }
    let done = match done {
        Ok(done) => done,
        Err(e) => return fail(e.to_string()),
    };
    if file != "-" {
        let _ = writeln!(
            std::io::stderr(),
            "exported {} bytes to {} in {:.1} s",
            done.bytes,
            done.url,
            done.elapsed.as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
