//! Session state does not leak between borrowers: with a pool of one, what the first borrower
//! changed in its session is not seen by the second (see `pgtide::pool::reset`).

mod common;

use std::time::Duration;

use common::config;
use pgtide::{Pool, SessionReset, TxOptions};
use pgtide_testkit::TestDb;
use sqlx::PgConnection;

async fn pool_of_one(db: &TestDb) -> anyhow::Result<Pool> {
    let cfg = config(db, 1, 1)
        .statement_timeout(Some(Duration::from_secs(7)))
        .build()?;
    Ok(Pool::connect(&cfg).await?)
}

async fn scalar(conn: &mut PgConnection, sql: &'static str) -> String {
    sqlx::query_scalar::<_, Option<String>>(sql)
        .fetch_one(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_default()
}

/// One kind of session state: what the first borrower runs to change it, a probe, and the
/// value the probe has on a fresh session.
struct Kind {
    name: &'static str,
    change: String,
    probe: &'static str,
    fresh: String,
}

/// What a session can change. `user` is what `current_user` is on a fresh session.
fn kinds(role: &str, user: &str) -> Vec<Kind> {
    let kind = |name, change: String, probe, fresh: &str| Kind {
        name,
        change,
        probe,
        fresh: fresh.to_owned(),
    };
    vec![
        kind(
            "SET of a custom setting",
            "SET app.tenant = '42'".into(),
            "SELECT coalesce(current_setting('app.tenant', true), '')",
            "",
        ),
        kind(
            "set_config",
            "SELECT set_config('app.user_id', '7', false)".into(),
            "SELECT coalesce(current_setting('app.user_id', true), '')",
            "",
        ),
        kind(
            "search_path",
            "SET search_path = pg_catalog".into(),
            "SELECT current_setting('search_path')",
            "\"$user\", public",
        ),
        kind(
            "SET ROLE",
            format!("SET ROLE \"{role}\""),
            "SELECT current_user::text",
            user,
        ),
        kind(
            "advisory lock",
            "SELECT pg_advisory_lock(4242)".into(),
            "SELECT count(*)::text FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
            "0",
        ),
        kind(
            "temp table",
            "CREATE TEMP TABLE scratch (x int)".into(),
            "SELECT coalesce(to_regclass('pg_temp.scratch')::text, '')",
            "",
        ),
        kind(
            "LISTEN",
            "LISTEN some_channel".into(),
            "SELECT count(*)::text FROM pg_listening_channels()",
            "0",
        ),
        kind(
            "PREPARE",
            "PREPARE mine AS SELECT 1".into(),
            "SELECT count(*)::text FROM pg_prepared_statements WHERE from_sql",
            "0",
        ),
        kind(
            "WITH HOLD cursor",
            "BEGIN; DECLARE held CURSOR WITH HOLD FOR SELECT 1; COMMIT".into(),
            "SELECT count(*)::text FROM pg_cursors WHERE name = 'held'",
            "0",
        ),
        kind(
            "statement_timeout from the configuration stays",
            "SET statement_timeout = '1s'".into(),
            "SELECT current_setting('statement_timeout')",
            "7s",
        ),
    ]
}

async fn with_role(db: &TestDb) -> anyhow::Result<String> {
    let role = format!("{}_role", db.name());
    let mut admin = db.connect().await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE ROLE \"{role}\"")))
        .execute(&mut admin)
        .await?;
    let grant = format!("GRANT \"{role}\" TO CURRENT_USER");
    sqlx::raw_sql(sqlx::AssertSqlSafe(grant))
        .execute(&mut admin)
        .await?;
    Ok(role)
}

async fn drop_role(db: &TestDb, role: &str) -> anyhow::Result<()> {
    let mut admin = db.connect().await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP ROLE \"{role}\"")))
        .execute(&mut admin)
        .await?;
    Ok(())
}

/// A pool of one on a fresh database, with a role the kinds' `SET ROLE` switches to.
struct Sessions {
    db: TestDb,
    role: String,
    pool: Pool,
    user: String,
}

impl Sessions {
    async fn new() -> anyhow::Result<Self> {
        let db = TestDb::new().await?;
        let role = with_role(&db).await?;
        let pool = pool_of_one(&db).await?;
        let user = scalar(&mut *pool.acquire().await?, "SELECT current_user::text").await;
        Ok(Self {
            db,
            role,
            pool,
            user,
        })
    }

