//! What a CSV file looks like, guessed from its first bytes: the encoding (BOM, else UTF-8
//! validity, else windows-1252), the delimiter (the candidate that splits the sample lines
//! into the same number of fields, quotes respected) and whether the first row is a header.

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

use super::classify::ValueClass;

/// How many bytes of the file the guesses look at.
pub(crate) const SAMPLE: usize = 64 * 1024;

/// The delimiters `--delimiter` may be left out for, in order of preference on a tie.
const CANDIDATES: [char; 4] = [',', ';', '\t', '|'];

/// The file's encoding: from its byte order mark, else UTF-8 when the sample is valid
/// UTF-8 (a character cut by the end of the sample counts as valid), else windows-1252 (a
/// superset of Latin-1's printable characters).
pub(crate) fn encoding(sample: &[u8]) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(sample) {
        return enc;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => UTF_8,
        Err(e) if e.error_len().is_none() && sample.len() >= SAMPLE => UTF_8,
        Err(_) => WINDOWS_1252,
    }
}

/// The records of `text` split on `delimiter`, `"` quotes respected (a doubled quote inside
/// quotes is one quote). When `complete` is false the last record may be cut short by the
/// end of the sample and is dropped.
pub(crate) fn records(text: &str, delimiter: char, complete: bool) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' {
            quoted = true;
        } else if c == delimiter {
            row.push(std::mem::take(&mut field));
        } else if c == '\n' || c == '\r' {
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            row.push(std::mem::take(&mut field));
            rows.push(std::mem::take(&mut row));
        } else {
            field.push(c);
        }
    }
    if complete && (!field.is_empty() || !row.is_empty()) {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// The delimiter that splits the sample's records (up to 50) into the same number of
/// fields, more than one; the most fields wins, then the order of [`CANDIDATES`]. `None`
/// when no candidate is consistent (a one-column file: the caller's default applies).
pub(crate) fn delimiter(text: &str, complete: bool) -> Option<char> {
    let mut best: Option<(usize, char)> = None;
    for c in CANDIDATES {
        let rows = records(text, c, complete);
        let rows: Vec<_> = rows
            .iter()
            .filter(|r| !(r.len() == 1 && r[0].is_empty()))
            .take(50)
            .collect();
        let Some(first) = rows.first() else { continue };
        let n = first.len();
        if n > 1 && rows.iter().all(|r| r.len() == n) && best.is_none_or(|(m, _)| n > m) {
            best = Some((n, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Whether the first row is a header: its names equal the table's columns (in any order,
/// case-insensitively), or every field of it is non-empty text that is not a number,
/// boolean or date while some later row has a field that is one.
pub(crate) fn has_header(rows: &[Vec<String>], table_columns: &[String]) -> bool {
    let Some(first) = rows.first() else {
        return false;
    };
    if !table_columns.is_empty() {
        let mut a: Vec<_> = first.iter().map(|s| s.trim().to_lowercase()).collect();
        let mut b: Vec<_> = table_columns.iter().map(|s| s.to_lowercase()).collect();
        a.sort();
        b.sort();
        if a == b {
            return true;
        }
    }
    let text = |s: &String| !s.trim().is_empty() && !is_data(s.trim());
    first.iter().all(text)
        && rows[1..]
            .iter()
            .any(|r| r.iter().any(|f| is_data(f.trim())))
}

/// A number, a boolean or an ISO date: what a column name is not.
fn is_data(s: &str) -> bool {
    ValueClass::of(s).is_some_and(ValueClass::is_data)
}

#[cfg(test)]
#[path = "sniff_fuzz.rs"]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_told_apart() {
        assert_eq!(encoding(b"\xEF\xBB\xBFa,b\n"), UTF_8);
        assert_eq!(encoding(b"\xFF\xFEa\0"), encoding_rs::UTF_16LE);
        assert_eq!(encoding(b"\xFE\xFF\0a"), encoding_rs::UTF_16BE);
        assert_eq!(encoding("café,1\n".as_bytes()), UTF_8);
        assert_eq!(encoding(b"caf\xE9,1\n"), WINDOWS_1252);
    }

    #[test]
    fn delimiters_and_headers_are_sniffed() {
        let text = "name;note\n\"a;b\";1\nc;\"x\"\"y\"\n";
        assert_eq!(delimiter(text, true), Some(';'));
        assert_eq!(delimiter("a\tb\n1\t2\n", true), Some('\t'));
        assert_eq!(delimiter("a|b|c\n1|2|3\n4|5", false), Some('|'));
        assert_eq!(delimiter("one\ntwo\n", true), None);
        let rows = records("id,title\n1,Dune\n", ',', true);
        assert!(has_header(&rows, &[]));
        let rows = records("1,Dune\n2,Emma\n", ',', true);
        assert!(!has_header(&rows, &[]));
        let rows = records("title,author\nDune,Herbert\n", ',', true);
        assert!(!has_header(&rows, &[]));
        assert!(has_header(&rows, &["author".into(), "title".into()]));
    }
}
