//! The shape of configuration as files and the environment write it: the key schema, the
//! unknown-key check with its "did you mean" suggestion, and reading loosely typed values
//! (`"20"` from the environment, `20` from TOML) into typed ones.

use figment::value::{Dict, Value};

use super::duration::{DURATION_FORMS, parse_duration};
use super::keys::{KEYS, Kind};
use super::settings::{HealthCheck, SslMode, TargetSessionAttrs};

/// An unknown key: its dotted path and what to tell the user.
#[derive(Debug)]
pub(crate) struct Unknown {
    pub key: String,
    pub hint: String,
}

/// Checks every key of one profile section against the key table.
pub(crate) fn check_keys(section: &Dict) -> Result<(), Unknown> {
    check_level(section, "")
}

fn check_level(dict: &Dict, prefix: &str) -> Result<(), Unknown> {
    for (name, value) in dict {
        let full = format!("{prefix}{name}");
        if let Some(key) = KEYS.iter().find(|k| k.name == full) {
            if key.kind == Kind::Settings && !matches!(value, Value::Dict(..)) {
                return Err(Unknown {
                    key: full,
                    hint: "`settings` is a table of session settings, e.g. `work_mem = \"64MB\"`"
                        .into(),
                });
            }
            if key.kind == Kind::TypeMap && !matches!(value, Value::Dict(..)) {
                return Err(Unknown {
                    key: full,
                    hint: "`codegen.types` is a table of PostgreSQL type → Rust type, e.g. `[default.codegen.types]` with `tsvector = \"String\"`".into(),
                });
            }
            continue;
        }
        let group = format!("{full}.");
        let children: Vec<&str> = KEYS
            .iter()
            .filter_map(|k| k.name.strip_prefix(group.as_str()))
            .collect();
        if !children.is_empty() {
            match value {
                Value::Dict(_, inner) => check_level(inner, &group)?,
                _ => {
                    return Err(Unknown {
                        key: full,
                        hint: format!(
                            "`{name}` is a group of keys ({}), not a value",
                            children.join(", ")
                        ),
                    });
                }
            }
            continue;
        }
        return Err(Unknown {
            hint: suggest(name, prefix),
            key: full,
        });
    }
    Ok(())
}

/// `did you mean ...?` when a valid key is close, else the keys valid at that level.
fn suggest(name: &str, prefix: &str) -> String {
    let siblings = level_names(prefix);
    let lower = name.to_ascii_lowercase();
    let best = siblings
        .iter()
        .map(|s| (edit_distance(&lower, s), *s))
        .min();
    if let Some((distance, s)) = best
        && distance <= (name.chars().count() / 3).max(2)
    {
        return format!("did you mean `{s}`?");
    }
    // Right name, wrong level (`max_size` at the top), or `_` for `.` (`pool_max_size`).
    let full = format!("{prefix}{lower}");
    if let Some(k) = KEYS.iter().find(|k| {
        k.name.rsplit('.').next() == Some(lower.as_str()) || k.name.replace('.', "_") == full
    }) {
        return format!("did you mean `{}`?", k.name);
    }
    format!("valid keys here are {}", siblings.join(", "))
}

/// The key names directly under `prefix` (`""` for the top level, `"pool."`).
fn level_names(prefix: &str) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = KEYS
        .iter()
        .filter_map(|k| k.name.strip_prefix(prefix))
        .map(|rest| rest.split('.').next().unwrap_or(rest))
        .collect();
    names.dedup();
    names
}

/// Levenshtein distance, for suggestions between short key names.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// A value as it may be quoted in an error (never called for secret keys).
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::String(_, s) => format!("`{s}`"),
        Value::Char(_, c) => format!("`{c}`"),
        Value::Bool(_, b) => format!("`{b}`"),
        Value::Num(_, n) => match (integer(n), n.to_f64()) {
            (Some(i), _) => format!("`{i}`"),
            (None, Some(f)) => format!("`{f}`"),
            _ => "a number".into(),
        },
        Value::Empty(..) => "nothing".into(),
        Value::Dict(..) => "a table".into(),
        Value::Array(..) => "a list".into(),
    }
}

fn got(value: &Value) -> String {
    format!("got {}", describe(value))
}

