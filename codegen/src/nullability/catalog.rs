//! What the analysis needs from the catalog, read once per `prepare` in three round trips:
//! every relation's columns with `attnotnull` (or a `NOT NULL` domain type), every view's
//! definition (`pg_get_viewdef`), every function name's strictness (`pg_proc.proisstrict`)
//! and the search path. Nothing here depends on the data or on statistics.

use std::collections::HashMap;

use sqlx::PgConnection;

/// One column of a table or view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogColumn {
    /// Its name.
    pub name: String,
    /// `attnotnull`, or its type is a domain declared `NOT NULL`.
    pub not_null: bool,
}

/// A table, view, materialized view or foreign table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogRelation {
    /// Columns in `attnum` order.
    pub columns: Vec<CatalogColumn>,
    /// For a (materialized) view outside the system schemas: its definition.
    pub view: Option<String>,
}

/// The schema as the analysis sees it.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// `current_schemas(true)`: where unqualified names resolve, in order.
    pub search_path: Vec<String>,
    /// Relations by (schema, name).
    pub relations: HashMap<(String, String), CatalogRelation>,
    /// Per function name: whether every overload is strict (`proisstrict`), and whether
    /// every overload is a built-in (in `pg_catalog`).
    pub functions: HashMap<String, FunctionInfo>,
}

const RELATIONS: &str = "\
SELECT n.nspname::text, c.relname::text,
       CASE WHEN c.relkind IN ('v', 'm') AND n.nspname <> 'pg_catalog'
            THEN pg_get_viewdef(c.oid) END,
       coalesce(array_agg(a.attname::text ORDER BY a.attnum)
                FILTER (WHERE a.attnum IS NOT NULL), '{}'),
       coalesce(array_agg(a.attnotnull OR coalesce(t.typnotnull, false) ORDER BY a.attnum)
                FILTER (WHERE a.attnum IS NOT NULL), '{}')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_type t ON t.oid = a.atttypid
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg_toast%'
GROUP BY n.nspname, c.relname, c.relkind, c.oid";

const FUNCTIONS: &str = "SELECT proname::text, bool_and(proisstrict), \
     bool_and(pronamespace = 'pg_catalog'::regnamespace) FROM pg_proc GROUP BY proname";

/// What the catalog says about every function of one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionInfo {
    /// Every overload is strict (NULL in → NULL out).
    pub strict: bool,
    /// Every overload is a built-in, so none is a user's function of the same name.
    pub builtin: bool,
}

type RelationRow = (String, String, Option<String>, Vec<String>, Vec<bool>);

impl Catalog {
    /// Reads the catalog of the database `conn` is connected to.
    pub async fn load(conn: &mut PgConnection) -> Result<Self, sqlx::Error> {
        let search_path: Vec<String> = sqlx::query_scalar("SELECT current_schemas(true)::text[]")
            .fetch_one(&mut *conn)
            .await?;
        let rows: Vec<RelationRow> = sqlx::query_as(RELATIONS).fetch_all(&mut *conn).await?;
        let relations = rows
            .into_iter()
            .map(|(schema, name, view, names, not_null)| {
                let columns = names
                    .into_iter()
                    .zip(not_null)
                    .map(|(name, not_null)| CatalogColumn { name, not_null })
                    .collect();
                ((schema, name), CatalogRelation { columns, view })
            })
            .collect();
        let functions: Vec<(String, bool, bool)> =
            sqlx::query_as(FUNCTIONS).fetch_all(&mut *conn).await?;
        Ok(Self {
            search_path,
            relations,
            functions: functions
                .into_iter()
                .map(|(name, strict, builtin)| (name, FunctionInfo { strict, builtin }))
                .collect(),
        })
    }

    /// The relation `parts` names (`name` or `schema.name`), resolved like the server does.
    pub fn relation(&self, parts: &[String]) -> Option<(String, &CatalogRelation)> {
        match parts {
            [name] => self.search_path.iter().find_map(|schema| {
                self.relations
                    .get(&(schema.clone(), name.clone()))
                    .map(|r| (name.clone(), r))
            }),
            [.., schema, name] => self
                .relations
                .get(&(schema.clone(), name.clone()))
                .map(|r| (format!("{schema}.{name}"), r)),
            [] => None,
        }
    }

    /// What the catalog says about the functions called `name` (`None`: no such function).
    pub fn function(&self, name: &str) -> Option<FunctionInfo> {
        self.functions.get(name).copied()
    }
}
