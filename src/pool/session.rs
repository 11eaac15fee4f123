//! [`Session`]: the pooled connection lent to a boxed body ([`Pool::idempotent_boxed`],
//! [`Pool::with_timeout_boxed`]), which sees every statement the body runs and so knows
//! whether the body could have changed the session.
//!
//! A body handed the raw `&mut PgConnection` could have run anything, so the connection is
//! reset before the next borrower (a round trip of its own; see [`crate::pool::reset`]). A
//! body handed a `Session` runs its statements through `&mut Session` (a sqlx executor);
//! each is classified on the way ([`may_change_session`]): a query or a write that names
//! nothing session-changing leaves the connection as it was, anything else (or
//! [`Session::raw`]) marks it for the reset. So a body that only reads and writes rows pays
//! nothing, and one that runs `SET`, `set_config`, `LISTEN`, an advisory lock or creates a
//! temp table still has its session reset.
//!
//! Limit: only the statement's text is looked at. A function of your own or a trigger that
//! changes session state (`SELECT my_fn()` running `set_config`) is not seen. Run such calls
//! through [`Session::raw`].
//!
//! [`Pool::idempotent_boxed`]: crate::Pool::idempotent_boxed
//! [`Pool::with_timeout_boxed`]: crate::Pool::with_timeout_boxed

use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Either, Execute, Executor, PgConnection, Postgres, SqlStr};

use super::guard::{Busy, Conn};
use crate::pgbouncer::Statement;

/// A pooled connection lent to a boxed body: `&mut Session` is a sqlx executor (pass
/// `&mut *session`, or `session` itself, where sqlx or generated code wants one). Statements
/// that may change the session mark it for a reset before the next borrower; reads do not
/// (see the module docs of `src/pool/session.rs`).
pub struct Session<'c> {
    conn: &'c mut Conn,
    /// The operation the body runs in (entered by the caller, left after the body).
    entered: &'c Busy,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("pid", &self.conn.pid)
            .finish_non_exhaustive()
    }
}

impl<'c> Session<'c> {
    pub(crate) fn new(conn: &'c mut Conn, entered: &'c Busy) -> Self {
        Self { conn, entered }
    }

    /// The raw sqlx connection, for what `&mut Session` does not offer (a sqlx transaction,
    /// `COPY`, APIs that take `&mut PgConnection`). The session is reset before the next
    /// borrower, as anything could have run on it.
    pub fn raw(&mut self) -> &mut PgConnection {
        self.conn.raw_for_work(self.entered)
    }

    /// `query` taken apart, the session marked when its SQL may change it.
    fn classify<'q, E: Execute<'q, Postgres>>(
        &mut self,
        query: E,
    ) -> Result<(&mut PgConnection, Statement), sqlx::Error> {
        let statement = Statement::from_query(query)?;
        Ok((
            self.conn.raw_for_statement(self.entered, &statement.sql),
            statement,
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
        self.conn
            .raw_for_reads(self.entered)
            .prepare_with(sql, parameters)
    }

    fn describe<'e>(
        self,
        sql: SqlStr,
    ) -> BoxFuture<'e, Result<sqlx::Describe<Postgres>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.conn.raw_for_reads(self.entered).describe(sql)
    }
}

/// What [`may_change_session`] said about the SQL texts a connection ran last, so that a
/// statement run again costs a few pointer comparisons instead of a pass over its text.
#[derive(Debug, Default)]
pub(crate) struct Verdicts {
    known: Vec<(SqlStr, bool)>,
    /// The entry replaced next once `known` is full.
    next: usize,
}

impl Verdicts {
    /// How many texts a connection remembers (a pool's hot statements are few).
    const REMEMBERED: usize = 16;

    /// Whether running `sql` may change the session.
    pub(crate) fn may_change(&mut self, sql: &SqlStr) -> bool {
        let text = sql.as_str();
        // The same address and length is the same text: each remembered text is kept alive
        // by its entry (a static string, or a share of its `Arc`), so its memory cannot
        // have been reused for another.
        if let Some((_, verdict)) = self
            .known
            .iter()
            .find(|(k, _)| std::ptr::eq(k.as_str(), text))
        {
            return *verdict;
        }
        let verdict = may_change_session(text);
        let kept = sql.clone();
        // sqlx shares static and `Arc` texts on clone and copies the others: a copy would
        // never be found again, so it is not remembered.
        if std::ptr::eq(kept.as_str(), text) {
            if self.known.len() < Self::REMEMBERED {
                self.known.push((kept, verdict));
            } else {
                self.known[self.next] = (kept, verdict);
                self.next = (self.next + 1) % Self::REMEMBERED;
            }
        }
        verdict
    }
}

