//! What the closure APIs run: a caller's body, behind one trait whatever its shape, so that
//! each attempt loop ([`Pool::idempotent`](crate::Pool::idempotent),
//! [`Pool::transaction`](crate::Pool::transaction), the per-call timeouts) is one function
//! for both its plain and its boxed form.
//!
//! The plain forms take async closures; the boxed forms take closures returning a boxed
//! `Send` future. A function generic over an async closure would hide the boxed form's
//! `Send` (rust-lang/rust#100013: the compiler cannot prove `Send` of an async closure's
//! future for every borrow); through [`Boxed`], the body's future is the `BoxFuture` it
//! returns, a named `Send` type, so the loop's future stays visibly `Send` when the body's is.

use futures_core::future::BoxFuture;
use sqlx::PgConnection;

use super::session::Session;
use crate::error::Result;

/// A body an attempt loop may run several times, each time on `A` (a transaction, a
/// session).
pub(crate) trait Body<A, T> {
    /// Runs the body once.
    fn call<'a>(&'a mut self, arg: &'a mut A) -> impl Future<Output = Result<T>>;
}

/// A body an attempt loop may run several times, each time on a [`Session`] (the lifetime of
/// the session is the method's, not the trait's: a bound `for<'s> Body<Session<'s>, T>`
/// hides the boxed form's `Send`, rust-lang/rust#100013).
pub(crate) trait SessionBody<T> {
    /// Runs the body once.
    fn call<'a, 's>(&'a mut self, session: &'a mut Session<'s>) -> impl Future<Output = Result<T>>;
}

/// A body run at most once, on a [`Session`].
pub(crate) trait SessionBodyOnce<T> {
    /// Runs the body.
    fn call_once<'a, 's>(self, session: &'a mut Session<'s>) -> impl Future<Output = Result<T>>;
}

/// An async closure: given what the attempt runs on as is (a transaction).
pub(crate) struct Plain<F>(pub(crate) F);

/// An async closure over the raw connection: the session is marked for a reset, as
/// anything could have run on it.
pub(crate) struct Raw<F>(pub(crate) F);

/// A closure that returns a boxed `Send` future.
pub(crate) struct Boxed<F>(pub(crate) F);

impl<A, T, F: AsyncFnMut(&mut A) -> Result<T>> Body<A, T> for Plain<F> {
    fn call<'a>(&'a mut self, arg: &'a mut A) -> impl Future<Output = Result<T>> {
        (self.0)(arg)
    }
}

impl<A, T, F> Body<A, T> for Boxed<F>
where
    F: for<'a> FnMut(&'a mut A) -> BoxFuture<'a, Result<T>>,
{
    #[allow(refining_impl_trait)]
    fn call<'a>(&'a mut self, arg: &'a mut A) -> BoxFuture<'a, Result<T>> {
        (self.0)(arg)
    }
}

impl<T, F: AsyncFnMut(&mut PgConnection) -> Result<T>> SessionBody<T> for Raw<F> {
    fn call<'a, 's>(&'a mut self, session: &'a mut Session<'s>) -> impl Future<Output = Result<T>> {
        (self.0)(session.raw())
    }
}

impl<T, F: AsyncFnOnce(&mut PgConnection) -> Result<T>> SessionBodyOnce<T> for Raw<F> {
    fn call_once<'a, 's>(self, session: &'a mut Session<'s>) -> impl Future<Output = Result<T>> {
        (self.0)(session.raw())
    }
}

impl<T, F> SessionBody<T> for Boxed<F>
where
    F: for<'a, 's> FnMut(&'a mut Session<'s>) -> BoxFuture<'a, Result<T>>,
{
    #[allow(refining_impl_trait)]
    fn call<'a, 's>(&'a mut self, session: &'a mut Session<'s>) -> BoxFuture<'a, Result<T>> {
        (self.0)(session)
    }
}

impl<T, F> SessionBodyOnce<T> for Boxed<F>
where
    F: for<'a, 's> FnOnce(&'a mut Session<'s>) -> BoxFuture<'a, Result<T>>,
{
    #[allow(refining_impl_trait)]
    fn call_once<'a, 's>(self, session: &'a mut Session<'s>) -> BoxFuture<'a, Result<T>> {
        (self.0)(session)
    }
}
