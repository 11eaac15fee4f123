//! PostgreSQL types (as sqlx's describe JSON spells them) → Rust types, with nullability and
//! sqlx's column override syntax (`AS "col!"`, `AS "col?"`, `AS "col: Type"`).
//!
//! Every path in generated code goes through `pgtide::sqlx`, so generated code needs only the
//! `pgtide` crate.

use serde_json::Value;

/// A PostgreSQL type as far as codegen cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgType {
    /// A built-in type sqlx maps, by sqlx's variant name (`Int8`, `Timestamptz`, …).
    Builtin(&'static Builtin),
    /// A user-defined enum.
    Enum(EnumType),
    /// An array of another type.
    Array(Box<PgType>),
    /// A domain: mapped as its base type.
    Domain {
        /// The domain's name.
        name: String,
        /// Its base type.
        base: Box<PgType>,
    },
    /// A type sqlx cannot map (composites, ranges, pseudo types, …).
    Unsupported(String),
}

/// A PostgreSQL enum and its labels, in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnumType {
    /// The type name as the server reports it.
    pub name: String,
    /// Its labels, in order.
    pub labels: Vec<String>,
}

/// A built-in type: sqlx's name, PostgreSQL's name, and its Rust types.
#[derive(Debug, PartialEq, Eq)]
pub struct Builtin {
    /// sqlx's `PgType` variant name, as in `.sqlx` JSON.
    pub sqlx: &'static str,
    /// PostgreSQL's name, for docs and messages.
    pub pg: &'static str,
    /// The owned Rust type (row fields, params structs of `:copyfrom`).
    pub owned: &'static str,
    /// The argument type of generated functions (borrowed where that is natural).
    pub arg: &'static str,
    /// Whether the type is `Copy` (arrays of it are then passed as slices of values).
    pub copy: bool,
}

macro_rules! builtins {
    ($($sqlx:literal $pg:literal $owned:literal $arg:literal $copy:literal;)*) => {
        &[$(Builtin { sqlx: $sqlx, pg: $pg, owned: $owned, arg: $arg, copy: $copy },)*]
    };
}

