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

/// `--pgbouncer`: pgbouncer.ini sized from instances x pool size, the settings pgtide's
/// PgBouncer mode needs, and the server's `max_connections` sized for PgBouncer's server
/// connections only. `pgbouncer = true` in the configuration implies it.
#[test]
fn hints_for_pgbouncer_size_its_pools_from_instances() {
    let toml = "[default]\nhost = \"10.1.2.3\"\nuser = \"app\"\ndatabase = \"shop\"\nsslmode = \"disable\"\n[default.pool]\nmax_size = 10\n";
    let direct = hints(toml, &["--instances", "8"]);
    assert_eq!(setting(&direct, "max_connections").as_deref(), Some("91"));
    assert!(!direct.contains("pgbouncer.ini"), "{direct}");
    let out = hints(toml, &["--instances", "8", "--pgbouncer"]);
    // 8 x 10 client connections + 10 % headroom (at least 5).
    assert_eq!(
        setting(&out, "max_client_conn").as_deref(),
        Some("88"),
        "{out}"
    );
    assert_eq!(setting(&out, "default_pool_size").as_deref(), Some("10"));
    assert_eq!(setting(&out, "reserve_pool_size").as_deref(), Some("3"));
    assert_eq!(setting(&out, "max_db_connections").as_deref(), Some("13"));
    assert_eq!(setting(&out, "pool_mode").as_deref(), Some("transaction"));
    assert_eq!(
        setting(&out, "server_reset_query").as_deref(),
        Some("DEALLOCATE ALL")
    );
    assert_eq!(
        setting(&out, "server_reset_query_always").as_deref(),
        Some("1")
    );
    assert_eq!(
        setting(&out, "ignore_startup_parameters").as_deref(),
        Some("extra_float_digits")
    );
    assert_eq!(
        setting(&out, "shop").as_deref(),
        Some("host=10.1.2.3 port=5432 dbname=shop")
    );
    // The server only sees PgBouncer's 13: + 5 headroom + 3 reserved.
    assert_eq!(
        setting(&out, "max_connections").as_deref(),
        Some("21"),
        "{out}"
    );
    // PgBouncer reads comments only on lines of their own.
    let ini = &out[out.find("# pgbouncer.ini").unwrap()..];
    for line in ini
        .lines()
        .filter(|l| !l.starts_with(';') && l.contains(" = "))
    {
        assert!(!line.contains(';') && !line.contains('#'), "{line}");
    }
    let implied = hints(
        &toml.replace("sslmode", "pgbouncer = true\nsslmode"),
        &["--instances", "8"],
    );
    assert_eq!(
        setting(&implied, "max_client_conn").as_deref(),
        Some("88"),
        "{implied}"
    );

    let dir = fresh_dir("hints-pgbouncer-json");
    std::fs::write(dir.join("pgtide.toml"), toml).unwrap();
    let o = pgtide(
        &dir,
        &[
            "server",
            "hints",
            "--format",
            "json",
            "--instances",
            "2",
            "--pgbouncer",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        json["pgbouncer_ini"]["pgbouncer"][0]["setting"],
        "max_client_conn"
    );
    assert_eq!(json["pgbouncer_ini"]["pgbouncer"][0]["value"], "25");
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

/// Environment of an [`instance_child`] process: where to connect (`host:port`), and the
/// password of the `app` role.
const INSTANCE_ENV: &str = "PGTIDE_TEST_INSTANCE";

/// One application instance, run as a child process of
/// [`many_instances_fit_the_hinted_max_connections_and_fail_clearly_without`]: a pool of at
/// most 3 connections as the non-superuser `app`; it checks out all 3 at once, prints `HELD`
/// (or `FAILED: <error>`), and holds them until its stdin closes.
#[tokio::test]
#[ignore = "a child process of many_instances_fit_the_hinted_max_connections_and_fail_clearly_without"]
async fn instance_child() -> anyhow::Result<()> {
    use pgtide::config::{Config, PoolSize, SslMode};
    use std::time::Duration;
    let spec = std::env::var(INSTANCE_ENV)?;
    let (port, password) = spec.split_once(' ').expect("port and password");
    let config = Config::builder()
        .host("127.0.0.1")
        .port(port.parse()?)
        .user("app")
        .database("postgres")
        .password(pgtide::SecretString::from(password.to_owned()))
        .ssl_mode(SslMode::Disable)
        .pool_size(PoolSize::new(1, 3)?)
        .acquire_timeout(Duration::from_secs(3))
        .retry_attempts(2)
        .build()?;
    let held: pgtide::Result<_> = async {
        let pool = pgtide::Pool::connect(&config).await?;
        let conns = tokio::try_join!(pool.acquire(), pool.acquire(), pool.acquire())?;
        Ok((pool, conns))
    }
    .await;
    match &held {
        Ok(_) => println!("HELD"),
        Err(err) => println!("FAILED: {err}"),
    }
    tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await??;
    drop(held);
    Ok(())
}

/// 4 instances × `pool.max_size` 3 against one server: with the `max_connections` that
/// `server hints --instances 4` prints, every instance holds its whole pool at once; with
/// fewer, an instance fails saying the server has no connection slot left.
#[test]
fn many_instances_fit_the_hinted_max_connections_and_fail_clearly_without() -> anyhow::Result<()> {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let server = pgtide_testkit::PrivateServer::start_new()?;
    let password = "instances-pw";
    let admin = |sql: String| -> anyhow::Result<()> {
        rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&server.url("postgres")).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await?;
            conn.close().await?;
            anyhow::Ok(())
        })
    };
    admin(format!("CREATE ROLE app LOGIN PASSWORD '{password}'"))?;
    let hinted = hints(
        "[default]\nhost = \"127.0.0.1\"\nuser = \"app\"\nsslmode = \"disable\"\n[default.pool]\nmax_size = 3\n",
        &["--instances", "4"],
    );
    let hinted: u32 = setting(&hinted, "max_connections").unwrap().parse()?;
    let run = |max_connections: u32| -> anyhow::Result<Vec<String>> {
        admin(format!(
            "ALTER SYSTEM SET max_connections = {max_connections}"
        ))?;
        server.stop()?;
        server.start()?;
        let mut children = Vec::new();
        for _ in 0..4 {
            children.push(
                Command::new(std::env::current_exe()?)
                    .args(["--ignored", "--exact", "instance_child", "--nocapture"])
                    .env(INSTANCE_ENV, format!("{} {password}", server.port()))
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()?,
            );
        }
        // Every instance reports (holding its connections) before any lets go.
        let mut reports = Vec::new();
        let mut outputs = Vec::new();
        for child in &mut children {
            let mut lines = std::io::BufReader::new(child.stdout.take().expect("piped")).lines();
            let report = lines
                .by_ref()
                .map_while(Result::ok)
                .find(|l| l == "HELD" || l.starts_with("FAILED"))
                .unwrap_or_else(|| "no report".into());
            reports.push(report);
            outputs.push(lines);
        }
        for (mut child, rest) in children.into_iter().zip(outputs) {
            drop(child.stdin.take());
            rest.for_each(drop);
            child.wait()?;
        }
        Ok(reports)
    };
    let reports = run(hinted)?;
    assert!(reports.iter().all(|r| r == "HELD"), "{hinted}: {reports:?}");
    // 12 connections wanted, 10 - 3 reserved for superusers available.
    let reports = run(10)?;
    let failed: Vec<_> = reports.iter().filter(|r| r.starts_with("FAILED")).collect();
    assert!(!failed.is_empty(), "{reports:?}");
    for report in failed {
        assert!(
            report.contains("connection slots are reserved") || report.contains("too many clients"),
            "{report}"
        );
    }
    Ok(())
}
