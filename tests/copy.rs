//! `BinaryCopy` (what `:copyfrom` queries run) against the server: `json` columns need
//! `field_json`, and the array types codegen accepts arrive with the element type the
//! column expects (codegen rejects the ones that do not: see `typemap::PgType::copy_json`).

use pgtide::codegen_support::{BinaryCopy, Statement};
use pgtide::sqlx::types::JsonValue;
use pgtide_testkit::TestDb;

static COPY_DOCS: Statement = Statement {
    name: "CopyDocs",
    sql: "COPY docs (j, jb, nj, tags, ns) FROM STDIN (FORMAT binary)",
};

static COPY_NAMES: Statement = Statement {
    name: "CopyNames",
    sql: "COPY names (vc) FROM STDIN (FORMAT binary)",
};

#[tokio::test]
async fn json_columns_and_accepted_arrays_copy_in_binary() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let mut conn = db.connect().await?;
    sqlx::query("CREATE TABLE docs (j json, jb jsonb, nj json, tags text[], ns int4[])")
        .execute(&mut conn)
        .await?;
    let doc: JsonValue = serde_json::json!({"a": [1, "é"]});
    let mut copy = BinaryCopy::new();
    copy.row(5);
    copy.field_json(&doc)?;
    copy.field(&doc)?;
    copy.field_json(&None::<JsonValue>)?;
    copy.field(&vec!["x".to_owned()])?;
    copy.field(&vec![1_i32, 2])?;
    assert_eq!(copy.send(&mut conn, &COPY_DOCS).await?, 1);
    let (j, jb, nj): (JsonValue, JsonValue, Option<JsonValue>) =
        sqlx::query_as("SELECT j, jb, nj FROM docs")
            .fetch_one(&mut conn)
            .await?;
    assert_eq!((&j, &jb, nj), (&doc, &doc, None));

    // Without `field_json` the server rejects the jsonb version byte.
    let mut copy = BinaryCopy::new();
    copy.row(5);
    copy.field(&doc)?;
    copy.field(&doc)?;
    copy.field(&None::<JsonValue>)?;
    copy.field(&None::<Vec<String>>)?;
    copy.field(&None::<Vec<i32>>)?;
    assert!(copy.send(&mut conn, &COPY_DOCS).await.is_err());

    // Why codegen rejects `varchar[]` columns: sqlx labels `Vec<String>` as `text[]`.
    let mut conn = db.connect().await?;
    sqlx::query("CREATE TABLE names (vc varchar[])")
        .execute(&mut conn)
        .await?;
    let mut copy = BinaryCopy::new();
    copy.row(1);
    copy.field(&vec!["x".to_owned()])?;
    let err = copy.send(&mut conn, &COPY_NAMES).await.unwrap_err();
    assert!(err.to_string().contains("element type"), "{err}");
    Ok(())
}