/// Every built-in type pgtide maps, with the sqlx features the workspace enables.
pub static BUILTINS: &[Builtin] = builtins! {
    "Bool" "bool" "bool" "bool" true;
    "Int2" "int2" "i16" "i16" true;
    "Int4" "int4" "i32" "i32" true;
    "Int8" "int8" "i64" "i64" true;
    "Float4" "float4" "f32" "f32" true;
    "Float8" "float8" "f64" "f64" true;
    "Oid" "oid" "pgtide::sqlx::postgres::types::Oid" "pgtide::sqlx::postgres::types::Oid" true;
    "Char" "\"char\"" "i8" "i8" true;
    "Text" "text" "String" "&str" false;
    "Varchar" "varchar" "String" "&str" false;
    "Bpchar" "bpchar" "String" "&str" false;
    "Name" "name" "String" "&str" false;
    "Bytea" "bytea" "Vec<u8>" "&[u8]" false;
    "Uuid" "uuid" "pgtide::sqlx::types::Uuid" "pgtide::sqlx::types::Uuid" true;
    "Json" "json" "pgtide::sqlx::types::JsonValue" "&pgtide::sqlx::types::JsonValue" false;
    "Jsonb" "jsonb" "pgtide::sqlx::types::JsonValue" "&pgtide::sqlx::types::JsonValue" false;
    "Date" "date" "pgtide::sqlx::types::chrono::NaiveDate" "pgtide::sqlx::types::chrono::NaiveDate" true;
    "Time" "time" "pgtide::sqlx::types::chrono::NaiveTime" "pgtide::sqlx::types::chrono::NaiveTime" true;
    "Timestamp" "timestamp" "pgtide::sqlx::types::chrono::NaiveDateTime" "pgtide::sqlx::types::chrono::NaiveDateTime" true;
    "Timestamptz" "timestamptz" "pgtide::sqlx::types::chrono::DateTime<pgtide::sqlx::types::chrono::Utc>" "pgtide::sqlx::types::chrono::DateTime<pgtide::sqlx::types::chrono::Utc>" true;
    "Interval" "interval" "pgtide::sqlx::postgres::types::PgInterval" "pgtide::sqlx::postgres::types::PgInterval" false;
    "Numeric" "numeric" "pgtide::sqlx::types::Decimal" "pgtide::sqlx::types::Decimal" true;
    "Money" "money" "pgtide::sqlx::postgres::types::PgMoney" "pgtide::sqlx::postgres::types::PgMoney" true;
    "Inet" "inet" "pgtide::sqlx::types::ipnetwork::IpNetwork" "pgtide::sqlx::types::ipnetwork::IpNetwork" true;
    "Cidr" "cidr" "pgtide::sqlx::types::ipnetwork::IpNetwork" "pgtide::sqlx::types::ipnetwork::IpNetwork" true;
    "Macaddr" "macaddr" "pgtide::sqlx::types::mac_address::MacAddress" "pgtide::sqlx::types::mac_address::MacAddress" true;
    "Void" "void" "()" "()" true;
    "Timetz" "timetz" "pgtide::sqlx::postgres::types::PgTimeTz<pgtide::sqlx::types::chrono::NaiveTime, pgtide::sqlx::types::chrono::FixedOffset>" "pgtide::sqlx::postgres::types::PgTimeTz<pgtide::sqlx::types::chrono::NaiveTime, pgtide::sqlx::types::chrono::FixedOffset>" true;
    "Int4Range" "int4range" "pgtide::sqlx::postgres::types::PgRange<i32>" "pgtide::sqlx::postgres::types::PgRange<i32>" true;
    "Int8Range" "int8range" "pgtide::sqlx::postgres::types::PgRange<i64>" "pgtide::sqlx::postgres::types::PgRange<i64>" true;
    "NumRange" "numrange" "pgtide::sqlx::postgres::types::PgRange<pgtide::sqlx::types::Decimal>" "pgtide::sqlx::postgres::types::PgRange<pgtide::sqlx::types::Decimal>" true;
    "TsRange" "tsrange" "pgtide::sqlx::postgres::types::PgRange<pgtide::sqlx::types::chrono::NaiveDateTime>" "pgtide::sqlx::postgres::types::PgRange<pgtide::sqlx::types::chrono::NaiveDateTime>" true;
    "TstzRange" "tstzrange" "pgtide::sqlx::postgres::types::PgRange<pgtide::sqlx::types::chrono::DateTime<pgtide::sqlx::types::chrono::Utc>>" "pgtide::sqlx::postgres::types::PgRange<pgtide::sqlx::types::chrono::DateTime<pgtide::sqlx::types::chrono::Utc>>" true;
    "DateRange" "daterange" "pgtide::sqlx::postgres::types::PgRange<pgtide::sqlx::types::chrono::NaiveDate>" "pgtide::sqlx::postgres::types::PgRange<pgtide::sqlx::types::chrono::NaiveDate>" true;
    "Point" "point" "pgtide::sqlx::postgres::types::PgPoint" "&pgtide::sqlx::postgres::types::PgPoint" false;
    "Line" "line" "pgtide::sqlx::postgres::types::PgLine" "&pgtide::sqlx::postgres::types::PgLine" false;
    "Lseg" "lseg" "pgtide::sqlx::postgres::types::PgLSeg" "&pgtide::sqlx::postgres::types::PgLSeg" false;
    "Box" "box" "pgtide::sqlx::postgres::types::PgBox" "&pgtide::sqlx::postgres::types::PgBox" false;
    "Path" "path" "pgtide::sqlx::postgres::types::PgPath" "&pgtide::sqlx::postgres::types::PgPath" false;
    "Polygon" "polygon" "pgtide::sqlx::postgres::types::PgPolygon" "&pgtide::sqlx::postgres::types::PgPolygon" false;
    "Circle" "circle" "pgtide::sqlx::postgres::types::PgCircle" "&pgtide::sqlx::postgres::types::PgCircle" false;
    "Bit" "bit" "pgtide::sqlx::types::BitVec" "&pgtide::sqlx::types::BitVec" false;
    "Varbit" "varbit" "pgtide::sqlx::types::BitVec" "&pgtide::sqlx::types::BitVec" false;
};

