//! `pgtide server audit`: read-only queries of `pg_settings` and `pg_hba_file_rules`,
//! compared with what `server hints` recommends. A table of setting / current / recommended
//! / verdict (OK, CHANGE, REVIEW). What the role may not read is reported, with the role
//! that grants it, and the rest is audited. Exit 1 when anything needs a CHANGE.

use std::net::IpAddr;
use std::process::ExitCode;

use clap::{ArgMatches, Command};
use pgtide::{Pool, sqlx};
use serde_json::json;

use super::recommend::{ClientAddress, Recommendation, Rule, Tls};
use crate::failure::CommandResult;
use crate::output::{Format, format_arg, print_json};
use crate::project::Project;

/// The `server audit` subcommand.
pub fn command() -> Command {
    super::shared_args(
        Command::new("audit")
            .about("compare the server's settings and pg_hba.conf rules with the hints (read-only); exit 1 when something needs a change")
            .after_help("Reads pg_settings (some settings need pg_read_all_settings) and pg_hba_file_rules (superuser);\nwhat the role cannot read is marked REVIEW and named, the rest is audited.\n\nExamples:\n  pgtide server audit --instances 4\n  pgtide server audit --profile prod --format json"),
    )
    .arg(format_arg())
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Setting name, or `pg_hba.conf`.
    pub setting: String,
    /// What the server has (or why it is unknown).
    pub current: String,
    /// What the hints recommend.
    pub recommended: String,
    /// OK, CHANGE or REVIEW.
    pub verdict: &'static str,
    /// Why, when not OK.
    pub note: String,
}

