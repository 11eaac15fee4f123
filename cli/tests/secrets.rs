//! The CLI never shows a password: `pgtide config test`, `config show` and `import`, run with
//! the right and a wrong password, given in the config file itself, by `secret://env/` and by
//! `secret://file/` reference. Neither password appears on stdout or stderr, nor in the
//! child's `/proc/<pid>/cmdline` (read while it runs).

mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::{PASSWORD_VAR, fresh_dir};

/// A wrong password, distinctive enough to find anywhere it leaks.
const WRONG: &str = "wrong-Cli-Pw-5e1d-SECRET";

/// One run of the binary: its output and the command line the kernel shows for it.
struct Run {
    output: Output,
    cmdline: String,
}

/// Runs `pgtide args` in `dir` with only `PATH` and `env`, reading `/proc/<pid>/cmdline`
/// while the child waits for its stdin, then feeding it `stdin`.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pgtide"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command.envs(env.iter().copied());
    let mut child = command.spawn().expect("pgtide runs");
    // Until it exits and is waited for, the process is there; once it has exited (a zombie)
    // the file reads empty, which the `import -` runs rule out (they wait for stdin).
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id()))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default();
    if let Some(mut input) = child.stdin.take() {
        // A child that already failed has closed its end: that is its answer, not ours.
        let _ = input.write_all(stdin);
    }
    let output = child.wait_with_output().expect("pgtide finishes");
    Run { output, cmdline }
}

#[tokio::test]
async fn no_command_shows_the_password_given_in_any_way() -> anyhow::Result<()> {
    let db = pgtide_testkit::TestDb::new().await?;
    let right = db.server().password.clone();
    let mut admin = db.connect().await?;
    sqlx::query("CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL)")
        .execute(&mut admin)
        .await?;
    let s = db.server();
    let connection = |password: &str| {
        format!(
            "[default]\nhost = \"{}\"\nport = {}\nuser = \"{}\"\ndatabase = \"{}\"\n\
             sslmode = \"disable\"\npassword = \"{password}\"\n[default.retry]\nattempts = 1\n",
            s.host,
            s.port,
            s.user,
            db.name()
        )
    };
    let mut runs = 0;
    let mut cmdlines_read = 0;
    let mut next_id = 0;
    for (how, password) in [
        ("file", right.as_str()),
        ("file", WRONG),
        ("env", right.as_str()),
        ("env", WRONG),
        ("secret-file", right.as_str()),
        ("secret-file", WRONG),
    ] {
        let ok = password == right;
        let dir = fresh_dir(&format!("secrets-{how}-{ok}"));
        let (toml, env): (String, Vec<(&str, &str)>) = match how {
            "file" => (connection(password), vec![]),
            "env" => (
                connection(&format!("secret://env/{PASSWORD_VAR}")),
                vec![(PASSWORD_VAR, password)],
            ),
            _ => {
                std::fs::write(dir.join("pw.txt"), format!("{password}\n"))?;
                (connection("secret://file/pw.txt"), vec![])
            }
        };
        std::fs::write(dir.join("pgtide.toml"), toml)?;
        next_id += 1;
        let csv = format!("id,name\n{next_id},someone\n");
        for (args, stdin) in [
            (&["config", "test"][..], &b""[..]),
            (&["config", "show"][..], &b""[..]),
            (&["import", "-", "--table", "people"][..], csv.as_bytes()),
        ] {
            let r = run(&dir, args, &env, stdin);
            runs += 1;
            let (out, err) = (
                String::from_utf8_lossy(&r.output.stdout),
                String::from_utf8_lossy(&r.output.stderr),
            );
            let what = format!(
                "{how}, {} password, `pgtide {}`",
                if ok { "right" } else { "wrong" },
                args.join(" ")
            );
            let connects = args[0] != "config" || args[1] == "test";
            let expected = if connects && !ok { 1 } else { 0 };
            assert_eq!(
                r.output.status.code(),
                Some(expected),
                "{what}: {out}\n{err}"
            );
            if connects && !ok {
                assert!(
                    err.contains("auth"),
                    "{what}: an authentication error: {err}"
                );
            }
            if !r.cmdline.is_empty() {
                cmdlines_read += 1;
                assert!(r.cmdline.contains("pgtide"), "{what}: {}", r.cmdline);
            }
            for secret in [right.as_str(), WRONG] {
                assert!(
                    !out.contains(secret),
                    "{what}: stdout shows a password: {out}"
                );
                assert!(
                    !err.contains(secret),
                    "{what}: stderr shows a password: {err}"
                );
                assert!(
                    !r.cmdline.contains(secret),
                    "{what}: the command line shows a password"
                );
            }
        }
    }
    let imported: i64 = sqlx::query_scalar("SELECT count(*) FROM people")
        .fetch_one(&mut admin)
        .await?;
    assert_eq!(imported, 3, "each right password imported its row");
    assert!(
        cmdlines_read >= 3,
        "the runs that wait for stdin had their command line read"
    );
    eprintln!("{runs} runs scanned (stdout, stderr, {cmdlines_read} command lines)");
    Ok(())
}