/// Extension types sqlx decodes itself, by their PostgreSQL name (they have no fixed OID,
/// so `.sqlx` describes them as custom types). Other extension types (`tsvector`, `postgis`
/// types, …) need a cast or a column override; see the README.
pub static EXTENSIONS: &[Builtin] = builtins! {
    "citext" "citext" "pgtide::sqlx::postgres::types::PgCiText" "&pgtide::sqlx::postgres::types::PgCiText" false;
    "hstore" "hstore" "pgtide::sqlx::postgres::types::PgHstore" "&pgtide::sqlx::postgres::types::PgHstore" false;
    "ltree" "ltree" "pgtide::sqlx::postgres::types::PgLTree" "&pgtide::sqlx::postgres::types::PgLTree" false;
    "lquery" "lquery" "pgtide::sqlx::postgres::types::PgLQuery" "&pgtide::sqlx::postgres::types::PgLQuery" false;
    "cube" "cube" "pgtide::sqlx::postgres::types::PgCube" "&pgtide::sqlx::postgres::types::PgCube" false;
};

impl PgType {
    /// Reads a `type_info` value of `.sqlx` JSON.
    pub fn from_json(value: &Value) -> PgType {
        match value {
            Value::String(name) => {
                if let Some(builtin) = BUILTINS.iter().find(|b| b.sqlx == name) {
                    return PgType::Builtin(builtin);
                }
                if let Some(elem) = name.strip_suffix("Array")
                    && let Some(builtin) = BUILTINS.iter().find(|b| b.sqlx == elem)
                {
                    return PgType::Array(Box::new(PgType::Builtin(builtin)));
                }
                PgType::Unsupported(name.to_lowercase())
            }
            Value::Object(map) => {
                let Some(custom) = map.get("Custom") else {
                    return PgType::Unsupported(value.to_string());
                };
                let name = custom["name"].as_str().unwrap_or("?").to_owned();
                if let Some(ext) = EXTENSIONS.iter().find(|e| e.sqlx == name) {
                    return PgType::Builtin(ext);
                }
                match &custom["kind"] {
                    Value::Object(kind) => {
                        if let Some(Value::Array(labels)) = kind.get("Enum") {
                            let labels = labels
                                .iter()
                                .map(|l| l.as_str().unwrap_or_default().to_owned())
                                .collect();
                            PgType::Enum(EnumType { name, labels })
                        } else if let Some(base) = kind.get("Domain") {
                            PgType::Domain {
                                name,
                                base: Box::new(PgType::from_json(base)),
                            }
                        } else if let Some(elem) = kind.get("Array") {
                            PgType::Array(Box::new(PgType::from_json(elem)))
                        } else {
                            PgType::Unsupported(name)
                        }
                    }
                    _ => PgType::Unsupported(name),
                }
            }
            _ => PgType::Unsupported(value.to_string()),
        }
    }

    /// PostgreSQL's name of the type, for docs and messages.
    pub fn pg_name(&self) -> String {
        match self {
            PgType::Builtin(b) => b.pg.to_owned(),
            PgType::Enum(e) => e.name.clone(),
            PgType::Array(elem) => format!("{}[]", elem.pg_name()),
            PgType::Domain { name, .. } => name.clone(),
            PgType::Unsupported(name) => name.clone(),
        }
    }

    /// The name a `codegen.types` entry matches: as `.sqlx` metadata names the type
    /// (PostgreSQL's for built-ins); `None` for an array (an entry for its element applies).
    pub fn type_name(&self) -> Option<&str> {
        match self {
            PgType::Builtin(b) => Some(b.pg),
            PgType::Enum(e) => Some(&e.name),
            PgType::Domain { name, .. } => Some(name),
            PgType::Unsupported(name) => Some(name),
            PgType::Array(_) => None,
        }
    }

    /// Whether the type is one sqlx sends a `String` as (`text`, `varchar`, `bpchar`,
    /// `name`, or a domain over one).
    pub fn is_text(&self) -> bool {
        match self {
            PgType::Builtin(b) => matches!(b.sqlx, "Text" | "Varchar" | "Bpchar" | "Name"),
            PgType::Domain { base, .. } => base.is_text(),
            _ => false,
        }
    }

