//! How a pooled connection is made and when it is checked (for [`super::slots`]).
//!
//! - **create** connects with the configured connect timeout (sqlx has none of its own); the
//!   caller whose checkout needed the connection sees the failure and keeps it, so a pool
//!   timeout can say *why* the pool could not connect.
//! - **recycle** (on checkout) replaces a connection that outlived `pool.max_lifetime`, and
//!   pings it only when the health-check policy asks for it: always, never, or when it sat
//!   idle longer than a threshold. A connection that saw a connection-level error, or was
//!   handed back inside a transaction, is always checked. A ping costs a round trip, which
//!   for a short query halves throughput (see the README), so the default checks only
//!   connections idle for more than 30 s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::connect::{Route, connect_via};
use super::guard::Conn;
use super::reset::{self, Policy, SessionReset};
use super::stats::Counters;
use crate::config::HealthCheck;
use crate::error::{Error, Result, TimeoutKind};

/// Creates and recycles [`Conn`]s for one pool.
pub(crate) struct ConnectionManager {
    pub(crate) options: PgConnectOptions,
    pub(crate) connect_timeout: Duration,
    pub(crate) health_check: HealthCheck,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) reset: Policy,
    pub(crate) credentials: super::credentials::Credentials,
    /// Backend pids of the connections this pool has open.
    pub(crate) live: super::close::LivePids,
    /// Set behind PgBouncer (`pgbouncer = true`): see [`crate::pgbouncer`].
    pub(crate) pgbouncer: Option<Bouncer>,
    /// The hosts to try and what their server must be (`target_session_attrs`).
    pub(crate) route: Route,
}

/// What the PgBouncer mode needs at hand for every transaction.
#[derive(Debug)]
pub(crate) struct Bouncer {
    /// Appended to each `BEGIN`: the session settings as `SET LOCAL`s.
    pub(crate) after_begin: String,
    /// The configured session settings (per-call timeouts restore `statement_timeout`).
    pub(crate) session: crate::config::SessionSettings,
}

/// Written by hand: sqlx's `Debug` for `PgConnectOptions` prints the password.
impl std::fmt::Debug for ConnectionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionManager")
            .field("host", &self.options.get_host())
            .field("port", &self.options.get_port())
            .field("database", &self.options.get_database())
            .field("user", &self.options.get_username())
            .field("connect_timeout", &self.connect_timeout)
            .field("health_check", &self.health_check)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl ConnectionManager {
    pub(crate) fn new(
        options: PgConnectOptions,
        connect_timeout: Duration,
        health_check: HealthCheck,
        max_lifetime: Option<Duration>,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            options,
            connect_timeout,
            health_check,
            max_lifetime,
            counters,
            reset: Policy::default(),
            credentials: Default::default(),
            live: Default::default(),
            pgbouncer: None,
            route: Route::default(),
        }
    }

    /// Switches to the PgBouncer mode when the configuration asks for it.
    pub(crate) fn with_pgbouncer(mut self, config: &crate::config::Config) -> Self {
        if config.connection().pgbouncer {
            self.pgbouncer = Some(Bouncer {
                after_begin: crate::pgbouncer::after_begin(config.session(), None),
                session: config.session().clone(),
            });
        }
        self
    }

    /// Tries `route`'s hosts for each new connection (several hosts, `target_session_attrs`).
    pub(crate) fn with_route(mut self, route: Route) -> Self {
        self.route = route;
        self
    }

    /// Opens a connection outside the pool (for cancelling a statement).
    pub(crate) async fn connect_unpooled(&self) -> Result<PgConnection> {
        connect_via(
            &self.route,
            &*self.credentials.options(&self.options)?,
            self.connect_timeout,
        )
        .await
    }

    /// Connects and learns the backend pid (for stopping an abandoned statement later).
    /// Behind PgBouncer the pid would be some server connection's, not this client's: it is
    /// not asked (`0`), and nothing is cancelled by pid.
    async fn open(&self) -> Result<Conn> {
        let mut raw = connect_via(
            &self.route,
            &*self.credentials.options(&self.options)?,
            self.connect_timeout,
        )
        .await?;
        if self.pgbouncer.is_some() {
            return Ok(Conn::new(raw, 0, self.live.register(0)));
        }
        let pid = tokio::time::timeout(
            self.connect_timeout,
            sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()").fetch_one(&mut raw),
        )
        .await;
        match pid {
            Ok(Ok(pid)) => Ok(Conn::new(raw, pid, self.live.register(pid))),
            Ok(Err(err)) => Err(err.into()),
            Err(_) => Err(Error::timeout(
                TimeoutKind::Connect,
                "asking a new connection for its backend pid",
                None,
            )),
        }
    }

    fn too_old(&self, conn: &Conn, now: &mut Clock) -> bool {
        self.max_lifetime
            .is_some_and(|max| now.get().saturating_duration_since(conn.created) >= max)
    }
}

