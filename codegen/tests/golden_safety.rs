//! Generated code is safe from its inputs: whatever the `.sql` file, its file name, the
//! `.sqlx` metadata or the server put into names, labels, type names, overrides, comments and
//! SQL, every generated file parses with `syn::parse_file`, holds exactly the items the queries
//! call for, and its docs hold no code block rustdoc would run.
//!
//! No database: the metadata is written here, as a hostile server or a hand-edited `.sqlx`
//! file could write it.

use std::collections::BTreeMap;

use pgtide_codegen::generate::{GenOptions, GeneratedFile, Metadata, generate};
use pgtide_codegen::parse::{QueryFile, parse_file};
use pgtide_codegen::sqlx_data;
use proptest::prelude::*;
use serde_json::{Value, json};

const OPTIONS: GenOptions<'static> = GenOptions {
    sqlx_dir_from_out: "../.sqlx",
    regenerate_hint: "`pgtide gen`",
    types: &pgtide_codegen::overrides::TypeOverrides::new(),
    derives: &pgtide_codegen::overrides::Derives::new(),
};

/// One query's describe output: its parameter and column types.
struct Describe {
    params: Vec<Value>,
    columns: Vec<(String, Value)>,
}

fn metadata(file: &QueryFile, describe: impl Fn(usize) -> Describe) -> BTreeMap<String, Metadata> {
    let mut out = BTreeMap::new();
    for (i, q) in file.queries.iter().enumerate() {
        let d = describe(i);
        let columns: Vec<Value> = d
            .columns
            .iter()
            .enumerate()
            .map(|(ordinal, (name, ty))| json!({"ordinal": ordinal, "name": name, "type_info": ty}))
            .collect();
        let nullable: Vec<Value> = d.columns.iter().map(|_| json!(false)).collect();
        let text = sqlx_data::render(
            &q.sql,
            &json!({"columns": columns, "parameters": {"Left": d.params}, "nullable": nullable}),
        );
        out.insert(
            q.sql.clone(),
            Metadata::new(
                serde_json::from_str(&text).unwrap(),
                text.into_bytes(),
                None,
            ),
        );
    }
    out
}

fn enum_type(name: &str, labels: &[String]) -> Value {
    json!({"Custom": {"name": name, "kind": {"Enum": labels}}})
}

/// The items of a parsed file as `kind name` strings (impls by their self type), sorted.
fn items(file: &syn::File) -> Vec<String> {
    let mut out: Vec<String> = file
        .items
        .iter()
        .map(|item| match item {
            syn::Item::Const(c) => format!("const {}", c.ident),
            syn::Item::Fn(f) => format!("fn {}", f.sig.ident),
            syn::Item::Struct(s) => format!("struct {}", s.ident),
            syn::Item::Enum(e) => format!("enum {}", e.ident),
            syn::Item::Impl(i) => {
                let syn::Type::Path(p) = &*i.self_ty else {
                    return "impl ?".to_owned();
                };
                format!("impl {}", p.path.segments.last().unwrap().ident)
            }
            syn::Item::Mod(m) => format!("mod {}", m.ident),
            syn::Item::Use(u) => {
                let path = quote_use(&u.tree);
                assert!(
                    path.starts_with("pgtide::")
                        || path.starts_with("super::")
                        || path.starts_with("enums::"),
                    "unexpected use of {path}"
                );
                "use".to_owned()
            }
            other => panic!("unexpected item {other:?}"),
        })
        .filter(|s| s != "use")
        .collect();
    out.sort();
    out
}

fn quote_use(tree: &syn::UseTree) -> String {
    match tree {
        syn::UseTree::Path(p) => format!("{}::{}", p.ident, quote_use(&p.tree)),
        syn::UseTree::Name(n) => n.ident.to_string(),
        syn::UseTree::Rename(r) => format!("{} as {}", r.ident, r.rename),
        syn::UseTree::Glob(_) => panic!("generated code never glob-imports"),
        syn::UseTree::Group(g) => g.items.iter().map(quote_use).collect::<Vec<_>>().join(","),
    }
}

