//! A session's limits and settings as PostgreSQL receives them: in the startup packet, or
//! as `SET LOCAL` behind PgBouncer (`crate::pgbouncer`).

use std::time::Duration;

use super::SessionSettings;

/// PostgreSQL's largest session timeout: the GUCs are `int` milliseconds.
pub(crate) const MAX_SESSION_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

/// `d` in the whole milliseconds PostgreSQL is sent: rounded up, so a sub-millisecond
/// timeout does not become `0` ("no limit").
pub(crate) fn whole_millis(d: Duration) -> u128 {
    (d.as_millis() + u128::from(!d.subsec_nanos().is_multiple_of(1_000_000))).max(1)
}

/// A duration as a PostgreSQL setting value (`"200ms"`), see [`whole_millis`].
pub(crate) fn millis(d: Duration) -> String {
    format!("{}ms", whole_millis(d))
}

/// The session settings as `(name, value)` startup options.
pub(crate) fn startup_settings(session: &SessionSettings) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in [
        ("statement_timeout", session.statement_timeout),
        ("lock_timeout", session.lock_timeout),
        (
            "idle_in_transaction_session_timeout",
            session.idle_in_transaction_session_timeout,
        ),
    ] {
        if let Some(value) = value {
            // Defensive: validation refuses larger values; clamped rather than have the
            // server refuse every connection with a FATAL.
            out.push((name.to_owned(), millis(value.min(MAX_SESSION_TIMEOUT))));
        }
    }
    if let Some(path) = &session.search_path {
        out.push(("search_path".to_owned(), path.clone()));
    }
    for (name, value) in &session.extra {
        out.push((name.clone(), value.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_up_and_never_zero() {
        assert_eq!(millis(Duration::from_millis(200)), "200ms");
        assert_eq!(millis(Duration::from_micros(1500)), "2ms");
        assert_eq!(millis(Duration::from_nanos(1)), "1ms");
    }

    #[test]
    fn session_timeouts_are_clamped_to_the_server_limit() {
        let session = SessionSettings {
            statement_timeout: Some(Duration::from_secs(10 * 365 * 24 * 3600)),
            ..SessionSettings::default()
        };
        let settings = startup_settings(&session);
        assert_eq!(
            settings[0],
            ("statement_timeout".to_owned(), "2147483647ms".to_owned())
        );
    }
}
