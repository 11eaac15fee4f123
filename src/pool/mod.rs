//! The connection pool: sqlx connections in pgtide's own slots (`pool::slots`: one mutex over
//! the idle connections, the places and the line of waiting callers), built from a validated
//! [`Config`].
//!
//! Why not sqlx's own `PgPool`: on the same machine and run, a pool this simple over sqlx
//! `PgConnection`s serves about twice the point selects per second of `PgPool` at 8–32 tasks
//! (see the README's "Pool" section and `cargo xtask bench`). The driver is not the
//! bottleneck; the pool is.
//!
//! Around the slots: a connect timeout, a minimum size kept warm, an idle reaper and a
//! maximum lifetime (`pool::maintenance`), health checks that cost a round trip only when a
//! connection sat idle (or saw an error), startup with retry, pool timeouts that say why, and
//! [`PoolStats`].
//!
//! ```
//! use pgtide::config::{Config, PoolSize};
//! use pgtide::{Pool, SecretString};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! # let db = pgtide_testkit::TestDb::new().await?;
//! let config = Config::builder()
//!     .host("127.0.0.1")
//!     .database("app")
//!     .user("app")
//!     .password(SecretString::from("s3cret"))
//!     .pool_size(PoolSize::new(1, 8)?)
//!     .build()?;
//! # let config = Config::loader().no_file_search().env([("DATABASE_URL", db.url())]).load()?;
//! let pool = Pool::connect(&config).await?;
//!
//! // `&Pool` is a sqlx executor: a connection is checked out for the call.
//! let one: i32 = pgtide::sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
//! assert_eq!(one, 1);
//!
//! // Or hold one connection for several statements; it derefs to `sqlx::PgConnection`.
//! let mut conn = pool.acquire().await?;
//! pgtide::sqlx::query("SELECT 2").execute(&mut *conn).await?;
//! drop(conn); // back to the pool
//!
//! println!("{}", pool.stats());
//! # Ok(()) }
//! ```

mod body;
mod boxed;
mod close;
pub(crate) mod connect;
mod credentials;
pub(crate) mod deadline;
mod executor;
pub(crate) mod guard;
mod idempotent;
mod line;
pub mod listener;
pub(crate) mod maintenance;
mod manager;
mod migrate;
pub mod reset;
mod session;
mod slots;
mod stats;
mod timeout;
pub(crate) mod transaction;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::PgConnection;
use sqlx::postgres::PgConnectOptions;

use crate::config::Config;
use crate::error::{Error, Result, TimeoutKind};
use crate::observe::Target;
use crate::retry::{RetryPolicy, connect_retryable};

pub use close::{CloseOutcome, DEFAULT_CLOSE_GRACE};
pub(crate) use connect::{Route, connect_options, connect_via};
pub use credentials::ProviderError;
pub(crate) use guard::Conn;
pub(crate) use manager::ConnectionManager;
pub use reset::SessionReset;
pub use session::Session;
use slots::{GetError, Got, Lent, Patience, Slots};
use stats::Counters;
pub use stats::PoolStats;
pub use timeout::PoolTimeout;

/// Acquire waits longer than this are logged (`WARN`, target `pgtide::pool`) unless changed
/// with [`Pool::set_slow_acquire_threshold`].
pub const DEFAULT_SLOW_ACQUIRE: Duration = Duration::from_millis(100);

/// A pool of PostgreSQL connections. Cheap to clone (all clones share one pool).
///
/// Built only from a validated [`Config`] by [`Pool::connect`]. `&Pool` implements
/// [`sqlx::Executor`], so sqlx queries and generated query functions take `&pool` directly.
/// `Debug` shows where it connects and its stats, never the password.
#[derive(Clone)]
pub struct Pool {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) slots: Slots,
    pub(crate) config: Config,
    pub(crate) counters: Arc<Counters>,
    pub(crate) retry: RetryPolicy,
    /// Database and server for the spans, made once.
    pub(crate) target: Target,
    slow_acquire_nanos: AtomicU64,
    maintenance: std::sync::Mutex<Option<tokio::task::AbortHandle>>,
}

