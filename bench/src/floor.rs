//! The design's floor: a bare deadpool pool of sqlx `PgConnection`s with no pgtide code. A
//! pool built on the same two crates cannot be expected to beat it; pgtide's `Pool` should come
//! close (the target: at least 0.95× of it).

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// Creates plain sqlx connections; recycling checks nothing.
pub struct BareManager(pub PgConnectOptions);

impl deadpool::managed::Manager for BareManager {
    type Type = PgConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<PgConnection, sqlx::Error> {
        PgConnection::connect_with(&self.0).await
    }

    async fn recycle(
        &self,
        _conn: &mut PgConnection,
        _metrics: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<sqlx::Error> {
        Ok(())
    }
}

/// The bare pool.
pub type BarePool = deadpool::managed::Pool<BareManager>;

/// A bare pool of at most `max` connections, handing out idle ones in `order` (deadpool's
/// default is FIFO; pgtide's pool is LIFO).
pub fn pool(
    options: PgConnectOptions,
    max: usize,
    order: deadpool::managed::QueueMode,
) -> anyhow::Result<BarePool> {
    Ok(deadpool::managed::Pool::builder(BareManager(options))
        .max_size(max)
        .queue_mode(order)
        .build()?)
}
