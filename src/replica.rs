//! Several hosts, `target_session_attrs`, and a read-only pool for the replicas.
//!
//! `host` may be a list (`host = ["db1", "db2"]`, `PGHOST=db1,db2`,
//! `postgres://db1:5432,db2:5433/app`), `port` one for all or one per host, and
//! `target_session_attrs` says what a server must be, as libpq defines it: `any`,
//! `read-write`, `read-only`, `primary`, `standby` or `prefer-standby`. Every new connection
//! of a pool tries the hosts in order and keeps the first that fits; when none does, the
//! error names each host and why it was passed over, and is transient, so the pool's retry
//! tries the list again (a failover in progress: the old primary gone, the new one not yet
//! promoted).
//!
//! For reads that may go to a replica, make a second pool from the same configuration with
//! [`Config::for_replicas`](crate::config::Config::for_replicas): it prefers a standby (falling back to any host when none is
//! one), and every session is read-only, so a write fails with the server's `25006`
//! (`read_only_sql_transaction`), an [`Error::Permanent`](crate::Error::Permanent), even
//! on a primary it fell back to.
//!
//! ```
//! use pgtide::config::{Config, TargetSessionAttrs};
//!
//! let config = Config::loader()
//!     .no_file_search()
//!     .env([("DATABASE_URL", "postgres://app:pw@db1:5432,db2:5433/app?target_session_attrs=read-write")])
//!     .load()?;
//! let hosts: Vec<String> = config.connection().hosts.iter().map(|h| h.to_string()).collect();
//! assert_eq!(hosts, ["db1:5432", "db2:5433"]);
//! assert_eq!(config.connection().target_session_attrs, TargetSessionAttrs::ReadWrite);
//!
//! // let writes = Pool::connect(&config).await?;
//! let reads = config.for_replicas();
//! // let reads = Pool::connect(&reads).await?;
//! assert_eq!(reads.connection().target_session_attrs, TargetSessionAttrs::PreferStandby);
//! # Ok::<(), pgtide::config::ConfigError>(())
//! ```
//!
//! `tests/failover.rs` proves it on a real streaming replica: reads on the replica before a
//! failover, and writes that keep going through it.
//!
//! Not done: libpq's `load_balance_hosts` (hosts are always tried in order), and a host name
//! that resolves to several addresses is one host (sqlx connects to the first address).
