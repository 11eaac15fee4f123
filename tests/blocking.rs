//! `pgtide::blocking` against the real server, from plain threads (no tokio runtime of the
//! test's own): many threads on one pool, transactions that commit, roll back and retry,
//! COPY in and out, streaming, errors with SQLSTATE, generated queries through the bridge,
//! and a clear error when called inside a runtime.

mod common;

#[allow(dead_code, unused_imports, clippy::all)]
#[path = "../example/src/queries/mod.rs"]
mod queries;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};

use pgtide::blocking::{Connection, Pool};
use pgtide::config::Config;
use pgtide::copy::{CopyIn, CopyOut};
use pgtide::{ErrorKind, TxOptions, sqlx};
use pgtide_testkit::TestDb;

/// A fresh test database, made (and later dropped) without a runtime of the test's own.
fn test_db() -> TestDb {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for creating the test database")
        .block_on(TestDb::new())
        .expect("the throwaway server is running (cargo xtask db up)")
}

fn config(db: &TestDb, max: u32) -> Config {
    common::config(db, 1, max).build().unwrap()
}

fn author_count(pool: &Pool) -> i64 {
    pool.fetch_one(sqlx::query_scalar("SELECT count(*) FROM authors"))
        .unwrap()
}

#[test]
fn many_threads_share_one_pool() {
    let db = test_db();
    let pool = Pool::connect(&config(&db, 4)).unwrap();
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads as i64)
        .map(|t| {
            let (pool, barrier) = (pool.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let mut sum = 0_i64;
                for i in 0..25_i64 {
                    let got: i64 = pool
                        .fetch_one(sqlx::query_scalar("SELECT $1::int8 * 2").bind(t * 100 + i))
                        .unwrap();
                    sum += got;
                }
                pool.execute(
                    sqlx::query("INSERT INTO authors (name) VALUES ($1)").bind(format!("t{t}")),
                )
                .unwrap();
                sum
            })
        })
        .collect();
    let sums: Vec<i64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for (t, sum) in sums.iter().enumerate() {
        let t = t as i64;
        assert_eq!(*sum, (0..25).map(|i| (t * 100 + i) * 2).sum::<i64>());
    }
    assert_eq!(author_count(&pool), threads as i64);
    let stats = pool.stats();
    assert!(stats.size <= 4, "{stats}");
}

#[test]
fn transactions_commit_on_ok_and_roll_back_on_err() {
    let db = test_db();
    let pool = Pool::connect(&config(&db, 2)).unwrap();
    let id: i64 = pool
        .transaction(TxOptions::default(), |tx| {
            tx.fetch_one(sqlx::query_scalar(
                "INSERT INTO authors (name) VALUES ('kept') RETURNING author_id",
            ))
        })
        .unwrap();
    let err = pool
        .transaction(TxOptions::default(), |tx| {
            tx.execute(sqlx::query("INSERT INTO authors (name) VALUES ('dropped')"))?;
            tx.execute(sqlx::query("SELECT 1/0"))
        })
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("22012"), "{err}");
    let names: Vec<String> = pool
        .fetch_all(sqlx::query_scalar(
            "SELECT name FROM authors ORDER BY author_id",
        ))
        .unwrap();
    assert_eq!(names, ["kept"]);
    assert!(id > 0);
}

#[test]
fn a_serialization_failure_runs_the_body_again() {
    let db = test_db();
    let cfg = config(&db, 2);
    let pool = Pool::connect(&cfg).unwrap();
    pool.execute(sqlx::query(
        "INSERT INTO counters (name, value) VALUES ('c', 0)",
    ))
    .unwrap();
    let mut other = Connection::connect(&cfg).unwrap();
    let attempts = AtomicU32::new(0);
    pool.transaction(TxOptions::serializable(), |tx| {
        let attempt = attempts.fetch_add(1, Ordering::SeqCst);
        let value: i64 = tx.fetch_one(sqlx::query_scalar(
            "SELECT value FROM counters WHERE name = 'c'",
        ))?;
        if attempt == 0 {
            // A concurrent committed update of the row this transaction read: its own update
            // then fails with 40001.
            other
                .execute(sqlx::query(
                    "UPDATE counters SET value = value + 10 WHERE name = 'c'",
                ))
                .unwrap();
        }
        tx.execute(sqlx::query("UPDATE counters SET value = $1 + 1 WHERE name = 'c'").bind(value))
    })
    .unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 2, "run again once");
    let value: i64 = other
        .fetch_one(sqlx::query_scalar(
            "SELECT value FROM counters WHERE name = 'c'",
        ))
        .unwrap();
    assert_eq!(value, 11, "the retry saw the other update");
    other.close().unwrap();
}