/// Audits the server.
pub fn run(m: &ArgMatches) -> CommandResult {
    let project = Project::from_matches(m)?;
    let config = project.load()?;
    let instances = *m.get_one::<u32>("instances").unwrap_or(&1);
    let address = m.get_one::<String>("client-address").map(String::as_str);
    let rec = Recommendation::new(&config, instances, address)?;
    let rows = crate::commands::runtime()?.block_on(audit(&config, &rec))?;
    let changes = rows.iter().filter(|r| r.verdict == "CHANGE").count();
    match Format::from_matches(m) {
        Format::Text => print_table(&rows),
        Format::Json => print_json(&json!({
            "rows": rows.iter().map(|r| json!({
                "setting": r.setting, "current": r.current, "recommended": r.recommended,
                "verdict": r.verdict, "note": r.note,
            })).collect::<Vec<_>>(),
            "changes": changes,
        })),
    }
    Ok(if changes == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_table(rows: &[Row]) {
    let headers = ("SETTING", "CURRENT", "RECOMMENDED", "VERDICT");
    let w0 = rows
        .iter()
        .map(|r| r.setting.len())
        .chain([headers.0.len()])
        .max()
        .unwrap_or(0);
    let w1 = rows
        .iter()
        .map(|r| r.current.len())
        .chain([headers.1.len()])
        .max()
        .unwrap_or(0);
    let w2 = rows
        .iter()
        .map(|r| r.recommended.len())
        .chain([headers.2.len()])
        .max()
        .unwrap_or(0);
    crate::outln!(
        "{:w0$}  {:w1$}  {:w2$}  {}",
        headers.0,
        headers.1,
        headers.2,
        headers.3
    );
    for r in rows {
        crate::outln!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            r.setting,
            r.current,
            r.recommended,
            r.verdict
        );
    }
    let notes: Vec<&Row> = rows.iter().filter(|r| !r.note.is_empty()).collect();
    if !notes.is_empty() {
        crate::outln!();
        for r in notes {
            crate::outln!("{} {}: {}", r.verdict, r.setting, r.note);
        }
    }
}

/// Reads the server's state and compares.
async fn audit(config: &pgtide::config::Config, rec: &Recommendation) -> pgtide::Result<Vec<Row>> {
    let pool = Pool::connect(config).await?;
    let mut conn = pool.acquire().await?;
    let (role, superuser, tls): (String, bool, bool) = sqlx::query_as(
        "SELECT current_user::text, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), \
         COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
    )
    .fetch_one(&mut *conn)
    .await?;
    let names: Vec<String> = rec
        .settings
        .iter()
        .map(|s| s.name.to_string())
        .chain(["hba_file".to_string()])
        .collect();
    let visible: Vec<(String, String)> =
        sqlx::query_as("SELECT name, setting FROM pg_settings WHERE name = ANY($1)")
            .bind(&names)
            .fetch_all(&mut *conn)
            .await?;
    let hidden_note = format!(
        "role `{role}` cannot read this setting: grant it pg_read_all_settings (GRANT pg_read_all_settings TO \"{role}\") or audit as a superuser"
    );
    let mut rows = Vec::new();
    for s in &rec.settings {
        let current = visible
            .iter()
            .find(|(n, _)| n == s.name)
            .map(|(_, v)| v.clone());
        let Some(current) = current else {
            rows.push(Row {
                setting: s.name.into(),
                current: "(not readable)".into(),
                recommended: s.value.clone(),
                verdict: "REVIEW",
                note: hidden_note.clone(),
            });
            continue;
        };
        let (verdict, note) = judge(&s.rule, &current, &s.why);
        rows.push(Row {
            setting: s.name.into(),
            current: if current.is_empty() {
                "(empty)".into()
            } else {
                current
            },
            recommended: s.value.clone(),
            verdict,
            note,
        });
    }

    let hba_file = visible
        .iter()
        .find(|(n, _)| n == "hba_file")
        .map(|(_, v)| v.clone());
    let rules: Result<Vec<HbaRow>, sqlx::Error> = sqlx::query_as(
        "SELECT line_number, type, database, user_name, address, netmask, auth_method, options, error \
         FROM pg_hba_file_rules ORDER BY line_number",
    )
    .fetch_all(&mut *conn)
    .await;
    let rules = rules.map(|rows| rows.into_iter().map(HbaRule::from).collect::<Vec<_>>());
    let recommended = rec.hba_line();
    match rules {
        Ok(rules) => rows.push(judge_hba(&rules, rec, tls, &recommended, hba_file.as_deref())),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => rows.push(Row {
            setting: "pg_hba.conf".into(),
            current: "(not readable)".into(),
            recommended,
            verdict: "REVIEW",
            note: format!(
                "role `{role}` cannot read pg_hba_file_rules{}: it needs superuser (or, granted by a superuser, SELECT on pg_hba_file_rules and EXECUTE on pg_hba_file_rules()); check pg_hba.conf{} by hand",
                if superuser { "" } else { " (not a superuser)" },
                hba_file.map(|f| format!(" ({f})")).unwrap_or_default()
            ),
        }),
        Err(e) => return Err(e.into()),
    }
    drop(conn);
    pool.close().await;
    Ok(rows)
}

/// Judges one postgresql.conf value.
fn judge(rule: &Rule, current: &str, why: &str) -> (&'static str, String) {
    let ok = match rule {
        Rule::AtLeast(n) => current.trim().parse::<u64>().is_ok_and(|c| c >= *n),
        Rule::Equals(v) => current.trim().eq_ignore_ascii_case(v),
        Rule::Present => !current.trim().is_empty(),
        Rule::TlsAtLeast(min) => {
            let order = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
            let rank = |v: &str| order.iter().position(|o| o.eq_ignore_ascii_case(v.trim()));
            matches!((rank(current), rank(min)), (Some(c), Some(m)) if c >= m)
        }
    };
    if ok {
        ("OK", String::new())
    } else {
        ("CHANGE", why.to_string())
    }
}

/// A row of `pg_hba_file_rules`, as read.
type HbaRow = (
    Option<i32>,
    Option<String>,
    Option<Vec<String>>,
    Option<Vec<String>>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Vec<String>>,
    Option<String>,
);

impl From<HbaRow> for HbaRule {
    fn from(
        (line_number, r#type, database, user_name, address, netmask, auth_method, options, error): HbaRow,
    ) -> Self {
        Self {
            line_number,
            r#type,
            database,
            user_name,
            address,
            netmask,
            auth_method,
            options,
            error,
        }
    }
}

/// A row of `pg_hba_file_rules`.
#[derive(Debug)]
struct HbaRule {
    line_number: Option<i32>,
    r#type: Option<String>,
    database: Option<Vec<String>>,
    user_name: Option<Vec<String>>,
    address: Option<String>,
    netmask: Option<String>,
    auth_method: Option<String>,
    options: Option<Vec<String>>,
    error: Option<String>,
}

impl HbaRule {
    fn line(&self) -> String {
        let list = |v: &Option<Vec<String>>| v.as_ref().map(|v| v.join(",")).unwrap_or_default();
        let mut parts = vec![
            self.r#type.clone().unwrap_or_default(),
            list(&self.database),
            list(&self.user_name),
        ];
        if let Some(a) = &self.address {
            parts.push(match self.netmask.as_deref().and_then(prefix_len) {
                Some(bits) => format!("{a}/{bits}"),
                None => a.clone(),
            });
        }
        parts.push(self.auth_method.clone().unwrap_or_default());
        parts.extend(self.options.clone().unwrap_or_default());
        parts.join("  ")
    }

    /// Whether the server would pick this rule for the client; `None` when it cannot be told
    /// (host names, groups).
    fn matches(&self, rec: &Recommendation, tls: bool) -> Option<bool> {
        let listed = |v: &Option<Vec<String>>, name: &str, extra: &[&str]| {
            v.as_ref().is_some_and(|v| {
                v.iter()
                    .any(|x| x == name || x == "all" || extra.contains(&x.as_str()))
            })
        };
        let kind = self.r#type.as_deref().unwrap_or_default();
        let kind_ok = match (&rec.address, kind) {
            (ClientAddress::Socket, "local") => true,
            (ClientAddress::Socket, _) | (_, "local") => false,
            (_, "host") => true,
            (_, "hostssl") => tls,
            (_, "hostnossl") => !tls,
            _ => false,
        };
        if !kind_ok
            || !listed(&self.database, &rec.database, &[])
            || !listed(&self.user_name, &rec.user, &[])
        {
            return Some(false);
        }
        if kind == "local" {
            return Some(true);
        }
        let ClientAddress::Net(client, bits) = rec.address else {
            return None;
        };
        match (self.address.as_deref(), self.netmask.as_deref()) {
            (Some("all"), _) => Some(true),
            (Some(addr), Some(mask)) => {
                let (Ok(addr), Ok(mask)) = (addr.parse::<IpAddr>(), mask.parse::<IpAddr>()) else {
                    return None;
                };
                let rule_bits = prefix_len(&mask.to_string())?;
                Some(rule_bits <= u32::from(bits) && same_network(client, addr, mask))
            }
            _ => None,
        }
    }
}

fn same_network(a: IpAddr, b: IpAddr, mask: IpAddr) -> bool {
    match (a, b, mask) {
        (IpAddr::V4(a), IpAddr::V4(b), IpAddr::V4(m)) => {
            u32::from(a) & u32::from(m) == u32::from(b) & u32::from(m)
        }
        (IpAddr::V6(a), IpAddr::V6(b), IpAddr::V6(m)) => {
            u128::from(a) & u128::from(m) == u128::from(b) & u128::from(m)
        }
        _ => false,
    }
}

fn prefix_len(mask: &str) -> Option<u32> {
    match mask.parse::<IpAddr>().ok()? {
        IpAddr::V4(m) => Some(u32::from(m).count_ones()),
        IpAddr::V6(m) => Some(u128::from(m).count_ones()),
    }
}

/// The rule the server would use for this client (the first that matches), judged.
fn judge_hba(
    rules: &[HbaRule],
    rec: &Recommendation,
    tls: bool,
    recommended: &str,
    hba_file: Option<&str>,
) -> Row {
    let setting = |line: Option<i32>| match (hba_file, line) {
        (_, Some(n)) => format!("pg_hba.conf:{n}"),
        _ => "pg_hba.conf".into(),
    };
    if let Some(bad) = rules.iter().find(|r| r.error.is_some()) {
        return Row {
            setting: setting(bad.line_number),
            current: bad.line(),
            recommended: recommended.into(),
            verdict: "CHANGE",
            note: format!(
                "the file has an error, the server keeps its previous rules: {}",
                bad.error.clone().unwrap_or_default()
            ),
        };
    }
    for rule in rules {
        match rule.matches(rec, tls) {
            Some(false) => continue,
            None => {
                return Row {
                    setting: setting(rule.line_number),
                    current: rule.line(),
                    recommended: recommended.into(),
                    verdict: "REVIEW",
                    note: "this rule may apply to the client (a host name, group or samenet): check it by hand".into(),
                };
            }
            Some(true) => {}
        }
        let method = rule.auth_method.as_deref().unwrap_or_default();
        let options = rule.options.clone().unwrap_or_default();
        let kind = rule.r#type.as_deref().unwrap_or_default();
        let mut problems = Vec::new();
        match method {
            "scram-sha-256" => {}
            "cert" => {}
            "trust" => problems
                .push("`trust` lets anyone who reaches the port in without a password".to_string()),
            "md5" | "password" => problems.push(format!(
                "`{method}`: use scram-sha-256 (and password_encryption = scram-sha-256)"
            )),
            "reject" => problems.push("the first matching rule rejects this client".into()),
            other => problems.push(format!("`{other}` authentication: check it is intended")),
        }
        if rec.tls == Tls::Required && kind == "host" {
            problems.push("`host` also accepts plain connections: `hostssl` makes the server require TLS as the client does".into());
        }
        let wants_cert = rec.tls == Tls::Required && rec.client_cert;
        if wants_cert && method != "cert" && !options.iter().any(|o| o == "clientcert=verify-full")
        {
            problems.push("the client presents a certificate, but the rule does not verify it: add clientcert=verify-full".into());
        }
        let unusual = !matches!(
            method,
            "scram-sha-256" | "trust" | "md5" | "password" | "reject" | "cert"
        );
        return Row {
            setting: setting(rule.line_number),
            current: rule.line(),
            recommended: recommended.into(),
            verdict: if problems.is_empty() {
                "OK"
            } else if unusual {
                "REVIEW"
            } else {
                "CHANGE"
            },
            note: problems.join("; "),
        };
    }
    Row {
        setting: "pg_hba.conf".into(),
        current: "(no rule matches this client)".into(),
        recommended: recommended.into(),
        verdict: "CHANGE",
        note: "the server would refuse this client: add the recommended line".into(),
    }
}
