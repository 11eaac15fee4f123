//! `pgtide export | import`, driven as a binary against a fresh database each.

mod support;

use pgtide_testkit::TestDb;
use sqlx::Connection as _;
use support::*;

struct Setup {
    db: TestDb,
    dir: std::path::PathBuf,
    password: String,
}

async fn setup(name: &str, ddl: &str) -> anyhow::Result<Setup> {
    let db = TestDb::new().await?;
    let dir = fresh_dir(name);
    std::fs::write(dir.join("pgtide.toml"), connection_toml(&db))?;
    if !ddl.is_empty() {
        let mut conn = sqlx::PgConnection::connect(&db.url()).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(ddl.to_string()))
            .execute(&mut conn)
            .await?;
    }
    let password = db.server().password.clone();
    Ok(Setup { db, dir, password })
}

impl Setup {
    fn run(&self, args: &[&str]) -> std::process::Output {
        pgtide_env(&self.dir, args, &[(PASSWORD_VAR, self.password.as_str())])
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.dir.join(name), bytes).unwrap();
        name.to_string()
    }

    async fn rows(&self, sql: &str) -> anyhow::Result<Vec<String>> {
        let mut conn = sqlx::PgConnection::connect(&self.db.url()).await?;
        Ok(
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_all(&mut conn)
                .await?,
        )
    }

    /// `pgtide import - --table <table>` with `input` on its stdin (written from a thread of
    /// its own, so an input larger than the pipe cannot block against the command's output).
    fn import_stdin(&self, table: &str, input: Vec<u8>) -> std::process::Output {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pgtide"))
            .args(["import", "-", "--table", table])
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env(PASSWORD_VAR, &self.password)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("pgtide import runs");
        let mut stdin = child.stdin.take().expect("piped");
        let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
        let o = child.wait_with_output().expect("pgtide import ends");
        writer
            .join()
            .expect("the writer thread")
            .expect("stdin written");
        o
    }

    fn import_ok(&self, args: &[&str]) -> String {
        let mut all = vec!["import"];
        all.extend(args);
        let o = self.run(&all);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stderr(&o).is_empty(), "quiet when piped: {}", stderr(&o));
        stdout(&o)
    }
}

const PEOPLE: &str = "CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL, born date)";
const ALL: &str =
    "SELECT id || '|' || name || '|' || coalesce(born::text, '-') FROM people ORDER BY id";

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for u in text.encode_utf16() {
        out.extend(if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    out
}

#[tokio::test]
async fn every_encoding_is_detected_and_transcoded() -> anyhow::Result<()> {
    let s = setup("csv-encodings", PEOPLE).await?;
    let text = "id,name,born\n1,Zoë Ångström,1990-05-01\n2,Renée,\n";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("utf8.csv", text.as_bytes().to_vec(), "UTF-8"),
        (
            "bom.csv",
            [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
            "UTF-8",
        ),
        ("latin1.csv", encoding_latin1(text), "windows-1252"),
        ("utf16le.csv", utf16(text, false), "UTF-16LE"),
        ("utf16be.csv", utf16(text, true), "UTF-16BE"),
    ];
    for (file, bytes, encoding) in cases {
        let file = s.write(file, &bytes);
        let out = s.import_ok(&[&file, "--table", "people"]);
        assert!(
            out.starts_with("imported 2 rows into people in ") && out.contains(encoding),
            "{file}: {out}"
        );
        assert!(out.contains("header yes"), "{file}: {out}");
        assert_eq!(
            s.rows(ALL).await?,
            ["1|Zoë Ångström|1990-05-01", "2|Renée|-"],
            "{file}"
        );
        s.rows("DELETE FROM people RETURNING ''").await?;
    }
    Ok(())
}

fn encoding_latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect()
}

