//! Streaming for blocking callers: rows as an [`Iterator`], fetched while you iterate.

use futures_util::StreamExt;
use sqlx::Postgres;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::pool::Pool;

use super::runtime::Runtime;

/// How many rows wait, fetched, for the iterator: memory stays flat whatever the result size.
const AHEAD: usize = 256;

/// The rows of a query, as they arrive: see [`blocking::Pool::fetch_iter`](super::Pool::fetch_iter).
///
/// A task on the pool's runtime fetches them from a checked-out connection and hands them
/// over through a bounded channel. Dropping the iterator early stops the query: the task
/// ends and the connection, left mid-result, is discarded rather than reused.
pub struct Rows {
    rx: mpsc::Receiver<Result<PgRow>>,
    done: bool,
    // Keeps the runtime alive while rows are being fetched.
    _rt: Runtime,
}

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rows").finish_non_exhaustive()
    }
}

impl Rows {
    pub(crate) fn start(
        rt: &Runtime,
        pool: &Pool,
        query: Query<'static, Postgres, PgArguments>,
    ) -> Result<Self> {
        // Checked here, not on the first `next`: `blocking_recv` inside a runtime panics.
        rt.block_on(async {})?;
        let (tx, rx) = mpsc::channel(AHEAD);
        let pool = pool.clone();
        rt.handle().spawn(async move {
            let mut rows = query.fetch(&pool);
            loop {
                // Dropped iterator: stop at once, even while waiting for a slow row.
                let row = tokio::select! {
                    row = rows.next() => row,
                    () = tx.closed() => break,
                };
                let Some(row) = row else { break };
                let failed = row.is_err();
                if tx.send(row.map_err(Error::from)).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Self {
            rx,
            done: false,
            _rt: rt.clone(),
        })
    }
}

impl Iterator for Rows {
    type Item = Result<PgRow>;

    /// The next row, waiting for it; `None` after the last row (or after an error).
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Err(err) = super::runtime::refuse_inside_runtime() {
            self.done = true;
            self.rx.close();
            return Some(Err(err));
        }
        let next = self.rx.blocking_recv();
        self.done = next.as_ref().is_none_or(|row| row.is_err());
        next
    }
}
