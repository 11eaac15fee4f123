//! `pgtide prepare`, `gen` and `verify`: the codegen loop, thin over `pgtide-codegen`.
//!
//! With no flags, the directories come from the config file's `codegen` table (relative to
//! the file; defaults `queries/`, `.sqlx/`, `src/queries/`) and the database from the same
//! loader the application uses (profiles, `DATABASE_URL`, `secret://`), so no password goes
//! on a command line. `--queries`, `--sqlx-dir`, `--out` and `--database-url` override, for
//! scripts; they are relative to the working directory. The `codegen.types` table (PostgreSQL
//! type → Rust type) has no flag: it is always the config file's.
//!
//! When a config file is found, the commands run from its directory, so paths written into
//! generated code and messages are the same whichever directory `pgtide` is started from.

pub mod r#gen;
pub mod prepare;
pub mod verify;

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command};
use pgtide_codegen::Codegen;
use pgtide_codegen::overrides::{Derives, TypeOverrides};

use crate::failure::{CommandResult, Failure};
use crate::project::{self, Project};

/// `prepare`, `gen` and `verify`.
pub fn commands() -> [Command; 3] {
    let dir = |id: &'static str, help: &'static str| {
        Arg::new(id)
            .long(id)
            .value_name("DIR")
            .value_parser(clap::value_parser!(PathBuf))
            .help(help)
    };
    let queries = || {
        dir(
            "queries",
            "directory of *.sql query files [default: codegen.queries of the config file, else queries/]",
        )
    };
    let sqlx_dir = || {
        dir(
            "sqlx-dir",
            "directory of sqlx offline metadata (query-*.json) [default: codegen.sqlx_dir, else .sqlx/]",
        )
    };
    let database_url = || {
        Arg::new("database-url")
            .long("database-url")
            .value_name("URL")
            .help("database to describe the queries against, for scripts [default: the application's configuration: config file, PG*, DATABASE_URL]")
    };
    [
        Command::new("prepare")
            .about("describe every query against a database and write .sqlx/ (sqlx's format)")
            .after_help("Examples:\n  pgtide prepare                        directories and database from pgtide.toml\n  pgtide prepare --profile dev\n  pgtide prepare --explain              why each column is (not) nullable\n  DATABASE_URL=postgres://... pgtide prepare --queries queries --sqlx-dir .sqlx")
            .arg(queries())
            .arg(sqlx_dir())
            .arg(database_url())
            .arg(
                Arg::new("explain")
                    .long("explain")
                    .action(ArgAction::SetTrue)
                    .help("also print each result column's nullability and the rule that decided it"),
            ),
        Command::new("gen")
            .about("generate typed Rust modules from the queries and .sqlx/ (no database)")
            .after_help("Examples:\n  pgtide gen\n  pgtide gen --check                    CI: exit 1 listing the files that would change")
            .arg(queries())
            .arg(sqlx_dir())
            .arg(dir(
                "out",
                "directory of the generated modules [default: codegen.out, else src/queries/]",
            ))
            .arg(
                Arg::new("check")
                    .long("check")
                    .action(ArgAction::SetTrue)
                    .help("write nothing; fail listing the files that would change"),
            ),
        Command::new("verify")
            .about("re-describe every query against a database and report schema drift (writes nothing)")
            .after_help("Examples:\n  pgtide verify --profile staging")
            .arg(queries())
            .arg(sqlx_dir())
            .arg(database_url()),
    ]
}

/// Runs `prepare`, `gen` or `verify`.
pub fn run(name: &str, m: &ArgMatches) -> CommandResult {
    match name {
        "prepare" => prepare::run(m),
        "gen" => r#gen::run(m),
        "verify" => verify::run(m),
        other => unreachable!("unknown subcommand {other}"),
    }
}

