//! PgBouncer in transaction mode (`pgbouncer = true`).
//!
//! Behind PgBouncer's `pool_mode = transaction`, a client connection is lent a server
//! connection for one transaction at a time, and a statement outside a transaction is a
//! transaction of its own. Three things pgtide does on a direct connection break there, so the
//! `pgbouncer` key changes them:
//!
//! - **Session settings.** PgBouncer refuses the startup packet's `options`, where pgtide
//!   normally sends `statement_timeout`, `lock_timeout`,
//!   `idle_in_transaction_session_timeout`, `search_path` and `settings`; and a session-level
//!   `SET` would leak to whichever client gets that server connection next. In this mode
//!   nothing is sent at startup: every transaction pgtide opens applies the settings with
//!   `set_config(name, value, true)` (`SET LOCAL`) in the round trip of its `BEGIN`, so they
//!   hold for that transaction only, on whatever server connection runs it.
//! - **Prepared statements.** sqlx prepares a statement (`Parse`, `Sync`) and executes it
//!   (`Bind`, `Execute`, `Sync`) in two exchanges; between them PgBouncer may hand the server
//!   connection to another client, unless a transaction is open. So a statement through
//!   `&Pool` runs in a transaction of its own (`BEGIN` + the settings, the statement, then
//!   `COMMIT`: two round trips more than on a direct connection), as an unnamed statement;
//!   the statement cache is off (`statement_cache_capacity(0)`).
//! - **Per-call timeouts.** The cancel of [`crate::query`]'s per-call timeouts
//!   (`pg_cancel_backend(pid)` from a second session) would hit whichever backend has that
//!   pid, not the client's. In this mode a per-call timeout is the server's own
//!   `statement_timeout`, set with `SET LOCAL` in a transaction around the call (inside the
//!   caller's transaction, if one is open); the call returns [`Error::Timeout`] when the
//!   server cancels the statement. If no reply arrives within a second after the deadline,
//!   the connection is closed instead of reused.
//!
//! What you do: statements with parameters on a raw connection (`&mut *conn` of a
//! [`PooledConnection`](crate::PooledConnection)) **outside a transaction** are not safe
//! behind PgBouncer (see the second point): use `&pool`, [`Pool::transaction`] or
//! [`Pool::begin`] for them. `LISTEN`, session advisory locks, `PREPARE` and temporary tables
//! that outlive a transaction do not work behind PgBouncer in transaction mode, whatever the
//! client. Configure PgBouncer with [`REQUIRED_SETTINGS`] (`pgtide server hints --pgbouncer`
//! prints them): sqlx names the statements it prepares inside a transaction (`sqlx_s_1`, …)
//! per client connection, so the server connection must forget them when it is handed back,
//! or the next client's `sqlx_s_1` collides with them.
//!
//! [`Error::Timeout`]: crate::Error::Timeout
//! [`Pool::transaction`]: crate::Pool::transaction
//! [`Pool::begin`]: crate::Pool::begin

use std::time::Duration;

use sqlx::postgres::{PgArguments, PgStatement};
use sqlx::{Execute, PgConnection, Postgres, SqlStr};

use crate::config::SessionSettings;
use crate::config::startup::{MAX_SESSION_TIMEOUT, millis, startup_settings};
use crate::error::Result;

/// The `pgbouncer.ini` settings (`[pgbouncer]` section) pgtide's PgBouncer mode needs, with
/// why. `pool_mode = session` needs none of this (and no `pgbouncer = true`).
pub const REQUIRED_SETTINGS: &[(&str, &str, &str)] = &[
    (
        "pool_mode",
        "transaction",
        "the mode `pgbouncer = true` is for",
    ),
    (
        "server_reset_query",
        "DEALLOCATE ALL",
        "forget the statements sqlx named inside a transaction before another client gets the server connection",
    ),
    (
        "server_reset_query_always",
        "1",
        "run that reset in transaction mode too",
    ),
    (
        "ignore_startup_parameters",
        "extra_float_digits",
        "sqlx sends it at startup; PgBouncer refuses unknown startup parameters",
    ),
];