#[test]
fn copy_in_and_out_round_trip() {
    let db = test_db();
    let pool = Pool::connect(&config(&db, 2)).unwrap();
    let csv: String = (0..5000)
        .map(|i| format!("author {i},a{i}@example.org\n"))
        .collect();
    let loaded = pool
        .copy_in(
            CopyIn::table("authors").columns(["name", "email"]).csv(),
            csv.as_bytes(),
        )
        .unwrap();
    assert_eq!(loaded, 5000);
    let mut out = Vec::new();
    let written = pool
        .copy_out(
            CopyOut::query("SELECT name, email FROM authors ORDER BY author_id").csv(),
            &mut out,
        )
        .unwrap();
    assert_eq!(written as usize, out.len());
    assert_eq!(String::from_utf8(out).unwrap(), csv);

    // Inside a transaction, a failed COPY rolls back with everything else.
    let err = pool
        .transaction(TxOptions::default(), |tx| {
            tx.execute(sqlx::query("DELETE FROM authors"))?;
            tx.copy_in(
                CopyIn::table("authors").columns(["name"]).csv(),
                &b"a\n\"b\n"[..],
            )
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
    assert_eq!(author_count(&pool), 5000);
}

#[test]
fn rows_stream_as_an_iterator_and_stop_early() {
    let db = test_db();
    let pool = Pool::connect(&config(&db, 1)).unwrap();
    let mut n = 0_i64;
    let mut sum = 0_i64;
    for row in pool
        .fetch_iter(sqlx::query("SELECT i FROM generate_series(1, 20000) AS i"))
        .unwrap()
    {
        let i: i32 = sqlx::Row::get(&row.unwrap(), 0);
        n += 1;
        sum += i64::from(i);
    }
    assert_eq!((n, sum), (20000, 20000 * 20001 / 2));

    // Stopped early: the pool (one connection) serves the next query.
    let first: Vec<_> = pool
        .fetch_iter(sqlx::query(
            "SELECT i FROM generate_series(1, 1000000) AS i",
        ))
        .unwrap()
        .take(3)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(first.len(), 3);
    let one: i32 = pool.fetch_one(sqlx::query_scalar("SELECT 1")).unwrap();
    assert_eq!(one, 1);

    // An error mid-stream ends it with the error.
    let items: Vec<_> = pool
        .fetch_iter(sqlx::query(
            "SELECT 1/(2 - i) FROM generate_series(1, 3) AS i",
        ))
        .unwrap()
        .collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].as_ref().unwrap_err().sqlstate(), Some("22012"));
}

#[test]
fn errors_carry_sqlstate_and_kind() {
    let db = test_db();
    let pool = Pool::connect(&config(&db, 1)).unwrap();
    let insert = || {
        pool.execute(sqlx::query(
            "INSERT INTO authors (name, email) VALUES ('a', 'same@example.org')",
        ))
    };
    insert().unwrap();
    let err = insert().unwrap_err();
    assert!(err.is_constraint_violation(), "{err}");
    assert_eq!(err.sqlstate(), Some("23505"));
    assert_eq!(err.kind(), ErrorKind::Permanent);
    let err = pool
        .fetch_one(sqlx::query_scalar::<_, i32>("SELECT 1 WHERE false"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[test]
fn generated_queries_run_through_the_bridge() {
    let db = test_db();
    let pool = Pool::connect(&config(&db, 2)).unwrap();
    let id = pool
        .run(async |p| {
            queries::authors::create_author(p, "Le Guin", Some("ursula@example.org"), None, None)
                .await
        })
        .unwrap();
    let author = pool
        .run(async |p| queries::authors::get_author(p, id).await)
        .unwrap();
    assert_eq!(author.name, "Le Guin");
    // In a transaction, and on a single connection.
    pool.transaction(TxOptions::default(), |tx| {
        tx.run(async |tx| queries::authors::update_author_bio(&mut *tx, Some("Earthsea"), id).await)
    })
    .unwrap();
    let mut conn = Connection::connect(&config(&db, 1)).unwrap();
    let author = conn
        .run(async |c| queries::authors::get_author(&mut **c, id).await)
        .unwrap();
    assert_eq!(author.bio.as_deref(), Some("Earthsea"));
    conn.close().unwrap();
}

#[test]
fn called_inside_a_runtime_it_says_so() {
    let db = test_db();
    let cfg = config(&db, 1);
    let pool = Pool::connect(&cfg).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let err = Pool::connect(&cfg).unwrap_err();
        assert!(
            err.to_string().contains("thread of a tokio runtime"),
            "{err}"
        );
        let err = pool
            .fetch_one(sqlx::query_scalar::<_, i32>("SELECT 1"))
            .unwrap_err();
        assert!(
            err.to_string().contains("use the async pgtide::Pool"),
            "{err}"
        );
        let err = Connection::connect(&cfg).unwrap_err();
        assert!(
            err.to_string().contains("thread of a tokio runtime"),
            "{err}"
        );
        let err = pool
            .fetch_iter(sqlx::query("SELECT 1"))
            .expect_err("refused before any row");
        assert!(err.to_string().contains("tokio runtime"), "{err}");
        // A `spawn_blocking` thread belongs to the runtime too.
        let cfg = cfg.clone();
        let err = tokio::task::spawn_blocking(move || Pool::connect(&cfg))
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            err.to_string().contains("thread of a tokio runtime"),
            "{err}"
        );
    });
    // Outside again, the same pool works.
    let one: i32 = pool.fetch_one(sqlx::query_scalar("SELECT 1")).unwrap();
    assert_eq!(one, 1);
}

#[test]
fn a_panicking_body_rolls_back_and_the_pool_is_send_and_sync() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<Pool>();

    let db = test_db();
    let pool = Pool::connect(&config(&db, 1)).unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = pool.transaction(TxOptions::default(), |tx| -> pgtide::Result<()> {
            tx.execute(sqlx::query("INSERT INTO authors (name) VALUES ('never')"))?;
            panic!("the body panics");
        });
    }));
    assert!(panicked.is_err(), "the panic reaches the caller");
    assert_eq!(author_count(&pool), 0, "rolled back");
}
