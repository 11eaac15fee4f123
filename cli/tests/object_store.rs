//! `pgtide export | import` with `s3://`, `az://` and `gs://` URLs, against emulators started
//! by the test on loopback, with credentials and endpoints from the providers' standard
//! environment variables (none of which the binary prints) or the profile's storage keys.

mod support;

use pgtide_testkit::TestDb;
use pgtide_testkit::emulators::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite, FakeGcs, Moto};
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

/// `pgtide import <url> --table <table>` (plus `extra`) succeeds, saying it imported the
/// shelf's 3 rows, and `table` then holds exactly the rows of `shelf`.
async fn import_is_the_shelf(
    db: &TestDb,
    dir: &std::path::Path,
    env: &[(&str, &str)],
    url: &str,
    table: &str,
    extra: &[&str],
) -> anyhow::Result<std::process::Output> {
    let args = [&["import", url, "--table", table][..], extra].concat();
    let o = pgtide_env(dir, &args, env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("imported 3 rows into {table}")),
        "{}",
        stdout(&o)
    );
    same(db, "shelf", table).await?;
    Ok(o)
}

/// `pgtide import <url>` of an object that does not exist fails (exit 1), naming it.
fn import_of_a_missing_object_fails(
    dir: &std::path::Path,
    env: &[(&str, &str)],
    url: &str,
    table: &str,
) -> std::process::Output {
    let o = pgtide_env(dir, &["import", url, "--table", table], env);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("{url}: not found")),
        "{}",
        stderr(&o)
    );
    o
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
    let url = "s3://shop/exports/shelf.csv.gz";
    import_is_the_shelf(&db, &dir, &env, url, "copy", &["--create"]).await?;

    let o = import_of_a_missing_object_fails(&dir, &env, "s3://shop/missing.csv", "shelf");
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
    let o = import_is_the_shelf(&db, &dir, &env, "az://exports/shelf.csv", "back", &[]).await?;
    assert!(!stderr(&o).contains(AZURITE_KEY) && !stdout(&o).contains(AZURITE_KEY));
    Ok(())
}

/// `gs://` through `[default.storage.gcs] endpoint` alone (no service account): the import
/// reaches fake-gcs-server with OAuth off, a missing object is named, and the export that
/// the emulator refuses (it serves no XML API uploads) fails naming the URL.
#[tokio::test]
async fn gcs_import_through_the_storage_gcs_endpoint() -> anyhow::Result<()> {
    let gcs = FakeGcs::start()?;
    gcs.create_bucket("shop")?;
    gcs.upload(
        "shop",
        "in/shelf.csv",
        "id,title,price\n1,Dune,9.99\n2,\"Emma, a novel\",\n3,Kokoro ✓,12\n".as_bytes(),
    )?;
    let (db, dir, password) = setup("object-store-gcs").await?;
    std::fs::write(
        dir.join("pgtide.toml"),
        format!(
            "{}\n[default.storage.gcs]\nendpoint = \"{}\"\n",
            connection_toml(&db),
            gcs.endpoint()
        ),
    )?;
    let env = [(PASSWORD_VAR, password.as_str())];
    let url = "gs://shop/in/shelf.csv";
    import_is_the_shelf(&db, &dir, &env, url, "copy", &["--create"]).await?;
    import_of_a_missing_object_fails(&dir, &env, "gs://shop/in/missing.csv", "copy");
    let o = pgtide_env(
        &dir,
        &["export", "--table", "shelf", "gs://shop/out/shelf.csv"],
        &env,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("gs://shop/out/shelf.csv: failed"),
        "{}",
        stderr(&o)
    );
    Ok(())
}

/// Storage from the profile's `storage.s3` keys: `refs` takes its key through a
/// `secret://env/` reference (shown redacted by `config show`, with its line); `aws` names an
/// AWS profile read from `~/.aws/` under a temporary HOME, whose `endpoint_url` is the only
/// place moto's address is written, so the import working proves the profile was read.
#[tokio::test]
async fn s3_from_the_storage_config_and_an_aws_named_profile() -> anyhow::Result<()> {
    let moto = Moto::start()?;
    moto.create_bucket("shop")?;
    let (db, dir, password) = setup("object-store-config").await?;
    let toml = format!(
        "{}\n[default.storage.s3]\nregion = \"us-east-1\"\nallow_http = true\n\n\
         [refs.storage.s3]\nendpoint = \"{}\"\naccess_key_id = \"testing\"\n\
         secret_access_key = \"secret://env/TEST_S3_SECRET\"\n\n\
         [aws.storage.s3]\nprofile = \"pgtide-test\"\n",
        connection_toml(&db),
        moto.endpoint()
    );
    std::fs::write(dir.join("pgtide.toml"), toml)?;
    let home = dir.join("home");
    std::fs::create_dir_all(home.join(".aws"))?;
    std::fs::write(
        home.join(".aws/config"),
        format!(
            "[profile pgtide-test]\nregion = us-east-1\nendpoint_url = {}\n",
            moto.endpoint()
        ),
    )?;
    std::fs::write(
        home.join(".aws/credentials"),
        "[pgtide-test]\naws_access_key_id = testing\naws_secret_access_key = profile-secret-not-shown\n",
    )?;
    let home = home.display().to_string();
    let env = [
        (PASSWORD_VAR, password.as_str()),
        ("TEST_S3_SECRET", "ref-secret-not-shown"),
        ("HOME", home.as_str()),
    ];

    let o = pgtide_env(&dir, &["--profile", "refs", "config", "show"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let shown = stdout(&o);
    assert!(
        shown.lines().any(
            |l| l.starts_with("storage.s3.secret_access_key = [redacted] ")
                && l.ends_with("# file pgtide.toml, line 15")
        ),
        "{shown}"
    );
    assert!(
        shown.contains("storage.s3.access_key_id = testing"),
        "{shown}"
    );
    assert!(!shown.contains("ref-secret-not-shown"), "{shown}");

    let o = pgtide_env(
        &dir,
        &[
            "--profile",
            "refs",
            "export",
            "--table",
            "shelf",
            "s3://shop/shelf.csv",
            "--header",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = pgtide_env(
        &dir,
        &[
            "--profile",
            "aws",
            "import",
            "s3://shop/shelf.csv",
            "--table",
            "copy",
            "--create",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    same(&db, "shelf", "copy").await?;
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!all.contains("profile-secret-not-shown"), "{all}");

    // A reference that does not resolve names the key, its source and the reference.
    let o = pgtide_env(
        &dir,
        &[
            "--profile",
            "refs",
            "import",
            "s3://shop/shelf.csv",
            "--table",
            "copy",
        ],
        &[(PASSWORD_VAR, password.as_str())],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("storage.s3.secret_access_key")
            && err.contains("pgtide.toml, line 15")
            && err.contains("TEST_S3_SECRET is not set"),
        "{err}"
    );
    // An unknown storage key names itself and its file.
    std::fs::write(
        dir.join("pgtide.toml"),
        format!(
            "{}[default.storage.s3]\nregoin = \"x\"\n",
            connection_toml(&db)
        ),
    )?;
    let o = pgtide_env(&dir, &["config", "show"], &env);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("unknown key `storage.s3.regoin`")
            && err.contains("pgtide.toml")
            && err.contains("did you mean `region`?"),
        "{err}"
    );
    Ok(())
}