/// Every doc comment of the file, so its code blocks can be checked.
fn docs(file: &syn::File) -> Vec<String> {
    struct Docs(Vec<String>);
    impl<'a> syn::visit::Visit<'a> for Docs {
        fn visit_attribute(&mut self, attr: &'a syn::Attribute) {
            if let syn::Meta::NameValue(nv) = &attr.meta
                && nv.path.is_ident("doc")
                && let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) = &nv.value
            {
                self.0.push(s.value());
            }
        }
    }
    let mut docs = Docs(Vec::new());
    syn::visit::visit_file(&mut docs, file);
    docs.0
}

/// Rustdoc runs fenced blocks without a language (or `rust`) and indented blocks as doctests;
/// generated docs have only `sql` fences, and nothing indented.
fn assert_no_doctest(doc_lines: &[String], path: &str) {
    let mut open: Option<String> = None;
    for line in doc_lines {
        let line = line.strip_prefix(' ').unwrap_or(line);
        let ticks = line.chars().take_while(|&c| c == '`').count();
        match &open {
            Some(fence) if ticks >= fence.len() && line[ticks..].trim().is_empty() => open = None,
            Some(_) => {}
            // CommonMark: a backtick fence's info string has no backtick (else the line is
            // inline code, as `code()` spans in generated docs are).
            None if ticks >= 3 && !line[ticks..].contains('`') => {
                assert_eq!(
                    &line[ticks..],
                    "sql",
                    "{path}: a fence other than ```sql: {line:?}"
                );
                open = Some("`".repeat(ticks));
            }
            None => {
                assert!(!line.starts_with("~~~"), "{path}: {line:?}");
                assert!(
                    !line.starts_with("    ") && !line.starts_with('\t'),
                    "{path}: indented doc line {line:?} would be a doctest"
                );
            }
        }
    }
    assert!(open.is_none(), "{path}: unclosed fence");
}

/// Parses every generated file and checks it holds exactly what `files` call for.
fn assert_safe(out: &[GeneratedFile], files: &[QueryFile], enums: usize) {
    let mut expected_mods = Vec::new();
    for generated in out {
        let parsed = syn::parse_file(&generated.contents).unwrap_or_else(|e| {
            panic!(
                "{} does not parse: {e}\n{}",
                generated.name, generated.contents
            )
        });
        let doc_lines: Vec<String> = docs(&parsed)
            .iter()
            .flat_map(|d| d.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        assert_no_doctest(&doc_lines, &generated.name);
        let found = items(&parsed);
        if generated.name == "mod.rs" {
            assert_eq!(
                found.len(),
                files.len() + usize::from(enums > 0),
                "{found:?}"
            );
            continue;
        }
        if generated.name == "enums.rs" {
            assert_eq!(
                found.iter().filter(|i| i.starts_with("enum ")).count(),
                enums,
                "{found:?}"
            );
            assert_eq!(found.len(), enums * 7, "{found:?}");
            continue;
        }
        let file = files
            .iter()
            .find(|f| format!("{}.rs", f.module) == generated.name)
            .unwrap_or_else(|| panic!("unexpected file {}", generated.name));
        expected_mods.push(&file.module);
        // One build-time staleness check per module (its manifest), then each query's items.
        let mut expected = vec!["const _".to_owned()];
        for q in &file.queries {
            expected.push(format!("fn {}", q.fn_name));
            expected.push(format!("const {}", q.fn_name.to_uppercase()));
            if found.contains(&format!("struct {}Row", q.type_name)) {
                expected.push(format!("struct {}Row", q.type_name));
                expected.push(format!("impl {}Row", q.type_name));
            }
            if found.contains(&format!("struct {}Params", q.type_name)) {
                expected.push(format!("struct {}Params", q.type_name));
            }
        }
        expected.sort();
        assert_eq!(found, expected, "{}", generated.contents);
    }
    assert_eq!(expected_mods.len(), files.len());
}

#[test]
fn the_attacks_from_the_issue_stay_inert() {
    let sql = "-- name: Evil :many\n-- ```\n--     fn doctest() {}\n-- ```\nSELECT a AS \"a: i32,b:i32}fn evil(){}struct Z{c:i32\", b\nFROM t WHERE c = @c\n-- name: Fence :one\nSELECT '\n```\nfn main() { evil() }\n```' AS x, \"y\" FROM t";
    let file = parse_file("queries/ev\"il{}.sql", sql).unwrap();
    let labels: Vec<String> = ["a\"b", "c\nd", "e\\", "}fn x(){}", "```", "\r"]
        .map(String::from)
        .into();
    let e = enum_type("mood\"\n} fn evil() {", &labels);
    let metadata = metadata(&file, |i| match i {
        0 => Describe {
            params: vec![e.clone()],
            columns: vec![
                (
                    "a: i32,b:i32}fn evil(){}struct Z{c:i32".into(),
                    json!("Int4"),
                ),
                ("b".into(), e.clone()),
            ],
        },
        _ => Describe {
            params: vec![],
            columns: vec![("x".into(), json!("Text")), ("y".into(), e.clone())],
        },
    });
    // The override is refused, naming the column…
    let err = generate(std::slice::from_ref(&file), &metadata, OPTIONS).unwrap_err();
    assert!(
        err.to_string()
            .contains("is not a Rust type pgtide accepts"),
        "{err}"
    );

    // …and without it, everything else generates inert code.
    let sql = sql.replace("a AS \"a: i32,b:i32}fn evil(){}struct Z{c:i32\"", "a");
    let file = parse_file("queries/ev\"il{}.sql", &sql).unwrap();
    let metadata = self::metadata(&file, |i| match i {
        0 => Describe {
            params: vec![e.clone()],
            columns: vec![("a".into(), json!("Int4")), ("b".into(), e.clone())],
        },
        _ => Describe {
            params: vec![],
            columns: vec![("x\"\n}".into(), json!("Text")), ("y".into(), e.clone())],
        },
    });
    let out = generate(std::slice::from_ref(&file), &metadata, OPTIONS).unwrap();
    assert_safe(&out, &[file], 1);
}

/// Text with everything that can end a literal, a comment, a doc code span or fence.
fn hostile() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "\"",
        "\\",
        "\n",
        "\r",
        "\t",
        "{",
        "}",
        "`",
        "```",
        "~~~",
        "*/",
        "/*",
        "//",
        "///",
        "#",
        "'",
        "$",
        "@",
        "?",
        "!",
        ":",
        ";",
        ",",
        "<",
        ">",
        "&",
        "é",
        "日本",
        "\u{2028}",
        "\0",
        "fn evil() {}",
        "    ",
        " ",
        "a",
        "B",
        "_",
        "1",
        "r#",
        "Self",
        "self",
        "type",
    ]);
    prop::collection::vec(pieces, 0..8).prop_map(|p| p.concat())
}