    fn kinds(&self) -> Vec<Kind> {
        kinds(&self.role, &self.user)
    }

    /// The next borrower's session shows `kind` as on a fresh session.
    async fn assert_next_sees_it_fresh(&self, kind: &Kind, after: &str) -> anyhow::Result<()> {
        let mut next = self.pool.acquire().await?;
        assert_eq!(
            scalar(&mut next, kind.probe).await,
            kind.fresh,
            "{}: leaked {after}",
            kind.name
        );
        Ok(())
    }

    async fn drop_role(self) -> anyhow::Result<()> {
        drop(self.pool);
        drop_role(&self.db, &self.role).await
    }
}

#[tokio::test]
async fn what_a_borrower_changed_is_not_seen_by_the_next() -> anyhow::Result<()> {
    let s = Sessions::new().await?;
    for kind in s.kinds() {
        let mut first = s.pool.acquire().await?;
        let pid = first.backend_pid().await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(kind.change.clone()))
            .execute(&mut *first)
            .await?;
        assert_ne!(
            scalar(&mut first, kind.probe).await,
            kind.fresh,
            "{}: the change took effect",
            kind.name
        );
        drop(first);
        let mut second = s.pool.acquire().await?;
        assert_eq!(
            second.backend_pid().await?,
            pid,
            "{}: the same connection",
            kind.name
        );
        drop(second);
        s.assert_next_sees_it_fresh(&kind, "to the next borrower")
            .await?;
    }
    s.drop_role().await
}

#[tokio::test]
async fn what_a_statement_through_the_pool_changed_is_not_seen_by_the_next() -> anyhow::Result<()> {
    let s = Sessions::new().await?;
    for kind in s.kinds() {
        // The simple protocol (`execute`, any statement) and the extended one
        // (`fetch_optional`, pgtide's hot path) where the change is a single statement.
        sqlx::raw_sql(sqlx::AssertSqlSafe(kind.change.clone()))
            .execute(&s.pool)
            .await?;
        s.assert_next_sees_it_fresh(&kind, "from a statement run through &Pool")
            .await?;
        if !kind.change.contains(';') && kind.name != "PREPARE" {
            sqlx::query(sqlx::AssertSqlSafe(kind.change.clone()))
                .fetch_optional(&s.pool)
                .await?;
            s.assert_next_sees_it_fresh(&kind, "from a prepared statement through &Pool")
                .await?;
        }
    }
    s.drop_role().await
}

/// Reads and plain writes through `&Pool` leave the session alone (no reset, which would
/// cost a round trip): a temp table left by an earlier borrower survives them, and goes with
/// the first statement that may change the session.
#[tokio::test]
async fn queries_and_writes_through_the_pool_cost_no_reset() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_of_one(&db).await?;
    sqlx::query("CREATE TABLE items (id int)")
        .execute(&pool)
        .await?;
    pool.set_session_reset(SessionReset::Never);
    sqlx::query("CREATE TEMP TABLE marker (x int)")
        .execute(&mut *pool.acquire().await?)
        .await?;
    pool.set_session_reset(SessionReset::AfterRawUse);
    let marker = "SELECT coalesce(to_regclass('pg_temp.marker')::text, '')";
    for statement in [
        "SELECT count(*) FROM items",
        "INSERT INTO items VALUES (1)",
        "UPDATE items SET id = 2",
        "WITH gone AS (DELETE FROM items RETURNING id) SELECT count(*) FROM gone",
    ] {
        sqlx::query(statement).execute(&pool).await?;
        let found: String = sqlx::query_scalar(marker).fetch_one(&pool).await?;
        assert_eq!(found, "marker", "reset after {statement}");
    }
    sqlx::query("SELECT set_config('app.tenant', '1', false)")
        .fetch_one(&pool)
        .await?;
    let found: String = sqlx::query_scalar(marker).fetch_one(&pool).await?;
    assert_eq!(found, "", "set_config through &Pool resets the session");
    Ok(())
}

