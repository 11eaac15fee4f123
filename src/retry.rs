//! Retry with exponential backoff and jitter, within a total time budget.
//!
//! # What pgtide retries, exactly
//!
//! | work | retried on | never retried |
//! |---|---|---|
//! | connecting (pool start-up, [`Pool::acquire`](crate::Pool::acquire)) | I/O and TLS failures, `08*`, `53300`, `57P01..03`, connect timeouts | wrong password (`28*`), unknown database, other permanent errors |
//! | [`Pool::idempotent`](crate::Pool::idempotent): work *you* mark idempotent | every [transient](crate::ErrorKind::Transient) error, on a fresh connection | permanent errors, timeouts |
//! | [`Pool::transaction`](crate::Pool::transaction): the whole closure | `40001`, `40P01` anywhere; a connection lost *before* `COMMIT` was sent | a connection lost during `COMMIT` (the outcome is unknown) |
//! | everything else (`&Pool` as executor, query helpers, a held connection) | — | a statement that may have reached the server is **never** retried silently |
//!
//! Each retry is a `WARN` tracing event on target `pgtide::retry` with `operation`,
//! `attempt`, `delay_ms` and `error_kind`.
//!
//! ```
//! use std::time::Duration;
//! use pgtide::config::RetrySettings;
//! use pgtide::retry::RetryPolicy;
//!
//! let policy = RetryPolicy::from_settings(&RetrySettings::default()).without_jitter();
//! let delays: Vec<Duration> = policy.delays().collect();
//! // 3 attempts = 2 retries: 100 ms, then 200 ms
//! assert_eq!(delays, [Duration::from_millis(100), Duration::from_millis(200)]);
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! // retry a flaky operation: fails twice with a transient error, then succeeds
//! let mut calls = 0;
//! let value = RetryPolicy::from_settings(&RetrySettings::default())
//!     .run("demo", pgtide::Error::is_retryable, |attempt| {
//!         calls += 1;
//!         async move {
//!             if attempt < 3 {
//!                 let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
//!                 return Err(pgtide::Error::from(pgtide::sqlx::Error::Io(io)));
//!             }
//!             Ok(42)
//!         }
//!     })
//!     .await?;
//! assert_eq!((value, calls), (42, 3));
//! # Ok::<(), pgtide::Error>(()) })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::{Duration, Instant};

use tokio_retry::strategy::{ExponentialBackoff, jitter};

use crate::config::RetrySettings;
use crate::error::{Error, Result, TimeoutKind};

/// How often and how long to retry: attempts, exponential delays with optional full jitter,
/// and a total time budget. Built from [`RetrySettings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    jitter: bool,
    budget: Duration,
}

impl RetryPolicy {
    /// The policy the settings describe.
    pub fn from_settings(settings: &RetrySettings) -> Self {
        Self {
            attempts: settings.attempts.max(1),
            base_delay: settings.base_delay,
            max_delay: settings.max_delay,
            jitter: settings.jitter,
            budget: settings.budget,
        }
    }

    /// A policy that tries once.
    pub fn once() -> Self {
        Self {
            attempts: 1,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            jitter: false,
            budget: Duration::MAX,
        }
    }

    /// The same policy with deterministic delays (for tests and examples).
    pub fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// Total attempts, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Total time all attempts together may take.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// The delays before each retry: `base`, `2·base`, `4·base`, ... capped at `max`, each
    /// scaled by a random factor in `[0, 1)` when jitter is on. One fewer than `attempts`.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        // tokio-retry's backoff yields factor·2ⁿ ms (n ≥ 1); halve it to start at `base`.
        let base_ms = u64::try_from(self.base_delay.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let max = self.max_delay;
        let with_jitter = self.jitter;
        ExponentialBackoff::from_millis(2)
            .factor(base_ms)
            .max_delay(max.saturating_mul(2))
            .map(move |d| (d / 2).min(max))
            .map(move |d| if with_jitter { jitter(d) } else { d })
            .take(self.attempts.saturating_sub(1) as usize)
    }

