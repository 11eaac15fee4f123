//! Stage 2, the only stage that talks to a database: describe every query and render its
//! `.sqlx` file.
//!
//! Describes run on a few connections side by side ([`prepare_sessions`]), each with
//! `plan_cache_mode = force_generic_plan`, as sqlx's macros do: without it the server may
//! infer nullability from a custom plan and `.sqlx` differs from what `cargo sqlx prepare`
//! writes.
//!
//! Beside each `.sqlx` file, [`nullability`](crate::nullability) decides every result
//! column's nullability from the SQL and the catalog (read once per run), and
//! [`store`](crate::nullability::store) renders the decisions file. Every query is described
//! even when one fails, so one run reports them all.

use sqlx::postgres::PgDatabaseError;
use sqlx::{Connection, Executor, PgConnection, SqlSafeStr};

use crate::nullability::{self, Catalog, Decision, Rule, store};
use crate::parse::{Query, QueryFile};
use crate::sqlx_data;
use crate::typemap::ColumnName;

/// One `.sqlx` file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedQuery {
    /// `query-<hash>.json`.
    pub file_name: String,
    /// The file's exact contents.
    pub contents: String,
    /// `file:line` and name of the query, for reports.
    pub origin: String,
    /// `nullability-<hash>.json`: pgtide's decisions (see [`store`]).
    pub nullability_file: String,
    /// That file's exact contents.
    pub nullability: String,
}

/// Describing a query failed.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// Could not connect or configure the session.
    #[error("connecting to the database to describe queries: {0}")]
    Connect(#[source] sqlx::Error),
    /// The server rejected a query.
    #[error("{location}: query `{name}`: {message}")]
    Query {
        /// `file:line`, at the offending line when the server gave a position.
        location: String,
        /// The query's name.
        name: String,
        /// The server's message, plus a hint when one is known.
        message: String,
    },
    /// Reading the catalog for the nullability analysis failed.
    #[error("reading the catalog for the nullability analysis: {0}")]
    Catalog(#[source] sqlx::Error),
    /// One or more queries failed; nothing was written.
    #[error("{} failed to prepare; nothing was written:\n{}", plural(.0.len()), list(.0))]
    Failed(Vec<PrepareError>),
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 query".into()
    } else {
        format!("{n} queries")
    }
}

fn list(errors: &[PrepareError]) -> String {
    let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
    lines.join("\n")
}

/// Connects to `url`, with the session settings sqlx's macros use for describing.
///
/// sqlx's own URL rules apply here (`sslmode` defaults to `prefer`); an application's
/// connection, with pgtide's TLS rules, goes through [`describe_session`] instead.
pub async fn connect(url: &str) -> Result<PgConnection, PrepareError> {
    describe_session(open(url).await?).await
}

/// Opens a connection to `url`, as sqlx parses it.
pub(crate) async fn open(url: &str) -> Result<PgConnection, PrepareError> {
    PgConnection::connect(url)
        .await
        .map_err(PrepareError::Connect)
}

/// Sets up `conn` (however it was opened) with the session settings sqlx's macros use for
/// describing.
pub async fn describe_session(mut conn: PgConnection) -> Result<PgConnection, PrepareError> {
    conn.execute("SET plan_cache_mode = force_generic_plan")
        .await
        .map_err(PrepareError::Connect)?;
    Ok(conn)
}

/// How many describe sessions [`prepare_on_sessions`](crate::Codegen::prepare_on_sessions)
/// callers open: describes are round trips, so a few sessions side by side keep the server
/// busy while each waits (measured in the README's Performance section).
pub const SESSIONS: usize = 4;

/// Describes every query of `files` on `conn` and renders its `.sqlx` and decisions files.
///
/// Describes every query even when some fail; then fails with [`PrepareError::Failed`],
/// listing each failure with its `file:line`, so the caller writes nothing.
pub async fn prepare(
    conn: &mut PgConnection,
    files: &[QueryFile],
) -> Result<Vec<PreparedQuery>, PrepareError> {
    prepare_sessions(std::slice::from_mut(conn), files).await
}

