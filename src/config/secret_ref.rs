//! Secret references: `secret://env/NAME` and `secret://file/PATH`, resolved at load.
//!
//! A reference keeps the secret itself out of configuration files and out of the
//! environment of tools that print it; the reference is safe to show, the value never is.

use std::collections::BTreeMap;

use secrecy::SecretString;

/// What a failed resolution reports: the reason only, never a value.
pub(crate) type Reason = String;

/// Resolves `value` if it is a `secret://` reference, passes it through otherwise.
///
/// - `secret://env/NAME`: the variable `NAME` of the loader's environment snapshot;
/// - `secret://file/PATH`: the file's content with one trailing newline (`\n` or `\r\n`)
///   removed; `PATH` is absolute (`secret://file//run/secrets/pg`) or relative to the
///   working directory.
pub(crate) fn resolve(value: &str, env: &BTreeMap<String, String>) -> Result<SecretString, Reason> {
    let Some(reference) = value.strip_prefix("secret://") else {
        return Ok(SecretString::from(value));
    };
    if let Some(name) = reference.strip_prefix("env/") {
        if name.is_empty() {
            return Err("the variable name is missing: write secret://env/NAME".into());
        }
        return env
            .get(name)
            .map(|v| SecretString::from(v.as_str()))
            .ok_or_else(|| format!("environment variable {name} is not set"));
    }
    if let Some(path) = reference.strip_prefix("file/") {
        if path.is_empty() {
            return Err("the path is missing: write secret://file/PATH".into());
        }
        // Wiped when dropped: only the exact-size copy inside the `SecretString` remains.
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read file {path}: {}", io_reason(&e)))?,
        );
        let value = text
            .strip_suffix('\n')
            .map_or(text.as_str(), |t| t.strip_suffix('\r').unwrap_or(t));
        return Ok(SecretString::from(value));
    }
    Err("unknown kind of secret reference: use secret://env/NAME or secret://file/PATH".into())
}

/// The part of an I/O error that never quotes file content.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::InvalidData => "it is not valid UTF-8".into(),
        _ => e.to_string(),
    }
}

/// Whether `value` is a reference (so it is safe to show as written).
pub(crate) fn is_reference(value: &str) -> bool {
    value.starts_with("secret://")
}

/// Whether `value` is a `secret://file/PATH` reference: one worth re-reading later, since a
/// file can change under a running process (its environment cannot).
pub(crate) fn is_file_reference(value: &str) -> bool {
    value.starts_with("secret://file/")
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn plain_values_pass_through() {
        let env = BTreeMap::new();
        assert_eq!(resolve("abc", &env).unwrap().expose_secret(), "abc");
    }

    #[test]
    fn env_references_read_the_snapshot() {
        let env = BTreeMap::from([("PW".to_string(), "x".to_string())]);
        assert_eq!(
            resolve("secret://env/PW", &env).unwrap().expose_secret(),
            "x"
        );
        assert_eq!(
            resolve("secret://env/NOPE", &env).unwrap_err(),
            "environment variable NOPE is not set"
        );
        assert!(resolve("secret://vault/x", &env).is_err());
    }
}
