//! Values of the typed `global:` keys (semantics.md, "Global conditions"): dates, date-times
//! and times of day always carry a zone; week days never do (decisions D17).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Weekday};

use super::GlobalType;

/// A parsed value of a typed global key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalValue {
    /// `global:date`: a day in a zone.
    Date(NaiveDate, FixedOffset),
    /// `global:date-time`: an instant.
    DateTime(DateTime<FixedOffset>),
    /// `global:time-of-day`: a wall-clock time in a zone.
    TimeOfDay(NaiveTime, FixedOffset),
    /// `global:week-day`.
    WeekDay(Weekday),
}

impl GlobalType {
    /// Parses a value of this type; `Ok(None)` for the untyped keys (environment, groups).
    /// The error says what a valid value looks like.
    pub fn parse_value(self, text: &str) -> Result<Option<GlobalValue>, String> {
        match self {
            GlobalType::Environment | GlobalType::Groups => Ok(None),
            GlobalType::Date => {
                let (date, zone) =
                    split_zone(text).ok_or("a date needs a zone: `2026-05-03Z` or `2026-05-03+01:00`")?;
                let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                    .map_err(|_| "a date is written `YYYY-MM-DD` with a zone, e.g. `2026-05-03Z`")?;
                Ok(Some(GlobalValue::Date(date, zone)))
            }
            GlobalType::DateTime => DateTime::parse_from_rfc3339(text)
                .map(|dt| Some(GlobalValue::DateTime(dt)))
                .map_err(|_| "a date-time is RFC 3339 with a zone, e.g. `2026-05-03T05:00:00+01:00`".to_string()),
            GlobalType::TimeOfDay => {
                let (time, zone) = split_zone(text).ok_or("a time of day needs a zone: `09:00Z` or `09:00+01:00`")?;
                let time = NaiveTime::parse_from_str(time, "%H:%M")
                    .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M:%S"))
                    .map_err(|_| "a time of day is written `HH:MM` with a zone, e.g. `17:30Z`")?;
                Ok(Some(GlobalValue::TimeOfDay(time, zone)))
            }
            GlobalType::WeekDay => {
                let day: Weekday = text.parse().map_err(|_| "a week day is one of `Monday` … `Sunday`")?;
                // chrono also takes "mon"; the language takes full names only.
                if text.len() < 6 {
                    return Err("a week day is one of `Monday` … `Sunday`".to_string());
                }
                Ok(Some(GlobalValue::WeekDay(day)))
            }
        }
    }
}

/// Splits `…Z` or `…±HH:MM` into the value and its zone.
fn split_zone(text: &str) -> Option<(&str, FixedOffset)> {
    if let Some(value) = text.strip_suffix('Z') {
        return Some((value, FixedOffset::east_opt(0)?));
    }
    let at = text.len().checked_sub(6)?;
    let (value, zone) = text.split_at_checked(at)?;
    let sign = match zone.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours: i32 = zone.get(1..3)?.parse().ok()?;
    let minutes: i32 = zone.get(4..6)?.parse().ok()?;
    (zone.as_bytes()[3] == b':').then_some(())?;
    Some((value, FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_are_mandatory_except_for_week_days() {
        assert!(GlobalType::Date.parse_value("2022-05-03Z").unwrap().is_some());
        assert!(GlobalType::Date.parse_value("2022-05-03+01:00").unwrap().is_some());
        assert!(GlobalType::Date.parse_value("2022-05-03").is_err());
        assert!(GlobalType::DateTime.parse_value("2022-05-03T05:00:00+01:00").is_ok());
        assert!(GlobalType::DateTime.parse_value("2022-05-03T05:00:00").is_err());
        assert!(GlobalType::TimeOfDay.parse_value("17:00+01:00").is_ok());
        assert!(GlobalType::TimeOfDay.parse_value("17:00").is_err());
        assert!(GlobalType::TimeOfDay.parse_value("25:00Z").is_err());
        assert_eq!(GlobalType::WeekDay.parse_value("monday"), Ok(Some(GlobalValue::WeekDay(Weekday::Mon))));
        assert!(GlobalType::WeekDay.parse_value("Mon").is_err());
    }
}