#[tokio::test]
async fn what_a_transaction_body_changed_is_reset_before_commit() -> anyhow::Result<()> {
    let s = Sessions::new().await?;
    for kind in s.kinds() {
        let change = match kind.name {
            // Documented exception: the pre-commit reset does not look for SQL-level
            // prepared statements (see `pgtide::pool::reset`).
            "PREPARE" => continue,
            // BEGIN/COMMIT inside a body is not a thing; declared in the body instead.
            "WITH HOLD cursor" => "DECLARE held CURSOR WITH HOLD FOR SELECT 1".to_owned(),
            _ => kind.change.clone(),
        };
        s.pool
            .transaction(TxOptions::default(), async |tx| {
                sqlx::raw_sql(sqlx::AssertSqlSafe(change.clone()))
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            })
            .await?;
        s.assert_next_sees_it_fresh(&kind, "past the transaction")
            .await?;
        // The same through the transaction as executor (`&mut *tx`), which judges each
        // statement's text instead of resetting whatever ran.
        s.pool
            .transaction(TxOptions::default(), async |tx| {
                sqlx::raw_sql(sqlx::AssertSqlSafe(change.clone()))
                    .execute(&mut *tx)
                    .await?;
                Ok(())
            })
            .await?;
        s.assert_next_sees_it_fresh(&kind, "past the transaction, through `&mut *tx`")
            .await?;
    }
    s.drop_role().await
}

#[tokio::test]
async fn the_policy_never_leaves_session_state_alone() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_of_one(&db).await?;
    pool.set_session_reset(SessionReset::Never);
    let mut first = pool.acquire().await?;
    sqlx::query("SET app.tenant = '42'")
        .execute(&mut *first)
        .await?;
    drop(first);
    let mut second = pool.acquire().await?;
    let probe = "SELECT current_setting('app.tenant', true)";
    assert_eq!(scalar(&mut second, probe).await, "42");
    Ok(())
}

#[tokio::test]
async fn a_schema_change_under_a_cached_select_star_does_not_fail_the_next_call()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_of_one(&db).await?;
    let mut admin = db.connect().await?;
    sqlx::raw_sql("CREATE TABLE shape (a int); INSERT INTO shape VALUES (1)")
        .execute(&mut admin)
        .await?;
    let select = || sqlx::query("SELECT * FROM shape WHERE a = $1").bind(1_i32);
    // Cached (prepared) on the pool's only connection.
    let row = select().fetch_one(&pool).await?;
    assert_eq!(sqlx::Row::len(&row), 1);
    sqlx::raw_sql("ALTER TABLE shape ADD COLUMN b int")
        .execute(&mut admin)
        .await?;
    // The cached plan's result type changed: 0A000 on the server, cleared and run again.
    let row = select().fetch_one(&pool).await?;
    assert_eq!(sqlx::Row::len(&row), 2);
    sqlx::raw_sql("ALTER TABLE shape ADD COLUMN c int")
        .execute(&mut admin)
        .await?;
    // Inside a transaction body, the whole body runs again.
    let columns = pool
        .transaction(TxOptions::default(), async |tx| {
            Ok(sqlx::Row::len(&select().fetch_one(&mut **tx).await?))
        })
        .await?;
    assert_eq!(columns, 3);
    // And streamed through `&Pool`.
    sqlx::raw_sql("ALTER TABLE shape ADD COLUMN d int")
        .execute(&mut admin)
        .await?;
    let rows = select().fetch_all(&pool).await?;
    assert_eq!(sqlx::Row::len(&rows[0]), 4);
    // On a connection you hold, the error is yours, as sqlx reports it; clearing sqlx's
    // statement cache makes the statement run again.
    let mut held = pool.acquire().await?;
    sqlx::raw_sql("ALTER TABLE shape ADD COLUMN e int")
        .execute(&mut admin)
        .await?;
    let err = select().fetch_one(&mut *held).await.unwrap_err();
    assert_eq!(pgtide::Error::from(err).sqlstate(), Some("0A000"));
    sqlx::Connection::clear_cached_statements(&mut *held).await?;
    assert_eq!(sqlx::Row::len(&select().fetch_one(&mut *held).await?), 5);
    Ok(())
}

#[tokio::test]
async fn a_raw_begin_left_open_is_never_handed_out() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_of_one(&db).await?;
    let mut first = pool.acquire().await?;
    sqlx::raw_sql("BEGIN; CREATE TABLE half_done (x int)")
        .execute(&mut *first)
        .await?;
    drop(first);
    let mut second = pool.acquire().await?;
    // `SAVEPOINT` outside a transaction fails with 25P01 (no transaction in progress).
    let err = sqlx::raw_sql("SAVEPOINT probe")
        .execute(&mut *second)
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("25P01"),
        "{err}"
    );
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('half_done')::text")
        .fetch_one(&mut *second)
        .await?;
    assert_eq!(exists, None, "the abandoned transaction was rolled back");
    Ok(())
}

