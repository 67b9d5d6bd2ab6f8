//! Cron schedules as upstream's CronJob controller reads them (`robfig/cron/v3`'s
//! `ParseStandard`): five fields (minute hour day-of-month month day-of-week) or a
//! `@descriptor` (including `@every <duration>`), evaluated in a time zone with `jiff`.
//!
//! Matching follows robfig: a field is a set of values; when either day field is a bare `*`
//! (or `?`), a day matches only if both day fields match, otherwise if either does.

use std::time::Duration;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// Why a schedule or time zone could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The schedule text is malformed (robfig's wording).
    #[error("{0}")]
    Parse(String),
    /// The time zone is not known to the zone database.
    #[error("unknown time zone {0}")]
    UnknownTimeZone(String),
}

/// The bit robfig sets on a field written as `*` or `?` (without a step > 1).
const STAR: u64 = 1 << 63;

/// One field's bounds and names.
struct Bounds {
    min: u32,
    max: u32,
    names: &'static [(&'static str, u32)],
}

const MINUTES: Bounds = Bounds { min: 0, max: 59, names: &[] };
const HOURS: Bounds = Bounds { min: 0, max: 23, names: &[] };
const DOM: Bounds = Bounds { min: 1, max: 31, names: &[] };
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1), ("feb", 2), ("mar", 3), ("apr", 4), ("may", 5), ("jun", 6),
        ("jul", 7), ("aug", 8), ("sep", 9), ("oct", 10), ("nov", 11), ("dec", 12),
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[("sun", 0), ("mon", 1), ("tue", 2), ("wed", 3), ("thu", 4), ("fri", 5), ("sat", 6)],
};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Field sets, one bit per allowed value (bit 63 marks a bare `*`).
    Fields {
        /// Allowed minutes.
        minute: u64,
        /// Allowed hours.
        hour: u64,
        /// Allowed days of the month.
        dom: u64,
        /// Allowed months.
        month: u64,
        /// Allowed weekdays (0 = Sunday).
        dow: u64,
    },
    /// `@every <duration>`: a constant delay, rounded down to whole seconds (at least 1 s).
    Every(Duration),
}

/// Parses a schedule like `*/5 * * * *`, `0 9 * * mon-fri` or `@hourly`.
pub fn parse(spec: &str) -> Result<Schedule, ScheduleError> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(ScheduleError::Parse("empty spec string".into()));
    }
    if spec.starts_with('@') {
        return parse_descriptor(spec);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(ScheduleError::Parse(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" "))));
    }
    Ok(Schedule::Fields {
        minute: parse_field(fields[0], &MINUTES)?,
        hour: parse_field(fields[1], &HOURS)?,
        dom: parse_field(fields[2], &DOM)?,
        month: parse_field(fields[3], &MONTHS)?,
        dow: parse_field(fields[4], &DOW)?,
    })
}

fn fields_of(spec: &str) -> Schedule {
    parse(spec).expect("descriptor expansions are valid")
}

fn parse_descriptor(d: &str) -> Result<Schedule, ScheduleError> {
    Ok(match d {
        "@yearly" | "@annually" => fields_of("0 0 1 1 *"),
        "@monthly" => fields_of("0 0 1 * *"),
        "@weekly" => fields_of("0 0 * * 0"),
        "@daily" | "@midnight" => fields_of("0 0 * * *"),
        "@hourly" => fields_of("0 * * * *"),
        _ => {
            let Some(dur) = d.strip_prefix("@every ") else {
                return Err(ScheduleError::Parse(format!("unrecognized descriptor: {d}")));
            };
            let parsed = parse_go_duration(dur.trim())
                .ok_or_else(|| ScheduleError::Parse(format!("failed to parse duration {d}: time: invalid duration \"{dur}\"")))?;
            Schedule::Every(Duration::from_secs(parsed.as_secs().max(1)))
        }
    })
}

/// Go's `time.ParseDuration` for non-negative values.
fn parse_go_duration(s: &str) -> Option<Duration> {
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest.bytes().take_while(|b| *b != b'.' && !b.is_ascii_digit()).count();
        let unit = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[u..];
        total += value * unit;
    }
    Some(Duration::from_secs_f64(total))
}

fn parse_field(field: &str, b: &Bounds) -> Result<u64, ScheduleError> {
    let mut bits = 0;
    for expr in field.split(',') {
        bits |= parse_range(expr, b).map_err(ScheduleError::Parse)?;
    }
    Ok(bits)
}

