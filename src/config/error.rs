//! What can be wrong with a configuration, and where it came from.

/// A configuration mistake: which key, from which source, and what would be valid.
///
/// Never contains a secret value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key has a value that is not allowed.
    #[error("invalid `{key}`: {message}")]
    Invalid {
        /// Dotted key path, e.g. `pool.max_size`.
        key: String,
        /// What is wrong and what would be valid.
        message: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}
