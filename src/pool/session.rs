//! [`Session`]: the pooled connection lent to a boxed body ([`Pool::idempotent_boxed`],
//! [`Pool::with_timeout_boxed`]), which sees every statement the body runs and so knows
//! whether the body could have changed the session.
//!
//! A body handed the raw `&mut PgConnection` could have run anything, so the connection is
//! reset before the next borrower (a round trip of its own; see [`crate::pool::reset`]). A
//! body handed a `Session` runs its statements through `&mut Session` (a sqlx executor);
//! each is classified on the way ([`may_change_session`]): a read that cannot change the
//! session leaves the connection as it was, anything else (or [`Session::raw`]) marks it for
//! the reset. So a body that only reads pays nothing, and one that runs `SET`, `set_config`,
//! `LISTEN`, an advisory lock or a write still has its session reset.
//!
//! Limit: a function of your own that changes session state from inside a read
//! (`SELECT my_fn()` running `set_config`) is not seen, as it is not on `&Pool`. Run such
//! calls through [`Session::raw`].
//!
//! [`Pool::idempotent_boxed`]: crate::Pool::idempotent_boxed
//! [`Pool::with_timeout_boxed`]: crate::Pool::with_timeout_boxed

use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Either, Execute, Executor, PgConnection, Postgres, SqlStr};

use super::guard::Conn;
use crate::pgbouncer::Statement;

/// A pooled connection lent to a boxed body: `&mut Session` is a sqlx executor (pass
/// `&mut *session`, or `session` itself, where sqlx or generated code wants one). Statements
/// that may change the session mark it for a reset before the next borrower; reads do not
/// (see the [module docs](self)).
pub struct Session<'c> {
    conn: &'c mut Conn,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("pid", &self.conn.pid)
            .finish_non_exhaustive()
    }
}

impl<'c> Session<'c> {
    pub(crate) fn new(conn: &'c mut Conn) -> Self {
        Self { conn }
    }

    /// The raw sqlx connection, for what `&mut Session` does not offer (a sqlx transaction,
    /// `COPY`, APIs that take `&mut PgConnection`). The session is reset before the next
    /// borrower, as anything could have run on it.
    pub fn raw(&mut self) -> &mut PgConnection {
        self.conn.raw_for_borrower()
    }

    /// Takes `query` apart (sqlx's `Execute` gives its SQL only by value), marks the session
    /// when the SQL may change it, and puts it back together for the driver.
    fn classify<'q, E: Execute<'q, Postgres>>(
        &mut self,
        mut query: E,
    ) -> Result<(&mut PgConnection, Statement), sqlx::Error> {
        let persistent = query.persistent();
        let args = match query.take_arguments() {
            Ok(args) => args,
            Err(err) => return Err(sqlx::Error::Encode(err)),
        };
        let sql: SqlStr = query.sql();
        let raw = if may_change_session(sql.as_str()) {
            self.conn.raw_for_borrower()
        } else {
            self.conn.raw_for_reads()
        };
        Ok((
            raw,
            Statement {
                sql,
                args,
                persistent,
            },
        ))
    }
}

impl<'c> Executor<'c> for &'c mut Session<'_> {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        match self.classify(query) {
            Ok((raw, statement)) => raw.fetch_many(statement),
            Err(err) => Box::pin(futures_util::stream::once(std::future::ready(Err(err)))),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        match self.classify(query) {
            Ok((raw, statement)) => raw.fetch_optional(statement),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        // Parsing a statement changes nothing but sqlx's own statement cache.
        self.conn.raw_for_reads().prepare_with(sql, parameters)
    }

    fn describe<'e>(
        self,
        sql: SqlStr,
    ) -> BoxFuture<'e, Result<sqlx::Describe<Postgres>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.conn.raw_for_reads().describe(sql)
    }
}

/// Whether running `sql` may change session state that outlives it (settings, roles,
/// locks, temp tables, listeners, prepared statements, cursors, sequence state). Errs on the
/// side of "yes": only a single `SELECT`/`WITH`/`VALUES`/`TABLE` statement that names none
/// of the functions and keywords below counts as a read. Every word of the SQL is looked at
/// (string literals and comments too, which can only make it say "yes").
pub(crate) fn may_change_session(sql: &str) -> bool {
    let text = sql.trim_start();
    let first = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    let read = ["select", "with", "values", "table"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k));
    // Two statements (a simple-protocol batch) or a leading comment: not looked into.
    if !read || text.trim_end().trim_end_matches(';').contains(';') {
        return true;
    }
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(changes_session)
}

/// One word of SQL that changes session state (or writes, which can fire triggers that do).
fn changes_session(word: &str) -> bool {
    const WORDS: [&str; 11] = [
        "set_config",
        "nextval",
        "setval",
        "into",
        "insert",
        "update",
        "delete",
        "merge",
        "temp",
        "temporary",
        "for",
    ];
    const PREFIXES: [&str; 4] = ["pg_advisory", "pg_try_advisory", "dblink", "lo_"];
    let starts = |prefix: &str| {
        word.len() >= prefix.len()
            && word.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    };
    WORDS.iter().any(|w| word.eq_ignore_ascii_case(w)) || PREFIXES.iter().any(|p| starts(p))
}

#[cfg(test)]
mod tests {
    use super::may_change_session;

    #[test]
    fn reads_do_not_change_the_session() {
        for sql in [
            "SELECT id, name FROM authors WHERE id = $1",
            "  select 1",
            "WITH x AS (SELECT 1) SELECT * FROM x;",
            "VALUES (1)",
            "TABLE authors",
            "SELECT count(*) FROM pg_class WHERE relname = $1",
        ] {
            assert!(!may_change_session(sql), "{sql}");
        }
    }

    #[test]
    fn anything_else_may() {
        for sql in [
            "SET app.tenant = '42'",
            "set search_path = x",
            "RESET ALL",
            "SELECT set_config('app.user_id', '7', false)",
            "SELECT pg_catalog.SET_CONFIG('a', 'b', false)",
            "SELECT pg_advisory_lock(1)",
            "select pg_try_advisory_lock(1)",
            "SELECT nextval('s')",
            "SELECT * INTO TEMP t FROM authors",
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET x = 1",
            "LISTEN ch",
            "PREPARE p AS SELECT 1",
            "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
            "CREATE TEMP TABLE t (x int)",
            "SELECT 1; SET x = 1",
            "-- comment\nSELECT 1",
            "/* c */ SELECT 1",
            "SELECT * FROM t FOR UPDATE",
            "SET ROLE r",
            "SELECT dblink_connect('x')",
            "SELECT lo_open(1, 2)",
            "",
        ] {
            assert!(may_change_session(sql), "{sql}");
        }
    }
}
