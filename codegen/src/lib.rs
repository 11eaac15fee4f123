//! # pgtide-codegen
//!
//! SQL-first queries for pgtide: `queries/*.sql` → `.sqlx/` metadata → typed Rust modules,
//! checked offline. The `pgtide` binary (`pgtide prepare | gen | verify`) is a thin layer
//! over this library, so a project's own `xtask` can run the same steps:
//!
//! ```no_run
//! # async fn xtask() -> Result<(), pgtide_codegen::Error> {
//! let codegen = pgtide_codegen::Codegen::new("queries", ".sqlx", "src/queries");
//! codegen.prepare(&std::env::var("DATABASE_URL").unwrap()).await?; // needs a database
//! codegen.generate()?;                                            // offline
//! # Ok(()) }
//! ```
//!
//! The pipeline is a row of stages over plain data, each in its own module with its own
//! error type: [`parse`] (text → [`parse::QueryFile`]), [`prepare`] (the only stage that
//! touches a database), [`nullability`] (pgtide's own decision of every result column's
//! nullability, made during `prepare` and stored beside the `.sqlx` files),
//! [`sqlx_data`] (sqlx's `.sqlx` format), [`typemap`] (PostgreSQL →
//! Rust types), [`generate`] (→ Rust source) and [`persist`] (the only stage that writes files).
//!
//! `gen` reads the `.sqlx` entry of each query and replaces sqlx's plan-based nullability
//! with pgtide's decisions before generating, so the generated types are the same for any
//! data or statistics.

#![warn(missing_docs)]

pub mod generate;
pub mod manifest;
pub mod names;
pub mod nullability;
pub mod overrides;
pub mod parse;
pub mod persist;
pub mod prepare;
pub mod sqlx_data;
mod statements;
pub mod synthetic;
pub mod typemap;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

pub use persist::Change;

