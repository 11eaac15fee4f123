//! `pgtide import`: a CSV file, stdin (`-`) or object (`s3://`, `az://`, `gs://`, `file://`)
//! into a table, in one transaction, through the library's [`pgtide::transfer::import`]
//! (which sniffs, transcodes, infers types and streams). A row the server rejects leaves the
//! table as it was, and the error names the line (and column) as the server reported.

use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Command};
use pgtide::Pool;
use pgtide::transfer::{self, Header, ImportOptions};

use crate::failure::{CommandResult, fail};
use crate::project::Project;

/// The `import` subcommand.
pub fn command() -> Command {
    Command::new("import")
        .about("load a CSV file, stdin or object into a table in one transaction (all rows or none), detecting encoding, delimiter and header")
        .after_help("Examples:\n  pgtide import books.csv --table books\n  pgtide import export.csv --table books --delimiter ';' --header yes --encoding latin1\n  pgtide import new.csv.gz --table staging --create\n  pgtide import s3://bucket/data/orders.csv --table orders\n  cat books.csv | pgtide import - --table books")
        .arg(Arg::new("file").value_name("FILE|URL|-").required(true).help("the CSV: a path, `-` for stdin, or s3://, az://, abfs://, gs://, file:// (`.gz`: gunzipped)"))
        .arg(Arg::new("table").long("table").value_name("TABLE").required(true).help("the table to load (one name, quoted as an identifier)"))
        .arg(Arg::new("delimiter").long("delimiter").value_name("C").help("field delimiter [default: sniffed among , ; tab |]"))
        .arg(Arg::new("header").long("header").value_name("WHEN").value_parser(["auto", "yes", "no"]).default_value("auto").help("whether the first line holds column names"))
        .arg(Arg::new("encoding").long("encoding").value_name("NAME").default_value("auto").help("the file's encoding (utf-8, latin1, windows-1252, utf-16le, …) [default: BOM, else UTF-8 if valid, else windows-1252]"))
        .arg(Arg::new("null").long("null").value_name("STR").help("the string that stands for null [default: an empty unquoted field]"))
        .arg(Arg::new("max-line-mb").long("max-line-mb").value_name("MB").value_parser(clap::value_parser!(u64).range(1..=1023)).default_value("16").help("the longest line imported, in MiB: longer is an error naming the line"))
        .arg(Arg::new("create").long("create").action(ArgAction::SetTrue).help("create the table when missing, with column types inferred from the first rows"))
        .arg(super::progress::arg())
}

/// Runs the import.
pub fn run(m: &ArgMatches) -> CommandResult {
    let source = m.get_one::<String>("file").expect("required");
    let table = m.get_one::<String>("table").expect("required");
    let mut options = ImportOptions::new(table).create(m.get_flag("create"));
    if let Some(d) = super::delimiter(m)? {
        options = options.delimiter(d);
    }
    options = options.header(match m.get_one::<String>("header").map(String::as_str) {
        Some("yes") => Header::Yes,
        Some("no") => Header::No,
        _ => Header::Auto,
    });
    if let Some(e) = m.get_one::<String>("encoding") {
        options = options.encoding(e);
    }
    if let Some(null) = m.get_one::<String>("null") {
        options = options.null(null);
    }
    if let Some(mb) = m.get_one::<u64>("max-line-mb") {
        options = options.max_line_bytes(mb * 1024 * 1024);
    }
    let bar = super::progress::wanted(m).then(|| {
        // A local file's size gives the ETA; a URL's or stdin's is not known up front.
        let total = std::fs::metadata(source).ok().map(|m| m.len());
        let (bar, callback) = super::progress::Progress::new("read", total).shared();
        options = options.clone().progress(callback);
        bar
    });
    let config = Project::from_matches(m)?.load()?;
    let done = crate::commands::runtime()?.block_on(async {
        let pool = Pool::connect(&config).await?;
        Ok::<_, transfer::Error>(transfer::import(&pool, source, &options).await)
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
    println!(
        "imported {} rows into {table} in {:.1} s ({} bytes, {}, delimiter {:?}, header {})",
        done.rows,
        done.elapsed.as_secs_f64(),
        done.bytes,
        done.encoding,
        done.delimiter,
        if done.header { "yes" } else { "no" },
    );
    Ok(ExitCode::SUCCESS)
}