#[tokio::test]
async fn delimiters_and_headers_are_sniffed_or_given() -> anyhow::Result<()> {
    let s = setup("csv-delimiters", PEOPLE).await?;
    // `;` with a header and a quoted `;` inside a field.
    let f = s.write("semi.csv", b"id;name;born\n1;\"Doe; Jane\";2001-02-03\n");
    let out = s.import_ok(&[&f, "--table", "people"]);
    assert!(
        out.contains("delimiter ';'") && out.contains("header yes"),
        "{out}"
    );
    // Tab, no header.
    let f = s.write("tab.csv", b"2\tTab Person\t\n3\tOther\t1999-12-31\n");
    let out = s.import_ok(&[&f, "--table", "people"]);
    assert!(
        out.contains("delimiter '\\t'") && out.contains("header no"),
        "{out}"
    );
    // Given, not sniffed.
    let f = s.write("given.csv", b"4|Pipe|\n");
    let out = s.import_ok(&[
        &f,
        "--table",
        "people",
        "--delimiter",
        "|",
        "--header",
        "no",
    ]);
    assert!(out.contains("imported 1 rows"), "{out}");
    // --null
    let f = s.write("null.csv", b"id,name,born\n5,Nul,NA\n");
    s.import_ok(&[&f, "--table", "people", "--null", "NA"]);
    assert_eq!(
        s.rows(ALL).await?,
        [
            "1|Doe; Jane|2001-02-03",
            "2|Tab Person|-",
            "3|Other|1999-12-31",
            "4|Pipe|-",
            "5|Nul|-"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn header_matching_the_table_maps_columns_by_name() -> anyhow::Result<()> {
    let s = setup(
        "csv-header-names",
        "CREATE TABLE names (first text, last text)",
    )
    .await?;
    let f = s.write("names.csv", b"LAST,first\nLe Guin,Ursula\n");
    let out = s.import_ok(&[&f, "--table", "names"]);
    assert!(out.contains("header yes"), "{out}");
    assert_eq!(
        s.rows("SELECT first || ' ' || last FROM names").await?,
        ["Ursula Le Guin"]
    );
    Ok(())
}

#[tokio::test]
async fn a_malformed_file_leaves_the_table_unchanged_and_names_the_line() -> anyhow::Result<()> {
    let s = setup("csv-malformed", PEOPLE).await?;
    s.rows("INSERT INTO people VALUES (100, 'Before', NULL) RETURNING ''")
        .await?;
    let f = s.write(
        "bad.csv",
        b"id,name,born\n1,Good,2000-01-01\n2,Also good,\nthree,Bad,2000-01-01\n4,After,\n",
    );
    let o = s.run(&["import", &f, "--table", "people"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("column id"), "{err}");
    assert_eq!(s.rows(ALL).await?, ["100|Before|-"]);

    // A missing table is named, and nothing is created without --create.
    let o = s.run(&["import", &f, "--table", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("\"nope\" does not exist"),
        "{}",
        stderr(&o)
    );
    let o = s.run(&["import", "missing.csv", "--table", "people"]);
    assert!(
        stderr(&o).contains("pgtide: error: missing.csv: not found"),
        "{}",
        stderr(&o)
    );
    Ok(())
}

#[tokio::test]
async fn create_infers_types_and_refuses_a_mismatched_table() -> anyhow::Result<()> {
    let s = setup("csv-create", PEOPLE).await?;
    let f = s.write(
        "new.csv",
        "id,Big Number,price,ok,day,at,key,doc,\"we\"\"ird\"\n\
         1,3000000000,1.50,true,2024-01-02,2024-01-02 10:00:00+00,0b7e7e52-4ac9-4e3c-9f6b-2c4b0ef7c3a1,\"{\"\"a\"\": 1}\",x\n"
            .as_bytes(),
    );
    let out = s.import_ok(&[&f, "--table", "New Table", "--create"]);
    assert!(out.starts_with("imported 1 rows into New Table"), "{out}");
    let types = s
        .rows(
            "SELECT attname || ':' || format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = '\"New Table\"'::regclass AND attnum > 0 ORDER BY attnum",
        )
        .await?;
    assert_eq!(
        types,
        [
            "id:integer",
            "Big Number:bigint",
            "price:numeric",
            "ok:boolean",
            "day:date",
            "at:timestamp with time zone",
            "key:uuid",
            "doc:json",
            "we\"ird:text"
        ]
    );
    let f = s.write("other.csv", b"id,nickname\n1,x\n");
    let o = s.run(&["import", &f, "--table", "people", "--create"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(r#"not in the table: "nickname"; not in the file: "name", "born""#),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn export_then_import_preserves_every_value() -> anyhow::Result<()> {
    let s = setup(
        "csv-roundtrip",
        "CREATE TABLE src (id integer, t text, n numeric, b boolean, j jsonb, ts timestamptz, u uuid, a int[]);
         INSERT INTO src VALUES
           (1, E'comma, \"quote\" and\nnewline', 1.000000000000000001, true, '{\"k\": [1, \"x\"]}', '2024-02-29 23:59:59.123456+00', gen_random_uuid(), '{1,NULL,3}'),
           (2, '', NULL, false, 'null', NULL, NULL, '{}'),
           (3, NULL, -0.5, NULL, NULL, '1970-01-01 00:00:00+00', NULL, NULL),
           (4, E'tab\\there ; | émoji 🦀', 0, NULL, '[]', NULL, NULL, NULL);
         CREATE TABLE dst (LIKE src);",
    )
    .await?;
    let o = s.run(&["export", "--table", "src", "out.csv", "--header"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = s.import_ok(&["out.csv", "--table", "dst"]);
    assert!(out.contains("imported 4 rows into dst"), "{out}");
    let same = "SELECT count(*)::text FROM (SELECT * FROM src EXCEPT SELECT * FROM dst \
                UNION ALL SELECT * FROM dst EXCEPT SELECT * FROM src) d";
    assert_eq!(s.rows(same).await?, ["0"]);
    assert_eq!(s.rows("SELECT count(*)::text FROM dst").await?, ["4"]);

    // A query to stdout, `;`-delimited.
    let o = s.run(&[
        "export",
        "--query",
        "SELECT id, t FROM src WHERE id = 1",
        "-",
        "--delimiter",
        ";",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "1;\"comma, \"\"quote\"\" and\nnewline\"\n");
    // A Latin-1 export imports back through detection.
    let o = s.run(&[
        "export",
        "--query",
        "SELECT 5, 'Renée', NULL::date",
        "l1.csv",
        "--encoding",
        "LATIN1",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read(s.dir.join("l1.csv"))?, b"5,Ren\xE9e,\n");
    Ok(())
}

#[tokio::test]
async fn stdin_and_gzip_files_round_trip() -> anyhow::Result<()> {
    let s = setup(
        "csv-stdin-gzip",
        &format!("{PEOPLE}; INSERT INTO people VALUES (1, 'Ada', '1815-12-10'), (2, 'Émile', NULL); CREATE TABLE back (LIKE people)"),
    )
    .await?;
    let o = s.run(&["export", "--table", "people", "people.csv.gz", "--header"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let gz = std::fs::read(s.dir.join("people.csv.gz"))?;
    assert_eq!(&gz[..2], b"\x1f\x8b", "gzip magic");
    let out = s.import_ok(&["people.csv.gz", "--table", "back"]);
    assert!(out.contains("imported 2 rows into back"), "{out}");
    assert_eq!(
        s.rows(
            "SELECT id || '|' || name || '|' || coalesce(born::text, '-') FROM back ORDER BY id"
        )
        .await?,
        s.rows(ALL).await?
    );

    // `-`: the CSV on stdin.
    let o = s.import_stdin(
        "people",
        b"id;name;born\n3;Grace;1906-12-09\n4;\"Alan; T.\";\n".to_vec(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("imported 2 rows into people")
            && stdout(&o).contains("delimiter ';', header yes"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        s.rows(ALL).await?,
        [
            "1|Ada|1815-12-10",
            "2|Émile|-",
            "3|Grace|1906-12-09",
            "4|Alan; T.|-"
        ]
    );
    Ok(())
}

/// UTF-8 input is checked in place and sent as read, a chunk at a time: characters of 2, 3
/// and 4 bytes cut by every chunk boundary (and by the end of the 64 KiB sniffing sample),
/// in a file of several chunks that starts with a BOM, all arrive whole and in order; so do
/// they through stdin and through a gzipped file (whose reads end anywhere).
#[tokio::test]
async fn utf8_characters_cut_by_chunk_boundaries_arrive_whole() -> anyhow::Result<()> {
    let s = setup(
        "csv-utf8-chunks",
        "CREATE TABLE words (id integer PRIMARY KEY, word text NOT NULL)",
    )
    .await?;
    // Lines of different lengths, so the 256 KiB chunk ends fall at every offset of a
    // character over the file.
    let mut csv = String::from("\u{feff}id,word\n");
    let rows = 40_000;
    for id in 1..=rows {
        csv.push_str(&format!("{id},{}\n", "é€😀".repeat(id % 7 + 1)));
    }
    assert!(csv.len() > 4 * 256 * 1024, "several chunks: {}", csv.len());
    let all_whole = async || -> anyhow::Result<()> {
        assert_eq!(
            s.rows("SELECT count(*)::text FROM words").await?,
            [rows.to_string()]
        );
        let cut = "SELECT count(*)::text FROM words WHERE word <> repeat('é€😀', id % 7 + 1)";
        assert_eq!(s.rows(cut).await?, ["0"], "every word arrived whole");
        Ok(())
    };
    let plain = s.write("words.csv", csv.as_bytes());
    let out = s.import_ok(&[&plain, "--table", "words"]);
    assert!(
        out.starts_with(&format!("imported {rows} rows into words")) && out.contains("UTF-8"),
        "{out}"
    );
    all_whole().await?;

    let o = s.run(&["export", "--table", "words", "words.csv.gz", "--header"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    s.rows("DELETE FROM words RETURNING ''").await?;
    s.import_ok(&["words.csv.gz", "--table", "words"]);
    all_whole().await?;

    s.rows("DELETE FROM words RETURNING ''").await?;
    let o = s.import_stdin("words", csv.into_bytes());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    all_whole().await
}