/// Anything the pipeline can fail with; each stage's error says `file:line` and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the queries directory or a `.sqlx` file failed.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A `.sql` file is malformed.
    #[error(transparent)]
    Parse(#[from] parse::ParseError),
    /// Describing against the database failed.
    #[error(transparent)]
    Prepare(#[from] prepare::PrepareError),
    /// A `.sqlx` file exists but cannot be used.
    #[error("{location}: query `{name}`: {source}; run `pgtide prepare` again")]
    Metadata {
        /// `file:line` of the query.
        location: String,
        /// The query's name.
        name: String,
        /// What is wrong with the file.
        #[source]
        source: sqlx_data::ReadError,
    },
    /// A query cannot be turned into Rust.
    #[error(transparent)]
    Gen(#[from] generate::GenError),
    /// Writing the output failed.
    #[error(transparent)]
    Persist(#[from] persist::PersistError),
}

/// A query whose live description differs from its `.sqlx` entry (schema drift).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// `file:line` of the query.
    pub location: String,
    /// The query's name.
    pub name: String,
    /// `.sqlx` file of the query.
    pub file: PathBuf,
    /// Whether the entry is missing altogether (rather than different).
    pub missing: bool,
    /// The server's error when the query no longer describes at all (e.g. a dropped column).
    pub error: Option<String>,
    /// Whether this is about the statement `gen` runs for the query with the text casts of
    /// `codegen.types` (its own `.sqlx` entry), not the query's SQL itself.
    pub cast_statement: bool,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(error) = &self.error {
            return write!(f, "{error}");
        }
        let what = if self.missing {
            "has no .sqlx entry"
        } else {
            "no longer matches its .sqlx entry"
        };
        let which = if self.cast_statement {
            ": its statement with the text casts of `codegen.types`"
        } else {
            ""
        };
        write!(
            f,
            "{}: query `{}`{which} {what} ({})",
            self.location,
            self.name,
            self.file.display()
        )
    }
}

/// The three directories of a project's codegen: queries in, `.sqlx` metadata, Rust out.
#[derive(Debug, Clone)]
pub struct Codegen {
    /// Directory of `*.sql` files.
    pub queries: PathBuf,
    /// Directory of `query-*.json` files (sqlx's offline data).
    pub sqlx_dir: PathBuf,
    /// Directory of the generated modules (`mod.rs` and one module per `.sql` file).
    pub out: PathBuf,
    /// The command suggested when `.sqlx` is missing or stale.
    pub regenerate_hint: String,
    /// The `codegen.types` table: Rust types for PostgreSQL types, by name
    /// ([`overrides`]; empty by default).
    pub types: overrides::TypeOverrides,
    /// The `codegen.derives` list: what row structs derive besides `Debug`
    /// ([`overrides::Derives`]; nothing else by default).
    pub derives: overrides::Derives,
}

impl Codegen {
    /// A codegen over these three directories (relative paths are relative to the current
    /// directory). Query files appear in generated code and messages relative to the current
    /// directory, or as `<queries dir name>/<file>` when outside it, so the output is the same
    /// on every machine.
    pub fn new(
        queries: impl Into<PathBuf>,
        sqlx_dir: impl Into<PathBuf>,
        out: impl Into<PathBuf>,
    ) -> Self {
        let queries = queries.into();
        let sqlx_dir = sqlx_dir.into();
        let hint = format!(
            "`pgtide prepare --queries {} --sqlx-dir {}`",
            queries.display(),
            sqlx_dir.display()
        );
        Self {
            queries,
            sqlx_dir,
            out: out.into(),
            regenerate_hint: hint,
            types: overrides::TypeOverrides::new(),
            derives: overrides::Derives::new(),
        }
    }

    /// Sets the command suggested when `.sqlx` is missing or stale (default: the matching
    /// `pgtide prepare` command line).
    pub fn regenerate_hint(mut self, hint: impl Into<String>) -> Self {
        self.regenerate_hint = hint.into();
        self
    }

    /// Sets the `codegen.types` table (see [`overrides`]): `prepare` describes the text
    /// casts it adds, `generate` maps the types with it.
    ///
    /// ```
    /// use pgtide_codegen::{Codegen, overrides::TypeOverrides};
    ///
    /// let types = TypeOverrides::from_entries([("tsvector", "String")])?;
    /// let codegen = Codegen::new("queries", ".sqlx", "src/queries").types(types);
    /// assert_eq!(codegen.types.get("tsvector"), Some("String"));
    /// # Ok::<(), pgtide_codegen::overrides::OverrideError>(())
    /// ```
    pub fn types(mut self, types: overrides::TypeOverrides) -> Self {
        self.types = types;
        self
    }

    /// Sets the `codegen.derives` list: the traits generated row structs derive besides
    /// `Debug`.
    ///
    /// ```
    /// use pgtide_codegen::{Codegen, overrides::Derives};
    ///
    /// let codegen = Codegen::new("queries", ".sqlx", "src/queries")
    ///     .derives(Derives::from_list(["Clone", "PartialEq"])?);
    /// assert_eq!(codegen.derives.attribute(), "#[derive(Debug, Clone, PartialEq)]");
    /// # Ok::<(), pgtide_codegen::overrides::DerivesError>(())
    /// ```
    pub fn derives(mut self, derives: overrides::Derives) -> Self {
        self.derives = derives;
        self
    }

    /// Parses every `*.sql` file of the queries directory, in file name order.
    pub fn parse(&self) -> Result<Vec<parse::QueryFile>, Error> {
        read_queries(&self.queries)
    }

    /// Describes every query against the database at `database_url` and writes `.sqlx/`;
    /// removes `query-*.json` files of queries that no longer exist. Opens
    /// [`prepare::SESSIONS`] connections and describes on all of them side by side.
    pub async fn prepare(&self, database_url: &str) -> Result<Vec<Change>, Error> {
        let opens = (0..prepare::SESSIONS).map(|_| prepare::open(database_url));
        let conns = futures_util::future::try_join_all(opens).await?;
        self.prepare_on_sessions(conns).await
    }

    /// As [`prepare`](Self::prepare), on a connection the caller opened (e.g. with pgtide's
    /// own connect rules: TLS verification, `require_auth`); closes it.
    pub async fn prepare_on(&self, conn: sqlx::PgConnection) -> Result<Vec<Change>, Error> {
        self.prepare_on_sessions(vec![conn]).await
    }

    /// As [`prepare_on`](Self::prepare_on), describing on all of `conns` side by side
    /// ([`prepare::prepare_sessions`]; the files written are the same for any number of
    /// connections); closes them.
    pub async fn prepare_on_sessions(
        &self,
        conns: Vec<sqlx::PgConnection>,
    ) -> Result<Vec<Change>, Error> {
        let files = self.parse()?;
        let sessions = conns.into_iter().map(prepare::describe_session);
        let mut conns = futures_util::future::try_join_all(sessions).await?;
        let prepared = prepare::prepare_sessions(&mut conns, &files).await;
        // The statements `gen` runs with the text casts of `codegen.types`, described too.
        let statements = match (&prepared, conns.first_mut()) {
            (Ok(prepared), Some(conn)) if !self.types.is_empty() => {
                let rel = relative_path(&self.out, &self.sqlx_dir);
                statements::describe(conn, &files, prepared, self.gen_options(&rel)).await
            }
            _ => Ok(Vec::new()),
        };
        for conn in conns {
            let _ = sqlx::Connection::close(conn).await;
        }
        let prepared = prepared?;
        let manifests: Vec<(String, String)> = files
            .iter()
            .map(|file| prepare::manifest(file, &prepared, true))
            .collect();
        let mut files: Vec<(String, String)> = prepared
            .into_iter()
            .flat_map(|p| {
                [
                    (p.file_name, p.contents),
                    (p.nullability_file, p.nullability),
                ]
            })
            .chain(manifests)
            .collect();
        for statement in statements? {
            // A statement may be another query's SQL: the same file, written once.
            if !files.iter().any(|(n, _)| *n == statement.file_name) {
                files.push((statement.file_name, statement.contents));
            }
        }
        Ok(persist::sync_dir(
            &self.sqlx_dir,
            &files,
            is_query_data,
            false,
        )?)
    }

    /// Re-describes every query against the database and returns those whose `.sqlx`
    /// entry or nullability decisions differ or are missing; writes nothing.
    pub async fn verify(&self, database_url: &str) -> Result<Vec<Drift>, Error> {
        self.verify_on(prepare::open(database_url).await?).await
    }

    /// As [`verify`](Self::verify), on a connection the caller opened.
    pub async fn verify_on(&self, conn: sqlx::PgConnection) -> Result<Vec<Drift>, Error> {
        let files = self.parse()?;
        let mut conn = prepare::describe_session(conn).await?;
        let catalog = nullability::Catalog::load(&mut conn)
            .await
            .map_err(prepare::PrepareError::Catalog)?;
        let mut drift = Vec::new();
        let mut fresh_queries = Vec::new();
        let read = |name: &str| std::fs::read(self.sqlx_dir.join(name)).ok();
        for file in &files {
            for query in &file.queries {
                let path = self.sqlx_dir.join(sqlx_data::file_name(&query.sql));
                let on_disk = read(&sqlx_data::file_name(&query.sql))
                    .zip(read(&nullability::store::file_name(&query.sql)));
                let (fresh, error) =
                    match prepare::prepare_query(&mut conn, &catalog, file, query).await {
                        Ok(p) => (Some(p), None),
                        Err(e) => (None, Some(e.to_string())),
                    };
                let same = match (&on_disk, &fresh) {
                    (Some((sqlx, ours)), Some(fresh)) => {
                        sqlx == fresh.contents.as_bytes() && ours == fresh.nullability.as_bytes()
                    }
                    _ => false,
                };
                if !same {
                    drift.push(Drift {
                        location: query.location(file),
                        name: query.name.clone(),
                        file: path,
                        missing: on_disk.is_none(),
                        error,
                        cast_statement: false,
                    });
                }
                fresh_queries.extend(fresh);
            }
        }
        // The statements `gen` runs with text casts: described again as `prepare` did, from
        // the queries as they describe now.
        if !self.types.is_empty() {
            let rel = relative_path(&self.out, &self.sqlx_dir);
            let described =
                statements::describe(&mut conn, &files, &fresh_queries, self.gen_options(&rel))
                    .await;
            let (statements, errors) = match described {
                Ok(statements) => (statements, Vec::new()),
                Err(prepare::PrepareError::Failed(errors)) => (Vec::new(), errors),
                Err(other) => (Vec::new(), vec![other]),
            };
            for statement in statements {
                let on_disk = read(&statement.file_name);
                if on_disk.as_deref() != Some(statement.contents.as_bytes()) {
                    drift.push(Drift {
                        location: statement.location,
                        name: statement.name,
                        file: self.sqlx_dir.join(&statement.file_name),
                        missing: on_disk.is_none(),
                        error: None,
                        cast_statement: true,
                    });
                }
            }
            for error in errors {
                let (location, name) = match &error {
                    prepare::PrepareError::Query { location, name, .. } => {
                        (location.clone(), name.clone())
                    }
                    _ => (String::new(), String::new()),
                };
                drift.push(Drift {
                    location,
                    name,
                    file: self.sqlx_dir.clone(),
                    missing: false,
                    error: Some(error.to_string()),
                    cast_statement: true,
                });
            }
        }
        let _ = sqlx::Connection::close(conn).await;
        Ok(drift)
    }

    /// Generates the Rust modules from the queries and `.sqlx/` (no database) and writes
    /// them; removes generated modules of `.sql` files that no longer exist.
    pub fn generate(&self) -> Result<Vec<Change>, Error> {
        self.sync(false)
    }

    /// Like [`generate`](Self::generate) but writes nothing: returns the files that would
    /// change (empty when the checked-in output is up to date).
    pub fn check(&self) -> Result<Vec<Change>, Error> {
        self.sync(true)
    }

    /// The generated files, in memory.
    pub fn render(&self) -> Result<Vec<generate::GeneratedFile>, Error> {
        let files = self.parse()?;
        let mut metadata = BTreeMap::new();
        for file in &files {
            for query in &file.queries {
                if metadata.contains_key(&query.sql) {
                    continue;
                }
                match sqlx_data::read(&self.sqlx_dir, &query.sql) {
                    Ok((data, bytes)) => {
                        let error = |source| Error::Metadata {
                            location: query.location(file),
                            name: query.name.clone(),
                            source,
                        };
                        let ours =
                            nullability::store::read(&self.sqlx_dir, &query.sql).map_err(error)?;
                        let entry = metadata_entry((data, bytes), ours).map_err(error)?;
                        metadata.insert(query.sql.clone(), entry);
                    }
                    // `gen` reports the missing entry with the query's location and the fix.
                    Err(sqlx_data::ReadError::Missing(_)) => {}
                    Err(source) => {
                        return Err(Error::Metadata {
                            location: query.location(file),
                            name: query.name.clone(),
                            source,
                        });
                    }
                }
            }
        }
        let rel = relative_path(&self.out, &self.sqlx_dir);
        let generated = generate::generate(&files, &metadata, self.gen_options(&rel))?;
        for file in &files {
            self.check_manifest(file, &metadata)?;
        }
        Ok(generated)
    }

    /// Refuses metadata that disagrees with the manifest `prepare` wrote beside it (an entry
    /// or decisions file changed by hand or by another tool): the generated module would
    /// otherwise record hashes the build then finds nowhere. Names the first such query.
    fn check_manifest(
        &self,
        file: &parse::QueryFile,
        metadata: &BTreeMap<String, generate::Metadata>,
    ) -> Result<(), Error> {
        let expected = manifest::render(
            file.queries
                .iter()
                .map(|q| (q.name.as_str(), metadata[&q.sql].hash().to_owned())),
        );
        let path = self.sqlx_dir.join(manifest::file_name(&file.module));
        let on_disk = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(generate::GenError {
                    location: format!("{}:1", file.path),
                    name: file.module.clone(),
                    message: format!(
                        "no module manifest {} (`pgtide prepare` writes it beside the .sqlx \
                         entries); run {}",
                        path.display(),
                        self.regenerate_hint
                    ),
                }
                .into());
            }
            Err(source) => return Err(Error::Read { path, source }),
        };
        let Some(i) = manifest::mismatch(&expected, &on_disk) else {
            return Ok(());
        };
        let (location, name, what) = match file.queries.get(i) {
            _ if !on_disk.starts_with(manifest::FORMAT) => (
                format!("{}:1", file.path),
                file.module.clone(),
                "the manifest is not in this pgtide's format (written by another version?)",
            ),
            Some(q) => (
                q.location(file),
                q.name.clone(),
                "its .sqlx entry or nullability decisions differ from what `pgtide prepare` \
                 recorded",
            ),
            None => (
                format!("{}:1", file.path),
                file.module.clone(),
                "the manifest lists other queries than the file has",
            ),
        };
        Err(generate::GenError {
            location,
            name,
            message: format!(
                "{what} in {} (edited by hand or by another tool?); run {}",
                path.display(),
                self.regenerate_hint
            ),
        }
        .into())
    }

    fn gen_options<'a>(&'a self, sqlx_dir_from_out: &'a str) -> generate::GenOptions<'a> {
        generate::GenOptions {
            sqlx_dir_from_out,
            regenerate_hint: &self.regenerate_hint,
            types: &self.types,
            derives: &self.derives,
        }
    }

    /// Per query and result column, pgtide's nullability decision and the rule that made it,
    /// from the decisions `prepare` stored (no database). Its `Display` is the output of
    /// `pgtide prepare --explain`.
    pub fn explain(&self) -> Result<nullability::explain::Explain, Error> {
        let files = self.parse()?;
        let mut queries = Vec::new();
        for file in &files {
            for query in &file.queries {
                let (ours, _) =
                    nullability::store::read(&self.sqlx_dir, &query.sql).map_err(|source| {
                        Error::Metadata {
                            location: query.location(file),
                            name: query.name.clone(),
                            source,
                        }
                    })?;
                let columns = ours
                    .columns
                    .into_iter()
                    .map(|c| nullability::explain::ExplainedColumn {
                        at: c
                            .decision
                            .rule
                            .line
                            .map(|l| format!("{}:{}", file.path, query.sql_line + l - 1)),
                        name: c.name,
                        decision: c.decision,
                    })
                    .collect();
                queries.push(nullability::explain::ExplainedQuery {
                    location: query.location(file),
                    name: query.name.clone(),
                    columns,
                });
            }
        }
        Ok(nullability::explain::Explain { queries })
    }

    fn sync(&self, check: bool) -> Result<Vec<Change>, Error> {
        let files: Vec<(String, String)> = self
            .render()?
            .into_iter()
            .map(|f| (f.name, f.contents))
            .collect();
        Ok(persist::sync_dir(&self.out, &files, is_generated, check)?)
    }
}

