//! Rows in PostgreSQL's binary `COPY` format, encoded with sqlx's own
//! [`Encode`](sqlx::Encode) implementations a chunk at a time.

use sqlx::encode::IsNull;
use sqlx::postgres::PgArgumentBuffer;
use sqlx::{Encode, Postgres, Type};

use super::CHUNK;
use crate::error::{Error, Result};

/// A row [`CopyIn::from_rows`](super::CopyIn::from_rows) can send in binary format.
///
/// Implemented for tuples (up to 12 fields) of types sqlx can bind; implement it for your
/// own row types by writing each field in column order:
///
/// ```
/// use pgtide::copy::{CopyRow, Fields};
///
/// struct Author { name: String, email: Option<String> }
///
/// impl CopyRow for Author {
///     fn fields(&self) -> i16 { 2 }
///     fn write(&self, out: &mut Fields<'_>) -> pgtide::Result<()> {
///         out.field(&self.name)?;
///         out.field(&self.email)
///     }
/// }
/// ```
pub trait CopyRow {
    /// The number of fields (columns) in the row.
    fn fields(&self) -> i16;
    /// Writes the fields in column order.
    fn write(&self, out: &mut Fields<'_>) -> Result<()>;
}

/// Where a [`CopyRow`] (or a generated `:copyfrom` function) writes a row's fields.
#[derive(Debug)]
pub struct Fields<'a> {
    encoder: &'a mut BinaryEncoder,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(encoder: &'a mut BinaryEncoder) -> Self {
        Self { encoder }
    }
}

impl Fields<'_> {
    /// Writes one field.
    pub fn field<'q, T: Encode<'q, Postgres>>(&mut self, value: &T) -> Result<()> {
        self.encoder.field(value, false)
    }

    /// Writes one field of a `json` (not `jsonb`) column: sqlx encodes JSON in `jsonb`'s
    /// binary layout (a version byte first), which a `json` column refuses.
    pub fn field_json<'q, T: Encode<'q, Postgres>>(&mut self, value: &T) -> Result<()> {
        self.encoder.field(value, true)
    }
}

macro_rules! tuple_rows {
    ($($n:literal: ($($t:ident $i:tt),+);)+) => {$(
        impl<$($t),+> CopyRow for ($($t,)+)
        where
            $($t: for<'q> Encode<'q, Postgres> + Type<Postgres>,)+
        {
            fn fields(&self) -> i16 {
                $n
            }
            fn write(&self, out: &mut Fields<'_>) -> Result<()> {
                $(out.field(&self.$i)?;)+
                Ok(())
            }
        }
    )+};
}

crate::tuples::for_each_tuple!(tuple_rows);

/// The binary `COPY` payload under construction: header, rows, trailer. The caller sends
/// and clears it whenever it [`is_full`](Self::is_full), so it never holds much more than
/// one chunk (plus one row).
#[derive(Debug)]
pub(crate) struct BinaryEncoder {
    buf: Vec<u8>,
}

impl BinaryEncoder {
    /// Starts the payload (signature, flags, header extension length).
    pub(crate) fn new() -> Self {
        let mut buf = Vec::with_capacity(CHUNK + CHUNK / 4);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0_i32.to_be_bytes());
        buf.extend_from_slice(&0_i32.to_be_bytes());
        Self { buf }
    }

    /// Appends one [`CopyRow`].
    pub(crate) fn write_row(&mut self, row: &impl CopyRow) -> Result<()> {
        self.row(row.fields());
        row.write(&mut Fields::new(self))
    }

    /// Starts a row of `fields` fields.
    pub(crate) fn row(&mut self, fields: i16) {
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }

    /// Appends one field of the current row (`json`: see [`Fields::field_json`]).
    pub(crate) fn field<'q, T: Encode<'q, Postgres>>(
        &mut self,
        value: &T,
        json: bool,
    ) -> Result<()> {
        let mut arg = PgArgumentBuffer::default();
        let is_null = value
            .encode_by_ref(&mut arg)
            .map_err(|e| Error::from(sqlx::Error::Encode(e)))?;
        match is_null {
            IsNull::Yes => self.buf.extend_from_slice(&(-1_i32).to_be_bytes()),
            IsNull::No => {
                if json && arg.first() == Some(&1) {
                    arg[0] = b' ';
                }
                let len = i32::try_from(arg.len()).map_err(|_| {
                    Error::from(sqlx::Error::Encode("COPY field larger than 2 GiB".into()))
                })?;
                self.buf.extend_from_slice(&len.to_be_bytes());
                self.buf.extend_from_slice(&arg);
            }
        }
        Ok(())
    }

    /// Appends the trailer; nothing may follow.
    pub(crate) fn finish(&mut self) {
        self.buf.extend_from_slice(&(-1_i16).to_be_bytes());
    }

    /// Holds at least a chunk: time to send it.
    pub(crate) fn is_full(&self) -> bool {
        self.buf.len() >= CHUNK
    }

    /// The bytes not sent yet.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Forgets the bytes just sent (keeping the buffer's capacity).
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
    }
}
