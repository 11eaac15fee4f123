//! `pgbouncer.ini` lines for `pgtide server hints --pgbouncer`: PgBouncer in transaction mode
//! between the application instances and the server.
//!
//! Sizing: the instances together open up to `pool.max_size × instances` client connections
//! to PgBouncer (`max_client_conn`, with the same headroom as `max_connections` gets without
//! PgBouncer). PgBouncer serves them from `default_pool_size` server connections, one
//! instance's `pool.max_size` (transactions are short: what one instance would use directly,
//! all instances share), plus a `reserve_pool_size` of a quarter for bursts; the server's
//! `max_connections` then only has to hold those.

use pgtide::config::Config;

use super::recommend::{Recommendation, Rule, SUPERUSER_RESERVED};

/// One `pgbouncer.ini` line.
#[derive(Debug, Clone)]
pub struct IniLine {
    /// Setting name (or database name, in `[databases]`).
    pub name: String,
    /// Its value.
    pub value: String,
    /// Why.
    pub why: String,
}

/// The `pgbouncer.ini` sections for this client configuration.
#[derive(Debug, Clone)]
pub struct BouncerPlan {
    /// `[databases]` lines.
    pub databases: Vec<IniLine>,
    /// `[pgbouncer]` lines.
    pub settings: Vec<IniLine>,
    /// Server connections PgBouncer may open: `default_pool_size + reserve_pool_size`.
    pub server_connections: u64,
}

impl BouncerPlan {
    /// The plan for `instances` processes using `config`.
    pub fn new(config: &Config, instances: u32) -> Self {
        let c = config.connection();
        let per_instance = u64::from(config.pool().size.max());
        let clients = per_instance * u64::from(instances);
        let headroom = clients.div_ceil(10).max(5);
        let pool = per_instance;
        let reserve = pool.div_ceil(4);
        let line = |name: &str, value: String, why: String| IniLine {
            name: name.into(),
            value,
            why,
        };
        let mut settings = vec![
            line(
                "max_client_conn",
                (clients + headroom).to_string(),
                format!(
                    "pool.max_size {per_instance} x {instances} instance(s) = {clients} client connections, + {headroom} headroom"
                ),
            ),
            line(
                "default_pool_size",
                pool.to_string(),
                format!(
                    "server connections per database and user: one instance's pool.max_size ({pool}), shared by all {instances} instance(s) one transaction at a time"
                ),
            ),
            line(
                "reserve_pool_size",
                reserve.to_string(),
                "a quarter more for bursts".into(),
            ),
            line(
                "max_db_connections",
                (pool + reserve).to_string(),
                "never more server connections than the pool and its reserve".into(),
            ),
        ];
        for (name, value, why) in pgtide::pgbouncer::REQUIRED_SETTINGS {
            settings.push(line(
                name,
                (*value).into(),
                format!("{why} (pgtide's pgbouncer = true)"),
            ));
        }
        let databases = vec![line(
            &c.database,
            format!("host={} port={} dbname={}", c.host, c.port, c.database),
            "where PgBouncer forwards this database; point the application's host/port at PgBouncer and set pgbouncer = true".into(),
        )];
        Self {
            databases,
            settings,
            server_connections: pool + reserve,
        }
    }

    /// Behind PgBouncer the server sees only PgBouncer's connections: `max_connections` is
    /// sized for those instead of for every instance's pool.
    pub fn apply(&self, rec: &mut Recommendation) {
        let headroom = 5;
        let max = self.server_connections + headroom + u64::from(SUPERUSER_RESERVED);
        if let Some(s) = rec
            .settings
            .iter_mut()
            .find(|s| s.name == "max_connections")
        {
            s.value = max.to_string();
            s.why = format!(
                "PgBouncer's {} server connections (default_pool_size + reserve_pool_size), + {headroom} headroom (admin sessions, migrations) + {SUPERUSER_RESERVED} superuser_reserved_connections",
                self.server_connections
            );
            s.rule = Rule::AtLeast(max);
        }
    }
}