    /// Whether sqlx decodes the type as a `String` (the text types and `citext`).
    pub fn decodes_as_string(&self) -> bool {
        match self {
            PgType::Builtin(b) if b.sqlx == "citext" => true,
            PgType::Domain { base, .. } => base.decodes_as_string(),
            other => other.is_text(),
        }
    }

    /// The owned Rust type; `None` for unsupported types.
    pub fn owned(&self) -> Option<String> {
        match self {
            PgType::Builtin(b) => Some(b.owned.to_owned()),
            PgType::Enum(e) => Some(enum_path(e)),
            PgType::Array(elem) => Some(format!("Vec<{}>", elem.owned()?)),
            PgType::Domain { base, .. } => base.owned(),
            PgType::Unsupported(_) => None,
        }
    }

    /// The argument type (without lifetime: `&str`, `&[i64]`); `None` for unsupported types.
    pub fn arg(&self) -> Option<String> {
        match self {
            PgType::Builtin(b) => Some(b.arg.to_owned()),
            PgType::Enum(e) => Some(enum_path(e)),
            PgType::Array(elem) => Some(format!("&[{}]", elem.owned()?)),
            PgType::Domain { base, .. } => base.arg(),
            PgType::Unsupported(_) => None,
        }
    }

    /// Every enum this type mentions.
    pub fn enums(&self) -> Vec<&EnumType> {
        match self {
            PgType::Enum(e) => vec![e],
            PgType::Array(elem) => elem.enums(),
            PgType::Domain { base, .. } => base.enums(),
            _ => Vec::new(),
        }
    }

    /// How a `:copyfrom` field of this type is sent with binary `COPY`. The server checks
    /// the element type of binary arrays against the column's, and sqlx labels some element
    /// types differently from the column (`varchar[]` as `text[]`, `json[]` as `jsonb[]`,
    /// `cidr[]` as `inet[]`, `bit[]` as `varbit[]`, arrays of domains as arrays of the base
    /// type, arrays of enums without an OID): such arrays are sent with the column's element
    /// type ([`CopyEncoding::Array`]). `Err` says why a type cannot be sent at all.
    pub fn copy_encoding(&self) -> Result<CopyEncoding, String> {
        match self {
            PgType::Builtin(b) if b.sqlx == "Json" => Ok(CopyEncoding::Json),
            PgType::Builtin(_) | PgType::Enum(_) => Ok(CopyEncoding::Plain),
            PgType::Domain { base, .. } => base.copy_encoding(),
            PgType::Array(elem) => match &**elem {
                // An extension type's array is labelled by name, which binary COPY cannot carry.
                PgType::Builtin(b) if EXTENSIONS.iter().any(|e| std::ptr::eq(e, *b)) => {
                    Ok(CopyEncoding::Array(ElementType::Named(b.pg.to_owned())))
                }
                PgType::Builtin(b) => Ok(match builtin_element_oid(b.sqlx) {
                    Some(oid) => CopyEncoding::Array(ElementType::Builtin(oid)),
                    None => CopyEncoding::Plain,
                }),
                PgType::Enum(e) => Ok(CopyEncoding::Array(ElementType::Named(e.name.clone()))),
                PgType::Domain { name, base } => match base.copy_encoding()? {
                    CopyEncoding::Plain => {
                        Ok(CopyEncoding::Array(ElementType::Named(name.clone())))
                    }
                    _ => Err(format!("nothing the server accepts for `{name}[]`")),
                },
                other => Err(format!(
                    "nothing the server accepts for `{}[]`",
                    other.pg_name()
                )),
            },
            PgType::Unsupported(name) => Err(format!("nothing for `{name}`")),
        }
    }
}

/// The Rust name of a generated enum: `book_genre` → `BookGenre`, used as `super::BookGenre`.
/// Always a plain identifier: a name with no ASCII letters or digits becomes `Enum`, one
/// starting with a digit gets an `E` in front, `Self` becomes `SelfEnum`.
pub fn enum_rust_name(e: &EnumType) -> String {
    let name = crate::names::to_camel(e.name.rsplit('.').next().unwrap_or(&e.name));
    if name.is_empty() {
        "Enum".to_owned()
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("E{name}")
    } else if name == "Self" {
        "SelfEnum".to_owned()
    } else {
        name
    }
}