/// The last statement the backend `pid` ran, as the server shows it.
async fn last_statement(db: &TestDb, pid: i32) -> anyhow::Result<String> {
    let mut admin = db.connect().await?;
    Ok(
        sqlx::query_scalar("SELECT query FROM pg_stat_activity WHERE pid = $1")
            .bind(pid)
            .fetch_one(&mut admin)
            .await?,
    )
}

/// `idempotent_boxed` and `with_timeout_boxed` lend the body a `pgtide::pool::Session`: what a
/// body changed through it (every kind above, as plain statements or as the body's raw
/// connection) is not seen by the next borrower.
#[tokio::test]
async fn what_a_boxed_body_changed_is_not_seen_by_the_next() -> anyhow::Result<()> {
    let s = Sessions::new().await?;
    for kind in s.kinds() {
        for variant in ["idempotent_boxed", "with_timeout_boxed", "raw"] {
            let change = kind.change.clone();
            // A batch runs over the simple protocol (`raw_sql`); one statement as sqlx runs
            // a query (prepared), the way a body usually does.
            let batch = change.contains(';');
            match variant {
                "idempotent_boxed" => {
                    s.pool
                        .idempotent_boxed(|session| {
                            let change = change.clone();
                            Box::pin(async move {
                                if batch {
                                    sqlx::raw_sql(sqlx::AssertSqlSafe(change))
                                        .execute(session)
                                        .await?;
                                } else {
                                    sqlx::query(sqlx::AssertSqlSafe(change))
                                        .execute(session)
                                        .await?;
                                }
                                Ok(())
                            })
                        })
                        .await?
                }
                "with_timeout_boxed" => {
                    s.pool
                        .with_timeout_boxed(Duration::from_secs(5), |session| {
                            Box::pin(async move {
                                sqlx::raw_sql(sqlx::AssertSqlSafe(change))
                                    .execute(session)
                                    .await?;
                                Ok(())
                            })
                        })
                        .await?
                }
                _ => {
                    s.pool
                        .idempotent_boxed(|session| {
                            let change = change.clone();
                            Box::pin(async move {
                                sqlx::raw_sql(sqlx::AssertSqlSafe(change))
                                    .execute(session.raw())
                                    .await?;
                                Ok(())
                            })
                        })
                        .await?
                }
            }
            s.assert_next_sees_it_fresh(&kind, &format!("from a {variant} body"))
                .await?;
        }
    }
    s.drop_role().await
}

/// A boxed body that only reads leaves its connection as it was: no session reset runs
/// after it (the server's last statement on that backend is the body's).
#[tokio::test]
async fn a_boxed_body_that_only_reads_costs_no_reset() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_of_one(&db).await?;
    let pid = pool.acquire().await?.backend_pid().await?;
    let read = "SELECT count(*) FROM pg_class WHERE relname = $1";
    let n: i64 = pool
        .idempotent_boxed(|s| {
            Box::pin(async move {
                Ok(sqlx::query_scalar(read)
                    .bind("pg_class")
                    .fetch_one(s)
                    .await?)
            })
        })
        .await?;
    assert_eq!(n, 1);
    // A pool of one: this checkout waits for any reset of the connection to finish.
    drop(pool.acquire().await?);
    assert_eq!(last_statement(&db, pid).await?, read);
    // 3 s: the backstop (2 × 3 s + 1 s) is the profile's 7 s statement_timeout, so not even a
    // `SET`/`RESET statement_timeout` runs around the body.
    let n: i64 = pool
        .with_timeout_boxed(Duration::from_secs(3), |s| {
            Box::pin(async move {
                Ok(sqlx::query_scalar(read)
                    .bind("pg_type")
                    .fetch_one(s)
                    .await?)
            })
        })
        .await?;
    assert_eq!(n, 1);
    drop(pool.acquire().await?);
    assert_eq!(last_statement(&db, pid).await?, read);
    // Control: a body that writes a setting does get the reset.
    pool.idempotent_boxed(|s| {
        Box::pin(async move {
            sqlx::query("SELECT set_config('app.x', '1', false)")
                .execute(s)
                .await?;
            Ok(())
        })
    })
    .await?;
    drop(pool.acquire().await?);
    assert_ne!(
        last_statement(&db, pid).await?,
        "SELECT set_config('app.x', '1', false)"
    );
    Ok(())
}
