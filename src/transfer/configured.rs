//! The object store options one transfer uses, from lowest to highest precedence: the
//! provider's environment variables (read by `object_store` itself), an AWS named profile,
//! the loaded profile's `storage.*` keys, then the caller's [`StorageOptions`]. This is the
//! one place the layers meet.

use secrecy::ExposeSecret;

use super::aws_profile;
use super::location::StorageOptions;
use crate::config::StorageSettings;

/// The option pairs for a store of `scheme`, each layer overriding the one before.
pub(crate) fn options(
    scheme: &str,
    settings: &StorageSettings,
    explicit: &StorageOptions,
) -> Result<StorageOptions, String> {
    let env = |name: &str| std::env::var(name).ok();
    let mut out = StorageOptions::new();
    match scheme {
        "s3" | "s3a" => {
            let s3 = &settings.s3;
            let named = explicit
                .get_plain("aws_profile")
                .map(str::to_owned)
                .or_else(|| s3.profile.clone());
            // AWS_PROFILE yields to credentials in the environment, as in the AWS CLI; a
            // profile named in the config or the options wins over them.
            let profile =
                named.or_else(|| env("AWS_PROFILE").filter(|_| env("AWS_ACCESS_KEY_ID").is_none()));
            if let Some(name) = profile {
                let (credentials, config) = aws_profile::files(&env);
                for (key, value) in
                    aws_profile::load(&name, credentials.as_deref(), config.as_deref())?
                {
                    out = if key.contains("secret") || key.contains("token") {
                        out.with_secret(key, value.into())
                    } else {
                        out.with(key, value)
                    };
                }
            }
            out = plain(out, "aws_region", &s3.region);
            out = plain(out, "aws_endpoint", &s3.endpoint);
            out = plain(out, "aws_access_key_id", &s3.access_key_id);
            out = secret(out, "aws_secret_access_key", &s3.secret_access_key);
            out = secret(out, "aws_session_token", &s3.session_token);
            if s3.allow_http {
                out = out.with("allow_http", "true");
            }
        }
        "az" | "adl" | "azure" | "abfs" | "abfss" => {
            let az = &settings.azure;
            out = plain(out, "azure_storage_account_name", &az.account);
            out = secret(out, "azure_storage_access_key", &az.access_key);
            out = secret(out, "azure_storage_sas_key", &az.sas_token);
            out = plain(out, "azure_storage_endpoint", &az.endpoint);
            // An endpoint written as http:// (Azurite) is asked for: allow it.
            if az
                .endpoint
                .as_deref()
                .is_some_and(|e| e.starts_with("http://"))
            {
                out = out.with("allow_http", "true");
            }
            if az.use_emulator {
                out = out.with("azure_storage_use_emulator", "true");
            }
        }
        "gs" => {
            let gcs = &settings.gcs;
            if let Some(path) = &gcs.service_account {
                out = out.with("google_service_account", path.display().to_string());
            }
            out = secret(out, "google_service_account_key", &gcs.service_account_key);
            if let Some(endpoint) = &gcs.endpoint
                && gcs.service_account.is_none()
                && gcs.service_account_key.is_none()
            {
                // object_store takes a GCS endpoint only from a service account key; an
                // emulator needs no OAuth, so a key of empty credentials carries it.
                let key = serde_json::json!({
                    "gcs_base_url": endpoint.trim_end_matches('/'),
                    "disable_oauth": true,
                    "client_email": "",
                    "private_key": "",
                    "private_key_id": "",
                });
                out = out.with_secret("google_service_account_key", key.to_string().into());
            }
        }
        _ => {}
    }
    Ok(explicit.layered_over(out))
}

fn plain(out: StorageOptions, key: &str, value: &Option<String>) -> StorageOptions {
    match value {
        Some(v) => out.with(key, v.clone()),
        None => out,
    }
}

fn secret(out: StorageOptions, key: &str, value: &Option<secrecy::SecretString>) -> StorageOptions {
    match value {
        Some(v) => out.with_secret(key, v.expose_secret().into()),
        None => out,
    }
}