/// A string as an SQL literal: `'…'` with quotes doubled (`E'…'` with backslashes doubled
/// when it holds one, so the result does not depend on `standard_conforming_strings`).
pub(crate) fn literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if text.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// `set_config(…, true)` calls for `settings`, comma-separated (empty when there are none).
fn set_local_calls(settings: &[(String, String)]) -> String {
    settings
        .iter()
        .map(|(name, value)| format!("set_config({}, {}, true)", literal(name), literal(value)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What follows `BEGIN …` in the same round trip: `; SELECT set_config(…, true), …` for the
/// session settings, with `statement_timeout` replaced by `timeout` when given. Empty when
/// nothing is to be set.
pub(crate) fn after_begin(session: &SessionSettings, timeout: Option<Duration>) -> String {
    let mut settings = startup_settings(session);
    // `default_transaction_read_only` set after `BEGIN` would not change the transaction
    // already begun: make it read-only itself (a read-only pool, `Config::for_replicas`).
    if settings.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("default_transaction_read_only")
            && matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "on" | "true" | "yes" | "1"
            )
    }) {
        settings.push(("transaction_read_only".into(), "on".into()));
    }
    if let Some(timeout) = timeout {
        settings.retain(|(name, _)| name != "statement_timeout");
        let timeout = timeout.min(MAX_SESSION_TIMEOUT);
        settings.push(("statement_timeout".into(), millis(timeout)));
    }
    if settings.is_empty() {
        String::new()
    } else {
        format!("; SELECT {}", set_local_calls(&settings))
    }
}

/// `SELECT set_config('statement_timeout', …, true)` for `timeout`, or back to the
/// session's configured value (`None`); the server's own setting when none is configured.
pub(crate) fn set_local_statement_timeout(
    session: &SessionSettings,
    timeout: Option<Duration>,
) -> String {
    let value = match timeout.or(session.statement_timeout) {
        Some(t) => millis(t.min(MAX_SESSION_TIMEOUT)),
        None => return "SET LOCAL statement_timeout TO DEFAULT".into(),
    };
    format!(
        "SELECT set_config('statement_timeout', {}, true)",
        literal(&value)
    )
}

/// Runs `work` on `raw` in a transaction of its own that applies the session settings
/// (`begin`: `BEGIN; SELECT set_config(…)`): committed when `work` succeeds, rolled back
/// when it fails with a server error. On any other failure the connection is out of step
/// and the caller's guard discards it.
pub(crate) async fn in_transaction<T>(
    raw: &mut PgConnection,
    begin: &str,
    work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
) -> Result<T> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(begin.to_owned()))
        .execute(&mut *raw)
        .await?;
    match work(raw).await {
        Ok(value) => {
            sqlx::raw_sql("COMMIT").execute(&mut *raw).await?;
            Ok(value)
        }
        Err(err) => {
            if err.sqlstate().is_some() {
                sqlx::raw_sql("ROLLBACK").execute(&mut *raw).await?;
            }
            Err(err)
        }
    }
}

/// A query as pgtide's `&Pool` executor runs it: its SQL and arguments, prepared as a named
/// (cached) statement or, behind PgBouncer, as the unnamed one.
pub(crate) struct Statement {
    pub(crate) sql: SqlStr,
    pub(crate) args: Option<PgArguments>,
    pub(crate) persistent: bool,
}

impl Statement {
    /// `query` taken apart (sqlx's `Execute` gives its SQL only by value), to be judged and
    /// put back together for the driver.
    pub(crate) fn from_query<'q, E: Execute<'q, Postgres>>(
        mut query: E,
    ) -> std::result::Result<Self, sqlx::Error> {
        let persistent = query.persistent();
        let args = query.take_arguments().map_err(sqlx::Error::Encode)?;
        Ok(Self {
            sql: query.sql(),
            args,
            persistent,
        })
    }
}

impl Execute<'_, Postgres> for Statement {
    fn sql(self) -> SqlStr {
        self.sql
    }

    fn statement(&self) -> Option<&PgStatement> {
        None
    }

    fn take_arguments(
        &mut self,
    ) -> std::result::Result<Option<PgArguments>, sqlx::error::BoxDynError> {
        Ok(self.args.take())
    }

    fn persistent(&self) -> bool {
        self.persistent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted_whatever_they_hold() {
        assert_eq!(literal("app, public"), "'app, public'");
        assert_eq!(literal("o'brien"), "'o''brien'");
        assert_eq!(literal(r"a\'b"), r"E'a\\''b'");
    }

    #[test]
    fn settings_follow_begin_with_the_timeout_replaced() {
        let session = SessionSettings {
            statement_timeout: Some(Duration::from_secs(30)),
            search_path: Some("app".into()),
            idle_in_transaction_session_timeout: None,
            ..SessionSettings::default()
        };
        assert_eq!(
            after_begin(&session, None),
            "; SELECT set_config('statement_timeout', '30000ms', true), \
             set_config('search_path', 'app', true)"
        );
        assert_eq!(
            after_begin(&session, Some(Duration::from_millis(200))),
            "; SELECT set_config('search_path', 'app', true), \
             set_config('statement_timeout', '200ms', true)"
        );
        let none = SessionSettings {
            statement_timeout: None,
            lock_timeout: None,
            idle_in_transaction_session_timeout: None,
            search_path: None,
            extra: Default::default(),
        };
        assert_eq!(after_begin(&none, None), "");
        assert_eq!(
            set_local_statement_timeout(&none, None),
            "SET LOCAL statement_timeout TO DEFAULT"
        );
    }
}
