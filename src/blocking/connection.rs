//! One connection without a pool, for blocking callers: [`crate::Connection`] with a runtime
//! of its own.

use sqlx::PgConnection;

use super::helpers::query_helpers;
use super::runtime::Runtime;
use crate::config::Config;
use crate::error::Result;

/// A single blocking connection (see [`crate::Connection`]): same config, connect path,
/// session limits and errors. Closed politely by [`close`](Self::close), or dropped.
pub struct Connection {
    conn: crate::Connection,
    rt: Runtime,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("blocking::Connection")
            .field(&self.conn)
            .finish()
    }
}

impl Connection {
    /// Connects as [`crate::Connection::connect`] does (with its retry).
    pub fn connect(config: &Config) -> Result<Self> {
        let rt = Runtime::new()?;
        let conn = rt.run(crate::Connection::connect(config))?;
        Ok(Self { conn, rt })
    }

    query_helpers!(exclusive);

    /// The bridge to anything async over the connection (generated query functions take
    /// `&mut **conn`), run to completion on this thread.
    pub fn run<T>(
        &mut self,
        work: impl AsyncFnOnce(&mut crate::Connection) -> Result<T>,
    ) -> Result<T> {
        self.rt.run(work(&mut self.conn))
    }

    /// Closes the connection (a `Terminate` message, then the socket).
    pub fn close(self) -> Result<()> {
        let Self { conn, rt } = self;
        rt.run(conn.close())
    }

    fn parts(&mut self) -> (&Runtime, &mut PgConnection) {
        (&self.rt, &mut *self.conn)
    }
}
