//! The server settings a client configuration needs, derived once and used by both `hints`
//! (printed as configuration lines) and `audit` (compared with the running server).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs, UdpSocket};

use pgtide::config::{Config, SslMode};

use crate::failure::Usage;

/// Connections the server keeps for superusers, out of `max_connections` (its default).
pub const SUPERUSER_RESERVED: u32 = 3;

/// How a current value is judged against the recommendation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// A number at least this large.
    AtLeast(u64),
    /// Exactly this value (case-insensitive).
    Equals(String),
    /// A TLS protocol version at least this one.
    TlsAtLeast(&'static str),
    /// Any non-empty value (a file path the server must hold).
    Present,
}

/// One `postgresql.conf` line.
#[derive(Debug, Clone)]
pub struct Setting {
    /// GUC name.
    pub name: &'static str,
    /// Recommended value, as written in postgresql.conf.
    pub value: String,
    /// Why, from the client configuration.
    pub why: String,
    /// How `audit` judges the server's value.
    pub rule: Rule,
}

/// Where the client connects from, as a `pg_hba.conf` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAddress {
    /// Through a Unix socket: a `local` rule.
    Socket,
    /// A network: address and prefix length.
    Net(IpAddr, u8),
    /// Could not be worked out; the line needs the user's address.
    Unknown,
}

/// TLS as the client uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// `require`, `verify-ca`, `verify-full`: never without.
    Required,
    /// `allow`, `prefer`: when the server offers it.
    Optional,
    /// `disable`.
    Never,
}

/// Everything the server should have for this client.
#[derive(Debug, Clone)]
pub struct Recommendation {
    /// postgresql.conf lines.
    pub settings: Vec<Setting>,
    /// How the client uses TLS.
    pub tls: Tls,
    /// Whether the client presents a certificate (`sslcert`).
    pub client_cert: bool,
    /// The client's address.
    pub address: ClientAddress,
    /// Database and role of the rule.
    pub database: String,
    /// The role.
    pub user: String,
    /// Why the pg_hba.conf line looks as it does.
    pub hba_why: String,
}

impl Recommendation {
    /// Derives the recommendation for `instances` processes using `config`.
    pub fn new(config: &Config, instances: u32, address: Option<&str>) -> Result<Self, Usage> {
        let c = config.connection();
        let t = config.tls();
        let per_instance = config.pool().size.max();
        let clients = u64::from(per_instance) * u64::from(instances);
        let headroom = (clients.div_ceil(10)).max(5);
        let max_connections = clients + headroom + u64::from(SUPERUSER_RESERVED);
        let mut settings = vec![
            Setting {
                name: "max_connections",
                value: max_connections.to_string(),
                why: format!(
                    "pool.max_size {per_instance} x {instances} instance(s) = {clients}, + {headroom} headroom (admin sessions, migrations, a rolling deploy's overlap; 10 %, at least 5) + {SUPERUSER_RESERVED} superuser_reserved_connections; at least this, more for other clients"
                ),
                rule: Rule::AtLeast(max_connections),
            },
            Setting {
                name: "superuser_reserved_connections",
                value: SUPERUSER_RESERVED.to_string(),
                why: "so an administrator can still connect when the pools are full".into(),
                rule: Rule::AtLeast(u64::from(SUPERUSER_RESERVED)),
            },
            Setting {
                name: "password_encryption",
                value: "scram-sha-256".into(),
                why: "passwords stored as SCRAM verifiers, as the scram-sha-256 rule below needs"
                    .into(),
                rule: Rule::Equals("scram-sha-256".into()),
            },
        ];
        let tls = match t.mode {
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Tls::Required,
            SslMode::Allow | SslMode::Prefer => Tls::Optional,
            SslMode::Disable => Tls::Never,
        };
        let socket = c.host.starts_with('/');
        let client_cert = t.client_cert.is_some();
        if tls != Tls::Never && !socket {
            let mode = t.mode.as_str();
            settings.push(Setting {
                name: "ssl",
                value: "on".into(),
                why: format!("the client's sslmode is {mode}"),
                rule: Rule::Equals("on".into()),
            });
            settings.push(Setting {
                name: "ssl_cert_file",
                value: "'server.crt'".into(),
                why: if matches!(t.mode, SslMode::VerifyFull) {
                    format!("a certificate naming `{}` and issued by the CA in the client's sslrootcert (sslmode verify-full)", c.host)
                } else if matches!(t.mode, SslMode::VerifyCa) {
                    "a certificate issued by the CA in the client's sslrootcert (sslmode verify-ca)".into()
                } else {
                    "the server's certificate; with sslmode verify-full the client would also check it (recommended)".into()
                },
                rule: Rule::Present,
            });
            settings.push(Setting {
                name: "ssl_key_file",
                value: "'server.key'".into(),
                why: "its private key (readable by the server's OS user only)".into(),
                rule: Rule::Present,
            });
            settings.push(Setting {
                name: "ssl_min_protocol_version",
                value: "'TLSv1.2'".into(),
                why: "no TLS 1.0/1.1".into(),
                rule: Rule::TlsAtLeast("TLSv1.2"),
            });
            if client_cert {
                settings.push(Setting {
                    name: "ssl_ca_file",
                    value: "'root.crt'".into(),
                    why: "the CA that issued the client's certificate (sslcert), to verify it"
                        .into(),
                    rule: Rule::Present,
                });
            }
        }
        let address = if socket {
            ClientAddress::Socket
        } else {
            match address {
                Some(given) => parse_address(given)?,
                None => client_address(&c.host, c.port),
            }
        };
        let hba_why = match (socket, tls, client_cert) {
            (true, _, _) => "the client connects through a Unix socket".to_string(),
            (_, Tls::Required, true) => "TLS is required by the client (hostssl makes the server require it too); the client presents a certificate, so the server verifies it and its CN must be the role name (clientcert=verify-full)".into(),
            (_, Tls::Required, false) => "TLS is required by the client (hostssl makes the server require it too); the client presents no certificate, so no clientcert option".into(),
            (_, Tls::Optional, _) => format!("the client's sslmode is {} (TLS only if offered): `host` accepts both; set sslmode=verify-full and use hostssl to require TLS", t.mode.as_str()),
            (_, Tls::Never, _) => "the client's sslmode is disable: plain connections only".into(),
        };
        Ok(Self {
            settings,
            tls,
            client_cert,
            address,
            database: c.database.clone(),
            user: c.user.clone(),
            hba_why,
        })
    }

