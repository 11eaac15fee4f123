//! Durations as people write them in configuration: `250ms`, `30s`, `5m`, `1h`.

use std::time::Duration;

/// What a duration may look like, for error messages.
pub(crate) const DURATION_FORMS: &str =
    "a number with a unit: \"250ms\", \"30s\", \"5m\" or \"1h\"";

/// Parses `<whole number><unit>` with unit `ms`, `s`, `m` or `h`; spaces around are allowed.
/// A bare number is rejected: `30` could mean seconds (libpq) or milliseconds (PostgreSQL).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let bad = || format!("expected {DURATION_FORMS}, got `{text}`");
    if digits.is_empty() {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let per_unit_ms: u64 = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "" => {
            return Err(format!(
                "expected {DURATION_FORMS}, got `{text}` (a unit is required)"
            ));
        }
        _ => return Err(bad()),
    };
    n.checked_mul(per_unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{text}` is too long a duration"))
}

/// The shortest exact spelling of `d` that [`parse_duration`] reads back.
pub(crate) fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return format!("{}ms", ms);
    }
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
        if ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration(" 5m "), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn rejects_garbage_listing_valid_forms() {
        for bad in ["", "30", "s", "1.5s", "-1s", "30 sec", "1d", "ms30"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(
                err.contains("\"250ms\", \"30s\", \"5m\" or \"1h\""),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn formats_round_trip() {
        for d in [250, 30_000, 300_000, 3_600_000, 1_500] {
            let d = Duration::from_millis(d);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
