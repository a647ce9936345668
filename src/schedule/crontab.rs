//! Five-field Unix crontabs (croner, POSIX day-of-month/day-of-week OR semantics) and IANA
//! timezones (chrono-tz), parsed with errors a person can act on.

use std::str::FromStr;

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// Parses a five-field crontab (`minute hour day-of-month month day-of-week`) or an alias such
/// as `@daily`. Seconds and years are not accepted: Superset's crontabs have five fields.
pub fn parse_crontab(text: &str) -> Result<Cron, String> {
    let trimmed = text.trim();
    let fields = trimmed.split_whitespace().count();
    if !trimmed.starts_with('@') && fields != 5 {
        return Err(format!(
            "`{text}` has {fields} field{}; a crontab has five: minute hour day-of-month month day-of-week",
            if fields == 1 { "" } else { "s" }
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(trimmed)
        .map_err(|e| format!("`{text}` is not a valid crontab: {e}"))
}

/// Parses an IANA timezone name such as `Europe/Berlin`.
pub fn parse_timezone(text: &str) -> Result<chrono_tz::Tz, String> {
    chrono_tz::Tz::from_str(text).map_err(|_| format!("`{text}` is not an IANA timezone name"))
}

/// The IANA name closest to a mistyped one (case-insensitive exact match first).
pub fn closest_timezone(text: &str) -> Option<&'static str> {
    let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    if let Some(exact) = names.clone().find(|n| n.eq_ignore_ascii_case(text)) {
        return Some(exact);
    }
    crate::diagnostic::closest(text, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_five_fields_and_aliases_only() {
        assert!(parse_crontab("0 12 29 2 3").is_ok());
        assert!(parse_crontab("*/5 9 * * 1").is_ok());
        assert!(parse_crontab("@daily").is_ok());
        assert!(
            parse_crontab("0 0 12 * * *")
                .unwrap_err()
                .contains("6 fields")
        );
        assert!(parse_crontab("0 25 * * *").is_err());
        assert!(parse_crontab("every day").is_err());
    }

    #[test]
    fn timezones_with_hints() {
        assert!(parse_timezone("Australia/Lord_Howe").is_ok());
        assert!(parse_timezone("Europe/Berln").is_err());
        assert_eq!(closest_timezone("europe/berlin"), Some("Europe/Berlin"));
        assert_eq!(closest_timezone("Europe/Berln"), Some("Europe/Berlin"));
    }
}