    /// The recommended `pg_hba.conf` line.
    pub fn hba_line(&self) -> String {
        let method = "scram-sha-256";
        match &self.address {
            ClientAddress::Socket => format!("local    {}  {}  {method}", self.database, self.user),
            address => {
                let kind = if self.tls == Tls::Required {
                    "hostssl"
                } else {
                    "host"
                };
                let addr = match address {
                    ClientAddress::Net(ip, bits) => format!("{ip}/{bits}"),
                    _ => "CLIENT-ADDRESS/32".into(),
                };
                let cert = if self.tls == Tls::Required && self.client_cert {
                    " clientcert=verify-full"
                } else {
                    ""
                };
                format!(
                    "{kind}  {}  {}  {addr}  {method}{cert}",
                    self.database, self.user
                )
            }
        }
    }
}

/// `ADDR` or `ADDR/BITS`.
fn parse_address(given: &str) -> Result<ClientAddress, Usage> {
    let bad = || {
        Usage(format!(
            "--client-address {given}: expected an IP address, optionally with /BITS (e.g. 10.0.0.0/24)"
        ))
    };
    let (ip, bits) = match given.split_once('/') {
        Some((ip, bits)) => (ip, Some(bits)),
        None => (given, None),
    };
    let ip: IpAddr = ip.trim().parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        Some(b) => b
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|b| *b <= max)
            .ok_or_else(bad)?,
        None => max,
    };
    Ok(ClientAddress::Net(ip, bits))
}

/// This machine's address towards `host`: loopback for a loopback server, else the source
/// address the OS would pick (a UDP socket "connected" to the server; nothing is sent).
fn client_address(host: &str, port: u16) -> ClientAddress {
    let Ok(mut addrs) = (host, port).to_socket_addrs() else {
        return ClientAddress::Unknown;
    };
    let Some(server) = addrs.next() else {
        return ClientAddress::Unknown;
    };
    let ip = server.ip();
    if ip.is_loopback() {
        return match ip {
            IpAddr::V4(_) => ClientAddress::Net(IpAddr::V4(Ipv4Addr::LOCALHOST), 32),
            IpAddr::V6(_) => ClientAddress::Net(IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
        };
    }
    let bind = if ip.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    UdpSocket::bind(bind)
        .and_then(|s| s.connect(server).and_then(|()| s.local_addr()))
        .map_or(ClientAddress::Unknown, |local| {
            ClientAddress::Net(local.ip(), if local.is_ipv4() { 32 } else { 128 })
        })
}
