//! `pgtide::testing` (feature `testing`): a fresh database per test from a template with the
//! migrations applied, dropped afterwards; a clear failure without a server.
//!
//! Runs against `DATABASE_URL`, or the throwaway server (`cargo xtask test` sets
//! `PGTIDE_DB_STATE`; for a focused run, `PGTIDE_DB_STATE=target/pgtide-db/state.json`).

use pgtide::sqlx;
use pgtide::testing::TestDatabase;

// The test the README's "Testing your code" section shows.
#[tokio::test]
async fn a_new_author_is_found_by_email() -> anyhow::Result<()> {
    let db = TestDatabase::new("migrations-fixtures").await?;
    let pool = db.pool().await?;

    sqlx::query("INSERT INTO authors (name, email) VALUES ('Le Guin', 'ursula@example.org')")
        .execute(&pool)
        .await?;
    let name: String = sqlx::query_scalar("SELECT name FROM authors WHERE email = $1")
        .bind("ursula@example.org")
        .fetch_one(&pool)
        .await?;
    assert_eq!(name, "Le Guin");
    Ok(())
}

#[tokio::test]
async fn each_test_database_is_fresh_and_dropped_afterwards() -> anyhow::Result<()> {
    let first = TestDatabase::new("migrations-fixtures").await?;
    let second = TestDatabase::new("migrations-fixtures").await?;
    assert_ne!(first.name(), second.name());
    let mut a = first.connect().await?;
    sqlx::query("INSERT INTO authors (name) VALUES ('only in first')")
        .execute(&mut a)
        .await?;
    let mut b = second.connect().await?;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM authors")
        .fetch_one(&mut b)
        .await?;
    assert_eq!(n, 0, "the second database did not see the first's rows");
    // The migrations ran once, into one template both were copied from.
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut b)
        .await?;
    assert_eq!(applied, 2);
    let name = first.name().to_owned();
    drop((a, b));
    drop(first);
    let mut admin = second.connect().await?;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut admin)
        .await?;
    assert_eq!(left, 0, "dropped with its TestDatabase");
    Ok(())
}

#[tokio::test]
async fn changed_migrations_get_a_template_of_their_own() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("pgtide-testing-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for entry in std::fs::read_dir("migrations-fixtures")? {
        let entry = entry?;
        std::fs::copy(entry.path(), dir.join(entry.file_name()))?;
    }
    std::fs::write(
        dir.join("20990101000000_extra.sql"),
        "CREATE TABLE extra (id int);",
    )?;
    let plain = TestDatabase::new("migrations-fixtures").await?;
    let extended = TestDatabase::new(&dir).await?;
    let mut conn = extended.connect().await?;
    let extra: i64 = sqlx::query_scalar("SELECT count(*) FROM extra")
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(extra, 0);
    let mut conn = plain.connect().await?;
    let templates: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE datistemplate AND starts_with(datname, 'pgtide_testing_tpl_') ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await?;
    assert!(templates.len() >= 2, "{templates:?}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[tokio::test]
async fn without_a_server_it_fails_naming_database_url() {
    // SAFETY: nextest runs each test in a process of its own.
    unsafe {
        std::env::remove_var("DATABASE_URL");
        std::env::remove_var("PGTIDE_DB_STATE");
    }
    let err = TestDatabase::new("migrations-fixtures").await.unwrap_err();
    assert!(err.to_string().contains("DATABASE_URL"), "{err}");

    // A server that does not answer: the error says where the address came from.
    // SAFETY: as above.
    unsafe { std::env::set_var("DATABASE_URL", "postgres://u:hunter2@127.0.0.1:1/postgres") };
    let err = TestDatabase::new("migrations-fixtures").await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("DATABASE_URL"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn a_changed_directory_drops_its_older_template_and_no_other() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("pgtide-testing-old-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for entry in std::fs::read_dir("migrations-fixtures")? {
        let entry = entry?;
        std::fs::copy(entry.path(), dir.join(entry.file_name()))?;
    }
    // Contents no other run had (templates are per content): this run builds both templates.
    let run = format!(
        "-- run {}/{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    );
    std::fs::write(
        dir.join("20990101000000_a.sql"),
        format!("CREATE TABLE a (id int);\n{run}\n"),
    )?;
    let plain = TestDatabase::new("migrations-fixtures").await?;
    let templates = async |db: &TestDatabase| -> anyhow::Result<Vec<String>> {
        let mut conn = db.connect().await?;
        Ok(sqlx::query_scalar(
            "SELECT datname::text FROM pg_database WHERE datistemplate AND starts_with(datname, 'pgtide_testing_tpl_') ORDER BY 1",
        )
        .fetch_all(&mut conn)
        .await?)
    };
    let first = TestDatabase::new(&dir).await?;
    let with_first = templates(&plain).await?;
    // The directory changes: a new template, and the one of its earlier content goes.
    std::fs::write(
        dir.join("20990101000001_b.sql"),
        format!("CREATE TABLE b (id int);\n{run}\n"),
    )?;
    let second = TestDatabase::new(&dir).await?;
    let with_second = templates(&plain).await?;
    let gone: Vec<&String> = with_first
        .iter()
        .filter(|t| !with_second.contains(t))
        .collect();
    let added: Vec<&String> = with_second
        .iter()
        .filter(|t| !with_first.contains(t))
        .collect();
    // Tests running beside this one may add templates of their own directories meanwhile,
    // never drop one: exactly one went (this directory's first), at least one came.
    assert!(
        gone.len() == 1 && !added.is_empty(),
        "{with_first:?} -> {with_second:?}"
    );
    // Copies made from the dropped template live on; other directories' templates stay.
    let mut conn = first.connect().await?;
    sqlx::query("SELECT count(*) FROM a")
        .execute(&mut conn)
        .await?;
    let mut conn = second.connect().await?;
    sqlx::query("SELECT count(*) FROM b")
        .execute(&mut conn)
        .await?;
    let again = TestDatabase::new("migrations-fixtures").await?;
    let now = templates(&again).await?;
    assert!(
        with_second.iter().all(|t| now.contains(t)),
        "{with_second:?} -> {now:?}"
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// The harness connects as pools do: pgtide's configuration rules and TLS, not sqlx's.
#[tokio::test]
async fn the_harness_connects_with_the_librarys_tls_rules() -> anyhow::Result<()> {
    let server = pgtide_testkit::Server::discover().await?.state;
    let base = server.url("postgres");
    // `sslmode=allow` is refused by pgtide's configuration (sqlx alone would accept it).
    // SAFETY: nextest runs each test in a process of its own.
    unsafe { std::env::set_var("DATABASE_URL", format!("{base}?sslmode=allow")) };
    let err = TestDatabase::new("migrations-fixtures").await.unwrap_err();
    assert!(err.to_string().contains("sslmode"), "{err}");
    let tls = server
        .tls
        .as_ref()
        .expect("the throwaway server serves TLS");
    // Verified TLS against the throwaway server's CA (pgtide's own TLS relay).
    let url = format!(
        "{base}?sslmode=verify-full&sslrootcert={}",
        tls.ca_cert.display()
    );
    // SAFETY: as above.
    unsafe { std::env::set_var("DATABASE_URL", url) };
    let db = TestDatabase::new("migrations-fixtures").await?;
    let mut conn = db.connect().await?;
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut conn)
        .await?;
    assert!(ssl, "the test database's connection is TLS");
    let pool = db.pool().await?;
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await?;
    assert!(ssl, "so are the pool's");
    Ok(())
}
