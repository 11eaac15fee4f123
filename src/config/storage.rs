//! Object store settings: `[<profile>.storage.s3]`, `[<profile>.storage.azure]` and
//! `[<profile>.storage.gcs]`, loaded from the same layers as the database keys (files,
//! `PGTIDE_<PROFILE>__STORAGE__S3__REGION`, code) and used by `pgtide::transfer` under the
//! caller's own options. Keys, tokens and SAS tokens are secrets: a `secret://env/NAME` or
//! `secret://file/PATH` reference is resolved at load (a failure names the key and its
//! source), and the value never shows in `Debug`, `config show` or errors.
//!
//! ```
//! use pgtide::config::Config;
//!
//! let dir = std::env::temp_dir().join(format!("pgtide-storage-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let file = dir.join("pgtide.toml");
//! std::fs::write(&file, r#"
//! [default]
//! password = ""
//!
//! [default.storage.s3]
//! region = "eu-west-1"
//! access_key_id = "AKIDEXAMPLE"
//! secret_access_key = "secret://env/APP_S3_SECRET"
//! "#)?;
//! let config = Config::loader()
//!     .file(&file)
//!     .env([("APP_S3_SECRET", "s3cr3t")])
//!     .load()?;
//! assert_eq!(config.storage().s3.region.as_deref(), Some("eu-west-1"));
//! assert!(config.storage().s3.secret_access_key.is_some());
//! assert!(!format!("{config:?}").contains("s3cr3t"));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;
use super::apply::Merged;
use super::explain::REDACTED;
use super::secret_ref;
use super::settings::Config;

/// Object store settings of one profile, one group per provider. All unset by default: the
/// provider's standard environment variables (`AWS_*`, `AZURE_*`, `GOOGLE_*`) apply then.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct StorageSettings {
    /// `storage.s3.*`: Amazon S3 and S3-compatible stores (`s3://`).
    pub s3: S3Settings,
    /// `storage.azure.*`: Azure Blob Storage and ADLS Gen2 (`az://`, `abfs://`).
    pub azure: AzureSettings,
    /// `storage.gcs.*`: Google Cloud Storage (`gs://`).
    pub gcs: GcsSettings,
}

/// `storage.s3.*`.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct S3Settings {
    /// `region`: the bucket's region (default: `AWS_REGION`, else the profile's, else `us-east-1`).
    pub region: Option<String>,
    /// `endpoint`: an S3-compatible endpoint URL (MinIO, moto, …; default: AWS's).
    pub endpoint: Option<String>,
    /// `profile`: a named profile of `~/.aws/credentials` and `~/.aws/config` (default:
    /// `AWS_PROFILE`; the files' places: `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`).
    pub profile: Option<String>,
    /// `access_key_id`.
    pub access_key_id: Option<String>,
    /// `secret_access_key` (secret).
    pub secret_access_key: Option<SecretString>,
    /// `session_token` (secret), for temporary credentials.
    pub session_token: Option<SecretString>,
    /// `allow_http`: allow a plain `http://` endpoint (default: false).
    pub allow_http: bool,
}

/// `storage.azure.*`.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct AzureSettings {
    /// `account`: the storage account name.
    pub account: Option<String>,
    /// `access_key` (secret): the account's shared key.
    pub access_key: Option<SecretString>,
    /// `sas_token` (secret): a shared access signature, instead of the key.
    pub sas_token: Option<SecretString>,
    /// `endpoint`: the blob endpoint URL (Azurite, sovereign clouds; default: Azure's).
    pub endpoint: Option<String>,
    /// `use_emulator`: Azurite on its default local address and account (default: false).
    pub use_emulator: bool,
}

/// `storage.gcs.*`.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct GcsSettings {
    /// `service_account`: path of a service account JSON key file.
    pub service_account: Option<PathBuf>,
    /// `service_account_key` (secret): the service account JSON key itself.
    pub service_account_key: Option<SecretString>,
    /// `endpoint`: a GCS-compatible endpoint URL (an emulator); requests are then sent
    /// without OAuth.
    pub endpoint: Option<String>,
}

/// `[redacted]` for a secret that is set, `none` otherwise: what `config show` prints.
pub(crate) fn show_secret(secret: &Option<SecretString>) -> String {
    secret
        .as_ref()
        .map_or_else(|| "none".into(), |_| REDACTED.into())
}

/// What `config show` prints for a plain optional value.
pub(crate) fn show_text(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "none".into())
}

struct Redacted<'a>(&'a Option<SecretString>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&show_secret(self.0))
    }
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("profile", &self.profile)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &Redacted(&self.secret_access_key))
            .field("session_token", &Redacted(&self.session_token))
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl fmt::Debug for AzureSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureSettings")
            .field("account", &self.account)
            .field("access_key", &Redacted(&self.access_key))
            .field("sas_token", &Redacted(&self.sas_token))
            .field("endpoint", &self.endpoint)
            .field("use_emulator", &self.use_emulator)
            .finish()
    }
}

impl fmt::Debug for GcsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcsSettings")
            .field("service_account", &self.service_account)
            .field("service_account_key", &Redacted(&self.service_account_key))
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// `config` with every storage secret that is a `secret://` reference resolved against the
/// loader's environment; an unresolvable one is an error naming the key, its source and the
/// reference (never a value). The key table stores secrets as written; this is the one place
/// they are resolved.
pub(crate) fn resolve_secrets(
    mut config: Config,
    merged: &Merged<'_>,
) -> Result<Config, ConfigError> {
    let storage = &mut config.storage;
    let secrets: [(&str, &mut Option<SecretString>); 5] = [
        (
            "storage.s3.secret_access_key",
            &mut storage.s3.secret_access_key,
        ),
        ("storage.s3.session_token", &mut storage.s3.session_token),
        ("storage.azure.access_key", &mut storage.azure.access_key),
        ("storage.azure.sas_token", &mut storage.azure.sas_token),
        (
            "storage.gcs.service_account_key",
            &mut storage.gcs.service_account_key,
        ),
    ];
    for (key, slot) in secrets {
        let Some(written) = slot.as_ref() else {
            continue;
        };
        let written = written.expose_secret();
        if !secret_ref::is_reference(written) {
            continue;
        }
        let resolved =
            secret_ref::resolve(written, merged.env).map_err(|reason| ConfigError::Secret {
                key: key.into(),
                profile: merged.profile.into(),
                origin: Box::new(merged.origin(key)),
                reference: written.into(),
                reason,
            })?;
        *slot = Some(resolved);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let s3 = S3Settings {
            access_key_id: Some("AKID".into()),
            secret_access_key: Some("s3cr3t".into()),
            ..S3Settings::default()
        };
        let text = format!("{s3:?}");
        assert!(text.contains("AKID") && text.contains(REDACTED), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        let azure = AzureSettings {
            sas_token: Some("sv=1&sig=SECRET".into()),
            ..AzureSettings::default()
        };
        assert!(!format!("{azure:?}").contains("SECRET"));
    }
}
