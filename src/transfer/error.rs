//! The transfer error: what failed (the object store, the database, the caller's input) and,
//! for the object store, a kind to match on. Every message names the object by its URL
//! without credentials (no user info, no query string: a SAS token lives there).

use std::fmt;

/// What went wrong with an object store, for matching (never branch on the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageErrorKind {
    /// The object (or its bucket/container) does not exist.
    NotFound,
    /// The credentials were refused or lack a permission. Not retried.
    Permission,
    /// The store asked to slow down (HTTP 429/503) and kept asking after the retry policy's
    /// attempts and budget were spent.
    Throttled,
    /// The network failed (connect, reset, timeout) and kept failing after the retry
    /// policy's attempts and budget were spent.
    Transient,
    /// Anything else: retrying will not help.
    Permanent,
}

impl StorageErrorKind {
    /// Whether trying the whole transfer again later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Throttled | Self::Transient)
    }
}

impl fmt::Display for StorageErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFound => "not found",
            Self::Permission => "permission denied (check the credentials and the bucket's or container's access policy)",
            Self::Throttled => "throttled by the store (retries spent; try again later or lower the load)",
            Self::Transient => "network failure (retries spent; check the endpoint is reachable)",
            Self::Permanent => "failed",
        })
    }
}

/// A failed [`import`](super::import) or [`export`](super::export).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the object failed.
    #[error("{url}: {kind}: {message}")]
    Storage {
        /// What kind of failure, for matching.
        kind: StorageErrorKind,
        /// The object, without credentials.
        url: String,
        /// What the store or the file system reported (credentials never appear in it).
        message: String,
    },
    /// The database refused or failed: see [`crate::Error`]. An import left the table as it
    /// was.
    #[error("{0}")]
    Database(#[from] crate::Error),
    /// The URL, the options or the data cannot work as given: fix what the message names.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// The object store failure's kind, if this is one.
    pub fn storage_kind(&self) -> Option<StorageErrorKind> {
        match self {
            Self::Storage { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// A storage error about `url` from what `object_store` reported.
    pub(crate) fn storage(url: &str, err: &object_store::Error) -> Self {
        Self::Storage {
            kind: classify(err),
            url: url.to_owned(),
            message: message(err),
        }
    }

    /// A storage error about `url` from an I/O error (a local file, stdin/stdout, or an
    /// object store error carried through an `AsyncRead`/`AsyncWrite`).
    pub(crate) fn io(url: &str, err: &std::io::Error) -> Self {
        if let Some(inner) = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<object_store::Error>())
        {
            return Self::storage(url, inner);
        }
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => StorageErrorKind::NotFound,
            std::io::ErrorKind::PermissionDenied => StorageErrorKind::Permission,
            std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::Interrupted => StorageErrorKind::Transient,
            _ => StorageErrorKind::Permanent,
        };
        Self::Storage {
            kind,
            url: url.to_owned(),
            message: err.to_string(),
        }
    }
}

/// The kind of an `object_store` failure. `object_store` has already retried what it retries
/// (429, 5xx, connection failures) with the backoff pgtide configured from the retry policy,
/// so what reaches here has spent its retries. The HTTP status is read from the error chain:
/// `object_store` keeps its retry error type private, so a status shows only in its message.
fn classify(err: &object_store::Error) -> StorageErrorKind {
    use object_store::Error as E;
    match err {
        E::NotFound { .. } => return StorageErrorKind::NotFound,
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
            return StorageErrorKind::Permission;
        }
        _ => {}
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        #[cfg(feature = "cloud")]
        if let Some(http) = e.downcast_ref::<object_store::client::HttpError>() {
            use object_store::client::HttpErrorKind as K;
            if matches!(
                http.kind(),
                K::Connect | K::Request | K::Timeout | K::Interrupted
            ) {
                return StorageErrorKind::Transient;
            }
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::TimedOut
            )
        {
            return StorageErrorKind::Transient;
        }
        source = e.source();
    }
    let text = err.to_string();
    if text.contains("status code: 429") || text.contains("status code: 503") {
        StorageErrorKind::Throttled
    } else if text.contains("status code: 401") || text.contains("status code: 403") {
        StorageErrorKind::Permission
    } else if text.contains("status code: 5") {
        StorageErrorKind::Transient
    } else {
        StorageErrorKind::Permanent
    }
}

/// The store's message, one line, without the request URI (which for Azure SAS auth would
/// carry the token in its query string).
fn message(err: &object_store::Error) -> String {
    let text = err.to_string().replace('\n', " ");
    strip_queries(&text)
}

/// `text` with every `?query` of a URL in it cut (up to the next space).
fn strip_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_url = false;
    let mut skipping = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            in_url = false;
            skipping = false;
        } else if !in_url && (text[i..].starts_with("http://") || text[i..].starts_with("https://"))
        {
            in_url = true;
        }
        if in_url && c == '?' {
            skipping = true;
        }
        if !skipping {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_cut_from_urls() {
        assert_eq!(
            strip_queries("GET http://h/c/o?sig=SECRET&se=1 in 3ms - 403 http://x?y z"),
            "GET http://h/c/o in 3ms - 403 http://x z"
        );
    }

    #[test]
    fn kinds_come_from_the_error() {
        let nf = object_store::Error::NotFound {
            path: "p".into(),
            source: "gone".into(),
        };
        assert_eq!(classify(&nf), StorageErrorKind::NotFound);
        let throttled = object_store::Error::Generic {
            store: "S3",
            source: "Server returned non-2xx status code: 429 Too Many Requests: slow down".into(),
        };
        assert_eq!(classify(&throttled), StorageErrorKind::Throttled);
        assert!(StorageErrorKind::Throttled.is_retryable());
        assert!(!StorageErrorKind::Permission.is_retryable());
    }
}
