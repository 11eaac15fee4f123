//! `pgtide server hints | audit`, driven as a binary.

mod support;

use support::*;

fn hints(toml: &str, extra: &[&str]) -> String {
    let dir = fresh_dir("hints");
    std::fs::write(dir.join("pgtide.toml"), toml).unwrap();
    let mut args = vec!["server", "hints"];
    args.extend(extra);
    // No password anywhere: hints need none.
    let o = pgtide(&dir, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o)
}

fn setting(out: &str, name: &str) -> Option<String> {
    out.lines()
        .find(|l| l.starts_with(&format!("{name} = ")))
        .map(|l| {
            l[name.len() + 3..]
                .split("  #")
                .next()
                .unwrap()
                .trim()
                .to_string()
        })
}

fn hba(out: &str) -> String {
    out.lines()
        .last()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn hints_follow_the_client_config() {
    // No TLS: no ssl lines, a `host` rule.
    let out = hints(
        "[default]\nhost = \"10.1.2.3\"\nuser = \"app\"\ndatabase = \"shop\"\nsslmode = \"disable\"\n[default.pool]\nmax_size = 10\n",
        &["--instances", "4", "--client-address", "10.9.0.0/16"],
    );
    assert_eq!(
        setting(&out, "max_connections").as_deref(),
        Some("48"),
        "{out}"
    );
    assert_eq!(
        setting(&out, "password_encryption").as_deref(),
        Some("scram-sha-256")
    );
    assert_eq!(setting(&out, "ssl"), None, "{out}");
    assert_eq!(
        hba(&out),
        "host shop app 10.9.0.0/16 scram-sha-256",
        "{out}"
    );

    // TLS verified by the client, no client certificate: hostssl, no clientcert.
    let out = hints(
        "[default]\nhost = \"10.1.2.3\"\nuser = \"app\"\ndatabase = \"shop\"\nsslmode = \"verify-full\"\nsslrootcert = \"/etc/ssl/ca.pem\"\n[prod.pool]\nmax_size = 80\n",
        &["--client-address", "10.9.8.7", "--profile", "prod"],
    );
    assert_eq!(
        setting(&out, "max_connections").as_deref(),
        Some("91"),
        "80 + 10 % (8) + 3: {out}"
    );
    assert_eq!(setting(&out, "ssl").as_deref(), Some("on"));
    assert_eq!(
        setting(&out, "ssl_cert_file").as_deref(),
        Some("'server.crt'")
    );
    assert_eq!(
        setting(&out, "ssl_min_protocol_version").as_deref(),
        Some("'TLSv1.2'")
    );
    assert_eq!(
        setting(&out, "ssl_ca_file"),
        None,
        "no client certificate to verify: {out}"
    );
    assert_eq!(
        hba(&out),
        "hostssl shop app 10.9.8.7/32 scram-sha-256",
        "{out}"
    );

    // The client presents a certificate: the server verifies it.
    let out = hints(
        "[default]\nhost = \"10.1.2.3\"\nuser = \"app\"\ndatabase = \"shop\"\nsslmode = \"require\"\nsslcert = \"/etc/ssl/app.crt\"\nsslkey = \"/etc/ssl/app.key\"\n",
        &["--client-address", "10.9.8.7"],
    );
    assert_eq!(
        setting(&out, "ssl_ca_file").as_deref(),
        Some("'root.crt'"),
        "{out}"
    );
    assert_eq!(
        hba(&out),
        "hostssl shop app 10.9.8.7/32 scram-sha-256 clientcert=verify-full",
        "{out}"
    );

    // A loopback server: the client's address is loopback; a socket: a `local` rule.
    let out = hints("[default]\nhost = \"127.0.0.1\"\nuser = \"app\"\n", &[]);
    assert_eq!(
        hba(&out),
        "host app app 127.0.0.1/32 scram-sha-256",
        "{out}"
    );
    let out = hints(
        "[default]\nhost = \"/var/run/postgresql\"\nuser = \"app\"\n",
        &[],
    );
    assert_eq!(hba(&out), "local app app scram-sha-256", "{out}");
    assert_eq!(setting(&out, "ssl"), None, "{out}");

    let dir = fresh_dir("hints-json");
    std::fs::write(dir.join("pgtide.toml"), "[default]\nhost = \"127.0.0.1\"\n").unwrap();
    let o = pgtide(
        &dir,
        &["server", "hints", "--format", "json", "--instances", "2"],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(json["postgresql_conf"][0]["setting"], "max_connections");
    assert_eq!(json["postgresql_conf"][0]["value"], "28");
    let o = pgtide(&dir, &["server", "hints", "--client-address", "not-an-ip"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// A login role for one test, dropped at the end (roles are cluster-wide).
struct Role {
    name: String,
    admin_url: String,
}

impl Role {
    async fn create(db: &pgtide_testkit::TestDb) -> anyhow::Result<Self> {
        let name = format!("pgtide_audit_{}", std::process::id());
        let mut conn = db.connect().await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP ROLE IF EXISTS {name}; CREATE ROLE {name} LOGIN PASSWORD 'audit-pw'"
        )))
        .execute(&mut conn)
        .await?;
        Ok(Self {
            name,
            admin_url: db.url(),
        })
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&url).await.ok()?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {name}")))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

fn row<'a>(out: &'a str, setting: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(setting))
        .unwrap_or_else(|| panic!("no {setting} row in {out}"))
}

#[tokio::test]
async fn audit_with_and_without_permission() -> anyhow::Result<()> {
    let db = pgtide_testkit::TestDb::new().await?;
    let dir = fresh_dir("audit");
    std::fs::write(dir.join("pgtide.toml"), connection_toml(&db))?;
    let password = db.server().password.clone();

    // As a superuser: every setting and the pg_hba.conf rule the server uses for us.
    let o = pgtide_env(&dir, &["server", "audit"], &[(PASSWORD_VAR, &password)]);
    let out = stdout(&o);
    assert!(out.starts_with("SETTING"), "{out}");
    assert!(row(&out, "max_connections").ends_with("OK"), "{out}");
    assert!(
        row(&out, "ssl_min_protocol_version").ends_with("OK"),
        "{out}"
    );
    let hba = row(&out, "pg_hba.conf:");
    assert!(
        hba.contains("scram-sha-256") && !hba.contains("not readable"),
        "{out}"
    );
    assert_eq!(
        o.status.code(),
        Some(if out.contains("CHANGE") { 1 } else { 0 }),
        "{out}"
    );

    // Too many instances for the server's max_connections: CHANGE, exit 1.
    let o = pgtide_env(
        &dir,
        &["server", "audit", "--instances", "1000"],
        &[(PASSWORD_VAR, &password)],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        row(&stdout(&o), "max_connections").ends_with("CHANGE"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("CHANGE max_connections: pool.max_size 10 x 1000 instance(s)"),
        "{}",
        stdout(&o)
    );

    // As a role without privileges: it says what it cannot read and which role grants it,
    // and audits the rest.
    let role = Role::create(&db).await?;
    std::fs::write(
        dir.join("pgtide.toml"),
        connection_toml(&db).replace(
            &format!("user = \"{}\"", db.server().user),
            &format!("user = \"{}\"", role.name),
        ),
    )?;
    let env = [(PASSWORD_VAR, "audit-pw")];
    let o = pgtide_env(&dir, &["server", "audit", "--format", "json"], &env);
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&o)).map_err(|e| anyhow::anyhow!("{e}: {}", stderr(&o)))?;
    let rows = json["rows"].as_array().unwrap();
    let get = |name: &str| {
        rows.iter()
            .find(|r| r["setting"].as_str().unwrap().starts_with(name))
            .unwrap()
            .clone()
    };
    assert_eq!(get("max_connections")["verdict"], "OK", "{json}");
    let tls = get("ssl_min_protocol_version");
    assert_eq!(tls["verdict"], "REVIEW", "{json}");
    assert!(
        tls["note"]
            .as_str()
            .unwrap()
            .contains("pg_read_all_settings"),
        "{json}"
    );
    let hba = get("pg_hba.conf");
    assert_eq!(hba["verdict"], "REVIEW", "{json}");
    assert!(hba["current"] == "(not readable)", "{json}");
    let note = hba["note"].as_str().unwrap();
    assert!(
        note.contains("pg_hba_file_rules") && note.contains("superuser"),
        "{note}"
    );

    // Granted pg_read_all_settings, the hidden settings are audited too.
    let mut conn = db.connect().await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "GRANT pg_read_all_settings TO {}",
        role.name
    )))
    .execute(&mut conn)
    .await?;
    let o = pgtide_env(&dir, &["server", "audit"], &env);
    assert!(
        row(&stdout(&o), "ssl_min_protocol_version").ends_with("OK"),
        "{}",
        stdout(&o)
    );
    assert!(
        row(&stdout(&o), "pg_hba.conf").contains("not readable"),
        "{}",
        stdout(&o)
    );
    Ok(())
}
