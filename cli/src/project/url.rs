//! A `postgres://` URL for the codegen library, built in memory from a loaded [`Config`] (it
//! never appears on a command line or in output: it holds the password).

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use pgtide::ExposeSecret;
use pgtide::config::Config;

/// The URL of `config`'s database: user, password, host, port, database, TLS settings and
/// `application_name`.
pub fn database_url(config: &Config) -> String {
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    let c = config.connection();
    let t = config.tls();
    let mut params = vec![
        format!("sslmode={}", t.mode.as_str()),
        format!("application_name={}", enc(&c.application_name)),
    ];
    let (host, socket) = if c.host.starts_with('/') {
        ("localhost".to_string(), Some(&c.host))
    } else if c.host.contains(':') {
        (format!("[{}]", c.host), None)
    } else {
        (enc(&c.host), None)
    };
    if let Some(dir) = socket {
        params.push(format!("host={}", enc(dir)));
    }
    for (name, path) in [
        ("sslrootcert", &t.root_cert),
        ("sslcert", &t.client_cert),
        ("sslkey", &t.client_key),
    ] {
        if let Some(path) = path {
            params.push(format!("{name}={}", enc(&path.display().to_string())));
        }
    }
    format!(
        "postgres://{}:{}@{host}:{}/{}?{}",
        enc(&c.user),
        enc(c.password.expose_secret()),
        c.port,
        enc(&c.database),
        params.join("&")
    )
}
