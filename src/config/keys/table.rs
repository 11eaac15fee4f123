//! The rows of the key table. Order matters: it is the order of `load_explained`, of the
//! "valid keys here are …" hint, and of the docs (the hash has its own, frozen order).

use std::path::PathBuf;
use std::time::Duration;

use super::super::duration::format_duration;
use super::super::explain::REDACTED;
use super::super::raw;
use super::super::settings::HealthCheck;
use super::super::storage::{show_secret, show_text};
use super::{Key, Kind, Read};

/// Every key pgtide reads.
pub(crate) static KEYS: &[Key] = &[
    Key {
        name: "host",
        kind: Kind::Text,
        default: Some("localhost"),
        doc: "host name, IP address, or a socket directory (starts with `/`); a list (`[\"a\", \"b\"]`, `a,b`) is tried in order",
        example: "db.example",
        read: Read::Draft(|d, v| {
            d.hosts = raw::hosts(v)?;
            Ok(())
        }),
        show: Some(|c| join(c.connection.hosts.iter().map(|h| h.host.clone()))),
        hash: Some(|c| join(c.connection.hosts.iter().map(|h| h.host.clone()))),
    },
    Key {
        name: "port",
        kind: Kind::Port,
        default: Some("5432"),
        doc: "TCP port, 1..=65535; with several hosts one for all, or a list matched by position",
        example: "6543",
        read: Read::Draft(|d, v| {
            d.ports = raw::ports(v)?;
            Ok(())
        }),
        show: Some(show_ports),
        hash: Some(show_ports),
    },
    Key {
        name: "database",
        kind: Kind::Text,
        default: None,
        doc: "database name; default: the user name",
        example: "otherdb",
        read: Read::Draft(|d, v| {
            d.database = Some(raw::text(v)?);
            Ok(())
        }),
        show: Some(|c| c.connection.database.clone()),
        hash: Some(|c| c.connection.database.clone()),
    },
    Key {
        name: "user",
        kind: Kind::Text,
        default: Some("postgres"),
        doc: "role to connect as",
        example: "app",
        read: Read::Draft(|d, v| {
            d.user = raw::text(v)?;
            Ok(())
        }),
        show: Some(|c| c.connection.user.clone()),
        hash: Some(|c| c.connection.user.clone()),
    },
    Key {
        name: "password",
        kind: Kind::Secret,
        default: None,
        doc: "required; a `secret://env/NAME` or `secret://file/PATH` reference keeps it out of the file",
        example: "pw-example",
        read: Read::Loader,
        show: Some(|_| REDACTED.into()),
        hash: None,
    },
    Key {
        name: "dsn",
        kind: Kind::Dsn,
        default: None,
        doc: "a `postgres://` URL; keys beside it in the same section win over its parts",
        example: "postgres://dsnuser@dsn.example/dsndb",
        read: Read::Loader,
        show: None,
        hash: None,
    },
    Key {
        name: "sslmode",
        kind: Kind::SslMode,
        default: None,
        doc: "libpq's modes; default: `require` for remote hosts, `prefer` on loopback and sockets",
        example: "require",
        read: Read::Draft(|d, v| {
            d.ssl_mode = Some(raw::ssl_mode(v)?);
            Ok(())
        }),
        show: Some(|c| c.tls.mode.as_str().into()),
        hash: Some(|c| c.tls.mode.as_str().into()),
    },
    Key {
        name: "sslrootcert",
        kind: Kind::Path,
        default: None,
        doc: "CA certificate to verify the server with (`verify-ca`, `verify-full`)",
        example: "/etc/example-ca.pem",
        read: Read::Draft(|d, v| {
            d.root_cert = Some(path(v)?);
            Ok(())
        }),
        show: Some(|c| show_path(&c.tls.root_cert)),
        hash: Some(|c| hash_path(&c.tls.root_cert)),
    },
    Key {
        name: "sslcert",
        kind: Kind::Path,
        default: None,
        doc: "client certificate, for certificate authentication",
        example: "/etc/example-client.pem",
        read: Read::Draft(|d, v| {
            d.client_cert = Some(path(v)?);
            Ok(())
        }),
        show: Some(|c| show_path(&c.tls.client_cert)),
        hash: Some(|c| hash_path(&c.tls.client_cert)),
    },
    Key {
        name: "sslkey",
        kind: Kind::Path,
        default: None,
        doc: "client private key, for certificate authentication",
        example: "/etc/example-client.key",
        read: Read::Draft(|d, v| {
            d.client_key = Some(path(v)?);
            Ok(())
        }),
        show: Some(|c| show_path(&c.tls.client_key)),
        hash: Some(|c| hash_path(&c.tls.client_key)),
    },
    Key {
        name: "application_name",
        kind: Kind::Text,
        default: None,
        doc: "reported to the server; default: the running binary's name",
        example: "example-app",
        read: Read::Draft(|d, v| {
            d.application_name = Some(raw::text(v)?);
            Ok(())
        }),
        show: Some(|c| c.connection.application_name.clone()),
        hash: Some(|c| c.connection.application_name.clone()),
    },
    Key {
        name: "search_path",
        kind: Kind::Text,
        default: None,
        doc: "session `search_path`; default: the server's",
        example: "app, public",
        read: Read::Draft(|d, v| {
            d.session.search_path = Some(raw::text(v)?);
            Ok(())
        }),
        show: Some(|c| {
            c.session
                .search_path
                .clone()
                .unwrap_or_else(|| "server default".into())
        }),
        hash: Some(|c| {
            c.session
                .search_path
                .as_ref()
                .map_or_else(|| "none".into(), |s| format!("some:{s}"))
        }),
    },
    Key {
        name: "connect_timeout",
        kind: Kind::Duration,
        default: Some("5s"),
        doc: "longest one connection attempt (TCP, TLS, authentication) may take; > 0",
        example: "7s",
        read: Read::Draft(|d, v| {
            d.connect_timeout = raw::duration(v)?;
            Ok(())
        }),
        show: Some(|c| format_duration(c.connection.connect_timeout)),
        hash: Some(|c| nanos(c.connection.connect_timeout)),
    },
    Key {
        name: "statement_timeout",
        kind: Kind::OptDuration,
        default: Some("30s"),
        doc: "session `statement_timeout`, at most 2147483647ms; \"off\": the server's",
        example: "45s",
        read: Read::Draft(|d, v| {
            d.session.statement_timeout = raw::optional_duration(v)?;
            Ok(())
        }),
        show: Some(|c| show_opt(c.session.statement_timeout)),
        hash: Some(|c| hash_opt(c.session.statement_timeout)),
    },
    Key {
        name: "lock_timeout",
        kind: Kind::OptDuration,
        default: Some("off"),
        doc: "session `lock_timeout`, at most 2147483647ms; \"off\": the server's",
        example: "3s",
        read: Read::Draft(|d, v| {
            d.session.lock_timeout = raw::optional_duration(v)?;
            Ok(())
        }),
        show: Some(|c| show_opt(c.session.lock_timeout)),
        hash: Some(|c| hash_opt(c.session.lock_timeout)),
    },
    Key {
        name: "idle_in_transaction_session_timeout",
        kind: Kind::OptDuration,
        default: Some("60s"),
        doc: "session `idle_in_transaction_session_timeout`, at most 2147483647ms; \"off\": the server's",
        example: "90s",
        read: Read::Draft(|d, v| {
            d.session.idle_in_transaction_session_timeout = raw::optional_duration(v)?;
            Ok(())
        }),
        show: Some(|c| show_opt(c.session.idle_in_transaction_session_timeout)),
        hash: Some(|c| hash_opt(c.session.idle_in_transaction_session_timeout)),
    },
    Key {
        name: "settings",
        kind: Kind::Settings,
        default: None,
        doc: "any other session setting by name (`work_mem = \"64MB\"`), sent at connection start",
        example: "64MB",
        read: Read::Settings,
        show: None,
        // The number of settings; the settings themselves follow it in the hash.
        hash: Some(|c| c.session.extra.len().to_string()),
    },
    Key {
        name: "pool.min_size",
        kind: Kind::Count,
        default: Some("1"),
        doc: "connections kept open, ≤ `pool.max_size`",
        example: "2",
        read: Read::Loader,
        show: Some(|c| c.pool.size.min().to_string()),
        hash: Some(|c| c.pool.size.min().to_string()),
    },
    Key {
        name: "pool.max_size",
        kind: Kind::Count,
        default: Some("10"),
        doc: "most connections open, 1..=10000",
        example: "20",
        read: Read::Loader,
        show: Some(|c| c.pool.size.max().to_string()),
        hash: Some(|c| c.pool.size.max().to_string()),
    },
    Key {
        name: "pool.acquire_timeout",
        kind: Kind::Duration,
        default: Some("10s"),
        doc: "longest a caller waits for a connection; > 0",
        example: "4s",
        read: Read::Draft(|d, v| {
            d.pool.acquire_timeout = raw::duration(v)?;
            Ok(())
        }),
        show: Some(|c| format_duration(c.pool.acquire_timeout)),
        hash: Some(|c| nanos(c.pool.acquire_timeout)),
    },
    Key {
        name: "pool.idle_timeout",
        kind: Kind::OptDuration,
        default: Some("5m"),
        doc: "idle connections above the minimum close after this long; \"off\": never",
        example: "7m",
        read: Read::Draft(|d, v| {
            d.pool.idle_timeout = raw::optional_duration(v)?;
            Ok(())
        }),
        show: Some(|c| show_opt(c.pool.idle_timeout)),
        hash: Some(|c| hash_opt(c.pool.idle_timeout)),
    },
    Key {
        name: "pool.max_lifetime",
        kind: Kind::OptDuration,
        default: Some("30m"),
        doc: "connections are replaced after this long; \"off\": never",
        example: "45m",
        read: Read::Draft(|d, v| {
            d.pool.max_lifetime = raw::optional_duration(v)?;
            Ok(())
        }),
        show: Some(|c| show_opt(c.pool.max_lifetime)),
        hash: Some(|c| hash_opt(c.pool.max_lifetime)),
    },
    Key {
        name: "pool.health_check",
        kind: Kind::HealthCheck,
        default: Some("30s"),
        doc: "check a connection on checkout after it sat idle this long; \"always\" or \"never\"",
        example: "always",
        read: Read::Draft(|d, v| {
            d.pool.health_check = raw::health_check(v)?;
            Ok(())
        }),
        show: Some(|c| match c.pool.health_check {
            HealthCheck::Always => "always".into(),
            HealthCheck::Never => "never".into(),
            HealthCheck::IdleLongerThan(d) => format_duration(d),
        }),
        hash: Some(|c| match c.pool.health_check {
            HealthCheck::Always => "always".into(),
            HealthCheck::Never => "never".into(),
            HealthCheck::IdleLongerThan(d) => format!("idle:{}", nanos(d)),
        }),
    },
    Key {
        name: "retry.attempts",
        kind: Kind::Count,
        default: Some("3"),
        doc: "total attempts, the first included (1 = no retry)",
        example: "5",
        read: Read::Draft(|d, v| {
            d.retry.attempts = raw::count(v)?;
            Ok(())
        }),
        show: Some(|c| c.retry.attempts.to_string()),
        hash: Some(|c| c.retry.attempts.to_string()),
    },
    Key {
        name: "retry.base_delay",
        kind: Kind::Duration,
        default: Some("100ms"),
        doc: "delay before the first retry, doubling each attempt; > 0",
        example: "150ms",
        read: Read::Draft(|d, v| {
            d.retry.base_delay = raw::duration(v)?;
            Ok(())
        }),
        show: Some(|c| format_duration(c.retry.base_delay)),
        hash: Some(|c| nanos(c.retry.base_delay)),
    },
    Key {
        name: "retry.max_delay",
        kind: Kind::Duration,
        default: Some("2s"),
        doc: "upper bound of one delay, ≥ `retry.base_delay`",
        example: "3s",
        read: Read::Draft(|d, v| {
            d.retry.max_delay = raw::duration(v)?;
            Ok(())
        }),
        show: Some(|c| format_duration(c.retry.max_delay)),
        hash: Some(|c| nanos(c.retry.max_delay)),
    },
    Key {
        name: "retry.jitter",
        kind: Kind::Bool,
        default: Some("true"),
        doc: "randomise each delay (full jitter)",
        example: "false",
        read: Read::Draft(|d, v| {
            d.retry.jitter = raw::boolean(v)?;
            Ok(())
        }),
        show: Some(|c| c.retry.jitter.to_string()),
        hash: Some(|c| c.retry.jitter.to_string()),
    },
    Key {
        name: "retry.budget",
        kind: Kind::Duration,
        default: Some("10s"),
        doc: "total time all attempts together may take; > 0",
        example: "20s",
        read: Read::Draft(|d, v| {
            d.retry.budget = raw::duration(v)?;
            Ok(())
        }),
        show: Some(|c| format_duration(c.retry.budget)),
        hash: Some(|c| nanos(c.retry.budget)),
    },
    Key {
        name: "codegen.queries",
        kind: Kind::Path,
        default: Some("queries"),
        doc: "directory of the `*.sql` query files (`pgtide prepare`/`gen`/`verify`; not hashed)",
        example: "sql",
        read: Read::Draft(|d, v| {
            d.codegen.queries = path(v)?;
            Ok(())
        }),
        show: Some(|c| c.codegen.queries.display().to_string()),
        hash: None,
    },
    Key {
        name: "codegen.sqlx_dir",
        kind: Kind::Path,
        default: Some(".sqlx"),
        doc: "directory of the offline query metadata (not hashed)",
        example: "meta",
        read: Read::Draft(|d, v| {
            d.codegen.sqlx_dir = path(v)?;
            Ok(())
        }),
        show: Some(|c| c.codegen.sqlx_dir.display().to_string()),
        hash: None,
    },
    Key {
        name: "codegen.out",
        kind: Kind::Path,
        default: Some("src/queries"),
        doc: "directory of the generated modules (not hashed)",
        example: "src/db",
        read: Read::Draft(|d, v| {
            d.codegen.out = path(v)?;
            Ok(())
        }),
        show: Some(|c| c.codegen.out.display().to_string()),
        hash: None,
    },
    Key {
        name: "codegen.derives",
        kind: Kind::Text,
        default: None,
        doc: "traits generated row structs derive besides `Debug`, comma-separated (`Clone, PartialEq, serde::Serialize`); none by default, as sqlx's `query!` (not hashed)",
        example: "Clone, PartialEq",
        read: Read::Draft(|d, v| {
            d.codegen.derives = pgtide_type_rules::derives(&raw::text(v)?)?;
            Ok(())
        }),
        show: Some(|c| c.codegen.derives.join(", ")),
        hash: None,
    },
    Key {
        name: "codegen.types",
        kind: Kind::TypeMap,
        default: None,
        doc: "PostgreSQL type → Rust type for generated code (`tsvector = \"String\"`, `public.mytype = \"my::T\"`), arrays of it follow; `\"String\"` adds text casts (not hashed)",
        example: "String",
        read: Read::Entries(|d, name, v| {
            let rust = raw::text(v)?;
            let rust = super::super::codegen_types::check(
                d.codegen.types.keys().map(String::as_str),
                name,
                &rust,
            )?;
            d.codegen.types.insert(name.to_owned(), rust);
            Ok(())
        }),
        // One entry per type (`codegen.types.tsvector`), after the keys.
        show: None,
        hash: None,
    },
    // TLS and authentication (issue 14).
    Key {
        name: "require_auth",
        kind: Kind::Text,
        default: None,
        doc: "authentication requests the server may make, as libpq's (`scram-sha-256`, `password,md5`, `!password`); default: `scram-sha-256` for a remote host whose certificate is not verified",
        example: "scram-sha-256,none",
        read: Read::Draft(|d, v| {
            d.require_auth = Some(raw::text(v)?.parse()?);
            Ok(())
        }),
        show: Some(|c| c.tls.require_auth.to_string()),
        // Empty (left out of the hash) while it is the default derived from hashed keys.
        hash: Some(|c| {
            let t = &c.tls;
            let default = super::super::builder::default_require_auth(
                super::super::builder::deciding_host(&c.connection.hosts),
                t.mode,
                t.root_cert.is_some(),
                t.client_cert.is_some(),
            );
            if t.require_auth == default {
                String::new()
            } else {
                t.require_auth.to_string()
            }
        }),
    },
    // --- scale (issue 16): PgBouncer transaction pooling ---
    Key {
        name: "pgbouncer",
        kind: Kind::Bool,
        default: Some("false"),
        doc: "connecting through PgBouncer in transaction mode: no startup settings or named statements, session limits applied per transaction (`SET LOCAL`)",
        example: "true",
        read: Read::Draft(|d, v| {
            d.pgbouncer = raw::boolean(v)?;
            Ok(())
        }),
        show: Some(|c| c.connection.pgbouncer.to_string()),
        // Empty (left out of the hash) at its default, so hashes from before the key stay.
        hash: Some(|c| match c.connection.pgbouncer {
            true => "true".into(),
            false => String::new(),
        }),
    },
    // --- scale (issue 16): several hosts, target_session_attrs ---
    Key {
        name: "target_session_attrs",
        kind: Kind::Text,
        default: Some("any"),
        doc: "what a server must be to keep a new connection, as libpq's: `any`, `read-write`, `read-only`, `primary`, `standby`, `prefer-standby`; hosts are tried in order",
        example: "read-write",
        read: Read::Draft(|d, v| {
            d.target_session_attrs = raw::target_session_attrs(v)?;
            Ok(())
        }),
        show: Some(|c| c.connection.target_session_attrs.as_str().into()),
        // Empty (left out of the hash) at its default, so existing hashes stay.
        hash: Some(|c| match c.connection.target_session_attrs {
            super::super::settings::TargetSessionAttrs::Any => String::new(),
            other => other.as_str().into(),
        }),
    },
    // --- storage (issue 17): object store endpoints and credentials for pgtide::transfer ---
    Key {
        name: "storage.s3.region",
        kind: Kind::Text,
        default: None,
        doc: "S3 region; default: `AWS_REGION`, the AWS profile's, else `us-east-1` (not hashed)",
        example: "eu-west-1",
        read: Read::Draft(|d, v| {
            d.storage.s3.region = Some(raw::text(v)?);
            Ok(())
        }),
        show: Some(|c| show_text(&c.storage.s3.region)),
        hash: None,
    },
    Key {
        name: "storage.s3.endpoint",
        kind: Kind::Text,
        default: None,
        doc: "S3-compatible endpoint URL (MinIO, moto); default: AWS's (not hashed)",
        example: "http://127.0.0.1:9000",
        read: Read::Draft(|d, v| {
            d.storage.s3.endpoint = Some(raw::text(v)?);
            Ok(())
        }),
        show: Some(|c| show_text(&c.storage.s3.endpoint)),
        hash: None,
    },
    Key {
        name: "storage.s3.profile",
        kind: Kind::Text,
        default: None,
        doc: "named profile of `~/.aws/credentials` and `~/.aws/config`; default: `AWS_PROFILE` (not hashed)",
        example: "analytics",
        read: Read::Draft(|d, v| {
            d.storage.s3.profile = Some(raw::text(v)?);
            Ok(())
        }),
        show: Some(|c| show_text(&c.storage.s3.profile)),
        hash: None,
    },
    Key {
        name: "storage.s3.access_key_id",
        kind: Kind::Text,
        default: None,
        doc: "S3 access key id; default: `AWS_ACCESS_KEY_ID`, else the AWS profile's (not hashed)",
        example: "AKIDEXAMPLE",
        read: Read::Draft(|d, v| {
            d.storage.s3.access_key_id = Some(raw::text(v)?);
            Ok(())
        }),
        show: Some(|c| show_text(&c.storage.s3.access_key_id)),
        hash: None,
    },
    Key {
        name: "storage.s3.secret_access_key",
        kind: Kind::StorageSecret,
        default: None,
        doc: "S3 secret access key; a `secret://` reference keeps it out of the file (not hashed)",
        example: "s3-secret-example",
        read: Read::Draft(|d, v| {
            d.storage.s3.secret_access_key = Some(raw::secret_text(v)?.into());
            Ok(())
        }),
        show: Some(|c| show_secret(&c.storage.s3.secret_access_key)),
        hash: None,
    },
    Key {
        name: "storage.s3.session_token",
        kind: Kind::StorageSecret,
        default: None,
        doc: "S3 session token of temporary credentials (not hashed)",
        example: "token-example",
        read: Read::Draft(|d, v| {
            d.storage.s3.session_token = Some(raw::secret_text(v)?.into());
            Ok(())
        }),
        show: Some(|c| show_secret(&c.storage.s3.session_token)),
        hash: None,
    },
    Key {
        name: "storage.s3.allow_http",
        kind: Kind::Bool,
        default: Some("false"),
        doc: "allow a plain `http://` S3 endpoint (not hashed)",
        example: "true",
        read: Read::Draft(|d, v| {
            d.storage.s3.allow_http = raw::boolean(v)?;
            Ok(())
        }),
        show: Some(|c| c.storage.s3.allow_http.to_string()),
        hash: None,
    },
    Key {
        name: "storage.azure.account",
        kind: Kind::Text,
        default: None,
        doc: "Azure storage account name; default: `AZURE_STORAGE_ACCOUNT_NAME` (not hashed)",
        example: "myaccount",
        read: Read::Draft(|d, v| {
            d.storage.azure.account = Some(raw::text(v)?);
            Ok(())
        }),
        show: Some(|c| show_text(&c.storage.azure.account)),
        hash: None,
    },
    Key {
        name: "storage.azure.access_key",
        kind: Kind::StorageSecret,
        default: None,
        doc: "Azure storage account key (not hashed)",
        example: "azure-key-example",
        read: Read::Draft(|d, v| {
            d.storage.azure.access_key = Some(raw::secret_text(v)?.into());
            Ok(())
        }),
        show: Some(|c| show_secret(&c.storage.azure.access_key)),
        hash: None,
    },
    Key {
        name: "storage.azure.sas_token",
        kind: Kind::StorageSecret,
        default: None,
        doc: "Azure shared access signature, instead of the key (not hashed)",
        example: "sv=2024&sig=example",
        read: Read::Draft(|d, v| {
            d.storage.azure.sas_token = Some(raw::secret_text(v)?.into());
            Ok(())
        }),
        show: Some(|c| show_secret(&c.storage.azure.sas_token)),
        hash: None,
    },
    Key {
        name: "storage.azure.endpoint",
        kind: Kind::Text,
        default: None,
        doc: "Azure blob endpoint URL (Azurite); default: Azure's (not hashed)",
        example: "http://127.0.0.1:10000/devstoreaccount1",
        read: Read::Draft(|d, v| {
            d.storage.azure.endpoint = Some(raw::text(v)?);
            Ok(())
        }),
        show: Some(|c| show_text(&c.storage.azure.endpoint)),
        hash: None,
    },
    Key {
        name: "storage.azure.use_emulator",
        kind: Kind::Bool,
        default: Some("false"),
        doc: "Azurite on its default address and account (not hashed)",
        example: "true",
        read: Read::Draft(|d, v| {
            d.storage.azure.use_emulator = raw::boolean(v)?;
            Ok(())
        }),
        show: Some(|c| c.storage.azure.use_emulator.to_string()),
        hash: None,
    },
    Key {
        name: "storage.gcs.service_account",
        kind: Kind::Path,
        default: None,
        doc: "path of a GCS service account JSON key file; default: `GOOGLE_SERVICE_ACCOUNT` (not hashed)",
        example: "/etc/gcs/key.json",
        read: Read::Draft(|d, v| {
            d.storage.gcs.service_account = Some(path(v)?);
            Ok(())
        }),
        show: Some(|c| show_path(&c.storage.gcs.service_account)),
        hash: None,
    },
    Key {
        name: "storage.gcs.service_account_key",
        kind: Kind::StorageSecret,
        default: None,
        doc: "GCS service account JSON key itself (not hashed)",
        example: "{}",
        read: Read::Draft(|d, v| {
            d.storage.gcs.service_account_key = Some(raw::secret_text(v)?.into());
            Ok(())
        }),
        show: Some(|c| show_secret(&c.storage.gcs.service_account_key)),
        hash: None,
    },
    Key {
        name: "storage.gcs.endpoint",
        kind: Kind::Text,
        default: None,
        doc: "GCS-compatible endpoint URL (an emulator; requests then go without OAuth) (not hashed)",
        example: "http://127.0.0.1:4443",
        read: Read::Draft(|d, v| {
            d.storage.gcs.endpoint = Some(raw::text(v)?);
            Ok(())
        }),
        show: Some(|c| show_text(&c.storage.gcs.endpoint)),
        hash: None,
    },
];

/// A list as `config show` prints it and the hash reads it: one item is itself.
fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(",")
}

/// One port when every host has the same, else one per host.
fn show_ports(c: &super::super::settings::Config) -> String {
    let hosts = &c.connection.hosts;
    if hosts.iter().all(|h| h.port == c.connection.port) {
        c.connection.port.to_string()
    } else {
        join(hosts.iter().map(|h| h.port.to_string()))
    }
}

fn path(value: &figment::value::Value) -> Result<PathBuf, String> {
    raw::text(value).map(PathBuf::from)
}

fn show_path(p: &Option<PathBuf>) -> String {
    p.as_ref()
        .map_or_else(|| "none".into(), |p| p.display().to_string())
}

fn hash_path(p: &Option<PathBuf>) -> String {
    p.as_ref()
        .map_or_else(|| "none".into(), |p| format!("some:{}", p.display()))
}

fn show_opt(d: Option<Duration>) -> String {
    d.map_or_else(|| "off".into(), format_duration)
}

fn nanos(d: Duration) -> String {
    d.as_nanos().to_string()
}

fn hash_opt(d: Option<Duration>) -> String {
    d.map_or_else(|| "none".into(), nanos)
}