fn parse_range(expr: &str, r: &Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let star = low_and_high[0] == "*" || low_and_high[0] == "?";
    let (start, mut end) = if star {
        (r.min, r.max)
    } else {
        let start = parse_value(low_and_high[0], r)?;
        match low_and_high.len() {
            1 => (start, start),
            2 => (start, parse_value(low_and_high[1], r)?),
            _ => return Err(format!("too many hyphens: {expr}")),
        }
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            if low_and_high.len() == 1 {
                end = r.max;
            }
            parse_int(range_and_step[1])?
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    check_range(expr, r, start, end, step)?;
    let mut bits = 0u64;
    let mut v = start;
    while v <= end {
        bits |= 1 << v;
        v += step;
    }
    Ok(if star && step == 1 { bits | STAR } else { bits })
}

fn check_range(expr: &str, r: &Bounds, start: u32, end: u32, step: u32) -> Result<(), String> {
    if start < r.min {
        return Err(format!("beginning of range ({start}) below minimum ({}): {expr}", r.min));
    }
    if end > r.max {
        return Err(format!("end of range ({end}) above maximum ({}): {expr}", r.max));
    }
    if start > end {
        return Err(format!("beginning of range ({start}) beyond end of range ({end}): {expr}"));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

fn parse_value(expr: &str, r: &Bounds) -> Result<u32, String> {
    let lower = expr.to_lowercase();
    match r.names.iter().find(|(n, _)| *n == lower) {
        Some((_, v)) => Ok(*v),
        None => parse_int(expr),
    }
}

fn parse_int(expr: &str) -> Result<u32, String> {
    expr.parse::<i64>()
        .map_err(|_| format!("failed to parse int from {expr}: strconv.Atoi: parsing \"{expr}\": invalid syntax"))
        .and_then(|n| u32::try_from(n).map_err(|_| format!("negative number ({n}) not allowed: {expr}")))
}

/// Loads a time zone by IANA name; `None` and `""` mean UTC (upstream uses the controller's
/// local zone, which is UTC on every rkube machine).
pub fn time_zone(name: Option<&str>) -> Result<TimeZone, ScheduleError> {
    match name {
        None | Some("") | Some("UTC") | Some("Etc/UTC") => Ok(TimeZone::UTC),
        Some(n) => TimeZone::get(n).map_err(|_| ScheduleError::UnknownTimeZone(n.to_string())),
    }
}

fn has(bits: u64, v: i8) -> bool {
    bits & (1u64 << v) != 0
}

impl Schedule {
    /// The first activation strictly after `after`, evaluated in `tz`; `None` when there is
    /// none within five years (e.g. `0 0 30 2 *`).
    pub fn next(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        match self {
            Schedule::Every(d) => {
                let secs = after.as_second() + d.as_secs() as i64;
                Timestamp::from_second(secs).ok()
            }
            Schedule::Fields { .. } => self.next_fields(after, tz),
        }
    }

    fn next_fields(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        // Start at the next whole minute after `after`, in civil time of the zone.
        let local = after.to_zoned(tz.clone()).datetime();
        let mut t = local.with().second(0).subsec_nanosecond(0).build().ok()?.checked_add(1.minute()).ok()?;
        let limit = t.year() + 5;
        while t.year() <= limit {
            match self.advance(t) {
                None => {
                    let zoned = tz.to_ambiguous_zoned(t).compatible().ok()?;
                    let ts = zoned.timestamp();
                    if ts > after {
                        return Some(ts);
                    }
                    t = t.checked_add(1.minute()).ok()?;
                }
                Some(next) => t = next,
            }
        }
        None
    }

    /// `None` if `t` matches; else the next civil time worth checking.
    fn advance(&self, t: DateTime) -> Option<DateTime> {
        let Schedule::Fields { minute, hour, month, .. } = *self else { return None };
        if !has(month, t.month()) {
            let first = t.date().first_of_month().to_datetime(jiff::civil::Time::midnight());
            return Some(first.checked_add(1.month()).unwrap_or(t));
        }
        if !self.day_matches(t) {
            let start = t.date().to_datetime(jiff::civil::Time::midnight());
            return Some(start.checked_add(1.day()).unwrap_or(t));
        }
        if !has(hour, t.hour()) {
            let start = t.with().minute(0).build().unwrap_or(t);
            return Some(start.checked_add(1.hour()).unwrap_or(t));
        }
        if !has(minute, t.minute()) {
            return Some(t.checked_add(1.minute()).unwrap_or(t));
        }
        None
    }

    fn day_matches(&self, t: DateTime) -> bool {
        let Schedule::Fields { dom, dow, .. } = *self else { return true };
        let dom_match = has(dom, t.day());
        let dow_match = has(dow, t.weekday().to_sunday_zero_offset());
        if dom & STAR != 0 || dow & STAR != 0 {
            dom_match && dow_match
        } else {
            dom_match || dow_match
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn next_utc(spec: &str, after: &str) -> String {
        parse(spec).unwrap().next(ts(after), &TimeZone::UTC).unwrap().to_string()
    }

    #[test]
    fn every_minute_and_steps() {
        assert_eq!(next_utc("*/1 * * * *", "2024-01-01T00:00:00Z"), "2024-01-01T00:01:00Z");
        assert_eq!(next_utc("* * * * *", "2024-01-01T00:00:30Z"), "2024-01-01T00:01:00Z");
        assert_eq!(next_utc("*/15 * * * *", "2024-01-01T00:16:00Z"), "2024-01-01T00:30:00Z");
        assert_eq!(next_utc("5/20 * * * *", "2024-01-01T00:26:00Z"), "2024-01-01T00:45:00Z");
        assert_eq!(next_utc("0 0 * * *", "2024-12-31T23:59:59Z"), "2025-01-01T00:00:00Z");
    }

    #[test]
    fn names_ranges_and_descriptors() {
        // 2024-01-06 is a Saturday: the next weekday 09:00 is Monday the 8th.
        assert_eq!(next_utc("0 9 * * mon-fri", "2024-01-06T10:00:00Z"), "2024-01-08T09:00:00Z");
        assert_eq!(next_utc("0 0 1 jan *", "2024-02-01T00:00:00Z"), "2025-01-01T00:00:00Z");
        assert_eq!(next_utc("@hourly", "2024-01-01T10:30:00Z"), "2024-01-01T11:00:00Z");
        assert_eq!(next_utc("@weekly", "2024-01-01T00:00:00Z"), "2024-01-07T00:00:00Z");
        assert_eq!(next_utc("@every 90s", "2024-01-01T00:00:00Z"), "2024-01-01T00:01:30Z");
    }

    #[test]
    fn day_fields_or_unless_star() {
        // Day 13 OR Friday: 2024-09-06 is a Friday before the 13th.
        assert_eq!(next_utc("0 0 13 * 5", "2024-09-01T00:00:00Z"), "2024-09-06T00:00:00Z");
        // With dow=*, only the 13th.
        assert_eq!(next_utc("0 0 13 * *", "2024-09-01T00:00:00Z"), "2024-09-13T00:00:00Z");
        // Feb 30 never happens.
        assert!(parse("0 0 30 2 *").unwrap().next(ts("2024-01-01T00:00:00Z"), &TimeZone::UTC).is_none());
    }

    #[test]
    fn time_zones() {
        let tz = time_zone(Some("America/New_York")).unwrap();
        // 09:00 in New York in January is 14:00 UTC.
        let next = parse("0 9 * * *").unwrap().next(ts("2024-01-10T00:00:00Z"), &tz).unwrap();
        assert_eq!(next.to_string(), "2024-01-10T14:00:00Z");
        // In July (EDT) it is 13:00 UTC.
        let next = parse("0 9 * * *").unwrap().next(ts("2024-07-10T00:00:00Z"), &tz).unwrap();
        assert_eq!(next.to_string(), "2024-07-10T13:00:00Z");
        assert_eq!(time_zone(Some("Mars/Olympus")), Err(ScheduleError::UnknownTimeZone("Mars/Olympus".into())));
    }

    #[test]
    fn errors_use_robfig_wording() {
        assert_eq!(parse("* * *").unwrap_err().to_string(), "expected exactly 5 fields, found 3: [* * *]");
        assert_eq!(parse("61 * * * *").unwrap_err().to_string(), "end of range (61) above maximum (59): 61");
        assert_eq!(parse("@often").unwrap_err().to_string(), "unrecognized descriptor: @often");
        assert!(parse("*/0 * * * *").is_err());
    }
}
