//! A stable hash of a [`Config`], for caching pools by configuration.
//!
//! `hash = SHA-256("pgtide-config-v1" ‖ canonical fields ‖ HMAC-SHA-256(key, password))`.
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
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::settings::{Config, HealthCheck};

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
        mac.update(self.connection.password.expose_secret().as_bytes());
        hasher.update(b"password");
        hasher.update(mac.finalize().into_bytes());
        ConfigHash(hasher.finalize().into())
    }
}

fn nanos(d: Duration) -> String {
    d.as_nanos().to_string()
}

fn opt(d: Option<Duration>) -> String {
    d.map_or_else(|| "none".into(), nanos)
}

/// Every setting but the password, in a fixed order.
fn canonical(c: &Config) -> Vec<(&'static str, String)> {
    let path = |p: &Option<std::path::PathBuf>| {
        p.as_ref()
            .map_or_else(|| "none".into(), |p| format!("some:{}", p.display()))
    };
    let mut out = vec![
        ("profile", c.profile.clone()),
        ("host", c.connection.host.clone()),
        ("port", c.connection.port.to_string()),
        ("database", c.connection.database.clone()),
        ("user", c.connection.user.clone()),
        ("application_name", c.connection.application_name.clone()),
        ("connect_timeout", nanos(c.connection.connect_timeout)),
        ("sslmode", c.tls.mode.as_str().into()),
        ("sslrootcert", path(&c.tls.root_cert)),
        ("sslcert", path(&c.tls.client_cert)),
        ("sslkey", path(&c.tls.client_key)),
        ("statement_timeout", opt(c.session.statement_timeout)),
        ("lock_timeout", opt(c.session.lock_timeout)),
        (
            "idle_in_transaction_session_timeout",
            opt(c.session.idle_in_transaction_session_timeout),
        ),
        (
            "search_path",
            c.session
                .search_path
                .as_ref()
                .map_or_else(|| "none".into(), |s| format!("some:{s}")),
        ),
        ("pool.min_size", c.pool.size.min().to_string()),
        ("pool.max_size", c.pool.size.max().to_string()),
        ("pool.acquire_timeout", nanos(c.pool.acquire_timeout)),
        ("pool.idle_timeout", opt(c.pool.idle_timeout)),
        ("pool.max_lifetime", opt(c.pool.max_lifetime)),
        (
            "pool.health_check",
            match c.pool.health_check {
                HealthCheck::Always => "always".into(),
                HealthCheck::Never => "never".into(),
                HealthCheck::IdleLongerThan(d) => format!("idle:{}", nanos(d)),
            },
        ),
        ("retry.attempts", c.retry.attempts.to_string()),
        ("retry.base_delay", nanos(c.retry.base_delay)),
        ("retry.max_delay", nanos(c.retry.max_delay)),
        ("retry.jitter", c.retry.jitter.to_string()),
        ("retry.budget", nanos(c.retry.budget)),
        ("settings", c.session.extra.len().to_string()),
    ];
    for (name, value) in &c.session.extra {
        // Length-prefix the name too: the pairs must not run into each other.
        out.push(("setting", format!("{}:{name}={value}", name.len())));
    }
    out
}