/// What `gen` needs of one query: its `.sqlx` entry with pgtide's decisions applied, and
/// the decisions file (both as parsed and as bytes).
fn metadata_entry(
    (mut data, bytes): (sqlx_data::QueryData, Vec<u8>),
    (ours, ours_bytes): (nullability::store::QueryNullability, Vec<u8>),
) -> Result<generate::Metadata, sqlx_data::ReadError> {
    apply_decisions(&mut data, &ours)?;
    let decisions = generate::Decisions {
        file_name: nullability::store::file_name(&data.query),
        bytes: ours_bytes,
        rules: ours
            .columns
            .into_iter()
            .map(|c| c.decision.rule.text)
            .collect(),
        embeds: ours.embeds,
    };
    Ok(generate::Metadata::new(data, bytes, Some(decisions)))
}

fn is_query_data(name: &str, _contents: &[u8]) -> bool {
    ((name.starts_with("query-") || name.starts_with("nullability-")) && name.ends_with(".json"))
        || manifest::is_manifest(name)
}

/// Replaces sqlx's plan-based `nullable` array of a `.sqlx` entry with pgtide's decisions.
fn apply_decisions(
    data: &mut sqlx_data::QueryData,
    ours: &nullability::store::QueryNullability,
) -> Result<(), sqlx_data::ReadError> {
    let columns = data.describe["columns"].as_array().map_or(0, Vec::len);
    if columns != ours.columns.len() {
        return Err(sqlx_data::ReadError::Invalid {
            path: nullability::store::file_name(&data.query),
            message: format!(
                "decides {} columns where the .sqlx entry has {columns}",
                ours.columns.len()
            ),
        });
    }
    data.describe["nullable"] = ours
        .columns
        .iter()
        .map(|c| serde_json::Value::Bool(c.decision.nullable))
        .collect();
    Ok(())
}