/// [`prepare`] with the describes shared among `sessions` (each set up by
/// [`describe_session`]), run side by side; each session takes the next query when it is
/// free. The result does not depend on how many sessions there are or which described what:
/// files sorted by name, failures in query order.
///
/// Fails with [`PrepareError::Connect`] when `sessions` is empty.
pub async fn prepare_sessions(
    sessions: &mut [PgConnection],
    files: &[QueryFile],
) -> Result<Vec<PreparedQuery>, PrepareError> {
    let Some(first) = sessions.first_mut() else {
        return Err(PrepareError::Connect(sqlx::Error::Configuration(
            "no connection to describe the queries on".into(),
        )));
    };
    let catalog = Catalog::load(first).await.map_err(PrepareError::Catalog)?;
    let queries: Vec<(&QueryFile, &Query)> = files
        .iter()
        .flat_map(|file| file.queries.iter().map(move |query| (file, query)))
        .collect();
    let next = std::cell::Cell::new(0);
    let workers = sessions.iter_mut().map(|conn| {
        let (catalog, queries, next) = (&catalog, &queries, &next);
        async move {
            let mut done = Vec::new();
            loop {
                let i = next.get();
                let Some(&(file, query)) = queries.get(i) else {
                    return done;
                };
                next.set(i + 1);
                done.push((i, prepare_query(conn, catalog, file, query).await));
            }
        }
    });
    let mut results: Vec<_> = futures_util::future::join_all(workers)
        .await
        .into_iter()
        .flatten()
        .collect();
    results.sort_by_key(|(i, _)| *i);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (_, result) in results {
        match result {
            Ok(prepared) => out.push(prepared),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(PrepareError::Failed(errors));
    }
    out.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    out.dedup_by(|a, b| a.file_name == b.file_name);
    Ok(out)
}

/// The module manifest of `file` ([`crate::manifest`]) as `(file name, contents)`, from the
/// files [`prepare`] rendered for it (sorted by file name, as it returns them); `decisions`: whether its hashes cover the decisions
/// files (they do wherever those are written beside the entries, as `Codegen` does).
///
/// # Panics
///
/// When `prepared` lacks a query of `file` (it holds every query [`prepare`] was given).
pub fn manifest(file: &QueryFile, prepared: &[PreparedQuery], decisions: bool) -> (String, String) {
    let manifest = crate::manifest::render(file.queries.iter().map(|query| {
        let name = sqlx_data::file_name(&query.sql);
        let i = prepared
            .binary_search_by(|p| p.file_name.cmp(&name))
            .expect("prepare rendered every query");
        let p = &prepared[i];
        let ours = decisions.then_some(p.nullability.as_bytes());
        (
            query.name.as_str(),
            crate::manifest::query_hash(p.contents.as_bytes(), ours),
        )
    }));
    (crate::manifest::file_name(&file.module), manifest.text)
}

/// Describes one query of `file` and renders its `.sqlx` and decisions files.
pub async fn prepare_query(
    conn: &mut PgConnection,
    catalog: &Catalog,
    file: &QueryFile,
    query: &Query,
) -> Result<PreparedQuery, PrepareError> {
    let describe = describe(conn, file, query).await?;
    let names: Vec<&str> = describe.columns().iter().map(sqlx::Column::name).collect();
    Ok(PreparedQuery {
        file_name: sqlx_data::file_name(&query.sql),
        contents: sqlx_data::render(&query.sql, &describe),
        origin: format!("{} (`{}`)", query.location(file), query.name),
        nullability_file: store::file_name(&query.sql),
        nullability: {
            let (columns, embeds) = decide_with_embeds(catalog, file, query, &names)?;
            store::render_with_embeds(&query.sql, columns, embeds)
        },
    })
}

/// [`decide`], and where each `sqlc.embed(table)` of `query` lands in the result (an error
/// at the embed's `file:line` when the analysis cannot place it).
pub fn decide_with_embeds(
    catalog: &Catalog,
    file: &QueryFile,
    query: &Query,
    names: &[&str],
) -> Result<(Vec<store::StoredColumn>, Vec<store::StoredEmbed>), PrepareError> {
    let folded: Vec<String> = query
        .embeds
        .iter()
        .map(|e| match e.table.strip_prefix('"') {
            Some(quoted) => quoted.trim_end_matches('"').to_owned(),
            None => e.table.to_lowercase(),
        })
        .collect();
    let params: Vec<bool> = query.params.iter().map(|p| p.nullable).collect();
    let (_, placed) =
        nullability::analyze_with_embeds(&query.sql, &params, catalog, names.len(), &folded);
    let placed = placed.map_err(|why| PrepareError::Query {
        location: format!("{}:{}", file.path, query.embeds[0].line),
        name: query.name.clone(),
        message: format!(
            "pgtide cannot tell which result columns `sqlc.embed({})` stands for: {why}",
            query.embeds[0].table
        ),
    })?;
    let embeds = query
        .embeds
        .iter()
        .zip(placed)
        .map(|(e, p)| store::StoredEmbed {
            table: e.table.clone(),
            start: p.start,
            nullable: p.nullable,
            outer: p.outer,
        })
        .collect();
    Ok((decide(catalog, query, names), embeds))
}

/// pgtide's decision for each result column (`names` as the server describes them): an
/// override (`"x!"`, `"x?"`) wins, else the analysis of the SQL.
pub fn decide(catalog: &Catalog, query: &Query, names: &[&str]) -> Vec<store::StoredColumn> {
    let params: Vec<bool> = query.params.iter().map(|p| p.nullable).collect();
    let decisions = nullability::analyze(&query.sql, &params, catalog, names.len());
    names
        .iter()
        .zip(decisions)
        .map(|(name, decision)| {
            let decision = match ColumnName::parse(name).nullable {
                Some(nullable) => Decision {
                    nullable,
                    rule: Rule {
                        text: format!("override `{name}`"),
                        line: None,
                    },
                },
                None => decision,
            };
            store::StoredColumn {
                name: (*name).to_owned(),
                decision,
            }
        })
        .collect()
}

async fn describe(
    conn: &mut PgConnection,
    file: &QueryFile,
    query: &Query,
) -> Result<sqlx::Describe<sqlx::Postgres>, PrepareError> {
    match conn
        .describe(sqlx::AssertSqlSafe(query.sql.clone()).into_sql_str())
        .await
    {
        Ok(describe) => Ok(describe),
        Err(err) => Err(query_error(conn, file, query, err).await),
    }
}

async fn query_error(
    conn: &mut PgConnection,
    file: &QueryFile,
    query: &Query,
    err: sqlx::Error,
) -> PrepareError {
    let mut line = query.line;
    let mut message = err.to_string();
    if let Some(db) = err
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<PgDatabaseError>())
    {
        message = format!("{} (SQLSTATE {})", db.message(), db.code());
        if let Some(sqlx::postgres::PgErrorPosition::Original(pos)) = db.position() {
            // `pos` counts characters from 1.
            let before: String = query.sql.chars().take(pos.saturating_sub(1)).collect();
            line = query.sql_line + before.matches('\n').count();
        }
        let hint = match db.hint() {
            Some(hint) => Some(hint.to_owned()),
            None => suggest(conn, db.message()).await,
        };
        if let Some(hint) = hint {
            message.push_str("; hint: ");
            message.push_str(&hint);
        }
        // `sqlc.embed(x)` became `x.*`: say so when `x` is what the server does not know.
        if let Some(embed) = query.embeds.iter().find(|e| {
            db.message()
                == format!(
                    "missing FROM-clause entry for table \"{}\"",
                    e.table.trim_matches('"')
                )
        }) {
            line = embed.line;
            message = format!(
                "`sqlc.embed({})` names no table or alias of the query's FROM clause ({message})",
                embed.table
            );
        }
    }
    PrepareError::Query {
        location: format!("{}:{line}", file.path),
        name: query.name.clone(),
        message,
    }
}