/// Hostile file names, docs, SQL, column names, overrides, enum names and labels, and type
/// names: whenever `gen` accepts them, the output is inert. (The run also checks that most
/// cases do generate, so the property is not met by refusing everything.)
#[test]
fn hostile_inputs_generate_inert_code() {
    let strategy = (
        (hostile(), hostile(), hostile(), hostile()),
        (hostile(), any::<bool>(), hostile()),
        (prop::collection::vec(hostile(), 1..4), hostile()),
    );
    let generated = std::cell::Cell::new(0);
    // A fixed seed: the same cases on every run, so the suite is repeatable.
    const CASES: u32 = 512;
    let config = ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let rng = proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(config, rng);
    runner
        .run(&strategy, |((file_name, doc, sql_text, column), (override_ty, with_override, enum_name), (labels, type_name))| {
            let text = format!(
                "-- name: Q :many\n-- {doc}\nSELECT {sql_text} AS a, b, c, d FROM t WHERE x = @x AND y = @y\n"
            );
            let Ok(file) = parse_file(&format!("queries/a{file_name}.sql"), &text) else {
                return Ok(());
            };
            let mut labels = labels;
            labels.sort();
            labels.dedup();
            let e = enum_type(&enum_name, &labels);
            let params = file.queries[0].params.len();
            let b = if with_override { format!("b: {override_ty}") } else { "b".to_owned() };
            let metadata = metadata(&file, |_| Describe {
                params: std::iter::once(e.clone()).take(params).chain(std::iter::repeat_n(json!("Text"), params.saturating_sub(1))).collect(),
                columns: vec![
                    (format!("{column}x"), json!("Int8")),
                    (b.clone(), json!("Text")),
                    ("c".into(), e.clone()),
                    ("d".into(), json!({"Custom": {"name": type_name, "kind": {"Domain": "Int4"}}})),
                ],
            });
            if let Ok(out) = generate(std::slice::from_ref(&file), &metadata, OPTIONS) {
                assert_safe(&out, &[file], 1);
                generated.set(generated.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    assert!(
        generated.get() >= 64,
        "only {} of {CASES} cases generated",
        generated.get()
    );
}
