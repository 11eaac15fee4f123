//! `pgtide export | import` with `s3://` and `az://` URLs, against emulators started by the
//! test on loopback, with credentials and endpoints from the providers' standard
//! environment variables (none of which the binary prints).

mod support;

use pgtide_testkit::TestDb;
use pgtide_testkit::emulators::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite, Moto};
use sqlx::Connection as _;
use support::*;

async fn setup(name: &str) -> anyhow::Result<(TestDb, std::path::PathBuf, String)> {
    let db = TestDb::new().await?;
    let dir = fresh_dir(name);
    std::fs::write(dir.join("pgtide.toml"), connection_toml(&db))?;
    let mut conn = sqlx::PgConnection::connect(&db.url()).await?;
    sqlx::raw_sql(
        "CREATE TABLE shelf (id integer, title text, price numeric);
         INSERT INTO shelf VALUES (1, 'Dune', 9.99), (2, 'Emma, a novel', NULL), (3, 'Kokoro ✓', 12);",
    )
    .execute(&mut conn)
    .await?;
    let password = db.server().password.clone();
    Ok((db, dir, password))
}

async fn same(db: &TestDb, a: &str, b: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(&db.url()).await?;
    let diff: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM (SELECT * FROM {a} EXCEPT SELECT * FROM {b} \
         UNION ALL SELECT * FROM {b} EXCEPT SELECT * FROM {a}) d"
    )))
    .fetch_one(&mut conn)
    .await?;
    assert_eq!(diff, 0, "{a} and {b} differ");
    Ok(())
}

#[tokio::test]
async fn s3_round_trip_with_the_aws_environment() -> anyhow::Result<()> {
    let moto = Moto::start()?;
    moto.create_bucket("shop")?;
    let (db, dir, password) = setup("object-store-s3").await?;
    let endpoint = moto.endpoint();
    let env = [
        (PASSWORD_VAR, password.as_str()),
        ("AWS_ENDPOINT", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "aws-secret-not-shown"),
    ];
    let o = pgtide_env(
        &dir,
        &[
            "export",
            "--table",
            "shelf",
            "s3://shop/exports/shelf.csv.gz",
            "--header",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("to s3://shop/exports/shelf.csv.gz"),
        "{}",
        stderr(&o)
    );
    let o = pgtide_env(
        &dir,
        &[
            "import",
            "s3://shop/exports/shelf.csv.gz",
            "--table",
            "copy",
            "--create",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("imported 3 rows into copy"),
        "{}",
        stdout(&o)
    );
    same(&db, "shelf", "copy").await?;

    let o = pgtide_env(
        &dir,
        &["import", "s3://shop/missing.csv", "--table", "shelf"],
        &env,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("s3://shop/missing.csv: not found"),
        "{}",
        stderr(&o)
    );
    let shown = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!shown.contains("aws-secret-not-shown"), "{shown}");
    Ok(())
}

#[tokio::test]
async fn azure_round_trip_with_the_azure_environment() -> anyhow::Result<()> {
    let azurite = Azurite::start()?;
    azurite.create_container("exports")?;
    let (db, dir, password) = setup("object-store-azure").await?;
    let endpoint = azurite.endpoint();
    let env = [
        (PASSWORD_VAR, password.as_str()),
        ("AZURE_STORAGE_ACCOUNT_NAME", AZURITE_ACCOUNT),
        ("AZURE_STORAGE_ACCESS_KEY", AZURITE_KEY),
        ("AZURE_STORAGE_ENDPOINT", endpoint.as_str()),
        ("AZURE_ALLOW_HTTP", "true"),
    ];
    let o = pgtide_env(
        &dir,
        &[
            "export",
            "--query",
            "SELECT * FROM shelf ORDER BY id",
            "az://exports/shelf.csv",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut conn = sqlx::PgConnection::connect(&db.url()).await?;
    sqlx::raw_sql("CREATE TABLE back (LIKE shelf)")
        .execute(&mut conn)
        .await?;
    let o = pgtide_env(
        &dir,
        &["import", "az://exports/shelf.csv", "--table", "back"],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("imported 3 rows into back"),
        "{}",
        stdout(&o)
    );
    same(&db, "shelf", "back").await?;
    assert!(!stderr(&o).contains(AZURITE_KEY) && !stdout(&o).contains(AZURITE_KEY));
    Ok(())
}
