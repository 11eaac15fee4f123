//! Configuration that cannot be wrong at runtime.
//!
//! A [`Config`] is always valid: it is made either by the type-state [`ConfigBuilder`], whose
//! `build()` exists only once a [`SecretString`](crate::SecretString) password and a checked
//! [`PoolSize`] are given, or by the layered [`ConfigLoader`], which reads files, the
//! environment and code, names the key, profile and source of every mistake, and ends in the
//! same validation as the builder.
//!
//! In code:
//!
//! ```
//! use pgtide::config::{Config, PoolSize};
//! use pgtide::SecretString;
//!
//! let config = Config::builder()
//!     .host("db.internal")
//!     .database("app")
//!     .user("app")
//!     .password(SecretString::from("s3cret"))
//!     .pool_size(PoolSize::new(2, 16)?)
//!     .build()?;
//! assert_eq!(config.pool().size.max(), 16);
//! assert!(!format!("{config:?}").contains("s3cret"));
//! # Ok::<(), pgtide::config::ConfigError>(())
//! ```
//!
//! From sources (here an injected environment; by default the process's), with errors that
//! say where the mistake is:
//!
//! ```
//! use pgtide::config::Config;
//!
//! let config = Config::loader()
//!     .no_file_search()
//!     .env([
//!         ("DATABASE_URL", "postgres://app:s3cret@db.internal/app"),
//!         ("PGTIDE_DEFAULT__POOL__MAX_SIZE", "20"),
//!     ])
//!     .load()?;
//! assert_eq!(config.pool().size.max(), 20);
//!
//! let err = Config::loader()
//!     .no_file_search()
//!     .env([("PGPASSWORD", "s3cret"), ("PGTIDE_DEFAULT__POOL__MAX_SIZ", "20")])
//!     .load()
//!     .unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "unknown key `pool.max_siz` in profile `default` \
//!      (environment variable PGTIDE_DEFAULT__POOL__MAX_SIZ): did you mean `max_size`?"
//! );
//! # Ok::<(), pgtide::config::ConfigError>(())
//! ```
//!
//! ## Keys
//!
//! Every key, as files write it (environment: `PGTIDE_<PROFILE>__POOL__MAX_SIZE`; code:
//! [`ConfigLoader::set`]). This table is generated from the one key table the loader, the
//! defaults, [`LoadedConfig`] and the config hash all read (a test keeps the two equal).
//!
//! | key | value | default | meaning |
//! |---|---|---|---|
//! | `host` | text | `localhost` | host name, IP address, or a socket directory (starts with `/`); a list (`["a", "b"]`, `a,b`) is tried in order |
//! | `port` | port | `5432` | TCP port, 1..=65535; with several hosts one for all, or a list matched by position |
//! | `database` | text | — | database name; default: the user name |
//! | `user` | text | `postgres` | role to connect as |
//! | `password` | secret | — | required; a `secret://env/NAME` or `secret://file/PATH` reference keeps it out of the file |
//! | `dsn` | URL (secret) | — | a `postgres://` URL; keys beside it in the same section win over its parts |
//! | `sslmode` | sslmode | — | libpq's modes; default: `require` for remote hosts, `prefer` on loopback and sockets |
//! | `sslrootcert` | path | — | CA certificate to verify the server with (`verify-ca`, `verify-full`) |
//! | `sslcert` | path | — | client certificate, for certificate authentication |
//! | `sslkey` | path | — | client private key, for certificate authentication |
//! | `application_name` | text | — | reported to the server; default: the running binary's name |
//! | `search_path` | text | — | session `search_path`; default: the server's |
//! | `connect_timeout` | duration | `5s` | longest one connection attempt (TCP, TLS, authentication) may take; > 0 |
//! | `statement_timeout` | duration or "off" | `30s` | session `statement_timeout`, at most 2147483647ms; "off": the server's |
//! | `lock_timeout` | duration or "off" | `off` | session `lock_timeout`, at most 2147483647ms; "off": the server's |
//! | `idle_in_transaction_session_timeout` | duration or "off" | `60s` | session `idle_in_transaction_session_timeout`, at most 2147483647ms; "off": the server's |
//! | `settings` | table | — | any other session setting by name (`work_mem = "64MB"`), sent at connection start |
//! | `pool.min_size` | whole number | `1` | connections kept open, ≤ `pool.max_size` |
//! | `pool.max_size` | whole number | `10` | most connections open, 1..=10000 |
//! | `pool.acquire_timeout` | duration | `10s` | longest a caller waits for a connection; > 0 |
//! | `pool.idle_timeout` | duration or "off" | `5m` | idle connections above the minimum close after this long; "off": never |
//! | `pool.max_lifetime` | duration or "off" | `30m` | connections are replaced after this long; "off": never |
//! | `pool.health_check` | "always", "never" or duration | `30s` | check a connection on checkout after it sat idle this long; "always" or "never" |
//! | `retry.attempts` | whole number | `3` | total attempts, the first included (1 = no retry) |
//! | `retry.base_delay` | duration | `100ms` | delay before the first retry, doubling each attempt; > 0 |
//! | `retry.max_delay` | duration | `2s` | upper bound of one delay, ≥ `retry.base_delay` |
//! | `retry.jitter` | true/false | `true` | randomise each delay (full jitter) |
//! | `retry.budget` | duration | `10s` | total time all attempts together may take; > 0 |
//! | `codegen.queries` | path | `queries` | directory of the `*.sql` query files (`pgtide prepare`/`gen`/`verify`; not hashed) |
//! | `codegen.sqlx_dir` | path | `.sqlx` | directory of the offline query metadata (not hashed) |
//! | `codegen.out` | path | `src/queries` | directory of the generated modules (not hashed) |
//! | `codegen.derives` | text | — | traits generated row structs derive besides `Debug`, comma-separated (`Clone, PartialEq, serde::Serialize`); none by default, as sqlx's `query!` (not hashed) |
//! | `codegen.types` | table of type → Rust type | — | PostgreSQL type → Rust type for generated code (`tsvector = "String"`, `public.mytype = "my::T"`), arrays of it follow; `"String"` adds text casts (not hashed) |
//! | `require_auth` | text | — | authentication requests the server may make, as libpq's (`scram-sha-256`, `password,md5`, `!password`); default: `scram-sha-256` for a remote host whose certificate is not verified |
//! | `pgbouncer` | true/false | `false` | connecting through PgBouncer in transaction mode: no startup settings or named statements, session limits applied per transaction (`SET LOCAL`) |
//! | `target_session_attrs` | text | `any` | what a server must be to keep a new connection, as libpq's: `any`, `read-write`, `read-only`, `primary`, `standby`, `prefer-standby`; hosts are tried in order |
//! | `storage.s3.region` | text | — | S3 region; default: `AWS_REGION`, the AWS profile's, else `us-east-1` (not hashed) |
//! | `storage.s3.endpoint` | text | — | S3-compatible endpoint URL (MinIO, moto); default: AWS's (not hashed) |
//! | `storage.s3.profile` | text | — | named profile of `~/.aws/credentials` and `~/.aws/config`; default: `AWS_PROFILE` (not hashed) |
//! | `storage.s3.access_key_id` | text | — | S3 access key id; default: `AWS_ACCESS_KEY_ID`, else the AWS profile's (not hashed) |
//! | `storage.s3.secret_access_key` | secret | — | S3 secret access key; a `secret://` reference keeps it out of the file (not hashed) |
//! | `storage.s3.session_token` | secret | — | S3 session token of temporary credentials (not hashed) |
//! | `storage.s3.allow_http` | true/false | `false` | allow a plain `http://` S3 endpoint (not hashed) |
//! | `storage.azure.account` | text | — | Azure storage account name; default: `AZURE_STORAGE_ACCOUNT_NAME` (not hashed) |
//! | `storage.azure.access_key` | secret | — | Azure storage account key (not hashed) |
//! | `storage.azure.sas_token` | secret | — | Azure shared access signature, instead of the key (not hashed) |
//! | `storage.azure.endpoint` | text | — | Azure blob endpoint URL (Azurite); default: Azure's (not hashed) |
//! | `storage.azure.use_emulator` | true/false | `false` | Azurite on its default address and account (not hashed) |
//! | `storage.gcs.service_account` | path | — | path of a GCS service account JSON key file; default: `GOOGLE_SERVICE_ACCOUNT` (not hashed) |
//! | `storage.gcs.service_account_key` | secret | — | GCS service account JSON key itself (not hashed) |
//! | `storage.gcs.endpoint` | text | — | GCS-compatible endpoint URL (an emulator; requests then go without OAuth) (not hashed) |
//!
//! Precedence is listed on [`ConfigLoader`]; the README has an annotated example file.

mod apply;
mod builder;
mod codegen_types;
mod dsn;
mod duration;
mod env;
mod error;
mod explain;
mod file;
mod hash;
mod keys;
mod layer;
mod load;
mod pool_size;
mod provenance;
mod raw;
mod require_auth;
pub(crate) mod secret_ref;
mod settings;
pub(crate) mod startup;
mod storage;
mod yaml;

pub use builder::{ConfigBuilder, NoPassword, NoPoolSize};
pub use error::ConfigError;
pub use explain::{Entry, LoadedConfig, REDACTED};
pub use hash::ConfigHash;
pub use load::ConfigLoader;
pub use pool_size::PoolSize;
pub use provenance::Source;
pub use require_auth::{AuthMethod, RequireAuth};
pub use settings::{
    CodegenSettings, Config, ConnectionSettings, HealthCheck, HostPort, PoolSettings,
    RetrySettings, SessionSettings, SslMode, TargetSessionAttrs, TlsSettings,
};
pub use storage::{AzureSettings, GcsSettings, S3Settings, StorageSettings};
pub use yaml::Yaml;
