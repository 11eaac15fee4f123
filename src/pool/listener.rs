//! `LISTEN`/`NOTIFY` on a dedicated connection that comes back after it is lost.
//!
//! A [`Listener`] holds one connection of its own (not a pool slot), made from the same
//! [`Config`] as a pool: TLS, session settings, `application_name`, connect timeout and
//! connect retry are the pool's. When the connection is lost (the server restarted, the
//! backend was terminated, the network dropped) the listener reconnects with the configured
//! backoff, subscribes to its channels again, and reports the gap as
//! [`ListenerEvent::Reconnected`].
//!
//! **Notifications sent while the listener was disconnected are lost**: PostgreSQL delivers
//! a notification only to sessions listening when it is committed. Treat `Reconnected` as
//! "something may have happened": re-read the state the notifications were about.
//!
//! ```
//! use pgtide::listener::{Listener, ListenerEvent};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! # let db = pgtide_testkit::TestDb::new().await?;
//! # let config = pgtide::config::Config::loader().no_file_search().env([("DATABASE_URL", db.url())]).load()?;
//! # let pool = pgtide::Pool::connect(&config).await?;
//! let mut listener = Listener::connect(&config).await?; // or `pool.listener().await?`
//! listener.listen("books").await?;
//! pgtide::sqlx::query("SELECT pg_notify('books', 'added 42')").execute(&pool).await?;
//! match listener.recv().await? {
//!     ListenerEvent::Notification(n) => assert_eq!((n.channel.as_str(), n.payload.as_str()), ("books", "added 42")),
//!     ListenerEvent::Reconnected => { /* notifications may have been missed: re-read */ }
//! }
//! # Ok(()) }
//! ```

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};

use crate::config::Config;
use crate::error::{Error, Result, TimeoutKind};
use crate::pool::{Pool, connect_options};
use crate::retry::{RetryPolicy, connect_retryable, retry_event};

/// What [`Listener::recv`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerEvent {
    /// A notification on one of the channels listened to.
    Notification(Notification),
    /// The connection was lost and is back, listening on every channel again. Notifications
    /// sent in between were lost.
    Reconnected,
}

/// One `NOTIFY`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notification {
    /// The channel it was sent on.
    pub channel: String,
    /// Its payload (empty when none was given).
    pub payload: String,
    /// The server process id of the session that sent it.
    pub process_id: u32,
}

/// A connection listening for notifications; see the [module docs](self).
pub struct Listener {
    inner: PgListener,
    retry: RetryPolicy,
    server_address: String,
    connect_timeout: Duration,
    /// The connection was lost and is not back yet.
    lost: bool,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("server", &self.server_address)
            .field("lost", &self.lost)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// A [`Listener`] with this pool's configuration. It opens a connection of its own: a
    /// session that listens cannot be shared.
    pub async fn listener(&self) -> Result<Listener> {
        Listener::connect(self.config()).await
    }
}

impl Listener {
    /// Connects with `config`'s options (the pool's connect path), retrying while the server
    /// is unreachable as [`Pool::connect`](crate::Pool::connect) does.
    pub async fn connect(config: &Config) -> Result<Self> {
        let connect_timeout = config.connection().connect_timeout;
        let options = connect_options(config)?;
        // sqlx's listener reconnects through a sqlx pool; this one holds just the listening
        // connection, made from pgtide's options, one connect timeout per attempt.
        let pool: PgPool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .test_before_acquire(false)
            .acquire_timeout(connect_timeout)
            .connect_lazy_with(options);
        let c = config.connection();
        let server_address = format!("{}:{}", c.host, c.port);
        let retry = RetryPolicy::from_settings(config.retry());
        let inner = retry
            .run("listener connect", connect_retryable, |_| async {
                let mut listener = PgListener::connect_with(&pool)
                    .await
                    .map_err(|e| connect_error(e, &server_address, connect_timeout))?;
                // sqlx connects lazily: make sure the first connection exists now.
                sqlx::raw_sql("SELECT 1")
                    .execute(&mut listener)
                    .await
                    .map_err(|e| connect_error(e, &server_address, connect_timeout))?;
                Ok(listener)
            })
            .await?;
        let mut inner = inner;
        // We report the gap ourselves (`lost`), and reconnect with our own backoff.
        inner.eager_reconnect(false);
        inner.ignore_pool_close_event(true);
        Ok(Self {
            inner,
            retry,
            server_address,
            connect_timeout,
            lost: false,
        })
    }

    /// Subscribes to `channel` (a name, quoted: case and any character are kept).
    pub async fn listen(&mut self, channel: &str) -> Result<()> {
        Ok(self.inner.listen(channel).await?)
    }

    /// Unsubscribes from `channel`.
    pub async fn unlisten(&mut self, channel: &str) -> Result<()> {
        Ok(self.inner.unlisten(channel).await?)
    }

    /// Waits for the next notification, or reports that the connection was lost and is back
    /// ([`ListenerEvent::Reconnected`]). While it is lost, reconnecting is retried with the
    /// configured backoff; when the retry budget is spent, the last error is returned (call
    /// `recv` again to keep trying).
    pub async fn recv(&mut self) -> Result<ListenerEvent> {
        let mut delays = self.retry.delays();
        let mut attempt = 0;
        let mut unexpected_errors = 0;
        loop {
            if self.lost {
                attempt += 1;
                match self.reconnect().await {
                    Ok(()) => {
                        self.lost = false;
                        return Ok(ListenerEvent::Reconnected);
                    }
                    Err(err) if connect_retryable(&err) => match delays.next() {
                        Some(delay) => {
                            retry_event("listener reconnect", attempt, delay, &err);
                            tokio::time::sleep(delay).await;
                            continue;
                        }
                        None => return Err(err),
                    },
                    Err(err) => return Err(err),
                }
            }
            match self.inner.try_recv().await {
                Ok(Some(n)) => {
                    return Ok(ListenerEvent::Notification(Notification {
                        channel: n.channel().to_owned(),
                        payload: n.payload().to_owned(),
                        process_id: n.process_id(),
                    }));
                }
                // sqlx saw the connection close and dropped it.
                Ok(None) => {
                    tracing::warn!(target: "pgtide::listener", server = %self.server_address, "listener connection lost; reconnecting");
                    self.lost = true;
                }
                Err(err) => {
                    let err = Error::from(err);
                    // A terminated backend sends a FATAL error before it closes; the next read
                    // sees the close. Anything else, or a second error in a row, is returned.
                    unexpected_errors += 1;
                    if !err.is_connection_lost() || unexpected_errors > 1 {
                        return Err(err);
                    }
                }
            }
        }
    }

    /// Opens a new connection and subscribes it to every channel again (sqlx does both on
    /// the first use of a listener without a connection).
    async fn reconnect(&mut self) -> Result<()> {
        sqlx::raw_sql("SELECT 1")
            .execute(&mut self.inner)
            .await
            .map(drop)
            .map_err(|e| connect_error(e, &self.server_address, self.connect_timeout))
    }
}

/// sqlx's pool reports a connect that did not succeed in time as `PoolTimedOut`; say what
/// it was. Other errors keep their kind.
fn connect_error(err: sqlx::Error, server: &str, timeout: Duration) -> Error {
    match err {
        sqlx::Error::PoolTimedOut => Error::timeout(
            TimeoutKind::Connect,
            format!("connecting the listener to {server} (connect timeout {timeout:?})"),
            None,
        ),
        other => Error::from(other),
    }
}
