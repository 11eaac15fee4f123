//! `pgtide import`: a CSV file into a table, in one transaction, streamed through
//! `COPY … FROM STDIN` and transcoded to UTF-8 on the way. A row the server rejects leaves
//! the table as it was, and the error names the line (and column) as the server reported.

mod create;
mod progress;
mod transcode;

use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Arg, ArgAction, ArgMatches, Command};
use encoding_rs::Encoding;
use pgtide::copy::CopyIn;
use pgtide::{Pool, TxOptions, sqlx};

use super::blocking::Blocking;
use super::sniff;
use crate::failure::{CommandResult, Usage, fail};
use crate::project::Project;

/// The `import` subcommand.
pub fn command() -> Command {
    Command::new("import")
        .about("load a CSV file into a table in one transaction (all rows or none), detecting encoding, delimiter and header")
        .after_help("Examples:\n  pgtide import books.csv --table books\n  pgtide import export.csv --table books --delimiter ';' --header yes --encoding latin1\n  pgtide import new.csv --table staging --create")
        .arg(Arg::new("file").value_name("FILE").required(true).help("the CSV file"))
        .arg(Arg::new("table").long("table").value_name("TABLE").required(true).help("the table to load (one name, quoted as an identifier)"))
        .arg(Arg::new("delimiter").long("delimiter").value_name("C").help("field delimiter [default: sniffed among , ; tab |]"))
        .arg(Arg::new("header").long("header").value_name("WHEN").value_parser(["auto", "yes", "no"]).default_value("auto").help("whether the first line holds column names"))
        .arg(Arg::new("encoding").long("encoding").value_name("NAME").default_value("auto").help("the file's encoding (utf-8, latin1, windows-1252, utf-16le, …) [default: BOM, else UTF-8 if valid, else windows-1252]"))
        .arg(Arg::new("null").long("null").value_name("STR").help("the string that stands for null [default: an empty unquoted field]"))
        .arg(Arg::new("max-line-mb").long("max-line-mb").value_name("MB").value_parser(clap::value_parser!(u64).range(1..=1023)).default_value("16").help("the longest line imported, in MiB: longer is an error naming the line"))
        .arg(Arg::new("create").long("create").action(ArgAction::SetTrue).help("create the table when missing, with column types inferred from the first rows"))
}

/// Runs the import.
pub fn run(m: &ArgMatches) -> CommandResult {
    let path = m.get_one::<String>("file").expect("required");
    let table = m.get_one::<String>("table").expect("required");
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return fail(format!("cannot open {path}: {e}")),
    };
    let mut sample = Vec::with_capacity(sniff::SAMPLE);
    if let Err(e) = (&mut file)
        .take(sniff::SAMPLE as u64)
        .read_to_end(&mut sample)
    {
        return fail(format!("cannot read {path}: {e}"));
    }
    let complete = sample.len() < sniff::SAMPLE;
    let encoding = match m.get_one::<String>("encoding").map(String::as_str) {
        None | Some("auto") => sniff::encoding(&sample),
        Some(name) => Encoding::for_label(name.as_bytes())
            .ok_or_else(|| Usage(format!("--encoding: unknown encoding {name:?}")))?,
    };
    let (text, _) = encoding.decode_with_bom_removal(&sample);
    let delimiter = match super::delimiter(m)? {
        Some(d) => d,
        None => sniff::delimiter(&text, complete).unwrap_or(','),
    };
    let rows = sniff::records(&text, delimiter, complete);
    let config = Project::from_matches(m)?.load()?;
    let started = Instant::now();
    let rt = crate::commands::runtime()?;
    let (loaded, bytes, header) = rt.block_on(async {
        let pool = Pool::connect(&config).await?;
        let columns = table_columns(&pool, table).await?;
        let header = match m.get_one::<String>("header").map(String::as_str) {
            Some("yes") => true,
            Some("no") => false,
            _ => sniff::has_header(&rows, &columns),
        };
        let mut tx = pool.begin(TxOptions::default()).await?;
        let mut copy = CopyIn::table(table).csv().delimiter(delimiter).header(header);
        if let Some(null) = m.get_one::<String>("null") {
            copy = copy.null(null);
        }
        let names = if header { rows.first().cloned() } else { None };
        if columns.is_empty() {
            if !m.get_flag("create") {
                return Ok(Err(format!(
                    "table {table:?} does not exist (or is not visible on the search path); pass --create to create it"
                )));
            }
            let sql = create::create_table(table, names.as_deref(), &rows[usize::from(header)..]);
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await
                .map_err(pgtide::Error::from)?;
        } else if let Some(names) = &names {
            match create::match_columns(names, &columns) {
                Ok(matched) => copy = copy.columns(matched),
                Err(diff) if m.get_flag("create") => {
                    return Ok(Err(format!(
                        "table {table:?} exists and its columns do not match the file's header: {diff}"
                    )));
                }
                Err(_) => {}
            }
        }
        let file = std::io::Seek::rewind(&mut file).map(|()| file);
        let file = match file {
            Ok(f) => f,
            Err(e) => return Ok(Err(format!("cannot read {path}: {e}"))),
        };
        let progress = progress::Progress::new(std::io::stderr().is_terminal());
        let max_line = m.get_one::<u64>("max-line-mb").copied().unwrap_or(16) * 1024 * 1024;
        let reader = transcode::Transcoder::new(file, encoding, progress).max_line(max_line);
        let counter = reader.counter();
        let loaded = copy.from_reader(&mut tx, Blocking(reader)).await?;
        tx.commit().await?;
        Ok::<_, pgtide::Error>(Ok((loaded, counter.get(), header)))
    })??;
    let secs = started.elapsed().as_secs_f64();
    progress::clear(std::io::stderr().is_terminal());
    println!(
        "imported {loaded} rows into {table} in {secs:.1} s ({bytes} bytes, {}, delimiter {:?}, header {})",
        encoding.name(),
        delimiter,
        if header { "yes" } else { "no" },
    );
    Ok(ExitCode::SUCCESS)
}

/// The table's columns in order; empty when there is no such table.
async fn table_columns(pool: &Pool, table: &str) -> pgtide::Result<Vec<String>> {
    Ok(sqlx::query_scalar::<_, String>(
        "SELECT attname::text FROM pg_attribute \
         WHERE attrelid = to_regclass(quote_ident($1)) AND attnum > 0 AND NOT attisdropped \
         ORDER BY attnum",
    )
    .bind(table)
    .fetch_all(pool)
    .await?)
}
