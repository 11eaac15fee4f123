//! The `use` lines of a generated module: paths shortened to their last segment where that
//! name is free, so a query reads `Uuid`, `fetch_one` and `BookGenre` instead of
//! `pgtide::sqlx::types::Uuid`, `pgtide::codegen_support::fetch_one` and `super::BookGenre`.
//!
//! A name is imported only once and only when nothing else in the module uses it: the
//! module's own items, the prelude and every earlier import win, and a path whose last
//! segment is taken stays written in full. So shortening can never change what a name means.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::rust::WIDTH;

/// Names a generated module never imports: the prelude's types, traits, functions and
/// variants, and the crate roots generated code names.
const RESERVED: &[&str] = &[
    "AsMut",
    "AsRef",
    "Box",
    "Clone",
    "Copy",
    "Debug",
    "Default",
    "DoubleEndedIterator",
    "Drop",
    "Eq",
    "Err",
    "ExactSizeIterator",
    "Extend",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "FromIterator",
    "Hash",
    "Into",
    "IntoIterator",
    "Iterator",
    "None",
    "Ok",
    "Option",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "Result",
    "Send",
    "Sized",
    "Some",
    "String",
    "Sync",
    "ToOwned",
    "ToString",
    "TryFrom",
    "TryInto",
    "Unpin",
    "Vec",
    "alloc",
    "core",
    "crate",
    "drop",
    "pgtide",
    "self",
    "std",
    "super",
    "Self",
];

/// The imports of one module being rendered.
#[derive(Debug, Default)]
pub(super) struct Imports {
    /// Short name → the full path it stands for (`""` for a name the module defines).
    names: BTreeMap<String, String>,
    /// Traits imported as `_` for their methods.
    traits: BTreeSet<String>,
}

