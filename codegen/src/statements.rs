//! `prepare`'s second step when the `codegen.types` table makes `gen` add text casts
//! ([`crate::overrides`]): the statement that will run differs from the query's SQL, so it is
//! described too. The server checks it (an error points at the query's `file:line`), and its
//! `.sqlx` entry is written beside the query's, so `.sqlx` describes the SQL that runs.

use std::collections::BTreeMap;

use sqlx::{Executor as _, PgConnection, SqlSafeStr as _};

use crate::generate::{GenOptions, statement_sql};
use crate::parse::QueryFile;
use crate::prepare::{PrepareError, PreparedQuery};
use crate::{metadata_entry, nullability, sqlx_data};

/// The `.sqlx` entry of one statement with text casts, and the query it runs for.
#[derive(Debug)]
pub(crate) struct CastStatement {
    /// `file:line` of the query.
    pub(crate) location: String,
    /// The query's name.
    pub(crate) name: String,
    /// The entry's file name in the `.sqlx` directory.
    pub(crate) file_name: String,
    /// The entry, as `prepare` writes it.
    pub(crate) contents: String,
}

/// Describes every statement with text casts of `files` (whose queries `prepared` holds);
/// returns their `.sqlx` entries. A query `gen` would refuse is left to `gen` to report.
/// `prepare` writes the entries; `verify` compares them with the files.
pub(crate) async fn describe(
    conn: &mut PgConnection,
    files: &[QueryFile],
    prepared: &[PreparedQuery],
    options: GenOptions<'_>,
) -> Result<Vec<CastStatement>, PrepareError> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        for query in &file.queries {
            let name = sqlx_data::file_name(&query.sql);
            let Some(p) = prepared.iter().find(|p| p.file_name == name) else {
                continue;
            };
            let parsed = serde_json::from_str(&p.contents).ok().zip(
                serde_json::from_str::<nullability::store::QueryNullability>(&p.nullability).ok(),
            );
            let Some((data, ours)) = parsed else {
                continue;
            };
            let Ok(entry) = metadata_entry(
                (data, p.contents.clone().into_bytes()),
                (ours, p.nullability.clone().into_bytes()),
            ) else {
                continue;
            };
            let metadata = BTreeMap::from([(query.sql.clone(), entry)]);
            let Ok(sql) = statement_sql(file, query, &metadata, options) else {
                continue;
            };
            if sql == query.sql {
                continue;
            }
            match conn
                .describe(sqlx::AssertSqlSafe(sql.clone()).into_sql_str())
                .await
            {
                Ok(described) => out.push(CastStatement {
                    location: query.location(file),
                    name: query.name.clone(),
                    file_name: sqlx_data::file_name(&sql),
                    contents: sqlx_data::render(&sql, &described),
                }),
                Err(err) => errors.push(PrepareError::Query {
                    location: query.location(file),
                    name: query.name.clone(),
                    message: format!(
                        "the statement with the text casts of `codegen.types` fails to prepare: {}; map the type to a type of yours instead, or cast in the SQL",
                        err.as_database_error()
                            .map_or_else(|| err.to_string(), |db| db.message().to_owned())
                    ),
                }),
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(PrepareError::Failed(errors))
    }
}
