//! The module manifest: one small file per `.sql` file, written by `prepare` into the `.sqlx`
//! directory beside the entries, that ties a generated module to the metadata it was
//! generated from.
//!
//! `prepare` writes `pgtide-module-<module>.txt`: a header line holding the module's digest
//! (a hash of the lines below it, [`module_digest`]), then one line per query of the file, in
//! order, `<name> <hash>`, where the hash covers the query's `.sqlx` entry and its nullability
//! decisions file, byte for byte ([`query_hash`]). `gen` renders the same text from the
//! entries it reads and copies the digest and the lines into the module, whose build compares
//! them with the file (`include_str!`; `pgtide::codegen_support::check_manifest`): the digest
//! and the length when nothing changed (16 bytes per module: `const` evaluation compares
//! bytes slowly), each query's line only to name the first that differs. So:
//!
//! - `prepare` without `gen` (a schema change, a query edited, added, removed or moved)
//!   changes the manifest, and the build fails naming the query;
//! - a `.sql` file removed and prepared removes its manifest, and the build fails at the
//!   module's `include_str!`;
//! - an entry or decisions file changed by anything but `prepare` (a hand edit, another
//!   tool) leaves the manifest as it was, so the build does not see it; `gen` and
//!   `gen --check` do: they refuse metadata that disagrees with its manifest, naming the
//!   query and `pgtide prepare` ([`mismatch`]).
//!
//! ```
//! use pgtide_codegen::manifest;
//!
//! let hash = manifest::query_hash(b"{\"query\": 1}", Some(b"{}"));
//! let m = manifest::render([("GetAuthor", hash.clone())]);
//! assert_eq!(m.lines[0].text, format!("GetAuthor {hash}"));
//! assert_eq!(&m.text[m.lines[0].offset..], format!("GetAuthor {hash}\n"));
//! assert_eq!(manifest::file_name("authors"), "pgtide-module-authors.txt");
//! ```

use sha2::{Digest, Sha256};

/// How every manifest starts (its format's name and version); the module digest follows.
pub const FORMAT: &str = "# pgtide-manifest/2 ";

/// The rest of the header line, after the digest.
const HEADER_END: &str =
    ": what `pgtide prepare` recorded for each query of one .sql file; do not edit\n";

/// Where the module digest starts in a manifest.
pub const DIGEST_OFFSET: usize = FORMAT.len();

/// The manifest's file name in the `.sqlx` directory for the module `module`.
pub fn file_name(module: &str) -> String {
    format!("pgtide-module-{module}.txt")
}

/// Whether `name` (a file in the `.sqlx` directory) is a manifest.
pub fn is_manifest(name: &str) -> bool {
    name.starts_with("pgtide-module-") && name.ends_with(".txt")
}

/// The hash of one query's metadata: 16 hex digits of SHA-256 over its `.sqlx` entry's bytes
/// and (when there is one) its decisions file's bytes.
pub fn query_hash(entry: &[u8], decisions: Option<&[u8]>) -> String {
    let mut sha = Sha256::new();
    sha.update((entry.len() as u64).to_le_bytes());
    sha.update(entry);
    if let Some(decisions) = decisions {
        sha.update(decisions);
    }
    sixteen_hex(&sha.finalize())
}

/// The digest of a module's query lines (each `<name> <hash>` followed by `\n`): 16 hex
/// digits of SHA-256, so any changed, added, removed or moved query changes it.
pub fn module_digest(lines: &str) -> String {
    sixteen_hex(&Sha256::digest(lines.as_bytes()))
}

/// The first 8 bytes of a SHA-256 digest as 16 hex digits.
fn sixteen_hex(digest: &[u8]) -> String {
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A rendered manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The file's contents.
    pub text: String,
    /// The module digest in the header ([`module_digest`] of the lines), at [`DIGEST_OFFSET`].
    pub digest: String,
    /// Each query's line, in order.
    pub lines: Vec<Line>,
}

/// One query's line of a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Where it starts in [`Manifest::text`].
    pub offset: usize,
    /// The line without its `\n`: `<name> <hash>`.
    pub text: String,
}

/// The manifest of one file's queries, given as `(name, query_hash)` in file order. Names
/// come from `-- name: X` (no whitespace); any control character is replaced so that one
/// query is always one line.
pub fn render<'a>(queries: impl IntoIterator<Item = (&'a str, String)>) -> Manifest {
    let mut body = String::new();
    let mut lines = Vec::new();
    for (name, hash) in queries {
        let name: String = name
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        let line = format!("{name} {hash}");
        lines.push(Line {
            offset: body.len(),
            text: line.clone(),
        });
        body.push_str(&line);
        body.push('\n');
    }
    let digest = module_digest(&body);
    let header = format!("{FORMAT}{digest}{HEADER_END}");
    for line in &mut lines {
        line.offset += header.len();
    }
    Manifest {
        text: header + &body,
        digest,
        lines,
    }
}

/// The index of the first query whose line in `on_disk` differs from `expected`'s (or
/// `expected.lines.len()` when only the end differs); `None` when they are the same.
pub fn mismatch(expected: &Manifest, on_disk: &str) -> Option<usize> {
    if expected.text == on_disk {
        return None;
    }
    let mut disk = on_disk.lines().skip(1);
    for (i, line) in expected.lines.iter().enumerate() {
        if disk.next() != Some(line.text.as_str()) {
            return Some(i);
        }
    }
    Some(expected.lines.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_sit_at_their_offsets_and_a_change_is_found() {
        let m = render([("A", "1".repeat(16)), ("B", "2".repeat(16))]);
        for line in &m.lines {
            assert_eq!(
                &m.text[line.offset..line.offset + line.text.len()],
                line.text
            );
        }
        assert_eq!(mismatch(&m, &m.text), None);
        let changed = m.text.replace(&"2".repeat(16), &"3".repeat(16));
        assert_eq!(mismatch(&m, &changed), Some(1));
        assert_eq!(mismatch(&m, &format!("{}C x\n", m.text)), Some(2));
        assert_eq!(mismatch(&m, ""), Some(0));
    }

    #[test]
    fn the_digest_sits_in_the_header_and_sees_every_line() {
        let m = render([("A", "1".repeat(16)), ("B", "2".repeat(16))]);
        assert!(m.text.starts_with(FORMAT));
        assert_eq!(
            &m.text[DIGEST_OFFSET..DIGEST_OFFSET + m.digest.len()],
            m.digest
        );
        assert_eq!(m.digest.len(), 16);
        for other in [
            render([("A", "1".repeat(16)), ("B", "3".repeat(16))]),
            render([("B", "2".repeat(16)), ("A", "1".repeat(16))]),
            render([("A", "1".repeat(16))]),
            render([("A", "1".repeat(16)), ("C", "2".repeat(16))]),
        ] {
            assert_ne!(other.digest, m.digest);
            // The header keeps its length: line offsets do not depend on the digest.
            assert_eq!(other.lines[0].offset, m.lines[0].offset);
        }
    }

    #[test]
    fn the_hash_sees_both_files() {
        let a = query_hash(b"entry", Some(b"decisions"));
        assert_eq!(a.len(), 16);
        assert_ne!(a, query_hash(b"entry", Some(b"decisionz")));
        assert_ne!(a, query_hash(b"entr", Some(b"ydecisions")));
        assert_ne!(a, query_hash(b"entry", None));
    }
}
