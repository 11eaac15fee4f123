//! The progress line of `pgtide import` and `export`: forced on with `--progress always`
//! (stderr is a pipe here), it shows bytes and lines growing and ends with the final
//! counts on a line of its own; `auto` on a pipe and `never` keep stderr free of it.

mod support;

use pgtide_testkit::TestDb;
use support::*;

/// The progress lines drawn (split at `\r` and newlines): (MiB, lines) each.
fn drawn(stderr: &str) -> Vec<(f64, u64)> {
    stderr
        .split(['\r', '\n'])
        .filter_map(|l| {
            let l = l.trim_end_matches("\x1b[K");
            let (mib, rest) = l.split_once(" MiB ")?;
            let lines = rest.split_once(", ")?.1.split_once(" lines")?.0;
            Some((mib.parse().ok()?, lines.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn import_and_export_draw_growing_progress_only_when_asked() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let dir = fresh_dir("progress");
    std::fs::write(dir.join("pgtide.toml"), connection_toml(&db))?;
    let password = db.server().password.clone();
    let env = [(PASSWORD_VAR, password.as_str())];
    // About 24 MB: many chunks, several redraws.
    let mut csv = String::from("id,pad\n");
    for i in 0..240_000 {
        csv.push_str(&format!("{i:07},{}\n", "x".repeat(91)));
    }
    std::fs::write(dir.join("big.csv"), &csv)?;

    let o = pgtide_env(
        &dir,
        &[
            "import",
            "big.csv",
            "--table",
            "big",
            "--create",
            "--progress",
            "always",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let lines = drawn(&err);
    assert!(
        lines.len() >= 2,
        "at least a first and a final line: {err:?}"
    );
    assert!(
        lines
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1),
        "bytes and lines never go back: {lines:?}"
    );
    let last = lines.last().unwrap();
    assert_eq!(last.1, 240_001, "the final line counts every line: {err:?}");
    assert!(err.contains("MiB/s") && err.contains("%"), "{err:?}");
    assert!(
        err.ends_with("\x1b[K\n"),
        "the final line ends the line: {err:?}"
    );
    assert!(
        stdout(&o).contains("imported 240000 rows into big"),
        "{}",
        stdout(&o)
    );

    // Piped, `auto` (the default) and `never` draw nothing.
    for progress in ["auto", "never"] {
        let o = pgtide_env(
            &dir,
            &[
                "import",
                "big.csv",
                "--table",
                "big",
                "--header",
                "yes",
                "--progress",
                progress,
            ],
            &env,
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(drawn(&stderr(&o)).is_empty(), "{progress}: {}", stderr(&o));
    }

    let o = pgtide_env(
        &dir,
        &[
            "export",
            "--table",
            "big",
            "out.csv",
            "--progress",
            "always",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = drawn(&stderr(&o));
    assert!(lines.len() >= 2, "{}", stderr(&o));
    assert_eq!(
        lines.last().unwrap().1,
        720_000,
        "three imports of 240000 rows: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("exported "), "{}", stderr(&o));
    let o = pgtide_env(&dir, &["export", "--table", "big", "out.csv"], &env);
    assert!(drawn(&stderr(&o)).is_empty(), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
