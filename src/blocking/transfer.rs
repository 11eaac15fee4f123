//! CSV import and export from blocking code (feature `transfer`): [`crate::transfer`]'s
//! [`import`](crate::transfer::import) and [`export`](crate::transfer::export) run on the
//! blocking pool's own runtime, with the same locations, options, storage configuration,
//! errors and spans.
//!
//! ```no_run
//! # fn run(pool: &pgtide::blocking::Pool) -> Result<(), pgtide::transfer::Error> {
//! use pgtide::transfer::{ExportOptions, ImportOptions, Source};
//! let done = pool.import("s3://bucket/orders.csv.gz", &ImportOptions::new("orders").create(true))?;
//! println!("{} rows", done.rows);
//! pool.export(&Source::table("orders"), "az://exports/orders.csv", &ExportOptions::new().header(true))?;
//! # Ok(()) }
//! ```

use crate::transfer::{
    self, Error, ExportOptions, ExportSummary, ImportOptions, ImportSummary, Source,
};

use super::Pool;

impl Pool {
    /// Loads the CSV at `source` into a table in one transaction, as
    /// [`transfer::import`] does; blocks until it is done.
    pub fn import(&self, source: &str, options: &ImportOptions) -> Result<ImportSummary, Error> {
        self.rt
            .block_on(transfer::import(&self.pool.0, source, options))?
    }

    /// Writes `source`'s rows as CSV to `target`, as [`transfer::export`] does; blocks until
    /// it is done. A failure leaves no object behind.
    pub fn export(
        &self,
        source: &Source,
        target: &str,
        options: &ExportOptions,
    ) -> Result<ExportSummary, Error> {
        self.rt
            .block_on(transfer::export(&self.pool.0, source, target, options))?
    }
}