/// Whether running `sql` may change session state that outlives it (settings, roles,
/// session advisory locks, temp tables, listeners, prepared statements, cursors, sequence
/// state, large objects, dblink connections). Errs on the side of "yes": only a single
/// `SELECT`/`WITH`/`VALUES`/`TABLE`/`INSERT`/`UPDATE`/`DELETE`/`MERGE` statement that names
/// none of the functions and keywords of [`changes_session`] counts as leaving the session
/// as it was. Every word of the SQL is looked at (string literals and comments too, which can
/// only make it say "yes"). What the text does not show is not seen: a function of your own
/// or a trigger that calls `set_config` (see the module docs).
///
/// One pass over the bytes: it runs on every statement through `&Pool` and a [`Session`].
pub(crate) fn may_change_session(sql: &str) -> bool {
    let bytes = sql.as_bytes().trim_ascii();
    // The first word: a plain statement that itself leaves the session as it was, or the
    // text is not looked into (a leading comment, another statement).
    let first_end = bytes
        .iter()
        .position(|&b| !WORD_BYTES[usize::from(b)])
        .unwrap_or(bytes.len());
    if !leaves_session(&bytes[..first_end]) {
        return true;
    }
    let mut i = first_end;
    while i < bytes.len() {
        let b = bytes[i];
        if WORD_BYTES[usize::from(b)] {
            let start = i;
            while i < bytes.len() && WORD_BYTES[usize::from(bytes[i])] {
                i += 1;
            }
            if changes_session(&bytes[start..i]) {
                return true;
            }
            continue;
        }
        if b == b';' && !bytes[i..].iter().all(|&b| b == b';') {
            // Two statements (a simple-protocol batch): not looked into.
            return true;
        }
        i += 1;
    }
    false
}

/// ASCII letters, digits and `_`, as a table (a lookup per byte).
static WORD_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    table
};

/// A statement's first word when the statement itself leaves the session as it was.
fn leaves_session(word: &[u8]) -> bool {
    const FIRST: [&[u8]; 8] = [
        b"select", b"with", b"values", b"table", b"insert", b"update", b"delete", b"merge",
    ];
    FIRST.iter().any(|k| word.eq_ignore_ascii_case(k))
}

/// One word of SQL that names a function or keyword changing session state: `set_config`,
/// `nextval`/`setval` (`currval`), `TEMP`/`TEMPORARY` tables, session advisory locks, `dblink`
/// connections, large objects (`lo_*`). Dispatches on the first letter: most words of a query
/// are rejected after one comparison.
fn changes_session(word: &[u8]) -> bool {
    let is = |name: &[u8]| word.eq_ignore_ascii_case(name);
    let starts = |prefix: &[u8]| {
        word.len() >= prefix.len() && word[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    match word[0].to_ascii_lowercase() {
        b's' => is(b"set_config") || is(b"setval"),
        b'n' => is(b"nextval"),
        b't' => is(b"temp") || is(b"temporary"),
        b'p' => starts(b"pg_advisory") || starts(b"pg_try_advisory"),
        b'd' => starts(b"dblink"),
        b'l' => starts(b"lo_"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{Verdicts, may_change_session};
    use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

    #[test]
    fn verdicts_are_remembered_per_shared_text_and_not_for_copies() {
        let mut verdicts = Verdicts::default();
        let read = SqlStr::from_static("SELECT 1");
        let set = AssertSqlSafe(std::sync::Arc::<str>::from("SET x = 1")).into_sql_str();
        for _ in 0..3 {
            assert!(!verdicts.may_change(&read));
            assert!(verdicts.may_change(&set));
        }
        assert_eq!(verdicts.known.len(), 2, "each shared text judged once");
        // An owned string is copied by sqlx on clone: judged every time, never remembered.
        let owned = AssertSqlSafe(String::from("SELECT pg_advisory_lock(1)")).into_sql_str();
        assert!(verdicts.may_change(&owned));
        assert_eq!(verdicts.known.len(), 2);
        // Full: the oldest entry makes room.
        let texts: Vec<SqlStr> = (0..Verdicts::REMEMBERED)
            .map(|i| {
                AssertSqlSafe(std::sync::Arc::<str>::from(format!("SELECT {i} AS n")))
                    .into_sql_str()
            })
            .collect();
        for text in &texts {
            assert!(!verdicts.may_change(text));
        }
        assert_eq!(verdicts.known.len(), Verdicts::REMEMBERED);
        assert!(!verdicts.known.iter().any(|(k, _)| k.as_str() == "SELECT 1"));
    }

    #[test]
    fn reads_do_not_change_the_session() {
        for sql in [
            "SELECT id, name FROM authors WHERE id = $1",
            "  select 1",
            "WITH x AS (SELECT 1) SELECT * FROM x;",
            "VALUES (1)",
            "TABLE authors",
            "SELECT count(*) FROM pg_class WHERE relname = $1",
            "INSERT INTO t VALUES (1) RETURNING id;  ",
            "UPDATE t SET x = 1",
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
            "SELECT * FROM t FOR UPDATE",
            "SELECT templates, lo, pg_adv, settings FROM t;;\n",
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
            "LISTEN ch",
            "PREPARE p AS SELECT 1",
            "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
            "CREATE TEMP TABLE t (x int)",
            "SELECT 1; SET x = 1",
            "-- comment\nSELECT 1",
            "/* c */ SELECT 1",
            "SET ROLE r",
            "SELECT dblink_connect('x')",
            "SELECT lo_open(1, 2)",
            "INSERT INTO audit SELECT set_config('app.tenant', '42', false)",
            "UPDATE t SET x = nextval('s')",
            "CREATE TABLE t (x int)",
            "BEGIN",
            "",
            "   ",
        ] {
            assert!(may_change_session(sql), "{sql}");
        }
    }
}