/// A string (a number or boolean is taken as written).
pub(crate) fn text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(_, s) => Ok(s.clone()),
        Value::Char(_, c) => Ok(c.to_string()),
        Value::Num(..) | Value::Bool(..) => Ok(describe(value).trim_matches('`').to_string()),
        _ => Err(format!("expected a string, {}", got(value))),
    }
}

/// A string, for a secret: the message never shows the value.
pub(crate) fn secret_text(value: &Value) -> Result<&str, String> {
    match value {
        Value::String(_, s) => Ok(s),
        _ => Err("expected a string (the value is not shown: it is secret)".into()),
    }
}

/// A number as an integer, whether signed (TOML, YAML) or unsigned (JSON, code).
fn integer(n: &figment::value::Num) -> Option<i128> {
    n.to_i128()
        .or_else(|| n.to_u128().and_then(|u| i128::try_from(u).ok()))
}

fn whole(value: &Value) -> Option<u128> {
    match value {
        Value::Num(_, n) => integer(n).and_then(|i| u128::try_from(i).ok()),
        Value::String(_, s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A whole number ≥ 0 that fits a `u32`.
pub(crate) fn count(value: &Value) -> Result<u32, String> {
    whole(value)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("expected a whole number (0..={}), {}", u32::MAX, got(value)))
}

/// A TCP port, 1..=65535.
pub(crate) fn port(value: &Value) -> Result<u16, String> {
    whole(value)
        .and_then(|n| u16::try_from(n).ok())
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("expected a port number 1..=65535, {}", got(value)))
}

/// The items of a list value: a list (TOML, YAML, JSON), or a string with commas, libpq's
/// spelling (`a,b` from `PGHOST`, a URL or an environment variable).
fn items(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(_, items) => items.clone(),
        Value::String(_, s) if s.contains(',') => s
            .split(',')
            .map(|p| Value::from(p.trim().to_string()))
            .collect(),
        other => vec![other.clone()],
    }
}

/// Where item `i` of `n` is, for an error about one of several.
fn nth(i: usize, n: usize) -> String {
    if n == 1 {
        String::new()
    } else {
        format!(" (item {} of {n})", i + 1)
    }
}

/// One host or several, in order: a list, or `a,b`.
pub(crate) fn hosts(value: &Value) -> Result<Vec<String>, String> {
    let items = items(value);
    if items.is_empty() {
        return Err("expected a host or a list of hosts, got an empty list".into());
    }
    let n = items.len();
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let host = text(item).map_err(|e| format!("{e}{}", nth(i, n)))?;
            let host = host.trim();
            if host.is_empty() {
                return Err(if n == 1 {
                    "must not be empty: give a host name, an IP address or a socket directory"
                        .into()
                } else {
                    format!(
                        "host {} of {n} is empty: give a host name, an IP address or a socket directory for each",
                        i + 1
                    )
                });
            }
            Ok(host.to_string())
        })
        .collect()
}

/// One port for every host, or one per host: a list, or `5432,5433`.
pub(crate) fn ports(value: &Value) -> Result<Vec<u16>, String> {
    let items = items(value);
    if items.is_empty() {
        return Err("expected a port number 1..=65535 or a list of them, got an empty list".into());
    }
    let n = items.len();
    items
        .iter()
        .enumerate()
        .map(|(i, item)| port(item).map_err(|e| format!("{e}{}", nth(i, n))))
        .collect()
}

/// libpq's `target_session_attrs` spelling.
pub(crate) fn target_session_attrs(value: &Value) -> Result<TargetSessionAttrs, String> {
    if let Value::String(_, s) = value
        && let Some(attrs) = TargetSessionAttrs::ALL
            .iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s.trim()))
    {
        return Ok(*attrs);
    }
    let names: Vec<_> = TargetSessionAttrs::ALL.iter().map(|a| a.as_str()).collect();
    Err(format!(
        "expected one of {}, {}",
        names.join(", "),
        got(value)
    ))
}

