//! Rotating credentials: a password provider consulted for each new connection.
//!
//! Set with [`Pool::set_password_provider`]. Connections already open keep working (
//! PostgreSQL checks the password only when a session starts); every connection opened
//! afterwards (growing the pool, replacing an old or broken one, [`Pool::connect_unpooled`])
//! asks the provider first.
//!
//! The built-in provider re-reads a `secret://file/PATH` reference for each new connection:
//! rotate by rewriting the file after changing the role's password. A pool whose
//! configuration read its password from such a reference ([`Config::password_reference`],
//! any source: file, environment, `DATABASE_URL`…) follows it from the start, with nothing
//! to call; [`Pool::set_password_reference`] is the explicit form (also for
//! `secret://env/NAME`, read from the process environment at each connection). Both go
//! through [`Pool::set_password_provider`].
//!
//! [`Config::password_reference`]: crate::config::Config::password_reference

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgConnectOptions;

use super::Pool;
use crate::error::{Error, Result};

/// What a password provider may fail with (its message must not contain the secret).
pub type ProviderError = Box<dyn std::error::Error + Send + Sync + 'static>;

type Provider = Arc<dyn Fn() -> std::result::Result<SecretString, ProviderError> + Send + Sync>;

/// The pool's password source: the config's password, or a provider.
#[derive(Default)]
pub(crate) struct Credentials {
    provider: RwLock<Option<Provider>>,
}

impl Credentials {
    /// The options to connect with: `base`, with the provider's current password if a
    /// provider is set.
    pub(crate) fn options<'a>(
        &self,
        base: &'a PgConnectOptions,
    ) -> Result<Cow<'a, PgConnectOptions>> {
        let provider = self
            .provider
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(provider) = provider else {
            return Ok(Cow::Borrowed(base));
        };
        let password = provider().map_err(|err| {
            Error::from(sqlx::Error::Configuration(
                format!("the password provider failed: {err}").into(),
            ))
        })?;
        Ok(Cow::Owned(base.clone().password(password.expose_secret())))
    }

    fn set(&self, provider: Provider) {
        *self.provider.write().unwrap_or_else(|e| e.into_inner()) = Some(provider);
    }
}

impl Pool {
    /// From now on, each new connection gets its password from `provider` (called once per
    /// connection attempt) instead of the configuration: rotate a password by changing what
    /// the provider returns, e.g. re-reading a secret file. Open connections are not
    /// affected. A provider error fails that connection attempt with a
    /// [`Permanent`](crate::ErrorKind::Permanent) error carrying the provider's message.
    ///
    /// The pool's [`config`](Self::config) (and so its [`config_hash`](crate::config::Config::config_hash))
    /// still holds the password it was built with.
    pub fn set_password_provider<F>(&self, provider: F)
    where
        F: Fn() -> std::result::Result<SecretString, ProviderError> + Send + Sync + 'static,
    {
        self.shared
            .slots
            .manager()
            .credentials
            .set(Arc::new(provider));
    }
}

impl Pool {
    /// From now on, each new connection reads its password from `reference`, a
    /// `secret://file/PATH` or `secret://env/NAME` reference (the forms the config accepts),
    /// afresh: rewrite the secret file (a mounted Kubernetes secret, a Vault agent's file)
    /// and the next connection uses the new password, without a restart. The process
    /// environment is read at each connection for `secret://env/NAME`.
    ///
    /// The reference is resolved once now, so a typo fails here, with
    /// [`Permanent`](crate::ErrorKind::Permanent) and the reason (never the value); later
    /// failures (the file vanished) fail that connection attempt the same way.
    pub fn set_password_reference(&self, reference: &str) -> Result<()> {
        if !crate::config::secret_ref::is_reference(reference) {
            return Err(reference_error(
                "the password reference must be secret://file/PATH or secret://env/NAME".into(),
            ));
        }
        let reference = reference.to_owned();
        read_reference(&reference).map_err(reference_error)?;
        self.follow_reference(reference);
        Ok(())
    }

    /// Re-reads `reference` for each new connection; the one code path of both the
    /// configuration's reference and [`set_password_reference`](Self::set_password_reference).
    pub(crate) fn follow_reference(&self, reference: String) {
        self.set_password_provider(move || read_reference(&reference).map_err(Into::into));
    }

    /// Follows the configuration's `secret://file/…` reference, if it has one (at build).
    pub(crate) fn follow_config_reference(&self) {
        if let Some(reference) = self.shared.config.password_reference() {
            self.follow_reference(reference.to_owned());
        }
    }
}

/// Resolves `reference` now, against the current process environment.
fn read_reference(reference: &str) -> std::result::Result<SecretString, String> {
    let env = reference
        .strip_prefix("secret://env/")
        .and_then(|name| Some((name.to_owned(), std::env::var(name).ok()?)))
        .into_iter()
        .collect();
    crate::config::secret_ref::resolve(reference, &env)
        .map_err(|reason| format!("{}: {reason}", reference))
}

fn reference_error(message: String) -> Error {
    Error::from(sqlx::Error::Configuration(
        format!("the password reference failed: {message}").into(),
    ))
}
