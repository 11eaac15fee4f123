//! `pgtide config init | show | test | example` (an unknown kind), driven as a binary.

mod support;

use pgtide::config::Config;
use support::*;

fn values(loaded: &pgtide::config::LoadedConfig) -> Vec<(String, String)> {
    loaded
        .entries()
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect()
}

#[test]
fn init_writes_templates_that_load_back_as_the_defaults() {
    let defaults = Config::loader()
        .no_file_search()
        .env([("PGPASSWORD", "x")])
        .load_explained()
        .unwrap();
    for (format, name) in [("toml", "pgtide.toml"), ("yaml", "pgtide.yaml")] {
        let dir = fresh_dir(&format!("init-{format}"));
        let o = pgtide(&dir, &["config", "init", "--format", format]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).unwrap();

        // The library's own loader reads it, and every value is the built-in default.
        let loaded = Config::loader()
            .file(&path)
            .env([("APP_DB_PASSWORD", "x")])
            .load_explained()
            .unwrap_or_else(|e| panic!("{name} does not load: {e}"));
        assert_eq!(values(&loaded), values(&defaults), "{name}");
        // Every key is in the template, set or commented out.
        for entry in defaults.entries() {
            let leaf = entry.key.rsplit('.').next().unwrap();
            assert!(
                text.lines().any(|l| l
                    .trim_start_matches([' ', '#'])
                    .starts_with(&format!("{leaf} "))
                    || l.trim_start_matches([' ', '#'])
                        .starts_with(&format!("{leaf}:"))),
                "{name} lacks `{}`",
                entry.key
            );
        }

        // Never overwritten without --force.
        std::fs::write(&path, "# mine\n").unwrap();
        let o = pgtide(&dir, &["config", "init", "--format", format]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("pass --force"), "{}", stderr(&o));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
        let o = pgtide(&dir, &["config", "init", "--format", format, "--force"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
    // The format follows --path; a contradiction is a usage error.
    let dir = fresh_dir("init-path");
    let o = pgtide(&dir, &["config", "init", "--path", "deploy.yml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        std::fs::read_to_string(dir.join("deploy.yml"))
            .unwrap()
            .contains("\n  pool:\n")
    );
    let o = pgtide(
        &dir,
        &["config", "init", "--format", "yaml", "--path", "x.toml"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!dir.join("x.toml").exists());
}

#[test]
fn show_prints_each_value_with_its_source_and_never_the_password() {
    let dir = fresh_dir("show");
    std::fs::write(
        dir.join("pgtide.toml"),
        "[default]\nhost = \"db.internal\"\npassword = \"hunter2-in-file\"\n\n[default.codegen]\nqueries = \"sql\"\n\n[prod.pool]\nmax_size = 7\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    let env = [("PGTIDE_PROD__POOL__MIN_SIZE", "2")];
    // From a subdirectory: the file is found upwards.
    let o = pgtide_env(
        &dir.join("sub/deeper"),
        &["config", "show", "--profile", "prod"],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let line = |key: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("no {key} in {out}"))
            .to_string()
    };
    let file = dir.join("pgtide.toml").display().to_string();
    assert!(
        line("host").contains("db.internal")
            && line("host").ends_with(&format!("# file {file}, line 2")),
        "{out}"
    );
    assert!(
        line("pool.max_size").ends_with(&format!("# file {file}, line 9")),
        "{out}"
    );
    assert!(
        line("pool.min_size").ends_with("# environment variable PGTIDE_PROD__POOL__MIN_SIZE"),
        "{out}"
    );
    assert!(
        line("port").contains("5432") && line("port").ends_with("# built-in default"),
        "{out}"
    );
    assert!(line("password").contains("[redacted]"), "{out}");
    assert!(
        line("codegen.queries").contains("= sql") && line("codegen.queries").ends_with(", line 6"),
        "{out}"
    );
    assert!(line("codegen.out").ends_with("# built-in default"), "{out}");
    assert!(!out.contains("hunter2") && !stderr(&o).contains("hunter2"));

    let o = pgtide_env(
        &dir,
        &["config", "show", "--profile", "prod", "--format", "json"],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stdout(&o).contains("hunter2"));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(json["profile"], "prod");
    let entry = |key: &str| {
        json["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == key)
            .unwrap()
            .clone()
    };
    assert_eq!(entry("pool.max_size")["value"], "7");
    assert_eq!(entry("pool.max_size")["source"]["kind"], "file");
    assert_eq!(entry("pool.max_size")["source"]["line"], 9);
    assert_eq!(
        entry("pool.min_size")["source"]["var"],
        "PGTIDE_PROD__POOL__MIN_SIZE"
    );

    // A mistake names the real file and line, not the copy the loader was given.
    std::fs::write(
        dir.join("pgtide.toml"),
        "[default]\npassword = \"hunter2-in-file\"\n[default.codegen]\nout = \"x\"\n[default.pool]\nmax_siz = 3\n",
    )
    .unwrap();
    let o = pgtide(&dir, &["config", "show"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("unknown key `pool.max_siz` in profile `default` (file {file}, line 6): did you mean `max_size`?")),
        "{}",
        stderr(&o)
    );
    // An unknown codegen key, likewise.
    std::fs::write(
        dir.join("pgtide.toml"),
        "[default]\npassword = \"\"\n[default.codegen]\nqueris = \"q\"\n",
    )
    .unwrap();
    let o = pgtide(&dir, &["config", "show"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("unknown key `codegen.queris` in profile `default` (file {file}, line 4): did you mean `queries`?")),
        "{}",
        stderr(&o)
    );
}

#[tokio::test]
async fn config_test_reports_the_server_and_fails_with_the_error_kind() -> anyhow::Result<()> {
    let db = pgtide_testkit::TestDb::new().await?;
    let dir = fresh_dir("config-test");
    std::fs::write(
        dir.join("pgtide.toml"),
        format!(
            "{}statement_timeout = \"15s\"\n[default.pool]\nmin_size = 2\n",
            connection_toml(&db)
        ),
    )?;
    let password = db.server().password.clone();
    let good = [(PASSWORD_VAR, password.as_str())];
    let o = pgtide_env(&dir, &["config", "test"], &good);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("server version:"), "{out}");
    assert!(
        out.contains("held 3 connections at once (min_size 2, max_size 10)"),
        "{out}"
    );
    // The throwaway server serves TLS, and sslmode defaults to prefer on loopback.
    assert!(out.contains("tls:               yes (TLSv1."), "{out}");
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("statement_timeout") && l.contains("15s  (15s)")),
        "{out}"
    );
    assert!(!out.contains(&password));

    let o = pgtide_env(&dir, &["config", "test", "--format", "json"], &good);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o))?;
    assert_eq!(json["ok"], true);
    assert_eq!(json["connections_held"], 3);
    assert!(
        json["server_version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );

    // Wrong password: exit 1, the kind and what to do; the wrong password is not printed.
    let o = pgtide_env(
        &dir,
        &["config", "test"],
        &[(PASSWORD_VAR, "not-the-password-42")],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("error kind: auth"), "{err}");
    assert!(
        err.contains("what to do: check `user` and `password`"),
        "{err}"
    );
    assert!(!err.contains("not-the-password-42") && !stdout(&o).contains("not-the-password-42"));

    // No server on the port: a connect failure, not a hang (one attempt, short timeout).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let env = [
        (PASSWORD_VAR, password.as_str()),
        ("PGPORT", "1"),
        ("PGTIDE_DEFAULT__RETRY__ATTEMPTS", "1"),
        ("PGTIDE_DEFAULT__CONNECT_TIMEOUT", "2s"),
    ];
    let port = closed.to_string();
    let env_port = [("PGTIDE_DEFAULT__PORT", port.as_str())];
    let all: Vec<(&str, &str)> = env.iter().chain(&env_port).copied().collect();
    let o = pgtide_env(&dir, &["config", "test", "--format", "json"], &all);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o))?;
    assert_eq!(json["ok"], false);
    assert!(
        ["transient", "timeout"].contains(&json["kind"].as_str().unwrap_or_default()),
        "{json}"
    );
    assert!(
        json["advice"].as_str().unwrap().contains("reachable"),
        "{json}"
    );

    // A configuration error is reported with kind config.
    let o = pgtide(&dir, &["config", "test"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error kind: config"), "{}", stderr(&o));
    assert!(stderr(&o).contains(PASSWORD_VAR), "{}", stderr(&o));
    Ok(())
}

#[test]
fn an_unknown_example_kind_is_a_usage_error() {
    let dir = fresh_dir("example-unknown");
    let o = pgtide(&dir, &["config", "example", "--kind", "nonsense"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("blocking"), "{}", stderr(&o));
}

#[test]
fn help_completions_and_exit_codes() {
    let dir = fresh_dir("help");
    let o = pgtide(&dir, &["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for text in [
        "Exit codes: 0 success",
        "Examples:",
        "pgtide config init",
        "--config <FILE>",
        "--profile <NAME>",
    ] {
        assert!(out.contains(text), "{text} not in {out}");
    }
    for group in [
        &["config", "--help"][..],
        &["server", "--help"],
        &["prepare", "--help"],
        &["completions", "--help"],
        &["config", "show", "--help"],
        &["server", "audit", "--help"],
        &["gen", "--help"],
    ] {
        let o = pgtide(&dir, group);
        assert_eq!(o.status.code(), Some(0));
        assert!(
            stdout(&o).contains("Examples:"),
            "{group:?}: {}",
            stdout(&o)
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let o = pgtide(&dir, &["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stdout(&o).contains("pgtide"));
        assert!(
            stdout(&o).contains("audit"),
            "{shell}: subcommands complete"
        );
    }
    let o = pgtide(&dir, &["completions", "powershell"]);
    assert_eq!(o.status.code(), Some(2));
    let o = pgtide(&dir, &["config"]);
    assert_eq!(o.status.code(), Some(2));
    let o = pgtide(&dir, &["config", "show", "--format", "xml"]);
    assert_eq!(o.status.code(), Some(2));
    // No command has a password flag.
    let o = pgtide(&dir, &["config", "test", "--password", "x"]);
    assert_eq!(o.status.code(), Some(2));
}