impl Shared {
    /// Stops the maintenance task (pool closed or dropped).
    pub(crate) fn stop_maintenance(&self) {
        if let Ok(mut task) = self.maintenance.lock()
            && let Some(task) = task.take()
        {
            task.abort();
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.stop_maintenance();
        close::terminate_idle_on_drop(self);
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("server", &self.shared.target.server())
            .field("database", &self.database())
            .field("user", &self.shared.config.connection().user)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// Builds the pool and opens its first connections, retrying with the configured backoff
    /// while the server is starting or briefly unreachable (see [`crate::retry`]). Fails with
    /// the real cause once the retry budget is spent, and at once for errors retrying cannot
    /// fix (wrong password, unknown database).
    ///
    /// Opens `pool.min_size` connections (at least one, to prove the configuration works)
    /// and starts the background task that keeps the minimum, closes idle connections and
    /// replaces old ones; the task ends when the last clone of the pool is dropped or
    /// [`close`](Self::close) is called.
    pub async fn connect(config: &Config) -> Result<Self> {
        let pool = Self::build(config)?;
        let first = pool
            .shared
            .retry
            .run("connect", connect_retryable, |_| pool.checkout_once())
            .await?;
        drop(first);
        maintenance::fill_to_min(&pool.shared).await;
        maintenance::start(&pool);
        Ok(pool)
    }

    fn build(config: &Config) -> Result<Self> {
        let counters = Arc::new(Counters::default());
        let pool_settings = config.pool();
        let manager = ConnectionManager::new(
            connect::connect_options(config)?,
            config.connection().connect_timeout,
            pool_settings.health_check,
            pool_settings.max_lifetime,
            Arc::clone(&counters),
        )
        .with_pgbouncer(config)
        .with_route(connect::Route::new(config)?);
        let slots = Slots::new(manager, pool_settings.size.max() as usize);
        let c = config.connection();
        let pool = Self {
            shared: Arc::new(Shared {
                slots,
                target: Target::new(c.database.clone(), format!("{}:{}", c.host, c.port)),
                config: config.clone(),
                counters,
                retry: RetryPolicy::from_settings(config.retry()),
                slow_acquire_nanos: AtomicU64::new(DEFAULT_SLOW_ACQUIRE.as_nanos() as u64),
                maintenance: std::sync::Mutex::new(None),
            }),
        };
        pool.follow_config_reference();
        Ok(pool)
    }

    /// Checks out a connection, waiting at most `pool.acquire_timeout`.
    ///
    /// While the server cannot be reached, connecting is retried (with the retry policy's
    /// delays) until the acquire timeout; the [`Timeout`](Error::Timeout) then carries the
    /// last connect error ([`Error::last_connect_error`]). When every connection is in use,
    /// it carries the pool's stats ([`Error::pool_stats`]). Errors retrying cannot fix (wrong
    /// password) return at once.
    pub async fn acquire(&self) -> Result<PooledConnection> {
        let object = self.checkout_object().await?;
        Ok(PooledConnection::new(object, Arc::clone(&self.shared)))
    }

    /// A connection for one call of the `&Pool` executor: [`acquire`](Self::acquire) without
    /// touching the pool's reference count (the call borrows the pool).
    pub(crate) async fn checkout(&self) -> Result<Checkout<'_>> {
        let object = self.checkout_object().await?;
        Ok(Checkout {
            object: Some(object),
            shared: &self.shared,
        })
    }

    /// The checkout itself, under `pool.acquire_timeout`.
    async fn checkout_object(&self) -> Result<Lent> {
        transaction::note_checkout();
        Counters::bump(&self.shared.counters.acquires);
        // Uncontended, the slots hand out an idle connection on the first poll: no clock
        // read, no timer, nothing waited. Small (~300 B): held inline, not boxed.
        let patience = Patience::For(self.shared.config.pool().acquire_timeout);
        match self.shared.slots.get(patience).await {
            Ok(Got { lent, waited_since }) => {
                if let Some(since) = waited_since {
                    self.waited(since);
                }
                Ok(lent)
            }
            Err(GetError::Closed) => Err(Error::Closed),
            Err(GetError::TimedOut { since }) => Err(self.acquire_timed_out(since, None)),
            Err(GetError::Connect { error, since }) => {
                Box::pin(self.keep_trying(error, since)).await
            }
        }
    }

    /// Retries a checkout that started at `started` and failed to connect with `failed`,
    /// until one succeeds or the acquire timeout passes: connect errors that retrying can
    /// fix wait out the retry policy's delays.
    async fn keep_trying(&self, failed: Error, started: tokio::time::Instant) -> Result<Lent> {
        let deadline = started.checked_add(self.shared.config.pool().acquire_timeout);
        let patience = deadline.map_or(Patience::Forever, Patience::Until);
        let left = |now: tokio::time::Instant| {
            deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(now))
        };
        let mut failed = Some(failed);
        let mut backoff = self.shared.retry.delays();
        let mut last_connect_error = None;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let got = match failed.take() {
                Some(err) => Err(GetError::Connect {
                    error: err,
                    since: started,
                }),
                None => self.shared.slots.get(patience).await,
            };
            match got {
                Ok(got) => {
                    self.waited(started);
                    return Ok(got.lent);
                }
                Err(GetError::Connect { error, .. }) => {
                    if !connect_retryable(&error) {
                        self.shared.counters.add_wait(started.elapsed());
                        return Err(error);
                    }
                    let delay = backoff
                        .next()
                        .unwrap_or(self.shared.config.retry().max_delay)
                        .min(left(tokio::time::Instant::now()));
                    crate::retry::retry_event("acquire", attempt, delay, &error);
                    last_connect_error = Some(Box::new(error));
                    tokio::time::sleep(delay).await;
                }
                Err(GetError::Closed) => return Err(Error::Closed),
                Err(GetError::TimedOut { .. }) => break,
            }
            if left(tokio::time::Instant::now()).is_zero() {
                break;
            }
        }
        Err(self.acquire_timed_out(started, last_connect_error))
    }

    /// A checkout that started waiting at `started` got its connection: counted, and logged
    /// when slow.
    fn waited(&self, started: tokio::time::Instant) {
        let waited = started.elapsed();
        self.shared.counters.add_wait(waited);
        self.log_slow_acquire(waited);
    }

    /// The error of a checkout that waited from `started` for `pool.acquire_timeout`, with the
    /// pool's stats and the last connect error seen.
    fn acquire_timed_out(
        &self,
        started: tokio::time::Instant,
        last_connect_error: Option<Box<Error>>,
    ) -> Error {
        let counters = &self.shared.counters;
        let waited = started.elapsed();
        counters.add_wait(waited);
        Counters::bump(&counters.acquire_timeouts);
        let stats = self.stats();
        tracing::warn!(target: "pgtide::pool", waited_ms = waited.as_millis() as u64, %stats, "no connection within pool.acquire_timeout");
        Error::timeout(
            TimeoutKind::Acquire,
            "waiting for a pooled connection",
            Some(Box::new(PoolTimeout {
                waited,
                stats,
                last_connect_error,
            })),
        )
    }

    /// One checkout without waiting for the acquire timeout (startup and retries).
    async fn checkout_once(&self) -> Result<PooledConnection> {
        match self.shared.slots.get(Patience::Forever).await {
            Ok(got) => Ok(PooledConnection::new(got.lent, Arc::clone(&self.shared))),
            Err(GetError::Connect { error, .. }) => Err(error),
            Err(GetError::Closed | GetError::TimedOut { .. }) => Err(Error::Closed),
        }
    }

    fn log_slow_acquire(&self, waited: Duration) {
        let threshold =
            Duration::from_nanos(self.shared.slow_acquire_nanos.load(Ordering::Relaxed));
        if waited > threshold {
            tracing::warn!(
                target: "pgtide::pool",
                waited_ms = waited.as_millis() as u64,
                threshold_ms = threshold.as_millis() as u64,
                stats = %self.stats(),
                "slow connection checkout"
            );
        }
    }

    /// Acquire waits longer than `threshold` are logged as a `WARN` event with the pool's
    /// stats. Default [`DEFAULT_SLOW_ACQUIRE`].
    pub fn set_slow_acquire_threshold(&self, threshold: Duration) {
        let nanos = u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX);
        self.shared
            .slow_acquire_nanos
            .store(nanos, Ordering::Relaxed);
    }

    /// When a connection's session state is reset before it is handed out again (see
    /// [`reset`]). Default [`SessionReset::AfterRawUse`].
    pub fn set_session_reset(&self, policy: SessionReset) {
        self.shared.slots.manager().reset.set(policy);
    }

    /// Sizes now and counters since the pool was built.
    pub fn stats(&self) -> PoolStats {
        self.shared.counters.snapshot(self.shared.slots.sizes())
    }

    /// The configuration the pool was built from.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The database this pool connects to.
    pub fn database(&self) -> &str {
        &self.shared.config.connection().database
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.shared.slots.is_closed()
    }

    /// Whether `self` and `other` are clones of one pool.
    pub fn same_pool(&self, other: &Pool) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Escape hatch: a new connection with the pool's settings (TLS, session limits,
    /// `application_name`) that the pool does not manage. Close it yourself.
    pub async fn connect_unpooled(&self) -> Result<PgConnection> {
        self.shared.slots.manager().connect_unpooled().await
    }

    /// Escape hatch: a copy of the sqlx connect options the pool uses.
    ///
    /// **The result contains the password, and sqlx's `Debug` for [`PgConnectOptions`]
    /// prints it**: never log or `{:?}`-format it. Made on demand (not borrowed from the
    /// pool) so that nothing reachable from a `Pool` formats the secret by accident.
    pub fn connect_options_with_password(&self) -> PgConnectOptions {
        self.shared.slots.manager().options.clone()
    }
}

