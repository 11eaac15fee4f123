//! Internal test harness: finds the throwaway PostgreSQL that `cargo xtask db up` started and
//! hands every test its own fresh database with `migrations-fixtures/` applied.
//!
//! A test that needs PostgreSQL and cannot find it **fails** with a message saying how to start
//! one; it never passes or skips silently.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let db = pgtide_testkit::TestDb::new().await?;
//! let mut conn = db.connect().await?;
//! let n: i64 = sqlx::query_scalar("SELECT count(*) FROM authors").fetch_one(&mut conn).await?;
//! assert_eq!(n, 0);
//! # Ok(()) }
//! ```

mod capture;
pub mod cluster;
pub mod emulators;
mod fault_proxy;
pub mod pgbouncer;
mod private_server;
mod proxy;
pub mod replica;
mod server;
mod test_db;
mod tls_proxy;

pub use capture::Capture;
pub use fault_proxy::FaultProxy;
pub use pgbouncer::Bouncer;
pub use private_server::PrivateServer;
pub use proxy::{Proxy, ProxyMode};
pub use replica::ReplicaPair;

pub use server::{Server, ServerState, TlsFiles, state_path, workspace_root};
pub use test_db::{TEST_DB_PREFIX, TestDb};
pub use tls_proxy::{TlsProxy, TlsProxyMode};