impl Imports {
    /// Imports for a module that defines `items` itself (its functions, constants and types).
    pub(super) fn new<'a>(items: impl IntoIterator<Item = &'a str>) -> Self {
        let mut names: BTreeMap<String, String> = RESERVED
            .iter()
            .map(|n| ((*n).to_owned(), String::new()))
            .collect();
        for item in items {
            names.insert(item.trim_start_matches("r#").to_owned(), String::new());
        }
        Self {
            names,
            traits: BTreeSet::new(),
        }
    }

    /// The name to write for `path` (e.g. `pgtide::codegen_support::fetch_one`): its last
    /// segment, imported, when that is free or already means `path`; else `path` itself.
    pub(super) fn name(&mut self, path: &str) -> String {
        let Some((_, last)) = path.rsplit_once("::") else {
            return path.to_owned();
        };
        match self.names.get(last) {
            Some(full) if full == path => last.to_owned(),
            Some(_) => path.to_owned(),
            None => {
                self.names.insert(last.to_owned(), path.to_owned());
                last.to_owned()
            }
        }
    }

    /// Imports `path`, a trait, as `_` so its methods are in scope.
    pub(super) fn use_trait(&mut self, path: &str) {
        self.traits.insert(path.to_owned());
    }

    /// `ty` with every `pgtide::…` and `super::…` path in it shortened by [`Self::name`];
    /// other paths (a user's type override) are left as written.
    pub(super) fn ty(&mut self, ty: &str) -> String {
        let mut out = String::with_capacity(ty.len());
        let mut rest = ty;
        while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_') {
            let (before, from) = rest.split_at(start);
            out.push_str(before);
            // A path starts here only if not in the middle of an identifier or lifetime.
            let glued = before.ends_with(|c: char| c == '\'' || c == ':' || c.is_alphanumeric())
                || (before.is_empty() && out.ends_with(|c: char| c == '\'' || c.is_alphanumeric()));
            let len = path_len(from);
            let path = &from[..len];
            if !glued && (path.starts_with("pgtide::") || path.starts_with("super::")) {
                out.push_str(&self.name(path));
            } else {
                out.push_str(path);
            }
            rest = &from[len..];
        }
        out.push_str(rest);
        out
    }

    /// The `use` lines, grouped by parent path (a module imported itself and for its items
    /// as `{self, …}`), in a stable order, broken as rustfmt would past the line width.
    pub(super) fn render(&self) -> String {
        let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (name, path) in &self.names {
            if let Some((parent, _)) = path.rsplit_once("::") {
                groups.entry(parent).or_default().push(name.clone());
            }
        }
        for path in &self.traits {
            if let Some((parent, last)) = path.rsplit_once("::") {
                groups
                    .entry(parent)
                    .or_default()
                    .push(format!("{last} as _"));
            }
        }
        let modules: Vec<(String, String)> = groups
            .iter()
            .flat_map(|(parent, names)| {
                names
                    .iter()
                    .map(move |n| (format!("{parent}::{n}"), n.clone()))
            })
            .filter(|(path, _)| groups.contains_key(path.as_str()))
            .collect();
        for (path, name) in modules {
            let parent = &path[..path.len() - name.len() - 2];
            if let Some(names) = groups.get_mut(parent) {
                names.retain(|n| *n != name);
            }
            if let Some(names) = groups.get_mut(path.as_str()) {
                names.push("self".to_owned());
            }
        }
        let mut out = String::new();
        for (parent, mut names) in groups {
            if names.is_empty() {
                continue;
            }
            // rustfmt's order: `self`, then the rest by their bytes (types before functions).
            names.sort_by(|a, b| (a != "self", a).cmp(&(b != "self", b)));
            let line = if names.len() == 1 {
                format!("use {parent}::{};", names[0])
            } else {
                format!("use {parent}::{{{}}};", names.join(", "))
            };
            if line.len() <= WIDTH {
                let _ = writeln!(out, "{line}");
                continue;
            }
            // Past the width: as many names per line as fit, as rustfmt packs a `use` list.
            let _ = writeln!(out, "use {parent}::{{");
            let mut current = String::from("   ");
            for name in &names {
                if current.len() + 1 + name.len() + 1 > WIDTH {
                    let _ = writeln!(out, "{current}");
                    current = String::from("   ");
                }
                let _ = write!(current, " {name},");
            }
            let _ = writeln!(out, "{current}\n}};");
        }
        out
    }
}

/// The length of the path (`a::b::C`) at the start of `s`.
fn path_len(s: &str) -> usize {
    let mut len = 0;
    loop {
        len += s[len..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len() - len);
        let next = &s[len..];
        if next.starts_with("::")
            && next[2..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        {
            len += 2;
        } else {
            return len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_shorten_only_when_the_name_is_free() {
        let mut imports = Imports::new(["get_book", "GetBookRow", "Decimal"]);
        assert_eq!(
            imports.ty(
                "Option<pgtide::sqlx::types::chrono::DateTime<pgtide::sqlx::types::chrono::Utc>>"
            ),
            "Option<DateTime<Utc>>"
        );
        assert_eq!(imports.ty("&'a super::BookGenre"), "&'a BookGenre");
        // Taken by the module itself, by the prelude, or by an earlier import: written in full.
        assert_eq!(
            imports.ty("pgtide::sqlx::types::Decimal"),
            "pgtide::sqlx::types::Decimal"
        );
        assert_eq!(imports.ty("Vec<super::Option>"), "Vec<super::Option>");
        assert_eq!(imports.ty("super::Utc"), "super::Utc");
        assert_eq!(imports.ty("super::GetBookRow"), "super::GetBookRow");
        // A user's override is left alone.
        assert_eq!(imports.ty("my::Money"), "my::Money");
        imports.use_trait("pgtide::sqlx::Row");
        assert_eq!(
            imports.render(),
            "use pgtide::sqlx::Row as _;\nuse pgtide::sqlx::types::chrono::{DateTime, Utc};\nuse super::BookGenre;\n"
        );
    }
}
