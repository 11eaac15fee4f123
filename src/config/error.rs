//! What can be wrong with a configuration, and where it came from.

use std::path::PathBuf;

use super::provenance::Source;

/// A configuration mistake: which key, in which profile, from which source, and what would
/// be valid.
///
/// Never contains a secret: values of `password` and `dsn` are never quoted, and secret
/// references are shown as written (`secret://env/NAME`), never resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value given to [`PoolSize::new`](crate::config::PoolSize::new) is not allowed (the
    /// builder's `build` and the loader report [`Value`](Self::Value), with the profile).
    #[error("invalid `{key}` (set in code): {message}")]
    Invalid {
        /// Dotted key path, e.g. `pool.max_size`.
        key: String,
        /// What is wrong and what would be valid.
        message: String,
    },
    /// A loaded value is not allowed or cannot be parsed.
    #[error("invalid `{key}` in profile `{profile}` ({origin}): {message}")]
    Value {
        /// Dotted key path, e.g. `pool.max_size`.
        key: String,
        /// The profile being loaded.
        profile: String,
        /// Where the value came from.
        origin: Box<Source>,
        /// What is wrong and what would be valid.
        message: String,
    },
    /// A key that pgtide does not know.
    #[error("unknown key `{key}` in profile `{profile}` ({origin}): {hint}")]
    UnknownKey {
        /// Dotted key path as written.
        key: String,
        /// The profile section it is in.
        profile: String,
        /// Where it was found.
        origin: Box<Source>,
        /// `did you mean ...?`, or the keys valid at that level.
        hint: String,
    },
    /// The requested profile is defined by no source.
    #[error(
        "unknown profile `{profile}`: the profiles that exist are {}",
        list(available)
    )]
    UnknownProfile {
        /// The profile asked for.
        profile: String,
        /// Profiles defined by the loaded files and environment (always `default`).
        available: Vec<String>,
    },
    /// A `secret://` reference could not be resolved.
    #[error("cannot resolve `{key}` in profile `{profile}` ({origin}): {reference}: {reason}")]
    Secret {
        /// The key holding the reference.
        key: String,
        /// The profile being loaded.
        profile: String,
        /// Where the reference came from.
        origin: Box<Source>,
        /// The reference as written, e.g. `secret://env/PG_PASSWORD`.
        reference: String,
        /// Why it failed and what to do.
        reason: String,
    },
    /// A configuration file cannot be read or parsed.
    #[error("{}: {message}", Source::file(path, *line))]
    File {
        /// The file.
        path: PathBuf,
        /// The line of a syntax error, where known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A required value is set nowhere.
    #[error("missing `{key}` in profile `{profile}`: {hint}")]
    Missing {
        /// Dotted key path.
        key: String,
        /// The profile being loaded.
        profile: String,
        /// Where it can be set.
        hint: String,
    },
}

/// Replaces `needle` where it is not part of a longer word (letters, digits, `_`).
fn replace_whole_tokens(text: &str, needle: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(needle) {
        out.push_str(&rest[..at]);
        let before = out.chars().next_back();
        let after = rest[at + needle.len()..].chars().next();
        if word(before) || word(after) {
            out.push_str(needle);
        } else {
            out.push_str("[redacted]");
        }
        rest = &rest[at + needle.len()..];
    }
    out.push_str(rest);
    out
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }

    pub(crate) fn value(
        key: impl Into<String>,
        profile: &str,
        origin: Source,
        message: impl Into<String>,
    ) -> Self {
        Self::Value {
            key: key.into(),
            profile: profile.into(),
            origin: Box::new(origin),
            message: message.into(),
        }
    }

    /// Replaces every occurrence of a known secret in the error's text by `[redacted]`:
    /// defence in depth for a password pasted into the wrong key (`port = "<password>"`).
    /// Secrets of 4 characters or more are replaced wherever they occur; shorter ones only
    /// where they stand as a whole token (not inside a longer word), so that a short password
    /// pasted into another key (`PGPORT=abc`) is still hidden without garbling the message.
    pub(crate) fn scrub(mut self, secrets: &[String]) -> Self {
        let secrets: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
        if secrets.is_empty() {
            return self;
        }
        let clean = |text: &mut String| {
            for secret in &secrets {
                if !text.contains(secret.as_str()) {
                    continue;
                }
                *text = if secret.chars().count() >= 4 {
                    text.replace(secret.as_str(), "[redacted]")
                } else {
                    replace_whole_tokens(text, secret)
                };
            }
        };
        match &mut self {
            Self::Invalid { key, message } => {
                clean(key);
                clean(message);
            }
            Self::Value {
                key,
                profile,
                message,
                ..
            } => {
                clean(key);
                clean(profile);
                clean(message);
            }
            Self::UnknownKey {
                key, profile, hint, ..
            } => {
                clean(key);
                clean(profile);
                clean(hint);
            }
            Self::UnknownProfile { profile, available } => {
                clean(profile);
                available.iter_mut().for_each(clean);
            }
            Self::Secret {
                key,
                profile,
                reference,
                reason,
                ..
            } => {
                clean(key);
                clean(profile);
                clean(reference);
                clean(reason);
            }
            Self::File { message, .. } => clean(message),
            Self::Missing {
                key, profile, hint, ..
            } => {
                clean(key);
                clean(profile);
                clean(hint);
            }
        }
        self
    }

    /// The dotted key path this error is about, if it is about one key.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Invalid { key, .. }
            | Self::Value { key, .. }
            | Self::UnknownKey { key, .. }
            | Self::Secret { key, .. }
            | Self::Missing { key, .. } => Some(key),
            Self::UnknownProfile { .. } | Self::File { .. } => None,
        }
    }

    /// Where the offending value came from, if known.
    pub fn origin(&self) -> Option<&Source> {
        match self {
            Self::Value { origin, .. }
            | Self::UnknownKey { origin, .. }
            | Self::Secret { origin, .. } => Some(origin),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::replace_whole_tokens;

    #[test]
    fn short_secrets_are_replaced_as_whole_tokens_only() {
        assert_eq!(
            replace_whole_tokens("expected a port, got `abc`", "abc"),
            "expected a port, got `[redacted]`"
        );
        assert_eq!(replace_whole_tokens("abc", "abc"), "[redacted]");
        assert_eq!(
            replace_whole_tokens("abcd xabc abc_", "abc"),
            "abcd xabc abc_"
        );
        assert_eq!(
            replace_whole_tokens("é-ab-ab", "ab"),
            "é-[redacted]-[redacted]"
        );
    }
}
