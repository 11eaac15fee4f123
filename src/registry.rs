//! A [`Registry`]: pools handed out by profile, one per configuration.
//!
//! A value you own (keep it in your application state), not a global. Asking twice with the
//! same configuration gives the same pool (clones share it); concurrent first asks open one
//! pool. A changed configuration for a profile (a rotated password, any changed key: the
//! registry compares [`Config::config_hash`]) gets a new pool, and the old one is closed in
//! the background: it refuses new checkouts and its work in flight finishes, within the
//! close grace ([`Registry::with_close_grace`], default [`Pool::close`]'s). Stragglers after
//! that are terminated on the server, through the new pool when the old pool's credentials
//! were rotated away (same server and role, a password that works).
//!
//! A password read from a `secret://file/PATH` reference is not part of the configuration's
//! identity, the reference is ([`Config::password_reference`]): rewriting the file keeps the
//! pool, which reads the new password for its next connection.
//!
//! ```
//! use pgtide::config::Config;
//! use pgtide::registry::Registry;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! # let db = pgtide_testkit::TestDb::new().await?;
//! let registry = Registry::new();
//! let config = Config::loader().no_file_search().env([("DATABASE_URL", db.url())]).load()?;
//! let a = registry.pool(&config).await?;
//! let b = registry.pool(&config).await?;
//! assert!(a.same_pool(&b));
//! registry.close_all().await;
//! assert!(a.is_closed());
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use tokio::sync::OnceCell;

use crate::config::{Config, ConfigHash};
use crate::error::Result;
use crate::pool::{DEFAULT_CLOSE_GRACE, Pool};

/// Pools by profile, each built once per configuration. See the [module docs](self).
#[derive(Default)]
pub struct Registry {
    state: Mutex<State>,
}

struct State {
    current: HashMap<String, Slot>,
    /// Pools replaced by a newer configuration, being closed.
    draining: Vec<tokio::task::JoinHandle<()>>,
    closed: bool,
    /// How long closing pools wait for work in flight.
    close_grace: Duration,
}

impl Default for State {
    fn default() -> Self {
        Self {
            current: HashMap::new(),
            draining: Vec::new(),
            closed: false,
            close_grace: DEFAULT_CLOSE_GRACE,
        }
    }
}

struct Slot {
    hash: ConfigHash,
    pool: Arc<OnceCell<Pool>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let profiles: Vec<String> = self.lock().current.keys().cloned().collect::<Vec<_>>();
        f.debug_struct("Registry")
            .field("profiles", &profiles)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty registry whose pools, when closed (replaced, or by
    /// [`close_all`](Self::close_all)), wait `grace` for work in flight before terminating
    /// the stragglers ([`Pool::close_within`]). Default: [`DEFAULT_CLOSE_GRACE`].
    pub fn with_close_grace(grace: Duration) -> Self {
        let registry = Self::new();
        registry.lock().close_grace = grace;
        registry
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the map half-changed.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pool for `config`'s profile ([`Config::profile`]), connecting it on first use
    /// ([`Pool::connect`]). A profile whose configuration changed gets a new pool; the old
    /// one is closed in the background (work in flight on it finishes). After
    /// [`close_all`](Self::close_all), fails with [`Error::Closed`](crate::Error::Closed).
    ///
    /// A failed connect is not cached: the next ask tries again.
    pub async fn pool(&self, config: &Config) -> Result<Pool> {
        let hash = config.config_hash();
        let cell = {
            let mut state = self.lock();
            if state.closed {
                return Err(crate::Error::Closed);
            }
            let replaced = match state.current.get(config.profile()) {
                Some(slot) if slot.hash == hash => None,
                _ => state.current.insert(
                    config.profile().to_owned(),
                    Slot {
                        hash,
                        pool: Arc::new(OnceCell::new()),
                    },
                ),
            };
            let cell = Arc::clone(&state.current[config.profile()].pool);
            if let Some(old) = replaced.and_then(|slot| slot.pool.get().cloned()) {
                tracing::info!(target: "pgtide::pool", profile = config.profile(), "configuration changed; closing the old pool");
                // Stragglers past the grace are terminated through the new pool when the old
                // credentials no longer work (the rotation that replaced it).
                let successor = Arc::clone(&cell);
                let grace = state.close_grace;
                state.draining.push(tokio::spawn(async move {
                    old.close_with(grace, &move || successor.get().cloned())
                        .await;
                }));
            }
            cell
        };
        cell.get_or_try_init(|| Pool::connect(config))
            .await
            .cloned()
    }

    /// Closes every pool (draining ones first, then current ones) and waits for them
    /// ([`Pool::close_within`] with the registry's close grace);
    /// later asks fail with [`Error::Closed`](crate::Error::Closed). Idempotent.
    pub async fn close_all(&self) {
        let (pools, draining, grace) = {
            let mut state = self.lock();
            state.closed = true;
            let pools: Vec<Pool> = state
                .current
                .values()
                .filter_map(|slot| slot.pool.get().cloned())
                .collect();
            (
                pools,
                std::mem::take(&mut state.draining),
                state.close_grace,
            )
        };
        // Draining pools first: their stragglers may need the current pools to be terminated.
        for task in draining {
            let _ = task.await;
        }
        futures_util::future::join_all(pools.iter().map(|pool| pool.close_within(grace))).await;
    }
}