/// The time of a checkout, read from the clock when first asked.
struct Clock(Option<Instant>);

impl Clock {
    fn get(&mut self) -> Instant {
        *self.0.get_or_insert_with(Instant::now)
    }
}

impl ConnectionManager {
    /// Opens a new connection.
    ///
    /// Boxed: opening a connection (sqlx's handshake, TLS, SCRAM) is a future of several KB,
    /// and the checkout's future would hold it inline; every checkout (every `&Pool` query)
    /// moves that future, so unboxed its size was paid per query (see `pool::future_sizes`).
    /// One allocation per new connection instead.
    pub(crate) fn create(
        &self,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Conn>> + Send + '_>> {
        Box::pin(self.create_counted())
    }

    /// Whether an idle connection may be handed out again, when that can be told without a
    /// round trip: not broken, not abandoned midway, not older than `pool.max_lifetime`.
    /// `None` when the policy or its history asks for a ping or its session reset first:
    /// [`recycle_checked`](Self::recycle_checked). A connection that fails is closed (and
    /// counted) by the caller.
    pub(crate) fn recycle_now(&self, conn: &Conn) -> Option<bool> {
        // At most one clock read per checkout, shared by the lifetime and idle checks.
        let mut now = Clock(None);
        let failed = if conn.broken {
            "the connection is broken"
        } else if conn.is_busy() {
            "an operation on the connection was abandoned midway"
        } else if self.too_old(conn, &mut now) {
            "the connection reached pool.max_lifetime"
        } else if (conn.touched && self.reset.get() != SessionReset::Never)
            || self.wants_check(conn, &mut now)
        {
            return None;
        } else {
            return Some(true);
        };
        Some(passed(Err(failed.into())))
    }

    /// The round trip [`recycle_now`](Self::recycle_now) asked for: whether the connection
    /// answers it.
    pub(crate) async fn recycle_checked(&self, conn: &mut Conn) -> bool {
        passed(self.check(conn).await)
    }
}

/// Whether a connection passed its check; logs why not.
fn passed(verdict: std::result::Result<(), Failed>) -> bool {
    match verdict {
        Ok(()) => true,
        Err(reason) => {
            tracing::debug!(target: "pgtide::pool", reason = %reason, "replacing a pooled connection");
            false
        }
    }
}

impl ConnectionManager {
    async fn create_counted(&self) -> Result<Conn> {
        match self.open().await {
            Ok(conn) => {
                Counters::bump(&self.counters.created);
                Ok(conn)
            }
            Err(err) => {
                Counters::bump(&self.counters.connect_failures);
                tracing::debug!(
                    target: "pgtide::pool",
                    error_kind = err.kind().as_str(),
                    error = %err,
                    "connecting failed"
                );
                Err(err)
            }
        }
    }

    /// Whether the health-check policy wants a ping before this checkout.
    fn wants_check(&self, conn: &Conn, now: &mut Clock) -> bool {
        conn.suspect
            || match self.health_check {
                HealthCheck::Always => true,
                HealthCheck::Never => false,
                HealthCheck::IdleLongerThan(idle) => {
                    now.get().saturating_duration_since(conn.idle_since) > idle
                }
            }
    }

    /// The session reset of a connection handed back without a runtime to reset it then (a
    /// round trip, which also checks it), or the health check.
    async fn check(&self, conn: &mut Conn) -> std::result::Result<(), Failed> {
        let limit = self.connect_timeout;
        if conn.touched && self.reset.get() != SessionReset::Never {
            // Handed back without a runtime to reset it then: reset now (a round trip,
            // which also checks the connection).
            match conn.track(async |raw| reset::run(raw, limit).await).await {
                Ok(()) => {
                    conn.touched = false;
                    conn.suspect = false;
                    Ok(())
                }
                Err(err) => Err(Failed::Error(err)),
            }
        } else {
            let ping = async |raw: &mut PgConnection| match tokio::time::timeout(limit, raw.ping())
                .await
            {
                Ok(result) => result.map_err(Error::from),
                Err(_) => Err(Error::timeout(
                    TimeoutKind::ClientDeadline,
                    "running the health check",
                    None,
                )),
            };
            match conn.track(ping).await {
                Ok(()) => {
                    conn.suspect = false;
                    Ok(())
                }
                Err(err) => Err(Failed::Error(err)),
            }
        }
    }
}

/// Why a connection was not handed out again.
enum Failed {
    Reason(&'static str),
    Error(Error),
}

impl From<&'static str> for Failed {
    fn from(reason: &'static str) -> Self {
        Self::Reason(reason)
    }
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Reason(reason) => f.write_str(reason),
            Self::Error(err) => err.fmt(f),
        }
    }
}
