//! The runtime a blocking pool owns, and the one check every blocking call makes first:
//! not inside a tokio runtime.

use std::future::Future;
use std::sync::Arc;

use crate::error::{Error, Result};

/// What calling a blocking function inside a tokio runtime returns (instead of stalling the
/// runtime's thread, or tokio's panic for a nested `block_on`).
pub(crate) fn inside_runtime() -> Error {
    Error::from(sqlx::Error::Configuration(
        "pgtide::blocking was called on a thread of a tokio runtime (spawn_blocking threads \
         included), where it could stall the runtime: use the async pgtide::Pool there, or \
         call it from a plain std::thread"
            .into(),
    ))
}

/// A small multi-thread tokio runtime (one worker, which drives the sockets and timers and
/// the pool's maintenance) shared by a blocking pool's clones and what it hands out. Each
/// blocking call runs its future on the calling thread (`block_on`), so many threads call
/// at once without queueing behind one another.
#[derive(Clone)]
pub(crate) struct Runtime(Arc<Owned>);

struct Owned(Option<tokio::runtime::Runtime>);

impl Runtime {
    pub(crate) fn new() -> Result<Self> {
        refuse_inside_runtime()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("pgtide-blocking")
            .enable_all()
            .build()
            .map_err(|e| Error::from(sqlx::Error::Io(e)))?;
        Ok(Self(Arc::new(Owned(Some(rt)))))
    }

    /// Runs `future` to completion on the calling thread.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> Result<F::Output> {
        refuse_inside_runtime()?;
        Ok(self.handle().block_on(future))
    }

    /// The same, for a call that already returns a `Result`.
    pub(crate) fn run<T, F: Future<Output = Result<T>>>(&self, future: F) -> Result<T> {
        self.block_on(future)?
    }

    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        self.0.0.as_ref().expect("present until dropped").handle()
    }
}

thread_local! {
    /// Set while a blocking transaction body runs (inside `block_in_place`, where blocking
    /// is allowed although a runtime handle is still current).
    static IN_BODY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs a blocking body from inside a future on a blocking pool's runtime: its own blocking
/// calls are allowed.
pub(crate) fn blocking_body<R>(body: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            IN_BODY.with(|b| b.set(self.0));
        }
    }
    tokio::task::block_in_place(|| {
        let _restore = Restore(IN_BODY.with(|b| b.replace(true)));
        body()
    })
}

/// Err when blocking here would stall a tokio runtime.
pub(crate) fn refuse_inside_runtime() -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() && !IN_BODY.with(std::cell::Cell::get) {
        Err(inside_runtime())
    } else {
        Ok(())
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            // Dropping a runtime inside another one panics; there, let it wind down in the
            // background.
            if tokio::runtime::Handle::try_current().is_ok() {
                rt.shutdown_background();
            }
        }
    }
}
