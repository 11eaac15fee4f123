//! A stable hash of a [`Config`], for caching pools by configuration.
//!
//! `hash = SHA-256("pgtide-config-v1" ‖ canonical fields ‖ HMAC-SHA-256(key, password))`.
//!
//! When the password comes from a `secret://file/PATH` reference
//! ([`Config::password_reference`]), the reference takes the password's place: pools re-read
//! the file for each new connection, so a rotated secret behind an unchanged reference is the
//! same configuration (a [`Registry`](crate::registry::Registry) keeps its pool).
//!
//! The canonical fields are every setting but the password, each as `name`, length-prefixed
//! value, in a fixed order (durations in nanoseconds), so equal configurations hash equal and
//! any change changes the hash. The password enters only through an HMAC under a key:
//! a plain `SHA-256(password)` inside the hash would let anyone holding the hash test
//! password guesses offline. [`Config::config_hash`] uses a random key made once per process
//! (what an in-process pool registry needs: stable for the life of the process, useless to
//! an attacker elsewhere); [`Config::config_hash_with_key`] takes your key when hashes must
//! agree across processes.

use std::fmt;
use std::sync::OnceLock;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::keys::{self, KEYS};
use super::settings::Config;

/// A SHA-256 digest identifying a configuration, password included, revealing nothing of it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfigHash([u8; 32]);

impl ConfigHash {
    /// The 32 digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ConfigHash {
    /// Lowercase hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for ConfigHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConfigHash({self})")
    }
}

/// The per-process HMAC key; from the OS's random source, with a time-based fallback.
fn process_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut key = [0u8; 32];
        if getrandom::fill(&mut key).is_err() {
            let seed = format!("{:?}{:?}", std::time::SystemTime::now(), std::process::id());
            key = Sha256::digest(seed.as_bytes()).into();
        }
        key
    })
}

impl Config {
    /// This configuration's hash, keyed per process: equal configurations hash equal within
    /// a process; any change, the password included, changes it. See the module notes.
    pub fn config_hash(&self) -> ConfigHash {
        self.config_hash_with_key(process_key())
    }

    /// As [`config_hash`](Self::config_hash) with your own key, so that processes sharing
    /// the key agree. Keep the key as secret as the password.
    pub fn config_hash_with_key(&self, key: &[u8]) -> ConfigHash {
        let mut hasher = Sha256::new();
        hasher.update(b"pgtide-config-v1");
        for (name, value) in canonical(self) {
            hasher.update(name.as_bytes());
            hasher.update((value.len() as u64).to_be_bytes());
            hasher.update(value.as_bytes());
        }
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .expect("HMAC accepts keys of any length");
        // A pool re-reads a file reference for each connection: the reference, not the value
        // read at load, identifies the configuration, so a rotated file keeps its pool.
        if let Some(reference) = &self.password_reference {
            mac.update(reference.as_bytes());
            hasher.update(b"password_reference");
        } else {
            mac.update(self.connection.password.expose_secret().as_bytes());
            hasher.update(b"password");
        }
        hasher.update(mac.finalize().into_bytes());
        ConfigHash(hasher.finalize().into())
    }
}

/// The order keys entered the hash in its first version. Frozen: reordering changes every
/// hash. A key added to the table later enters after these, in table order.
const V1_ORDER: &[&str] = &[
    "host",
    "port",
    "database",
    "user",
    "application_name",
    "connect_timeout",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "search_path",
    "pool.min_size",
    "pool.max_size",
    "pool.acquire_timeout",
    "pool.idle_timeout",
    "pool.max_lifetime",
    "pool.health_check",
    "retry.attempts",
    "retry.base_delay",
    "retry.max_delay",
    "retry.jitter",
    "retry.budget",
    "settings",
];

/// Keys added after v1 whose hash value is empty while they hold their default.
const OMITTED_AT_DEFAULT: &[&str] = &["require_auth", "target_session_attrs", "pgbouncer"];

/// Every setting but the password, in a fixed order: the profile, each key the table
/// hashes, then each session setting.
fn canonical(c: &Config) -> Vec<(&'static str, String)> {
    let frozen = V1_ORDER.iter().filter_map(|name| keys::find(name));
    let later = KEYS.iter().filter(|k| !V1_ORDER.contains(&k.name));
    let mut out = vec![("profile", c.profile.clone())];
    out.extend(
        frozen
            .chain(later)
            .filter_map(|key| Some((key.name, (key.hash?)(c))))
            // Keys added after v1 that are at their derived default stay out, so a
            // configuration that does not use them keeps its hash.
            .filter(|(name, value)| !(OMITTED_AT_DEFAULT.contains(name) && value.is_empty())),
    );
    for (name, value) in &c.session.extra {
        // Length-prefix the name too: the pairs must not run into each other.
        out.push(("setting", format!("{}:{name}={value}", name.len())));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frozen_name_is_a_hashed_key() {
        for name in V1_ORDER {
            assert!(
                keys::find(name).is_some_and(|k| k.hash.is_some()),
                "{name} left the key table or its hash"
            );
        }
    }
}
