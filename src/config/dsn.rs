//! `postgres://user:password@host:port/database?sslmode=...` URLs (`DATABASE_URL`, `dsn`).
//!
//! A URL is taken apart into the same keys a file uses, so that everything after it (types,
//! validation, precedence) is shared. Errors never quote the URL: it may hold a password.
//!
//! The `user:password` part ends at the URL's last `@`, so a password may hold a raw `/`,
//! `?`, `:` or `@`; an `@` anywhere else (database name, parameter value) must be written
//! `%40`. A port is checked here, without quoting it: in a URL that lacks its `@host`,
//! `user:password` reads as `host:port`.

use figment::value::{Dict, Value};
use percent_encoding::percent_decode_str;

/// Query parameters understood, libpq's names → pgtide's keys.
const PARAMS: &[(&str, &str)] = &[
    ("host", "host"),
    ("port", "port"),
    ("user", "user"),
    ("password", "password"),
    ("dbname", "database"),
    ("sslmode", "sslmode"),
    ("sslrootcert", "sslrootcert"),
    ("sslcert", "sslcert"),
    ("sslkey", "sslkey"),
    ("require_auth", "require_auth"),
    ("application_name", "application_name"),
    ("connect_timeout", "connect_timeout"),
    ("target_session_attrs", "target_session_attrs"),
    // Not libpq's: marks a URL that points at PgBouncer in transaction mode.
    ("pgbouncer", "pgbouncer"),
];

/// libpq parameters sqlx has no support for: accepted as `disable`/`prefer`, refused as
/// `require` (see [`super::require_auth::unsupported`]).
pub(crate) const UNSUPPORTED: &[&str] = &["channel_binding", "gssencmode"];

/// Splits a URL into configuration keys (values as strings, typed later like any other).
pub(crate) fn parse(url: &str) -> Result<Dict, String> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or("expected a URL starting with postgres:// or postgresql://")?;
    // The userinfo ends at the LAST `@`: a password may hold a raw `/`, `?`, `:` or `@`
    // (libpq and URL parsers are lenient here), so the URL must not be split at `/` or `?`
    // before the userinfo is taken off, or a piece of the password would be read as a
    // host, port, database or parameter and quoted in an error.
    let (userinfo, rest) = match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut out = Dict::new();
    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (userinfo, None),
        };
        if user.contains(['/', '?', '#']) {
            // Not a user name: an `@` after the host (in the path or a parameter), which
            // must be written `%40`. Not quoted: it may be part of a password.
            return Err(
                "the URL has an `@` that does not end a `user:password` part: \
                        write an `@` in a user name, password, database or parameter as `%40`"
                    .into(),
            );
        }
        if !user.is_empty() {
            out.insert("user".into(), decode(user, "the user name")?.into());
        }
        if let Some(password) = password {
            // Decoding errors must not echo the password.
            let password = percent_decode_str(password)
                .decode_utf8()
                .map_err(|_| "the password is not valid percent-encoded UTF-8")?;
            out.insert("password".into(), password.into_owned().into());
        }
    }
    if hostport.contains(',') {
        // libpq's `host1:port1,host2:port2`; a host without a port gets the default.
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for (i, part) in hostport.split(',').enumerate() {
            let (host, port) = split_host_port(part)?;
            if host.is_empty() {
                return Err(format!(
                    "host {} of the URL's host list is empty: write `host1:port1,host2:port2`",
                    i + 1
                ));
            }
            hosts.push(decode(host, "a host")?);
            match port {
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    ports.push(Some(p.to_string()));
                }
                Some(_) => {
                    return Err(format!(
                        "the port of host {} in the URL's host list is not a number",
                        i + 1
                    ));
                }
                None => ports.push(None),
            }
        }
        out.insert("host".into(), Value::from(hosts.join(",")));
        if ports.iter().any(Option::is_some) {
            let default = super::keys::find("port")
                .and_then(|k| k.default)
                .unwrap_or("5432");
            let ports: Vec<&str> = ports
                .iter()
                .map(|p| p.as_deref().unwrap_or(default))
                .collect();
            out.insert("port".into(), Value::from(ports.join(",")));
        }
    } else if !hostport.is_empty() {
        let (host, port) = split_host_port(hostport)?;
        if !host.is_empty() {
            out.insert("host".into(), decode(host, "the host")?.into());
        }
        if let Some(port) = port {
            // Checked here, not quoted: without an `@`, `user:password` reads as
            // `host:port`, and the "port" would be the password.
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                let hint = if userinfo.is_none() {
                    " (if this is `user:password`, the URL lacks its `@host`)"
                } else {
                    ""
                };
                return Err(format!(
                    "the URL's port (after the host's `:`) is not a number{hint}"
                ));
            }
            out.insert("port".into(), port.to_string().into());
        }
    }
    if !path.is_empty() {
        out.insert("database".into(), decode(path, "the database name")?.into());
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if UNSUPPORTED.contains(&name) {
            // Accepted only when it asks for nothing sqlx lacks; nothing to store then.
            match super::require_auth::unsupported(name, &decode(value, name)?) {
                Some(refusal) => return Err(refusal),
                None => continue,
            }
        }
        let Some((_, key)) = PARAMS.iter().find(|(p, _)| *p == name) else {
            let known: Vec<_> = PARAMS.iter().map(|(p, _)| *p).collect();
            return Err(format!(
                "unknown URL parameter `{name}`: known parameters are {}",
                known.join(", ")
            ));
        };
        let value = if *key == "password" {
            percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| "the password is not valid percent-encoded UTF-8")?
                .into_owned()
        } else {
            decode(value, name)?
        };
        let value = if *key == "connect_timeout" && value.bytes().all(|b| b.is_ascii_digit()) {
            // libpq counts whole seconds.
            format!("{value}s")
        } else {
            value
        };
        out.insert((*key).into(), Value::from(value));
    }
    Ok(out)
}

