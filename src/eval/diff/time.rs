//! The time of a request, reduced to finitely many cases.
//!
//! `global:date` and `global:date-time` values are instants where a condition may change its
//! truth; `global:time-of-day` and `global:week-day` values change it at fixed seconds of every
//! day (week days at UTC midnight, D17). Every comparison is to the second, so between two
//! consecutive such instants every time condition keeps its truth. Outside the span of the
//! absolute instants, and inside any stretch between two of them, the daily changes repeat
//! with the week: the instants themselves plus the daily changes of the first week after each
//! of them (and of the week before the first) are one moment of every case that exists. The
//! evaluator judges each time condition at each such moment; moments with the same truths are
//! one case.

use chrono::{DateTime, NaiveDate, Utc};

use crate::catalog::GlobalValue;
use crate::eval::Attributes;
use crate::eval::value::{CompiledCondition, Context, Value};

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;

/// One case of the time: an instant in it and the truth of each time condition there.
#[derive(Debug, Clone)]
pub(super) struct Moment {
    pub at: DateTime<Utc>,
    pub truths: Vec<bool>,
}

/// One moment of every case the conditions tell apart.
pub(super) fn moments(conditions: &[&CompiledCondition]) -> Vec<Moment> {
    let mut absolute: Vec<i64> = Vec::new();
    let mut daily: Vec<i64> = Vec::new();
    for value in conditions.iter().flat_map(|c| c.values.iter()) {
        let Value::Typed(typed) = value else { continue };
        match *typed {
            GlobalValue::Date(date, zone) => {
                for day in [Some(date), date.succ_opt()].into_iter().flatten() {
                    absolute.push(midnight(day) - i64::from(zone.local_minus_utc()));
                }
            }
            GlobalValue::DateTime(instant) => absolute.extend([instant.timestamp(), instant.timestamp() + 1]),
            GlobalValue::TimeOfDay(time, zone) => {
                let seconds = i64::from(chrono::Timelike::num_seconds_from_midnight(&time));
                let offset = i64::from(zone.local_minus_utc());
                daily.extend([0, seconds, seconds + 1].map(|s| (s - offset).rem_euclid(DAY)));
            }
            GlobalValue::WeekDay(_) => daily.push(0),
        }
    }
    absolute.sort_unstable();
    absolute.dedup();
    daily.sort_unstable();
    daily.dedup();

    // Stretches over which the absolute conditions hold still, each cut to its first week.
    let stretches: Vec<(i64, i64)> = match (absolute.first(), absolute.last()) {
        (Some(&first), Some(&last)) => std::iter::once((first - WEEK, first))
            .chain(absolute.windows(2).map(|w| (w[0], w[1])))
            .chain(std::iter::once((last, last + WEEK)))
            .collect(),
        _ => vec![(reference(), reference() + WEEK)],
    };
    let mut instants = Vec::new();
    for (start, end) in stretches {
        let end = end.min(start + WEEK);
        instants.push(start);
        for day in start.div_euclid(DAY)..=end.div_euclid(DAY) {
            instants.extend(daily.iter().map(|s| day * DAY + s).filter(|&t| t > start && t < end));
        }
    }

    let mut moments: Vec<Moment> = Vec::new();
    for at in instants.into_iter().filter_map(|t| DateTime::from_timestamp(t, 0)) {
        let context = Context { attributes: Attributes::none(), environment: None, user_id: "", groups: &[], time: at };
        let truths: Vec<bool> = conditions.iter().map(|c| c.evaluate(&context) == crate::eval::Truth::True).collect();
        if !moments.iter().any(|m| m.truths == truths) {
            moments.push(Moment { at, truths });
        }
    }
    moments
}

fn midnight(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp()
}

/// Monday 5 January 2026, 00:00 UTC: the week searched when no condition names a date, and
/// the time of witnesses that no time condition concerns.
pub(super) fn reference() -> i64 {
    midnight(NaiveDate::from_ymd_opt(2026, 1, 5).expect("a valid date"))
}