/// A connection checked out of a [`Pool`]; goes back when dropped.
///
/// Derefs to [`sqlx::PgConnection`], so anything that takes `&mut PgConnection` (sqlx
/// queries, generated query functions) takes `&mut *conn`.
///
/// Handed back, it is discarded instead of reused when an operation on it was abandoned
/// midway (its future dropped by an outer timeout or `select!` while `BEGIN`, a per-call
/// timeout or a `&Pool` statement was in flight; the statement is stopped on the server),
/// or when a transaction on it was left open. After you used it raw (`&mut *conn`), its
/// session state is reset before anyone else gets it (see [`reset`]).
///
/// Limitation: a raw sqlx query future on `&mut *conn` dropped midway, while you keep using
/// `conn`, is not seen until the connection is handed back: sqlx reads the abandoned reply
/// before the connection's next statement, so your next statement on it may wait for it (or,
/// for an abandoned `COPY`, fail). Handed back, such a connection fails its reset and is
/// discarded.
pub struct PooledConnection {
    object: Option<Lent>,
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for PooledConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledConnection")
            .field("server", &self.shared.target.server())
            .field("pid", &self.object.as_ref().map(|o| o.pid))
            .finish_non_exhaustive()
    }
}

impl PooledConnection {
    fn new(object: Lent, shared: Arc<Shared>) -> Self {
        Self {
            object: Some(object),
            shared,
        }
    }