/// `true`/`false`, also `yes`/`no`, `on`/`off`, `1`/`0` from strings.
pub(crate) fn boolean(value: &Value) -> Result<bool, String> {
    let bad = || format!("expected true or false, {}", got(value));
    match value {
        Value::Bool(_, b) => Ok(*b),
        Value::String(_, s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err(bad()),
        },
        Value::Num(_, n) => match integer(n) {
            Some(1) => Ok(true),
            Some(0) => Ok(false),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// A duration string (`"30s"`).
pub(crate) fn duration(value: &Value) -> Result<std::time::Duration, String> {
    match value {
        Value::String(_, s) => parse_duration(s),
        _ => Err(format!("expected {DURATION_FORMS}, {}", got(value))),
    }
}

/// A duration, or `"off"` for none (the server's default applies).
pub(crate) fn optional_duration(value: &Value) -> Result<Option<std::time::Duration>, String> {
    if let Value::String(_, s) = value
        && matches!(s.trim().to_ascii_lowercase().as_str(), "off" | "none")
    {
        return Ok(None);
    }
    duration(value)
        .map(Some)
        .map_err(|e| format!("{e}, or \"off\""))
}

/// libpq's `sslmode` spelling.
pub(crate) fn ssl_mode(value: &Value) -> Result<SslMode, String> {
    let modes = [
        SslMode::Disable,
        SslMode::Allow,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ];
    if let Value::String(_, s) = value
        && let Some(mode) = modes
            .iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
    {
        return Ok(*mode);
    }
    let names: Vec<_> = modes.iter().map(SslMode::as_str).collect();
    Err(format!(
        "expected one of {}, {}",
        names.join(", "),
        got(value)
    ))
}

/// `"always"`, `"never"`, or a duration: check connections idle longer than that.
pub(crate) fn health_check(value: &Value) -> Result<HealthCheck, String> {
    if let Value::String(_, s) = value {
        match s.trim().to_ascii_lowercase().as_str() {
            "always" => return Ok(HealthCheck::Always),
            "never" => return Ok(HealthCheck::Never),
            _ => {}
        }
        if let Ok(idle) = parse_duration(s) {
            return Ok(HealthCheck::IdleLongerThan(idle));
        }
    }
    Err(format!(
        "expected \"always\", \"never\", or how long a connection may sit idle before it is checked ({DURATION_FORMS}), {}",
        got(value)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(json: &str) -> Dict {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn suggests_close_keys() {
        let err = check_keys(&dict(r#"{"pool": {"max_siz": 3}}"#)).unwrap_err();
        assert_eq!(err.key, "pool.max_siz");
        assert_eq!(err.hint, "did you mean `max_size`?");
        let err = check_keys(&dict(r#"{"max_size": 3}"#)).unwrap_err();
        assert_eq!(err.hint, "did you mean `pool.max_size`?");
        let err = check_keys(&dict(r#"{"pool_max_size": 3}"#)).unwrap_err();
        assert_eq!(err.hint, "did you mean `pool.max_size`?");
        let err = check_keys(&dict(r#"{"zzzzzzzz": 3}"#)).unwrap_err();
        assert!(
            err.hint.starts_with("valid keys here are host, port"),
            "{}",
            err.hint
        );
    }

    #[test]
    fn settings_are_free_form() {
        assert!(check_keys(&dict(r#"{"settings": {"work_mem": "64MB"}}"#)).is_ok());
    }

    #[test]
    fn codegen_types_is_a_table_of_free_names_and_typos_are_hinted() {
        let ok = r#"{"codegen": {"types": {"tsvector": "String", "public": {"t": "my::T"}}}}"#;
        assert!(check_keys(&dict(ok)).is_ok());
        let err =
            check_keys(&dict(r#"{"codegen": {"type": {"tsvector": "String"}}}"#)).unwrap_err();
        assert_eq!(
            (err.key.as_str(), err.hint.as_str()),
            ("codegen.type", "did you mean `types`?")
        );
        let err = check_keys(&dict(r#"{"codegen": {"types": "String"}}"#)).unwrap_err();
        assert!(err.hint.contains("[default.codegen.types]"), "{}", err.hint);
        let err = check_keys(&dict(r#"{"codegen": {"zzzzzzzz": 1}}"#)).unwrap_err();
        assert!(
            err.hint.ends_with("queries, sqlx_dir, out, derives, types"),
            "{}",
            err.hint
        );
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("max_siz", "max_size"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
