//! A transaction for a blocking body: what [`blocking::Pool::transaction`](super::Pool::transaction)
//! hands its closure.

use super::helpers::query_helpers;
use super::runtime::Runtime;
use crate::error::Result;

/// The transaction a blocking body runs in: the query helpers, COPY and
/// [`run`](Self::run) for generated functions, all inside the transaction. Commit and
/// rollback are the closure's outcome, not methods.
pub struct Transaction<'t> {
    rt: &'t Runtime,
    tx: &'t mut crate::Transaction,
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::Transaction")
            .finish_non_exhaustive()
    }
}

impl<'t> Transaction<'t> {
    pub(crate) fn new(rt: &'t Runtime, tx: &'t mut crate::Transaction) -> Self {
        Self { rt, tx }
    }

    query_helpers!(exclusive);

    /// The bridge to anything async over the transaction's connection (generated query
    /// functions take `&mut *tx`):
    ///
    /// ```ignore
    /// tx.run(async |tx| queries::authors::create_author(&mut *tx, "Le Guin", ...).await)?;
    /// ```
    pub fn run<T>(
        &mut self,
        work: impl AsyncFnOnce(&mut crate::Transaction) -> Result<T>,
    ) -> Result<T> {
        self.rt.run(work(self.tx))
    }

    /// The transaction itself as the executor, so that pgtide sees each statement (see
    /// [`crate::transaction`]: no check before `COMMIT` when every statement succeeded).
    fn parts(&mut self) -> (&Runtime, &mut crate::Transaction) {
        (self.rt, &mut *self.tx)
    }
}