/// A Rust type written by a user (a column override `AS "total: MyType"`, a `codegen.types`
/// entry), checked before it goes into generated code: it must parse as one Rust type (with
/// `syn`) made only of paths, references, slices, tuples and arrays of literal length, with no
/// comments. So an override cannot close the field it is pasted into, add items, or call a
/// macro. (pgtide's config loader checks `codegen.types` with the same rules.)
///
/// ```
/// use pgtide_codegen::typemap::rust_type;
///
/// assert_eq!(rust_type(" Vec<my::Money> ").unwrap(), "Vec<my::Money>");
/// assert!(rust_type("i32, b: i32 } fn evil() {} struct Z { c: i32").is_err());
/// assert!(rust_type("[u8; { fn evil() {} 4 }]").is_err());
/// ```
pub fn rust_type(text: &str) -> Result<String, String> {
    pgtide_type_rules::rust_type(text)
}

/// How one `:copyfrom` field is written (see [`PgType::copy_encoding`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyEncoding {
    /// With sqlx's own encoding.
    Plain,
    /// A `json` field: sqlx's `jsonb` layout without its version byte.
    Json,
    /// An array sent with the column's element type.
    Array(ElementType),
}

/// The element type an array is sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElementType {
    /// A built-in type, by its fixed OID.
    Builtin(u32),
    /// An enum or a domain, by name: its OID differs per database, so it is looked up when
    /// the `COPY` starts.
    Named(String),
}

/// The OID of a built-in element type that sqlx labels differently inside arrays (`json`
/// elements are also rewritten from sqlx's `jsonb` layout when sent).
fn builtin_element_oid(sqlx: &str) -> Option<u32> {
    Some(match sqlx {
        "Name" => 19,
        "Json" => 114,
        "Cidr" => 650,
        "Bpchar" => 1042,
        "Varchar" => 1043,
        "Bit" => 1560,
        _ => return None,
    })
}

fn enum_path(e: &EnumType) -> String {
    format!("super::{}", enum_rust_name(e))
}

/// A result column's name with sqlx's override syntax taken apart: `"author_name?"`,
/// `"id!"`, `"total: MyType"`, `"total!: MyType"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnName {
    /// The name without override marks.
    pub name: String,
    /// `Some(false)` for `!`, `Some(true)` for `?`.
    pub nullable: Option<bool>,
    /// The Rust type after `:`.
    pub rust_type: Option<String>,
}