    pub(crate) fn conn(&mut self) -> &mut Conn {
        self.object
            .as_mut()
            .expect("present until dropped or detached")
    }

    pub(crate) fn conn_ref(&self) -> &Conn {
        self.object
            .as_ref()
            .expect("present until dropped or detached")
    }

    /// The server process id serving this connection (asked once, when it was opened).
    pub async fn backend_pid(&mut self) -> Result<i32> {
        Ok(self.conn_ref().pid)
    }

    /// Escape hatch: takes the connection out of the pool for good (the pool opens another
    /// when it needs one). Close it yourself.
    pub fn detach(mut self) -> PgConnection {
        let object = self
            .object
            .take()
            .expect("present until dropped or detached");
        Counters::bump(&self.shared.counters.closed);
        self.shared.slots.remove(object).into_raw()
    }

    /// The pool's session reset policy.
    pub(crate) fn session_reset(&self) -> SessionReset {
        self.shared.slots.manager().reset.get()
    }

    /// Marks the connection for a health check before it is handed out again.
    ///
    /// pgtide does this itself (or discards the connection) after connection-level errors
    /// it sees: on `&Pool`, in [`Pool::transaction`] bodies, [`Pool::idempotent`] work,
    /// per-call timeouts and commits. Errors from statements you run on `&mut *conn`
    /// (sqlx calls or `pgtide::query` helpers, which only see a `PgConnection`) are not
    /// seen: call this after one that suggests the connection is in trouble.
    pub fn mark_suspect(&mut self) {
        self.conn().suspect = true;
    }

