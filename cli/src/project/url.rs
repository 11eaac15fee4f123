//! A `postgres://` URL for the codegen library, built in memory from a loaded [`Config`] (it
//! never appears on a command line or in output: it holds the password).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use pgtide::ExposeSecret;
use pgtide::config::Config;

/// Everything but RFC 3986's unreserved characters is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The URL of `config`'s database: user, password, host, port, database, TLS settings and
/// `application_name`.
pub fn database_url(config: &Config) -> String {
    let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
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
        // A host name or IPv4 address: percent-encoding would make it opaque to the URL parser.
        (c.host.clone(), None)
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

#[cfg(test)]
mod tests {
    use pgtide::config::Config;

    #[test]
    fn round_trips_through_the_loader() {
        let config = Config::loader()
            .no_file_search()
            .env([
                ("PGHOST", "db.internal"),
                ("PGPORT", "6432"),
                ("PGUSER", "app user"),
                ("PGPASSWORD", "p@ss:w/rd?&"),
                ("PGDATABASE", "shop"),
                ("PGSSLMODE", "verify-full"),
                ("PGSSLROOTCERT", "/etc/ssl/ca.pem"),
            ])
            .load()
            .unwrap();
        let url = super::database_url(&config);
        let back = Config::loader()
            .no_file_search()
            .env([("DATABASE_URL", url.as_str())])
            .load()
            .unwrap();
        assert_eq!(back.connection().host, "db.internal");
        assert_eq!(back.connection().port, 6432);
        assert_eq!(back.connection().user, "app user");
        assert_eq!(back.connection().database, "shop");
        assert_eq!(
            pgtide::ExposeSecret::expose_secret(&back.connection().password),
            "p@ss:w/rd?&"
        );
        assert_eq!(back.tls(), config.tls());
    }
}