    /// Runs `operation` until it succeeds, fails with an error `retry_if` rejects, runs out
    /// of attempts, or the next delay would overrun the budget. `operation` gets the attempt
    /// number (1-based). The last error is returned as it was: the real cause.
    pub async fn run<T, Fut>(
        &self,
        name: &'static str,
        retry_if: impl Fn(&Error) -> bool,
        mut operation: impl FnMut(u32) -> Fut,
    ) -> Result<T>
    where
        Fut: Future<Output = Result<T>>,
    {
        let mut attempts = self.start(name);
        loop {
            match operation(attempts.attempt()).await {
                Ok(value) => return Ok(value),
                Err(err) => {
                    if !attempts.pause(&err, &retry_if).await {
                        return Err(err);
                    }
                }
            }
        }
    }

    /// Starts counting attempts of one operation (for loops `run` does not fit).
    pub(crate) fn start(&self, name: &'static str) -> Attempts<impl Iterator<Item = Duration>> {
        Attempts {
            name,
            started: Instant::now(),
            budget: self.budget,
            delays: self.delays(),
            attempt: 1,
        }
    }
}

/// The attempts of one retried operation.
pub(crate) struct Attempts<I> {
    name: &'static str,
    started: Instant,
    budget: Duration,
    delays: I,
    attempt: u32,
}

impl<I: Iterator<Item = Duration>> Attempts<I> {
    /// The current attempt, from 1.
    pub(crate) fn attempt(&self) -> u32 {
        self.attempt
    }

    /// After a failure: when `retry_if` accepts `err`, attempts remain and the delay fits the
    /// budget, logs the retry, waits the delay and returns true; otherwise returns false.
    pub(crate) async fn pause(&mut self, err: &Error, retry_if: impl Fn(&Error) -> bool) -> bool {
        if !retry_if(err) {
            return false;
        }
        let Some(delay) = self.delays.next() else {
            return false;
        };
        if self.started.elapsed().saturating_add(delay) > self.budget {
            return false;
        }
        retry_event(self.name, self.attempt, delay, err);
        tokio::time::sleep(delay).await;
        self.attempt += 1;
        true
    }
}

/// The `pgtide::retry` event every retry emits.
pub(crate) fn retry_event(operation: &'static str, attempt: u32, delay: Duration, err: &Error) {
    tracing::warn!(
        target: "pgtide::retry",
        operation,
        attempt,
        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        error_kind = err.kind().as_str(),
        error = %err,
        "retrying after a transient failure"
    );
}

/// Whether connecting may succeed if tried again: transient failures and connect timeouts.
pub(crate) fn connect_retryable(err: &Error) -> bool {
    err.is_retryable() || err.timeout_kind() == Some(TimeoutKind::Connect)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(attempts: u32, base_ms: u64, max_ms: u64) -> RetryPolicy {
        RetryPolicy::from_settings(&RetrySettings {
            attempts,
            base_delay: Duration::from_millis(base_ms),
            max_delay: Duration::from_millis(max_ms),
            jitter: false,
            budget: Duration::from_secs(60),
        })
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let d: Vec<_> = policy(6, 100, 500)
            .delays()
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(d, [100, 200, 400, 500, 500]);
        assert_eq!(policy(1, 100, 500).delays().count(), 0);
    }

    #[test]
    fn jitter_stays_below_the_delay() {
        let mut p = policy(10, 100, 1000);
        p.jitter = true;
        for (jittered, plain) in p.delays().zip(policy(10, 100, 1000).delays()) {
            assert!(jittered <= plain);
        }
    }

    #[tokio::test]
    async fn budget_stops_retrying_with_the_last_error() {
        let mut p = policy(100, 20, 20);
        p.budget = Duration::from_millis(70);
        let mut calls = 0;
        let err = p
            .run(
                "t",
                |_| true,
                |_| {
                    calls += 1;
                    async { Err::<(), _>(Error::Closed) }
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Closed);
        assert!((2..=4).contains(&calls), "{calls} calls");
    }
}
