//! Bad input, generated: the CSV sniffing (encoding, delimiter, records, header) never panics
//! on any bytes, cut anywhere (a sample ends mid-character, mid-quote, mid-line), and its
//! guesses are consistent with what it was given.
//!
//! A fixed seed: the same cases on every run (the test prints how many ran); a longer run:
//! `PGTIDE_FUZZ_CASES=100000 cargo nextest run -p pgtide --features transfer -E 'test(sniffing)'`.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRng, TestRunner};

use super::*;

/// CSV-like bytes: fields, quotes (doubled, unclosed), every candidate delimiter, line ends,
/// byte order marks, invalid UTF-8, multi-byte characters; and any bytes.
fn sample() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        &b"id"[..],
        b"title",
        b"1",
        b"2.5",
        b"2024-01-31",
        b"",
        b",",
        b";",
        b"\t",
        b"|",
        b"\"",
        b"\"\"",
        b"\"a,b\"",
        b"\n",
        b"\r\n",
        b"\r",
        b"\xEF\xBB\xBF",
        b"\xFF\xFE",
        b"\xFE\xFF",
        b"\xE9",
        b"\xC3",
        b"\xC3\xA9",
        b"\x00",
        b"\xF0\x9F\x98",
        b"caf\xC3\xA9",
    ]);
    prop_oneof![
        4 => prop::collection::vec(piece, 0..40).prop_map(|p| p.concat()),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

#[test]
fn sniffing_never_panics_on_any_bytes() {
    let cases = std::env::var("PGTIDE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let ran = std::cell::Cell::new(0u32);
    runner
        .run(&(sample(), any::<bool>()), |(bytes, complete)| {
            ran.set(ran.get() + 1);
            let enc = encoding(&bytes);
            let (text, _, _) = enc.decode(&bytes);
            let found = delimiter(&text, complete);
            if let Some(d) = found {
                prop_assert!(CANDIDATES.contains(&d));
            }
            for d in CANDIDATES {
                let rows = records(&text, d, complete);
                // No field holds an unquoted delimiter; nothing is invented.
                let chars: usize = rows.iter().flatten().map(|f| f.chars().count()).sum();
                prop_assert!(chars <= text.chars().count());
                let _ = has_header(&rows, &["id".into(), "title".into()]);
                let _ = has_header(&rows, &[]);
            }
            Ok(())
        })
        .unwrap();
    println!("fuzz: CSV sniffing: {} cases, no panic", ran.get());
}
