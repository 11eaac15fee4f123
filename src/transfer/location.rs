//! Where the data is: `-` (stdin/stdout), a local path, `file://`, `s3://`, `az://`/`abfs://`
//! or `gs://`, opened as an [`ObjectStore`] and a path in it. Each cloud store is built from
//! the provider's standard environment variables, then the caller's [`StorageOptions`], with
//! pgtide's retry policy as its backoff.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use secrecy::SecretString;

use super::error::Error;
use crate::config::{Config, RetrySettings};

/// Options for the object stores, by `object_store`'s configuration key (`aws_endpoint`,
/// `aws_region`, `aws_access_key_id`, `aws_secret_access_key`, `azure_storage_account_name`,
/// `azure_storage_access_key`, `azure_storage_sas_key`, `google_service_account`,
/// `allow_http`, …), plus `aws_profile` (an AWS named profile). They win over the loaded
/// profile's `storage.*` keys ([`StorageSettings`](crate::config::StorageSettings)), which
/// win over an AWS named profile, which wins over the provider's environment variables
/// (`AWS_*`, `AZURE_*`, `GOOGLE_*`). Keys and tokens are held as secrets: `Debug` shows
/// their names only.
///
/// ```
/// use pgtide::transfer::StorageOptions;
/// let options = StorageOptions::new()
///     .with("aws_endpoint", "http://127.0.0.1:9000")
///     .with("allow_http", "true")
///     .with_secret("aws_secret_access_key", "s3cr3t".into());
/// assert!(!format!("{options:?}").contains("s3cr3t"));
/// ```
#[derive(Clone, Default)]
pub struct StorageOptions {
    plain: BTreeMap<String, String>,
    secret: BTreeMap<String, SecretString>,
}

impl StorageOptions {
    /// No options: the environment alone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a plain option (an endpoint, a region, `allow_http`).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.plain.insert(key.into(), value.into());
        self
    }

    /// Sets a secret option (an access key, a SAS token), never shown.
    pub fn with_secret(mut self, key: impl Into<String>, value: SecretString) -> Self {
        self.secret.insert(key.into(), value);
        self
    }

    /// The plain option `key`, if set.
    pub(crate) fn get_plain(&self, key: &str) -> Option<&str> {
        self.plain.get(key).map(String::as_str)
    }

    /// `base` with every option of `self` set over it.
    pub(crate) fn layered_over(&self, mut base: StorageOptions) -> StorageOptions {
        for (k, v) in &self.plain {
            base.secret.remove(k);
            base.plain.insert(k.clone(), v.clone());
        }
        for (k, v) in &self.secret {
            base.plain.remove(k);
            base.secret.insert(k.clone(), v.clone());
        }
        base
    }

    /// Every option as `object_store` takes them.
    #[cfg_attr(not(feature = "cloud"), allow(dead_code))]
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        use secrecy::ExposeSecret;
        self.plain
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(
                self.secret
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.expose_secret())),
            )
    }
}

impl fmt::Debug for StorageOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in &self.plain {
            map.entry(k, v);
        }
        for k in self.secret.keys() {
            map.entry(k, &crate::config::REDACTED);
        }
        map.finish()
    }
}

/// An opened location.
pub(crate) enum Location {
    /// stdin for an import, stdout for an export.
    Stdio,
    /// An object (or local file) in a store.
    Object {
        store: Arc<dyn ObjectStore>,
        path: Path,
    },
}

/// `target` opened; also its name for messages and spans (credentials removed) and whether
/// it is gzip (`.gz`).
pub(crate) fn open(
    target: &str,
    options: &StorageOptions,
    config: &Config,
) -> Result<(Location, String, bool), Error> {
    let gzip = target.ends_with(".gz");
    if target == "-" {
        return Ok((Location::Stdio, "-".into(), false));
    }
    let is_url = target
        .split_once("://")
        .is_some_and(|(scheme, _)| scheme.chars().all(|c| c.is_ascii_alphanumeric()));
    if !is_url {
        let (store, path) = local(std::path::Path::new(target), target)?;
        return Ok((Location::Object { store, path }, target.to_owned(), gzip));
    }
    let url = url::Url::parse(target)
        .map_err(|e| Error::Invalid(format!("{}: not a valid URL: {e}", redact(target))))?;
    let shown = redact(target);
    let location = match url.scheme() {
        "file" => {
            let file = url.to_file_path().map_err(|()| {
                Error::Invalid(format!("{shown}: a file URL needs an absolute local path"))
            })?;
            let (store, path) = local(&file, &shown)?;
            Location::Object { store, path }
        }
        scheme => {
            let options = super::configured::options(scheme, config.storage(), options)
                .map_err(|e| Error::Invalid(format!("{shown}: {e}")))?;
            cloud(scheme, &url, &shown, &options, config.retry())?
        }
    };
    Ok((location, shown, gzip))
}

