//! The one classifier of CSV values: what a field looks like (a whole number, a decimal, a
//! boolean, a date, a timestamp, a UUID, JSON, or text). Header detection asks whether a
//! field is data; `--create` asks which column type every field of a column fits. Both read
//! this, so they never disagree about what `2024-01-02` or `t` is.

/// What a CSV field looks like, narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ValueClass {
    /// Fits `integer` (32 bits).
    Integer,
    /// Fits `bigint`.
    BigInt,
    /// Digits with an optional sign and decimal point (`numeric`).
    Numeric,
    /// `true`, `false`, `t` or `f`, any case.
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DD` followed by a space or `T` and a time.
    Timestamp,
    /// A hyphenated UUID.
    Uuid,
    /// A JSON object or array.
    Json,
    /// Anything else.
    Text,
}

impl ValueClass {
    /// The class of `value` (trimmed by the caller); `None` for an empty field.
    pub fn of(value: &str) -> Option<Self> {
        if value.is_empty() {
            return None;
        }
        Some(if value.parse::<i32>().is_ok() {
            Self::Integer
        } else if value.parse::<i64>().is_ok() {
            Self::BigInt
        } else if is_numeric(value) {
            Self::Numeric
        } else if is_boolean(value) {
            Self::Boolean
        } else if is_date(value) {
            if value.len() == 10 {
                Self::Date
            } else {
                Self::Timestamp
            }
        } else if is_uuid(value) {
            Self::Uuid
        } else if (value.starts_with('{') || value.starts_with('['))
            && serde_json::from_str::<serde_json::Value>(value).is_ok()
        {
            Self::Json
        } else {
            Self::Text
        })
    }

    /// Whether a column holding values of class `self` also holds one of `other`: the
    /// numbers widen (integer → bigint → numeric); any other mix is text.
    fn join(self, other: Self) -> Self {
        use ValueClass::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Integer | BigInt | Numeric, Integer | BigInt | Numeric) => self.max(other),
            _ => Text,
        }
    }

    /// What a column header cannot be: a number, a boolean or a date (or timestamp).
    pub fn is_data(self) -> bool {
        matches!(
            self,
            Self::Integer
                | Self::BigInt
                | Self::Numeric
                | Self::Boolean
                | Self::Date
                | Self::Timestamp
        )
    }

    /// The PostgreSQL column type for values of this class.
    pub fn sql_type(self) -> &'static str {
        match self {
            Self::Integer => "integer",
            Self::BigInt => "bigint",
            Self::Numeric => "numeric",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::Timestamp => "timestamptz",
            Self::Uuid => "uuid",
            Self::Json => "json",
            Self::Text => "text",
        }
    }
}

/// The narrowest class every non-empty value fits (text when there is none).
pub fn column_class<'a>(values: impl IntoIterator<Item = &'a str>) -> ValueClass {
    values
        .into_iter()
        .filter_map(|v| ValueClass::of(v.trim()))
        .reduce(ValueClass::join)
        .unwrap_or(ValueClass::Text)
}

fn is_numeric(v: &str) -> bool {
    let v = v.strip_prefix(['-', '+']).unwrap_or(v);
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

fn is_boolean(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "true" | "false" | "t" | "f"
    )
}

fn is_date(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || (b.len() > 11 && matches!(b[10], b' ' | b'T')))
}

fn is_uuid(v: &str) -> bool {
    v.len() == 36
        && v.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_classified_once() {
        use ValueClass::*;
        let cases = [
            ("1", Integer),
            ("3000000000", BigInt),
            ("1.5", Numeric),
            ("1e5", Text),
            ("T", Boolean),
            ("2024-01-02", Date),
            ("2024-01-02T10:00:00Z", Timestamp),
            ("2024-01-02x", Text),
            ("0b7e7e52-4ac9-4e3c-9f6b-2c4b0ef7c3a1", Uuid),
            ("{\"a\":1}", Json),
            ("{oops", Text),
        ];
        for (value, class) in cases {
            assert_eq!(ValueClass::of(value), Some(class), "{value}");
        }
        assert_eq!(ValueClass::of(""), None);
        assert_eq!(column_class(["1", "", "3000000000"]), BigInt);
        assert_eq!(column_class(["1", "2.5"]), Numeric);
        assert_eq!(column_class(["1", "t"]), Text);
        assert_eq!(column_class([""]), Text);
        assert!(Date.is_data() && !Text.is_data() && !Uuid.is_data());
    }
}
