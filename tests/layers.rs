//! The crate reads bottom-up: no circle in the import graph of `src/`'s top-level modules,
//! the foundations import nothing above them, and every `impl Pool` lives under `src/pool/`.
//!
//! The graph is read from the source: every `crate::<module>` path outside comments (in `use`
//! items and in code), with names the crate root re-exports (`crate::Pool`) resolved to the
//! module they come from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text without `//` comments (doc comments included: their links are not imports).
/// String literals are kept as they are; none of them spells `crate::` in `src/`.
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first path segment of every `crate::…` path in `code`; `crate::{a, b::c}` gives
/// `a` and `b`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        out.push(ident(&group[i..]).to_owned());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest).to_owned());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Names the crate root re-exports (`pub use pool::{Pool, …};`) → the module they come from.
fn root_reexports() -> BTreeMap<String, String> {
    let lib = code(&std::fs::read_to_string(src().join("lib.rs")).unwrap());
    let mut out = BTreeMap::new();
    for item in lib.split(';') {
        let Some(path) = item.trim().strip_prefix("pub use ") else {
            continue;
        };
        let module = ident(path).to_owned();
        match path.find('{') {
            Some(open) => {
                for name in path[open + 1..].trim_end_matches('}').split(',') {
                    let name = name.trim();
                    let name = name.rsplit(" as ").next().unwrap_or(name);
                    out.insert(name.to_owned(), module.clone());
                }
            }
            None => {
                let last = path.rsplit("::").next().unwrap_or(path).trim();
                out.insert(last.to_owned(), module);
            }
        }
    }
    out
}

fn module_graph() -> Graph {
    let reexports = root_reexports();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut graph = Graph::new();
    for path in files {
        let relative = path.strip_prefix(src()).unwrap();
        if relative == Path::new("lib.rs") {
            continue;
        }
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let text = code(&std::fs::read_to_string(&path).unwrap());
        let deps = graph.entry(top.clone()).or_default();
        for first in crate_paths(&text) {
            let module = reexports.get(&first).cloned().unwrap_or(first);
            if module != top {
                deps.insert(module);
            }
        }
    }
    // Only the crate's own modules (a re-export of another crate, e.g. `sqlx`, is not one).
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    graph
}

/// A circle through `start`, if there is one.
fn circle_through(graph: &Graph, start: &str) -> Option<Vec<String>> {
    fn walk(graph: &Graph, at: &str, start: &str, path: &mut Vec<String>) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                return true;
            }
            if path.contains(next) {
                continue;
            }
            path.push(next.clone());
            if walk(graph, next, start, path) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = vec![start.to_owned()];
    walk(graph, start, start, &mut path).then(|| {
        path.push(start.to_owned());
        path
    })
}

#[test]
fn the_module_import_graph_has_no_circle() {
    let graph = module_graph();
    assert!(
        graph.len() > 10 && graph["pool"].contains("config"),
        "the graph was not read: {graph:#?}"
    );
    let circles: Vec<String> = graph
        .keys()
        .filter_map(|m| circle_through(&graph, m))
        .map(|c| c.join(" → "))
        .collect();
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_foundations_import_nothing_above_them() {
    let graph = module_graph();
    let allowed: [(&str, &[&str]); 4] = [
        ("config", &[]),
        ("error", &["config"]),
        ("retry", &["config", "error", "observe"]),
        ("observe", &["config", "error"]),
    ];
    for (module, may) in allowed {
        let above: Vec<&String> = graph[module]
            .iter()
            .filter(|d| !may.contains(&d.as_str()))
            .collect();
        assert!(above.is_empty(), "{module} imports {above:?}");
    }
}

#[test]
fn every_impl_pool_is_under_src_pool() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    fn top(p: &Path) -> std::path::Component<'_> {
        p.strip_prefix(src()).unwrap().components().next().unwrap()
    }
    // `blocking` has a `Pool` of its own.
    let own_pool: Vec<_> = files
        .iter()
        .filter(|p| code(&std::fs::read_to_string(p).unwrap()).contains("pub struct Pool"))
        .map(|p| top(p))
        .collect();
    let outside: Vec<String> = files
        .iter()
        .filter(|p| !own_pool.contains(&top(p)))
        .filter(|p| code(&std::fs::read_to_string(p).unwrap()).contains("impl Pool {"))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        outside.is_empty(),
        "impl Pool outside src/pool/: {outside:?}"
    );
}

#[test]
fn crate_paths_reads_groups_and_plain_paths() {
    let text =
        "use crate::{config::Config, error::{Error, Result}};\nlet x = crate::pool::Pool::new();";
    assert_eq!(crate_paths(text), ["config", "error", "pool"]);
}
