//! The password never shows: a known password is loaded through every path (file, YAML,
//! `PGTIDE_` env, JSON env, `PGPASSWORD`, secret references, URLs, code) and must not appear
//! in the `Debug` or `Display` of the config, the loaded view, the loader, the builder, the
//! hash, or of any error raised while it is loaded.

use pgtide::config::{Config, ConfigLoader, PoolSize};
use pgtide::{ExposeSecret, SecretString};

const PASSWORD: &str = "hunter2-SECRET";
const FIXTURES: &str = "tests/fixtures/config";

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

fn assert_hidden(what: &str, text: &str) {
    assert!(
        !text.contains(PASSWORD),
        "{what} shows the password: {text}"
    );
    assert!(
        !text.contains("hunter2"),
        "{what} shows part of the password: {text}"
    );
}

fn loader(env: &[(&str, &str)]) -> ConfigLoader {
    Config::loader()
        .no_file_search()
        .env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

/// Loads through `make`, checks the password arrived, and that nothing shows it.
fn check_path(path: &str, make: impl Fn() -> ConfigLoader) {
    let loader = make();
    assert_hidden(&format!("{path}: loader Debug"), &format!("{loader:?}"));
    let loaded = loader
        .load_explained()
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let config = loaded.config();
    assert_eq!(
        config.connection().password.expose_secret(),
        PASSWORD,
        "{path}"
    );
    assert_hidden(&format!("{path}: Config Debug"), &format!("{config:?}"));
    assert_hidden(&format!("{path}: Config Display"), &config.to_string());
    assert_hidden(
        &format!("{path}: Config alternate Debug"),
        &format!("{config:#?}"),
    );
    assert_hidden(
        &format!("{path}: LoadedConfig Debug"),
        &format!("{loaded:?}"),
    );
    assert_hidden(
        &format!("{path}: LoadedConfig Display"),
        &loaded.to_string(),
    );
    assert_hidden(
        &format!("{path}: LoadedConfig JSON"),
        &serde_json::to_string(&loaded).unwrap(),
    );
    let hash = config.config_hash();
    assert_hidden(&format!("{path}: hash"), &format!("{hash} {hash:?}"));
    assert!(!hash.to_string().contains(&hex(PASSWORD)));
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn password_is_hidden_whichever_way_it_arrives() {
    let secret_file = format!(
        "{}/{FIXTURES}/redaction_secret.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let file_ref = format!("secret://file/{secret_file}");
    check_path("toml file", || loader(&[]).file(fixture("redaction.toml")));
    check_path("yaml file", || loader(&[]).file(fixture("redaction.yaml")));
    check_path("dsn in a file", || {
        loader(&[]).file(fixture("redaction_dsn.toml"))
    });
    check_path("PGTIDE env", || {
        loader(&[("PGTIDE_DEFAULT__PASSWORD", PASSWORD)])
    });
    check_path("JSON env", || {
        loader(&[("PGTIDE_DEFAULT__JSON", r#"{"password": "hunter2-SECRET"}"#)])
    });
    check_path("PGPASSWORD", || loader(&[("PGPASSWORD", PASSWORD)]));
    check_path("secret://env", || {
        loader(&[("PGPASSWORD", "secret://env/MY_PW"), ("MY_PW", PASSWORD)])
    });
    check_path("secret://file", || loader(&[("PGPASSWORD", &file_ref)]));
    check_path("DATABASE_URL", || {
        loader(&[(
            "DATABASE_URL",
            "postgres://app:hunter2-SECRET@db.example/app",
        )])
    });
    check_path("URL-encoded DATABASE_URL", || {
        loader(&[(
            "DATABASE_URL",
            "postgres://app:hunter2%2DSECRET@db.example/app",
        )])
    });
    check_path("code", || {
        loader(&[]).password(SecretString::from(PASSWORD))
    });
}

#[test]
fn errors_raised_while_a_password_is_loaded_do_not_show_it() {
    let errors = [
        loader(&[])
            .file(fixture("redaction.toml"))
            .profile("broken")
            .load(),
        loader(&[])
            .file(fixture("redaction.yaml"))
            .profile("broken")
            .load(),
        loader(&[])
            .file(fixture("redaction_dsn.toml"))
            .profile("broken")
            .load(),
        loader(&[]).file(fixture("syntax.toml")).load(),
        loader(&[]).file(fixture("syntax.yaml")).load(),
        loader(&[
            ("PGTIDE_DEFAULT__PASSWORD", PASSWORD),
            ("PGTIDE_DEFAULT__PORT", "x"),
        ])
        .load(),
        loader(&[
            ("PGTIDE_DEFAULT__PASSWORD", PASSWORD),
            ("PGTIDE_DEFAULT__PASWORD", PASSWORD),
        ])
        .load(),
        loader(&[(
            "PGTIDE_DEFAULT__JSON",
            r#"{"password": "hunter2-SECRET", "port": 0}"#,
        )])
        .load(),
        loader(&[("PGTIDE_DEFAULT__JSON", r#"{"password": "hunter2-SECRET""#)]).load(),
        loader(&[("PGTIDE_DEFAULT__JSON", r#""hunter2-SECRET""#)]).load(),
        loader(&[(
            "PGTIDE_DEFAULT__JSON",
            r#"{"password": ["hunter2-SECRET"]}"#,
        )])
        .load(),
        loader(&[(
            "DATABASE_URL",
            "postgres://app:hunter2-SECRET@db.example:port/app",
        )])
        .load(),
        loader(&[(
            "DATABASE_URL",
            "postgres://app:hunter2-SECRET@db.example/app?sslmode=hunter2-SECRET",
        )])
        .load(),
        loader(&[("DATABASE_URL", "mysql://app:hunter2-SECRET@db.example/app")]).load(),
        loader(&[(
            "DATABASE_URL",
            "postgres://app:hunter2%ff-SECRET@db.example/app",
        )])
        .load(),
        loader(&[("PGPASSWORD", PASSWORD)])
            .set("pool.max_size", 0)
            .load(),
        loader(&[]).set("password", PASSWORD).load(),
    ];
    for (i, result) in errors.into_iter().enumerate() {
        let err = result.expect_err(&format!("case {i} should fail"));
        assert_hidden(&format!("case {i}: error Display"), &err.to_string());
        assert_hidden(&format!("case {i}: error Debug"), &format!("{err:?}"));
    }
}

#[test]
fn builder_debug_does_not_show_the_password() {
    let builder = Config::builder().password(SecretString::from(PASSWORD));
    assert_hidden("builder Debug", &format!("{builder:?}"));
    let builder = builder.pool_size(PoolSize::new(1, 2).unwrap());
    assert_hidden("builder Debug", &format!("{builder:?}"));
    let err = builder.port(0).build().unwrap_err();
    assert_hidden("builder error", &format!("{err} {err:?}"));
}

/// Neither the password nor any piece of it (split at `/`, `?`, `:`) shows.
fn assert_no_fragment(what: &str, text: &str, fragments: &[&str]) {
    for fragment in fragments {
        assert!(
            !text.contains(fragment),
            "{what} shows `{fragment}`, a piece of the password: {text}"
        );
    }
}

#[test]
fn malformed_urls_do_not_show_pieces_of_the_password() {
    // No `@`: `user:password` must not be read as `host:port` and quoted as a port.
    let err = loader(&[("DATABASE_URL", "postgres://app:hunter2secret/db")])
        .load()
        .unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert_no_fragment("no `@`", &text, &["hunter2secret", "hunter2"]);
        assert!(text.contains("port") && text.contains("@host"), "{text}");
    }
    // A raw `/`, `?` or `:` in the password: the userinfo ends at the last `@`.
    for (url, password) in [
        ("postgres://app:hun/ter2secret@h/db", "hun/ter2secret"),
        ("postgres://app:hun?ter2secret@h/db", "hun?ter2secret"),
        ("postgres://app:123/abc@h/db", "123/abc"),
        ("postgres://app:a@b:c/d?e@h:5433/db", "a@b:c/d?e"),
    ] {
        let loaded = loader(&[("DATABASE_URL", url)])
            .load_explained()
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let config = loaded.config();
        let c = config.connection();
        assert_eq!(c.password.expose_secret(), password, "{url}");
        assert_eq!(c.user, "app", "{url}");
        assert_eq!(c.host, "h", "{url}");
        assert_eq!(c.database, "db", "{url}");
        let pieces: Vec<&str> = password
            .split(['/', '?', ':', '@'])
            .filter(|p| p.len() >= 3)
            .collect();
        for text in [
            format!("{config:?}"),
            format!("{config:#?}"),
            config.to_string(),
            format!("{loaded:?}"),
            loaded.to_string(),
        ] {
            assert_no_fragment(url, &text, &pieces);
        }
    }
    // The same URLs, broken elsewhere: the error names the component, not the password.
    for url in [
        "postgres://app:hun/ter2secret@h:x/db",
        "postgres://app:hun?ter2secret@h/db?bogus=1",
        "postgres://app:hun/ter2secret@h/db?port=x",
        "postgres://app:hun/ter2secret@h/db?sslmode=nope",
        "postgres://hun/ter2secret@h/db",
        "postgres://h/db?application_name=hun@ter2secret",
    ] {
        let err = loader(&[("DATABASE_URL", url)]).load().expect_err(url);
        for text in [err.to_string(), format!("{err:?}")] {
            assert_no_fragment(url, &text, &["ter2secret"]);
        }
    }
}

#[test]
fn a_short_password_pasted_into_another_key_is_hidden() {
    let err = loader(&[("PGPASSWORD", "abc"), ("PGPORT", "abc")])
        .load()
        .unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(
            !text.contains("`abc`") && !text.contains("\"abc\""),
            "{text}"
        );
        assert!(text.contains("[redacted]"), "{text}");
    }
    // The same short password inside a longer word is left alone (no garbled message).
    let err = loader(&[("PGPASSWORD", "por"), ("PGPORT", "x")])
        .load()
        .unwrap_err();
    assert!(err.to_string().contains("port"), "{err}");
    // From a URL too.
    let err = loader(&[
        ("DATABASE_URL", "postgres://app:xy@h/db"),
        ("PGSSLMODE", "xy"),
    ])
    .load()
    .unwrap_err();
    assert!(err.to_string().contains("[redacted]"), "{err}");
}

#[test]
fn a_url_with_a_password_set_in_code_is_refused_like_a_plain_password() {
    for url in [
        "postgres://app:hunter2-SECRET@db.example/app",
        "postgres://app@db.example/app?password=hunter2-SECRET",
    ] {
        let err = loader(&[]).set("dsn", url).load().unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("a URL with a password cannot be set as plain text in code")
                && text.contains("ConfigLoader::password"),
            "{text}"
        );
        assert_hidden("the refusal", &text);
        assert_hidden("the refusal's Debug", &format!("{err:?}"));
    }
    // Without a password (or with a reference), the URL is fine in code.
    let config = loader(&[("MY_PW", PASSWORD)])
        .set("dsn", "postgres://app@db.example/app")
        .password(SecretString::from(PASSWORD))
        .load()
        .unwrap();
    assert_eq!(config.connection().host, "db.example");
    let config = loader(&[("MY_PW", PASSWORD)])
        .set(
            "dsn",
            "postgres://app:secret%3A%2F%2Fenv%2FMY_PW@db.example/app",
        )
        .load()
        .unwrap();
    assert_eq!(config.connection().password.expose_secret(), PASSWORD);
}
