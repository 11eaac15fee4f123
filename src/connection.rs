//! One connection without a pool, made from the same [`Config`] a [`Pool`](crate::Pool) is:
//! for scripts, migrations, tools and long sessions that should not hold a pool slot.
//!
//! [`Connection::connect`] uses the pool's own connect path (the same sqlx options built
//! from the config), so TLS, session limits (`statement_timeout`, `lock_timeout`,
//! `idle_in_transaction_session_timeout`, `search_path`, extra GUCs in the startup packet),
//! `application_name`, the connect timeout, retry of the connect and the errors are those
//! of a pooled connection.
//!
//! ```
//! use pgtide::Connection;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! # let db = pgtide_testkit::TestDb::new().await?;
//! # let config = pgtide::config::Config::loader().no_file_search().env([("DATABASE_URL", db.url())]).load()?;
//! let mut conn = Connection::connect(&config).await?;
//! // It derefs to `sqlx::PgConnection`: sqlx queries and generated functions take `&mut *conn`.
//! let one: i32 = pgtide::sqlx::query_scalar("SELECT 1").fetch_one(&mut *conn).await?;
//! assert_eq!(one, 1);
//! conn.close().await?;
//! # Ok(()) }
//! ```

use sqlx::PgConnection;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::pool::{Route, connect_options, connect_via};
use crate::retry::{RetryPolicy, connect_retryable};

/// A single PostgreSQL connection outside any pool. Closed when dropped (or with
/// [`close`](Self::close), which waits for the server to acknowledge).
///
/// `Debug` shows where it is connected, never the password.
pub struct Connection {
    raw: PgConnection,
    server_address: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("server", &self.server_address)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects with `config`'s options, each attempt bounded by `connection.connect_timeout`,
    /// retried with the configured backoff while the server is starting or unreachable.
    /// Errors retrying cannot fix (wrong password, unknown database) return at once.
    pub async fn connect(config: &Config) -> Result<Self> {
        let options = connect_options(config)?;
        let route = Route::new(config)?;
        let timeout = config.connection().connect_timeout;
        let raw = RetryPolicy::from_settings(config.retry())
            .run("connect", connect_retryable, |_| {
                connect_via(&route, &options, timeout)
            })
            .await?;
        let c = config.connection();
        Ok(Self {
            raw,
            server_address: format!("{}:{}", c.host, c.port),
        })
    }

    /// Closes the connection cleanly (sends `Terminate` and waits for the socket to close).
    pub async fn close(self) -> Result<()> {
        sqlx::Connection::close(self.raw).await.map_err(Error::from)
    }

    /// Escape hatch: the sqlx connection itself.
    pub fn into_inner(self) -> PgConnection {
        self.raw
    }

    pub(crate) fn raw_mut(&mut self) -> &mut PgConnection {
        &mut self.raw
    }
}

impl std::ops::Deref for Connection {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.raw
    }
}

impl std::ops::DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.raw
    }
}

impl AsMut<PgConnection> for Connection {
    fn as_mut(&mut self) -> &mut PgConnection {
        &mut self.raw
    }
}
