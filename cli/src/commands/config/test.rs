//! `pgtide config test`: connects through a pool as the application would, and reports what
//! the server actually gives this configuration. Exit 1, with the error kind and what to do,
//! when anything fails.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{ArgMatches, Command};
use pgtide::config::Config;
use pgtide::{ErrorKind, Pool, sqlx};
use serde_json::json;

use crate::failure::CommandResult;
use crate::output::{Format, format_arg, print_json};
use crate::project::{ConfigFailure, Project};

/// `SELECT 1` round trips timed for the latency figure.
const PINGS: usize = 5;

/// The `config test` subcommand.
pub fn command() -> Command {
    Command::new("test")
        .about("connect through a pool and report server version, TLS, latency and session limits; exit 1 on failure")
        .after_help("Checks: the pool connects (with the configured retry), SELECT 1 runs, min_size+1\nconnections (at most max_size) can be held at once, and the session settings in force.\n\nExamples:\n  pgtide config test\n  pgtide config test --profile prod --format json")
        .arg(format_arg())
}

/// What the server reported.
struct Report {
    server_version: String,
    tls: Option<(String, String)>,
    latency: Vec<Duration>,
    held: u32,
    session: Vec<(String, String, String)>,
    config: Config,
}

/// Runs the checks.
pub fn run(m: &ArgMatches) -> CommandResult {
    let format = Format::from_matches(m);
    let project = Project::from_matches(m)?;
    let outcome = match project.load() {
        Ok(config) => crate::commands::runtime()?
            .block_on(check(config))
            .map_err(|e| (e.kind(), e.to_string())),
        Err(e) => match e.downcast_ref::<ConfigFailure>() {
            Some(f) => Err((ErrorKind::Config, f.to_string())),
            None => return Err(e),
        },
    };
    match outcome {
        Ok(report) => {
            print_report(&report, format);
            Ok(ExitCode::SUCCESS)
        }
        Err((kind, message)) => {
            let advice = advice(kind);
            match format {
                Format::Text => {
                    eprintln!("pgtide: config test failed: {message}");
                    eprintln!("  error kind: {kind}");
                    eprintln!("  what to do: {advice}");
                }
                Format::Json => print_json(&json!({
                    "ok": false,
                    "kind": kind.as_str(),
                    "error": message,
                    "advice": advice,
                })),
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// What the user can do about a failure of `kind`.
fn advice(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Config => {
            "fix the key the message names (`pgtide config show` prints every value and its source)"
        }
        ErrorKind::Auth => {
            "check `user` and `password` (does its secret:// reference resolve to the right value?), and that pg_hba.conf has a line for this client (`pgtide server hints`)"
        }
        ErrorKind::Timeout | ErrorKind::Transient => {
            "check that the server runs and is reachable at `host`:`port` from here (firewall, listen_addresses), and that it has free connection slots; raise `connect_timeout` on slow networks"
        }
        ErrorKind::Permanent => {
            "the server refused the request: check that `database` exists and the role may connect to it, and the session `settings`"
        }
        _ => "see the message above",
    }
}

async fn check(config: Config) -> pgtide::Result<Report> {
    let pool = Pool::connect(&config).await?;
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .map_err(pgtide::Error::from)?;
    debug_assert_eq!(one, 1);

    let size = config.pool().size;
    let want = (size.min() + 1).min(size.max());
    let mut held = Vec::new();
    for _ in 0..want {
        held.push(pool.acquire().await?);
    }
    let conn = &mut *held[0];
    let mut latency = Vec::with_capacity(PINGS);
    for _ in 0..PINGS {
        let started = Instant::now();
        sqlx::query("SELECT 1")
            .execute(&mut *conn)
            .await
            .map_err(pgtide::Error::from)?;
        latency.push(started.elapsed());
    }
    latency.sort();
    let server_version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut *conn)
        .await
        .map_err(pgtide::Error::from)?;
    let tls: Option<(bool, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_optional(&mut *conn)
            .await
            .map_err(pgtide::Error::from)?;
    let tls = tls
        .filter(|(ssl, _, _)| *ssl)
        .map(|(_, v, c)| (v.unwrap_or_default(), c.unwrap_or_default()));

    let s = config.session();
    let fmt = |d: Option<Duration>| match d.map(|d| d.as_millis()) {
        None => "server default".to_string(),
        Some(ms) if ms % 1000 == 0 => format!("{}s", ms / 1000),
        Some(ms) => format!("{ms}ms"),
    };
    let mut expected: Vec<(String, String)> = vec![
        ("statement_timeout".into(), fmt(s.statement_timeout)),
        ("lock_timeout".into(), fmt(s.lock_timeout)),
        (
            "idle_in_transaction_session_timeout".into(),
            fmt(s.idle_in_transaction_session_timeout),
        ),
        (
            "search_path".into(),
            s.search_path
                .clone()
                .unwrap_or_else(|| "server default".into()),
        ),
        (
            "application_name".into(),
            config.connection().application_name.clone(),
        ),
    ];
    expected.extend(s.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut session = Vec::new();
    for (name, configured) in expected {
        let value: Option<String> = sqlx::query_scalar("SELECT current_setting($1, true)")
            .bind(&name)
            .fetch_one(&mut *conn)
            .await
            .map_err(pgtide::Error::from)?;
        session.push((
            name,
            value.unwrap_or_else(|| "(unknown setting)".into()),
            configured,
        ));
    }
    let held_count = held.len() as u32;
    drop(held);
    pool.close().await;
    Ok(Report {
        server_version,
        tls,
        latency,
        held: held_count,
        session,
        config,
    })
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

fn print_report(r: &Report, format: Format) {
    let size = r.config.pool().size;
    let median = r.latency[r.latency.len() / 2];
    let min = r.latency[0];
    match format {
        Format::Text => {
            crate::outln!("ok: connected to {}", r.config);
            crate::outln!("server version:    {}", r.server_version);
            match &r.tls {
                Some((version, cipher)) => {
                    crate::outln!("tls:               yes ({version}, {cipher})")
                }
                None => crate::outln!(
                    "tls:               no (sslmode {})",
                    r.config.tls().mode.as_str()
                ),
            }
            crate::outln!(
                "round trip:        {:.2} ms median, {:.2} ms min ({PINGS} x SELECT 1)",
                ms(median),
                ms(min)
            );
            crate::outln!(
                "pool:              held {} connections at once (min_size {}, max_size {})",
                r.held,
                size.min(),
                size.max()
            );
            crate::outln!("session limits in force (server value; configured):");
            let width = r.session.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
            for (name, value, configured) in &r.session {
                crate::outln!("  {name:width$}  {value}  ({configured})");
            }
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "connected_to": r.config.to_string(),
            "server_version": r.server_version,
            "tls": r.tls.as_ref().map(|(v, c)| json!({"version": v, "cipher": c})),
            "round_trip_ms": {"median": ms(median), "min": ms(min), "samples": PINGS},
            "connections_held": r.held,
            "pool": {"min_size": size.min(), "max_size": size.max()},
            "session": r.session.iter().map(|(n, v, c)| json!({"name": n, "value": v, "configured": c})).collect::<Vec<_>>(),
        })),
    }
}