/// A local file as an object of a [`LocalFileSystem`]: its writes go to a staging file renamed
/// into place when complete, so a failed export leaves no partial file.
fn local(file: &std::path::Path, shown: &str) -> Result<(Arc<dyn ObjectStore>, Path), Error> {
    let absolute = std::path::absolute(file)
        .map_err(|e| Error::Invalid(format!("{shown}: not a usable path: {e}")))?;
    let path = Path::from_absolute_path(&absolute)
        .map_err(|e| Error::Invalid(format!("{shown}: not a usable path: {e}")))?;
    Ok((Arc::new(LocalFileSystem::new()), path))
}

/// `url` without user info and query (where SAS tokens and keys could be).
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => url
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

#[cfg(feature = "cloud")]
fn retry_config(retry: &RetrySettings) -> object_store::RetryConfig {
    object_store::RetryConfig {
        backoff: object_store::BackoffConfig {
            init_backoff: retry.base_delay,
            max_backoff: retry.max_delay,
            base: 2.0,
        },
        max_retries: retry.attempts.saturating_sub(1) as usize,
        retry_timeout: retry.budget,
    }
}

/// The process-wide rustls crypto provider the cloud stores' HTTP client needs: ring, the
/// one sqlx's TLS uses. Installed only if the application installed none.
#[cfg(feature = "cloud")]
fn crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn cloud(
    scheme: &str,
    url: &url::Url,
    shown: &str,
    options: &StorageOptions,
    retry: &RetrySettings,
) -> Result<Location, Error> {
    let store = cloud_store(scheme, url, shown, options, retry)?;
    let path = object_path(url, scheme, shown)?;
    Ok(Location::Object { store, path })
}

/// The store of a cloud URL, built from the environment, then `options`.
fn cloud_store(
    scheme: &str,
    url: &url::Url,
    shown: &str,
    options: &StorageOptions,
    retry: &RetrySettings,
) -> Result<Arc<dyn ObjectStore>, Error> {
    #[cfg(not(feature = "cloud"))]
    let _ = (url, options, retry);
    // The three builders share no trait: one recipe builds each from the environment, then
    // `options`, with the retry policy.
    #[cfg(feature = "cloud")]
    macro_rules! configured {
        ($builder:ty) => {{
            crypto_provider();
            let mut b = <$builder>::from_env().with_url(url.as_str());
            for (k, v) in options.pairs() {
                if let Ok(key) = k.to_ascii_lowercase().parse() {
                    b = b.with_config(key, v);
                }
            }
            let store = b
                .with_retry(retry_config(retry))
                .build()
                .map_err(|e| Error::Storage {
                    kind: super::StorageErrorKind::Permanent,
                    url: shown.to_owned(),
                    message: format!("cannot set up the store: {e}"),
                })?;
            Ok(Arc::new(store))
        }};
    }
    match scheme {
        #[cfg(feature = "s3")]
        "s3" | "s3a" => configured!(object_store::aws::AmazonS3Builder),
        #[cfg(feature = "azure")]
        "az" | "adl" | "azure" | "abfs" | "abfss" => {
            configured!(object_store::azure::MicrosoftAzureBuilder)
        }
        #[cfg(feature = "gcp")]
        "gs" => configured!(object_store::gcp::GoogleCloudStorageBuilder),
        // Reached only when a cloud feature is off.
        #[allow(unreachable_patterns)]
        "s3" | "s3a" | "az" | "adl" | "azure" | "abfs" | "abfss" | "gs" => {
            let feature = match scheme {
                "gs" => "gcp",
                "s3" | "s3a" => "s3",
                _ => "azure",
            };
            Err(Error::Invalid(format!(
                "{shown}: {scheme}:// needs pgtide's `{feature}` cargo feature"
            )))
        }
        other => Err(Error::Invalid(format!(
            "{shown}: unsupported scheme {other:?} (use a path, -, file://, s3://, az://, abfs:// or gs://)"
        ))),
    }
}

/// The object's path inside its bucket or container. `abfs://container@account.dfs…/path`
/// and `az://container/path` both keep the container in the store, the rest in the path.
fn object_path(url: &url::Url, _scheme: &str, shown: &str) -> Result<Path, Error> {
    let (_, path) = object_store::ObjectStoreScheme::parse(url)
        .map_err(|e| Error::Invalid(format!("{shown}: {e}")))?;
    if path.as_ref().is_empty() {
        return Err(Error::Invalid(format!(
            "{shown}: names a bucket or container, not an object"
        )));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(redact("az://c/o.csv?sv=1&sig=SECRET"), "az://c/o.csv");
        assert_eq!(redact("s3://key:SECRET@b/o.csv"), "s3://b/o.csv");
    }
}
