//! The type state at work: each case in `tests/ui/` must fail to compile, with the
//! compiler's message checked in beside it (`<case>.stderr`).
//!
//! Each case is compiled by `rustc` against the `pgtide` library cargo already built for this
//! test (`--extern pgtide=…rlib`, its dependencies from the same `deps/` directory), about a
//! second a case. trybuild did the same proof by checking pgtide and every dev-dependency
//! again in a target directory of its own: 406 s on a cold CI machine.
//!
//! The message is compared the way trybuild compared it: the closing `aborting due to` and
//! `rustc --explain` lines are dropped, and in a snippet of a file outside `tests/ui/` (pgtide's
//! own source) line numbers are blanked, so editing `src/` does not break the expectation.
//! `PGTIDE_UI=overwrite` writes the normalised messages into the `.stderr` files (read them
//! after).

use std::path::{Path, PathBuf};
use std::process::Command;

const CASES: &str = "tests/ui";

#[test]
fn misuse_of_the_config_builder_does_not_compile() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let deps = deps_dir();
    let pgtide = newest_pgtide_rlib(&deps);
    let out = std::env::temp_dir().join(format!("pgtide-compile-fail-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let overwrite = std::env::var("PGTIDE_UI").is_ok_and(|v| v == "overwrite");

    let mut cases: Vec<PathBuf> = std::fs::read_dir(root.join(CASES))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 5, "the cases of {CASES}/ are missing");

    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_stem().unwrap().to_str().unwrap();
        let relative = format!("{CASES}/{name}.rs");
        let output = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .current_dir(root)
            .args(["--edition", "2024", "--crate-type", "bin", "--crate-name"])
            .arg(name)
            .args(["--emit=metadata", "--color=never", "--error-format=human"])
            .arg("--out-dir")
            .arg(&out)
            .arg("-L")
            .arg(format!("dependency={}", deps.display()))
            .arg("--extern")
            .arg(format!("pgtide={}", pgtide.display()))
            .arg(&relative)
            .output()
            .expect("rustc runs");
        let actual = normalise(&String::from_utf8_lossy(&output.stderr));
        if output.status.success() {
            failures.push(format!("{relative} compiled, and must not"));
            continue;
        }
        let expected_path = root.join(CASES).join(format!("{name}.stderr"));
        if overwrite {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{relative}: the compiler said\n{actual}\n--- but {} expects\n{expected}",
                expected_path.display()
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `target/<profile>/deps`, where cargo put this test binary and the libraries it links.
fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().to_path_buf()
}

/// The `libpgtide-*.rlib` cargo built last: the one built for this test binary, from the
/// current source (another feature set's copy is only ever older or from the same source).
fn newest_pgtide_rlib(deps: &Path) -> PathBuf {
    std::fs::read_dir(deps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libpgtide-") && n.ends_with(".rlib"))
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).unwrap())
        .unwrap_or_else(|| panic!("no libpgtide-*.rlib in {}", deps.display()))
}

/// rustc's message as the `.stderr` files hold it (see the module docs).
fn normalise(stderr: &str) -> String {
    split_diagnostics(stderr)
        .iter()
        .map(|d| normalise_diagnostic(d))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level diagnostics (each `error…` line with its notes, helps and snippets), without
/// the closing summary.
fn split_diagnostics(stderr: &str) -> Vec<Vec<&str>> {
    let mut all: Vec<Vec<&str>> = Vec::new();
    for line in stderr.lines() {
        if line.starts_with("error: aborting due to")
            || line.starts_with("For more information about")
            || line.starts_with("Some errors have detailed explanations")
        {
            continue;
        }
        let top = line.starts_with("error") || line.starts_with("warning");
        match all.last_mut() {
            Some(current) if !top => current.push(line),
            _ => all.push(vec![line]),
        }
    }
    for diagnostic in &mut all {
        while diagnostic.last().is_some_and(|l| l.is_empty()) {
            diagnostic.pop();
        }
    }
    all.retain(|d| !d.is_empty());
    all
}

/// One diagnostic with its gutter (the line-number column, as wide as its longest number)
/// re-laid for the line numbers kept: those of `tests/ui/` files.
fn normalise_diagnostic(lines: &[&str]) -> String {
    let width = lines
        .iter()
        .find_map(|l| l.find("--> ").filter(|&i| l[..i].trim().is_empty()))
        .unwrap_or(0);
    // Each line: its gutter's line number (`Some("")` for a gutter without one, `None` for a
    // line with no gutter) and the text after the gutter.
    let mut laid: Vec<(Option<&str>, String)> = Vec::new();
    let mut foreign = false;
    for &line in lines {
        // `error…`, `note: …`, `help: …`; a gutter starts with a space or a line number.
        let is_header = line.starts_with(|c: char| c.is_ascii_alphabetic());
        if is_header || width == 0 || line.len() < width {
            foreign = false;
            laid.push((None, line.to_owned()));
            continue;
        }
        let (gutter, rest) = line.split_at(width);
        if let Some(path) = rest.strip_prefix("--> ") {
            foreign = !path.starts_with(CASES);
            let shown = if foreign { strip_position(path) } else { path };
            laid.push((Some(""), format!("--> {shown}")));
            continue;
        }
        let number = if foreign { "" } else { gutter.trim() };
        laid.push((Some(number), rest.to_owned()));
    }
    let new_width = laid
        .iter()
        .filter_map(|(n, _)| n.map(str::len))
        .max()
        .unwrap_or(1)
        .max(1);
    let mut out = String::new();
    for (number, rest) in laid {
        if let Some(number) = number {
            out.push_str(&format!("{number:>new_width$}"));
        }
        out.push_str(&rest);
        out.push('\n');
    }
    out
}

/// `src/x.rs:140:12` → `src/x.rs`.
fn strip_position(path: &str) -> &str {
    let mut path = path;
    for _ in 0..2 {
        match path.rsplit_once(':') {
            Some((head, tail)) if tail.chars().all(|c| c.is_ascii_digit()) => path = head,
            _ => break,
        }
    }
    path
}