/// Whether `url` carries a password (in its `user:password@` part or a `password`
/// parameter) other than a `secret://` reference. Never says what it is.
pub(crate) fn has_password(url: &str) -> bool {
    parse(url).is_ok_and(|parts| {
        parts
            .get("password")
            .and_then(Value::as_str)
            .is_some_and(|p| !super::secret_ref::is_reference(p))
    })
}

fn decode(text: &str, what: &str) -> Result<String, String> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("{what} is not valid percent-encoded UTF-8"))
}

fn split_host_port(hostport: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or("an IPv6 host needs its closing `]`")?;
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if after.is_empty() => Ok((host, None)),
            None => Err("unexpected text after the IPv6 host".into()),
        };
    }
    Ok(match hostport.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (hostport, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(d: &Dict, k: &str) -> Option<String> {
        d.get(k).and_then(|v| v.as_str()).map(str::to_owned)
    }

    #[test]
    fn takes_a_full_url_apart() {
        let d = parse("postgres://app%40x:p%3Ass@db.example:6543/my%20db?sslmode=verify-full&application_name=api&connect_timeout=7").unwrap();
        assert_eq!(get(&d, "user").as_deref(), Some("app@x"));
        assert_eq!(get(&d, "password").as_deref(), Some("p:ss"));
        assert_eq!(get(&d, "host").as_deref(), Some("db.example"));
        assert_eq!(get(&d, "port").as_deref(), Some("6543"));
        assert_eq!(get(&d, "database").as_deref(), Some("my db"));
        assert_eq!(get(&d, "sslmode").as_deref(), Some("verify-full"));
        assert_eq!(get(&d, "application_name").as_deref(), Some("api"));
        assert_eq!(get(&d, "connect_timeout").as_deref(), Some("7s"));
    }

    #[test]
    fn several_hosts_with_their_ports() {
        let d =
            parse("postgres://u@a:5432,b:5433,[::1]/db?target_session_attrs=read-write").unwrap();
        assert_eq!(get(&d, "host").as_deref(), Some("a,b,::1"));
        assert_eq!(get(&d, "port").as_deref(), Some("5432,5433,5432"));
        assert_eq!(
            get(&d, "target_session_attrs").as_deref(),
            Some("read-write")
        );
        let d = parse("postgres://u@a,b/db").unwrap();
        assert_eq!(get(&d, "host").as_deref(), Some("a,b"));
        assert_eq!(get(&d, "port"), None);
        let d = parse("postgres:///db?host=a,b&port=1,2").unwrap();
        assert_eq!(get(&d, "host").as_deref(), Some("a,b"));
        assert_eq!(get(&d, "port").as_deref(), Some("1,2"));
        assert!(
            parse("postgres://u@a,:5/db")
                .unwrap_err()
                .contains("host 2")
        );
        assert!(
            parse("postgres://u@a,b:x/db")
                .unwrap_err()
                .contains("host 2")
        );
    }

    #[test]
    fn ipv6_and_sockets() {
        let d = parse("postgresql://[::1]:5433/db").unwrap();
        assert_eq!(get(&d, "host").as_deref(), Some("::1"));
        let d = parse("postgres:///db?host=%2Fvar%2Frun%2Fpostgresql").unwrap();
        assert_eq!(get(&d, "host").as_deref(), Some("/var/run/postgresql"));
    }

    #[test]
    fn errors_do_not_quote_the_url() {
        let err = parse("mysql://u:hunter2@h/db").unwrap_err();
        assert!(!err.contains("hunter2"));
        let err = parse("postgres://u:hunter2@h/db?bogus=1").unwrap_err();
        assert!(err.contains("bogus") && !err.contains("hunter2"), "{err}");
    }
}