fn is_generated(name: &str, contents: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&contents[..contents.len().min(400)]);
    name.ends_with(".rs")
        && (head.contains("generated by `pgtide gen`")
            || head.contains("Generated by `pgtide gen`"))
}

/// Reads and parses every `*.sql` file in `dir`, sorted by name.
pub fn read_queries(dir: &Path) -> Result<Vec<parse::QueryFile>, Error> {
    let read = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Read { path, source }
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read(dir))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read(dir))?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "sql"));
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(read(&path))?;
        files.push(parse::parse_file(&shown_path(&path), &text)?);
    }
    Ok(files)
}

/// How a query file appears in messages and generated code, the same on every machine:
/// relative to the current directory when inside it, else from the queries directory's name
/// (`queries/authors.sql`); always with `/`.
fn shown_path(path: &Path) -> String {
    let cwd = normalize(&std::env::current_dir().unwrap_or_default());
    let full = normalize(&std::env::current_dir().unwrap_or_default().join(path));
    if full.len() > cwd.len() && full.starts_with(&cwd) {
        return full[cwd.len()..].join("/");
    }
    let start = full.len().saturating_sub(2);
    full[start..].join("/")
}

/// `to` relative to `from` (both relative to the current directory or absolute), with `/`
/// separators: how a file in `from` reaches `to` with `include_bytes!`.
pub fn relative_path(from: &Path, to: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let from = normalize(&cwd.join(from));
    let to = normalize(&cwd.join(to));
    let common = from
        .iter()
        .zip(to.iter())
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".into(); from.len() - common];
    parts.extend(to[common..].iter().cloned());
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

fn normalize(path: &Path) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn shown_paths_do_not_depend_on_the_machine() {
        use std::path::Path;
        let cwd = std::env::current_dir().unwrap();
        let inside = cwd.join("tests/golden/types");
        let files = super::read_queries(&inside).unwrap();
        assert_eq!(files[0].path, "tests/golden/types/input.sql");
        let files = super::read_queries(Path::new("./tests/golden/../golden/types")).unwrap();
        assert_eq!(files[0].path, "tests/golden/types/input.sql");
        let outside = std::env::temp_dir().join(format!("pgtide-shown-{}", std::process::id()));
        let queries = outside.join("queries");
        std::fs::create_dir_all(&queries).unwrap();
        std::fs::write(queries.join("a.sql"), "-- name: A :one\nSELECT 1").unwrap();
        let files = super::read_queries(&queries).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
        assert_eq!(files[0].path, "queries/a.sql");
    }

    #[test]
    fn relative_paths() {
        use std::path::Path;
        assert_eq!(
            super::relative_path(Path::new("src/queries"), Path::new(".sqlx")),
            "../../.sqlx"
        );
        assert_eq!(
            super::relative_path(Path::new("a/b"), Path::new("a/c/d")),
            "../c/d"
        );
        assert_eq!(
            super::relative_path(Path::new("./x"), Path::new("x/.sqlx")),
            ".sqlx"
        );
    }
}