/// For "column \"x\" does not exist" and "relation \"x\" does not exist", the closest name in
/// the schema.
async fn suggest(conn: &mut PgConnection, message: &str) -> Option<String> {
    let (kind, catalog) = if message.starts_with("column ") {
        (
            "column",
            "SELECT DISTINCT column_name::text FROM information_schema.columns \
             WHERE table_schema = ANY (current_schemas(false))",
        )
    } else if message.starts_with("relation ") {
        (
            "table",
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = ANY (current_schemas(false))",
        )
    } else {
        return None;
    };
    let wrong = message.split('"').nth(1)?;
    let wrong = wrong.rsplit('.').next().unwrap_or(wrong);
    let names: Vec<String> = sqlx::query_scalar(catalog)
        .fetch_all(&mut *conn)
        .await
        .ok()?;
    let (distance, best) = names
        .iter()
        .map(|n| (edit_distance(wrong, n), n))
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))?;
    (distance <= wrong.len().max(2) / 2 + 1 && distance > 0)
        .then(|| format!("did you mean {kind} \"{best}\"?"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn edit_distance() {
        assert_eq!(super::edit_distance("nmae", "name"), 2);
        assert_eq!(super::edit_distance("titel", "title"), 2);
        assert_eq!(super::edit_distance("", "ab"), 2);
    }
}
