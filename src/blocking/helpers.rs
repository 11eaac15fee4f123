//! The query helpers every blocking handle has ([`Pool`](super::Pool),
//! [`Connection`](super::Connection), [`Transaction`](super::Transaction)): the async
//! [`crate::query`] helpers, run to completion on the calling thread. Written once here; each
//! handle supplies `parts()`: its runtime and its executor.

macro_rules! query_helpers {
    (@methods [$($recv:tt)*]) => {
        /// Exactly one row, as [`query::fetch_one`](crate::query::fetch_one): none is
        /// [`Error::NotFound`](crate::Error::NotFound).
        pub fn fetch_one<'q, Q>($($recv)* self, query: Q) -> $crate::Result<Q::Output>
        where
            Q: $crate::query::Fetch<'q>,
        {
            let (rt, db) = self.parts();
            rt.run($crate::query::fetch_one(db, query))
        }

        /// At most one row, as [`query::fetch_optional`](crate::query::fetch_optional).
        pub fn fetch_optional<'q, Q>($($recv)* self, query: Q) -> $crate::Result<Option<Q::Output>>
        where
            Q: $crate::query::Fetch<'q>,
        {
            let (rt, db) = self.parts();
            rt.run($crate::query::fetch_optional(db, query))
        }

        /// Every row, as [`query::fetch_all`](crate::query::fetch_all).
        pub fn fetch_all<'q, Q>($($recv)* self, query: Q) -> $crate::Result<Vec<Q::Output>>
        where
            Q: $crate::query::Fetch<'q>,
        {
            let (rt, db) = self.parts();
            rt.run($crate::query::fetch_all(db, query))
        }

        /// Runs a statement; returns the number of rows it affected, as
        /// [`query::execute`](crate::query::execute).
        pub fn execute<'q, A>(
            $($recv)* self,
            query: ::sqlx::query::Query<'q, ::sqlx::Postgres, A>,
        ) -> $crate::Result<u64>
        where
            A: 'q + ::sqlx::IntoArguments<::sqlx::Postgres> + Send,
        {
            let (rt, db) = self.parts();
            rt.run($crate::query::execute(db, query))
        }

        /// `COPY … FROM STDIN`, the data read from `reader` a chunk at a time (see
        /// [`CopyIn`](crate::copy::CopyIn)); returns the rows loaded.
        pub fn copy_in(
            $($recv)* self,
            copy: $crate::copy::CopyIn,
            reader: impl ::std::io::Read,
        ) -> $crate::Result<u64> {
            let (rt, db) = self.parts();
            $crate::blocking::io::copy_in(rt, db.into(), copy, reader)
        }

        /// `COPY … TO STDOUT` into `writer` as the data arrives (see
        /// [`CopyOut`](crate::copy::CopyOut)); returns the bytes written.
        pub fn copy_out(
            $($recv)* self,
            copy: $crate::copy::CopyOut,
            writer: impl ::std::io::Write + Unpin,
        ) -> $crate::Result<u64> {
            let (rt, db) = self.parts();
            $crate::blocking::io::copy_out(rt, db.into(), copy, writer)
        }
    };
    (shared) => { query_helpers!(@methods [&]); };
    (exclusive) => { query_helpers!(@methods [&mut]); };
}

pub(crate) use query_helpers;
