//! The `codegen.types` table's values are Rust types pasted into generated code: the loader
//! checks each entry with the codegen's own rules (`pgtide-type-rules`, the crate both use),
//! so a bad value is a config error naming the key and where it was written.

/// Checks one entry against those before it (`existing`); `Ok` is the Rust type trimmed.
pub(crate) fn check<'a>(
    existing: impl Iterator<Item = &'a str>,
    name: &str,
    rust: &str,
) -> Result<String, String> {
    pgtide_type_rules::type_entry(existing, name, rust)
}