/// The directories of one run, and how to say "run this again".
pub struct Setup {
    /// The codegen over the resolved directories.
    pub codegen: Codegen,
    /// The command line that repeats this run's directory choice (`pgtide gen` when they came
    /// from the config file).
    pub flags: String,
    project: Project,
}

impl Setup {
    /// Resolves the directories from flags and the config file (without changing directory).
    pub fn resolve(m: &ArgMatches) -> Result<Self, Box<dyn std::error::Error>> {
        let project = Project::from_matches(m)?;
        let dirs = project.codegen_dirs()?;
        let cwd = std::env::current_dir()?;
        let has_file = project.file.is_some();
        let mut flags = String::new();
        let mut pick = |id: &str, written: &PathBuf| -> PathBuf {
            match m.try_get_one::<PathBuf>(id).ok().flatten() {
                Some(given) => {
                    flags.push_str(&format!(" --{id} {}", given.display()));
                    // Relative to the working directory, which changes below when a file is found.
                    if has_file {
                        cwd.join(given)
                    } else {
                        given.clone()
                    }
                }
                None => written.clone(),
            }
        };
        let queries = pick("queries", &dirs.queries);
        let sqlx_dir = pick("sqlx-dir", &dirs.sqlx_dir);
        let out = pick("out", &dirs.out);
        // The `codegen.types` table and `codegen.derives`: no flags, the config file's
        // (checked when it loaded).
        let loaded = project.explained_without_password()?.loaded;
        let settings = loaded.config().codegen();
        let types = TypeOverrides::from_entries(&settings.types)?;
        let derives = Derives::from_list(&settings.derives)?;
        let mut codegen = Codegen::new(queries, sqlx_dir, out)
            .types(types)
            .derives(derives);
        if flags.is_empty() {
            codegen = codegen.regenerate_hint("`pgtide prepare`");
        }
        Ok(Self {
            codegen,
            flags,
            project,
        })
    }

    /// A connection to the database to describe against: `--database-url`, else the
    /// application's configuration; opened by pgtide's own connect path, so TLS
    /// verification and `require_auth` apply as they do to the application (a URL's
    /// `sslmode` defaults as the library's does, not as sqlx's). Call before
    /// [`enter`](Self::enter): `secret://file/` and certificate paths are relative to where
    /// pgtide was started.
    pub async fn connect(
        &self,
        m: &ArgMatches,
    ) -> Result<pgtide::sqlx::PgConnection, Box<dyn std::error::Error>> {
        let config = self.database_config(m)?;
        Ok(pgtide::Connection::connect(&config).await?.into_inner())
    }

    fn database_config(
        &self,
        m: &ArgMatches,
    ) -> Result<pgtide::config::Config, Box<dyn std::error::Error>> {
        if let Some(url) = m.get_one::<String>("database-url") {
            // The URL alone (and PGPASSWORD, as libpq would read it when the URL has none).
            let mut env = vec![("DATABASE_URL".to_string(), url.clone())];
            env.extend(
                std::env::var("PGPASSWORD")
                    .ok()
                    .map(|p| ("PGPASSWORD".to_string(), p)),
            );
            return Ok(pgtide::config::Config::loader()
                .no_file_search()
                .env(env)
                .load()?);
        }
        match self.project.load() {
            Ok(config) => Ok(config),
            Err(e) => match e.downcast_ref::<project::ConfigFailure>() {
                Some(failure) if failure.missing_password => Err(Box::new(Failure(format!(
                    "no database to describe the queries against: {}; set DATABASE_URL, write the connection in {} (`pgtide config init` writes a template), or pass --database-url",
                    failure.message,
                    self.project
                        .shown_file()
                        .unwrap_or_else(|| "pgtide.toml".into())
                )))),
                _ => Err(e),
            },
        }
    }

    /// Moves into the config file's directory, so the directories resolve against it.
    pub fn enter(&self) -> std::io::Result<()> {
        if self.project.file.is_some() {
            std::env::set_current_dir(self.project.base_dir())?;
        }
        Ok(())
    }
}