    /// Runs `f` under a per-call statement timeout; see [`crate::query`].
    pub async fn with_timeout<T>(
        &mut self,
        timeout: Duration,
        f: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
    ) -> Result<T> {
        deadline::run_timed(self, timeout, body::Raw(f)).await
    }
}

impl std::ops::Deref for PooledConnection {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn_ref().raw_ref()
    }
}

impl std::ops::DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn().raw_for_holder()
    }
}

impl AsMut<PgConnection> for PooledConnection {
    fn as_mut(&mut self) -> &mut PgConnection {
        self
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        if let Some(object) = self.object.take() {
            hand_back(&self.shared, object);
        }
    }
}

/// A connection checked out for one call of the `&Pool` executor: a [`PooledConnection`] that
/// borrows the pool for the call instead of holding a reference count. Handed back the same
/// way when dropped.
pub(crate) struct Checkout<'p> {
    object: Option<Lent>,
    shared: &'p Arc<Shared>,
}

impl Checkout<'_> {
    pub(crate) fn conn(&mut self) -> &mut Conn {
        self.object.as_mut().expect("present until dropped")
    }
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if let Some(object) = self.object.take() {
            hand_back(self.shared, object);
        }
    }
}

/// The one way a checked-out connection goes back: reused, reset first, or discarded (see
/// [`PooledConnection`]).
fn hand_back(shared: &Arc<Shared>, object: Lent) {
    settle(shared, object, true);
}

