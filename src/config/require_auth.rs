//! `require_auth`: which ways of authenticating the client lets the server ask for, as libpq's
//! setting of the same name (`password`, `md5`, `scram-sha-256`, `none`, a comma-separated
//! list, or a list of `!`-negated methods meaning "anything but these").
//!
//! sqlx answers whatever the server asks: a server (or a man in the middle) that asks for
//! `password` gets the password in plain text. pgtide enforces this setting on the
//! connection itself (see [`crate::tls`]), so a refused request never reaches sqlx.

use std::fmt;

/// One way the server may ask the client to authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthMethod {
    /// The password in plain text (`AuthenticationCleartextPassword`).
    Password,
    /// An MD5 hash of the password, replayable by whoever sees it.
    Md5,
    /// SCRAM-SHA-256: the password never travels, and the server proves it knows it too.
    ScramSha256,
    /// No authentication at all (`trust`, or a client certificate checked by the server).
    None,
}

impl AuthMethod {
    const ALL: [Self; 4] = [Self::Password, Self::Md5, Self::ScramSha256, Self::None];

    /// libpq's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Md5 => "md5",
            Self::ScramSha256 => "scram-sha-256",
            Self::None => "none",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The set of [`AuthMethod`]s the server may ask for.
///
/// ```
/// use pgtide::config::{AuthMethod, RequireAuth};
/// let only_scram: RequireAuth = "scram-sha-256".parse().unwrap();
/// assert!(only_scram.allows(AuthMethod::ScramSha256));
/// assert!(!only_scram.allows(AuthMethod::Password));
/// let no_plain: RequireAuth = "!password,!md5".parse().unwrap();
/// assert!(no_plain.allows(AuthMethod::None));
/// assert!("password,!md5".parse::<RequireAuth>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequireAuth {
    allowed: u8,
}

impl RequireAuth {
    /// Every method: what sqlx alone does.
    pub const ANY: Self = Self { allowed: 0b1111 };

    /// Only SCRAM-SHA-256: the default for remote hosts whose certificate is not verified.
    pub const SCRAM: Self = Self {
        allowed: 1 << (AuthMethod::ScramSha256 as u8),
    };

    /// Exactly `methods`.
    pub fn only(methods: &[AuthMethod]) -> Self {
        Self {
            allowed: methods.iter().fold(0, |acc, m| acc | m.bit()),
        }
    }

    /// Whether the server may ask for `method`.
    pub fn allows(&self, method: AuthMethod) -> bool {
        self.allowed & method.bit() != 0
    }

    /// Whether every method is allowed (nothing to enforce).
    pub fn is_any(&self) -> bool {
        *self == Self::ANY
    }

    /// The default for a connection: [`SCRAM`](Self::SCRAM) (and `none`, for certificate
    /// authentication, when a client certificate is configured) when the host is remote
    /// and its certificate is not verified; [`ANY`](Self::ANY) otherwise.
    pub(crate) fn default_for(remote: bool, verified: bool, client_cert: bool) -> Self {
        match (remote && !verified, client_cert) {
            (false, _) => Self::ANY,
            (true, false) => Self::SCRAM,
            (true, true) => Self::only(&[AuthMethod::ScramSha256, AuthMethod::None]),
        }
    }
}

impl fmt::Display for RequireAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = AuthMethod::ALL
            .iter()
            .filter(|m| self.allows(**m))
            .map(AuthMethod::as_str)
            .collect();
        f.write_str(&names.join(","))
    }
}

impl std::str::FromStr for RequireAuth {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let known = || {
            AuthMethod::ALL
                .iter()
                .map(AuthMethod::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut listed = 0u8;
        let mut negated = None;
        for item in text.split(',').map(str::trim) {
            let (neg, name) = match item.strip_prefix('!') {
                Some(name) => (true, name),
                None => (false, item),
            };
            if *negated.get_or_insert(neg) != neg {
                return Err(
                    "mixes methods and `!`-negated methods: list the methods allowed, or only `!method`s to refuse"
                        .into(),
                );
            }
            let Some(method) = AuthMethod::ALL.iter().find(|m| m.as_str() == name) else {
                return Err(format!(
                    "unknown authentication method `{}`: known are {} (prefix `!` to refuse one)",
                    name.escape_debug(),
                    known()
                ));
            };
            if listed & method.bit() != 0 {
                return Err(format!("lists `{name}` twice"));
            }
            listed |= method.bit();
        }
        let allowed = if negated == Some(true) {
            Self::ANY.allowed & !listed
        } else {
            listed
        };
        if allowed == 0 {
            return Err("refuses every authentication method: no connection could succeed".into());
        }
        Ok(Self { allowed })
    }
}

/// libpq settings about authentication that sqlx cannot honour, refused when they ask for
/// more than "off or if available" (`require`), rather than silently ignored: sqlx implements
/// neither SCRAM channel binding (`SCRAM-SHA-256-PLUS`) nor GSSAPI encryption, so pgtide
/// could not keep the promise. `None` when `value` asks for nothing sqlx lacks.
pub(crate) fn unsupported(setting: &str, value: &str) -> Option<String> {
    let what = match setting {
        "channel_binding" => {
            "sqlx does not implement SCRAM channel binding (SCRAM-SHA-256-PLUS), so it cannot be \
             required; to make sure of the server, use `sslmode = \"verify-full\"` with \
             `sslrootcert` (and `require_auth = \"scram-sha-256\"`)"
        }
        "gssencmode" => {
            "sqlx does not speak GSSAPI encryption, so it cannot be required; use \
             `sslmode = \"verify-full\"` with `sslrootcert` for an encrypted, verified connection"
        }
        _ => return None,
    };
    match value {
        "disable" | "prefer" => None,
        "require" => Some(format!("`{setting}=require` is not supported: {what}")),
        _ => Some(format!(
            "`{setting}` must be `disable`, `prefer` or `require` (and `require` is not \
             supported: {what})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_negations_and_errors() {
        let all: RequireAuth = "password,md5,scram-sha-256,none".parse().unwrap();
        assert!(all.is_any());
        assert_eq!(all.to_string(), "password,md5,scram-sha-256,none");
        let r: RequireAuth = "!password, !md5".parse().unwrap();
        assert_eq!(r.to_string(), "scram-sha-256,none");
        for bad in [
            "",
            "scram",
            "password,password",
            "!password,md5",
            "!password,!md5,!scram-sha-256,!none",
        ] {
            assert!(bad.parse::<RequireAuth>().is_err(), "{bad}");
        }
        let err = "gss\u{7}".parse::<RequireAuth>().unwrap_err();
        assert!(err.contains("`gss\\u{7}`"), "{err}");
    }

    #[test]
    fn remote_unverified_hosts_default_to_scram() {
        assert_eq!(
            RequireAuth::default_for(true, false, false),
            RequireAuth::SCRAM
        );
        assert!(RequireAuth::default_for(true, false, true).allows(AuthMethod::None));
        assert!(RequireAuth::default_for(true, true, false).is_any());
        assert!(RequireAuth::default_for(false, false, false).is_any());
    }
}