impl ColumnName {
    /// Parses a column name as the server returns it.
    pub fn parse(raw: &str) -> ColumnName {
        let (head, rust_type) = match raw.split_once(':') {
            // `AS "x: _"` (sqlx's spelling of "infer it") keeps the inferred type.
            Some((head, ty)) if ty.trim() == "_" => (head.trim(), None),
            Some((head, ty)) if !ty.trim().is_empty() => (head.trim(), Some(ty.trim().to_owned())),
            _ => (raw, None),
        };
        let (name, nullable) = if let Some(n) = head.strip_suffix('!') {
            (n, Some(false))
        } else if let Some(n) = head.strip_suffix('?') {
            (n, Some(true))
        } else {
            (head, None)
        };
        ColumnName {
            name: name.to_owned(),
            nullable,
            rust_type,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtins_arrays_enums_domains() {
        assert_eq!(PgType::from_json(&json!("Int8")).owned().unwrap(), "i64");
        assert_eq!(
            PgType::from_json(&json!("TextArray")).owned().unwrap(),
            "Vec<String>"
        );
        assert_eq!(
            PgType::from_json(&json!("TextArray")).arg().unwrap(),
            "&[String]"
        );
        let genre =
            json!({"Custom": {"name": "book_genre", "kind": {"Enum": ["fiction", "non_fiction"]}}});
        assert_eq!(
            PgType::from_json(&genre).owned().unwrap(),
            "super::BookGenre"
        );
        let arr = json!({"Custom": {"name": "book_genre[]", "kind": {"Array": genre}}});
        assert_eq!(
            PgType::from_json(&arr).owned().unwrap(),
            "Vec<super::BookGenre>"
        );
        let domain = json!({"Custom": {"name": "isbn13", "kind": {"Domain": "Text"}}});
        assert_eq!(PgType::from_json(&domain).arg().unwrap(), "&str");
        assert_eq!(
            PgType::from_json(&json!("Int4Range")).owned().unwrap(),
            "pgtide::sqlx::postgres::types::PgRange<i32>"
        );
        let tsvector = json!({"Custom": {"name": "tsvector", "kind": "Simple"}});
        assert_eq!(PgType::from_json(&tsvector).owned(), None);
        let citext = json!({"Custom": {"name": "citext", "kind": "Simple"}});
        assert_eq!(
            PgType::from_json(&citext).arg().unwrap(),
            "&pgtide::sqlx::postgres::types::PgCiText"
        );
        let arr = json!({"Custom": {"name": "_citext", "kind": {"Array": citext}}});
        assert_eq!(
            PgType::from_json(&arr).copy_encoding(),
            Ok(CopyEncoding::Array(ElementType::Named("citext".into())))
        );
        assert_eq!(
            PgType::from_json(&json!("MacaddrArray")).arg().unwrap(),
            "&[pgtide::sqlx::types::mac_address::MacAddress]"
        );
        assert_eq!(
            PgType::from_json(&json!("Bit")).owned().unwrap(),
            "pgtide::sqlx::types::BitVec"
        );
    }

    #[test]
    fn copy_encodings() {
        use CopyEncoding::{Array, Json, Plain};
        use ElementType::{Builtin, Named};
        let ty = |v: Value| PgType::from_json(&v).copy_encoding();
        assert_eq!(ty(json!("Json")), Ok(Json));
        assert_eq!(ty(json!("Jsonb")), Ok(Plain));
        assert_eq!(ty(json!("Bit")), Ok(Plain));
        assert_eq!(ty(json!("TextArray")), Ok(Plain));
        assert_eq!(ty(json!("Int4Array")), Ok(Plain));
        assert_eq!(ty(json!("VarcharArray")), Ok(Array(Builtin(1043))));
        assert_eq!(ty(json!("BpcharArray")), Ok(Array(Builtin(1042))));
        assert_eq!(ty(json!("NameArray")), Ok(Array(Builtin(19))));
        assert_eq!(ty(json!("JsonArray")), Ok(Array(Builtin(114))));
        assert_eq!(ty(json!("CidrArray")), Ok(Array(Builtin(650))));
        assert_eq!(ty(json!("BitArray")), Ok(Array(Builtin(1560))));
        let domain = json!({"Custom": {"name": "isbn13", "kind": {"Domain": "Text"}}});
        let arr = json!({"Custom": {"name": "_isbn13", "kind": {"Array": domain}}});
        assert_eq!(ty(arr), Ok(Array(Named("isbn13".into()))));
        let genre = json!({"Custom": {"name": "genre", "kind": {"Enum": ["a"]}}});
        let arr = json!({"Custom": {"name": "_genre", "kind": {"Array": genre}}});
        assert_eq!(ty(arr), Ok(Array(Named("genre".into()))));
        let json_domain = json!({"Custom": {"name": "doc", "kind": {"Domain": "Json"}}});
        assert_eq!(ty(json_domain.clone()), Ok(Json));
        let arr = json!({"Custom": {"name": "_doc", "kind": {"Array": json_domain}}});
        assert!(ty(arr).is_err());
        let tsvector = json!({"Custom": {"name": "tsvector", "kind": "Simple"}});
        assert!(ty(tsvector).is_err());
    }

    #[test]
    fn overrides() {
        assert_eq!(ColumnName::parse("a?").nullable, Some(true));
        assert_eq!(ColumnName::parse("a!").nullable, Some(false));
        let c = ColumnName::parse("total!: MyType");
        assert_eq!(
            (c.name.as_str(), c.nullable, c.rust_type.as_deref()),
            ("total", Some(false), Some("MyType"))
        );
        let c = ColumnName::parse("x?: _");
        assert_eq!(
            (c.name.as_str(), c.nullable, c.rust_type.as_deref()),
            ("x", Some(true), None)
        );
    }
}