/// [`hand_back`]; a connection whose session must be reset is reset now, in the background,
/// when `reset_now` and a runtime is at hand, or else by the next checkout's check.
fn settle(shared: &Arc<Shared>, mut object: Lent, reset_now: bool) {
    if shared.slots.is_closed() {
        // Handed back to a closed pool: closed politely, not parked (see `close`).
        let busy = object.is_busy();
        let manager = shared.slots.manager();
        let via = busy.then_some((&manager.options, manager.connect_timeout));
        Counters::bump(&shared.counters.closed);
        guard::discard(shared.slots.remove(object), via);
        return;
    }
    use sqlx_core::transaction::TransactionManager;
    if object.broken
        || object.is_busy()
        || sqlx::postgres::PgTransactionManager::get_transaction_depth(object.raw_ref()) > 0
    {
        // Broken; or an operation on it was abandoned midway (its future dropped), so the
        // session may be inside a transaction sqlx does not know about, have a changed
        // `statement_timeout`, or still be running a statement (stopped on the server by
        // `discard`); or a sqlx transaction left open on the raw connection (the health
        // check would not end it). Not reused.
        Counters::bump(&shared.counters.closed);
        let manager = shared.slots.manager();
        let busy = object.is_busy();
        let via = busy.then_some((&manager.options, manager.connect_timeout));
        guard::discard(shared.slots.remove(object), via);
        return;
    }
    object.idle_since = Instant::now();
    if object.touched && shared.slots.manager().reset.get() == SessionReset::Never {
        // No reset wanted, but the borrower may have left the protocol out of step (a
        // `COPY` dropped midway): a ping at the next checkout finds that out.
        object.touched = false;
        object.suspect = true;
    } else if object.touched
        && reset_now
        && let Ok(runtime) = tokio::runtime::Handle::try_current()
    {
        // A borrower had the raw session: reset it before anyone else gets it. However
        // the reset ends (even dropped with its runtime), `Resetting` settles the connection.
        let mut held = Resetting {
            shared: Arc::clone(shared),
            object: Some(object),
        };
        runtime.spawn(async move {
            let limit = held.shared.config.connection().connect_timeout;
            let object = held.object.as_mut().expect("held until settled");
            let result = object.track(async |raw| reset::run(raw, limit).await).await;
            match result {
                Ok(()) => object.touched = false,
                Err(err) => {
                    tracing::debug!(target: "pgtide::pool", error = %err, "resetting a returned connection failed; closing it");
                    let object = held.object.take().expect("held until settled");
                    let shared = &held.shared;
                    Counters::bump(&shared.counters.closed);
                    // Out of step (e.g. an abandoned `COPY`): stop whatever it still
                    // runs on the server, too.
                    let manager = shared.slots.manager();
                    let via = (&manager.options, manager.connect_timeout);
                    guard::discard(shared.slots.remove(object), Some(via));
                }
            }
        });
        return;
    }
    shared.slots.put_back(object);
}

/// A handed-back connection whose session is being reset in the background. Dropped, it
/// settles the connection: reused once reset; discarded when the reset was abandoned midway;
/// left for the next checkout to reset when the reset never ran (its runtime shut down).
struct Resetting {
    shared: Arc<Shared>,
    object: Option<Lent>,
}

impl Drop for Resetting {
    fn drop(&mut self) {
        if let Some(object) = self.object.take() {
            settle(&self.shared, object, false);
        }
    }
}

#[cfg(test)]
mod future_sizes {
    //! The hot path's futures are moved by value (into their box, through wrappers): their
    //! size is instructions per query (`cargo xtask bench --callgrind`). Rare paths (opening a
    //! connection, the health check, the session reset, the connect-retry wait) are boxed so
    //! they do not inflate it.
    use super::*;
    use crate::config::PoolSize;

    fn pool() -> Pool {
        let config = Config::builder()
            .host("127.0.0.1")
            .database("app")
            .user("app")
            .password(secrecy::SecretString::from("pw"))
            .pool_size(PoolSize::new(1, 2).expect("valid size"))
            .build()
            .expect("valid config");
        Pool::build(&config).expect("pool")
    }

    #[test]
    fn the_hot_path_futures_stay_small() {
        let pool = pool();
        let acquire = std::mem::size_of_val(&pool.acquire());
        let get =
            std::mem::size_of_val(&pool.shared.slots.get(Patience::For(Duration::from_secs(1))));
        let query = std::mem::size_of_val(&executor::fetch_optional_taken(
            &pool,
            executor::Replayable::new(sqlx::query("SELECT 1"), &pool),
        ));
        eprintln!("acquire {acquire} B, slots get {get} B, fetch_optional {query} B");
        // It holds the slots' checkout inline (no allocation for it).
        assert!(acquire <= 512, "acquire future: {acquire} bytes");
        // A `&Pool` query allocates its future (sqlx's `Executor` returns it boxed), which
        // holds the slots' checkout future. At most 1 KiB each, glibc
        // serves them from its per-thread cache: no arena lock, which a 2 KiB future (before)
        // took on every query, and from another thread when the task had moved.
        const THREAD_CACHED: usize = 1024;
        assert!(
            get <= THREAD_CACHED,
            "the slots' checkout future: {get} bytes"
        );
        assert!(
            query <= THREAD_CACHED,
            "fetch_optional future: {query} bytes"
        );
    }
}
