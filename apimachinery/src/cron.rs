//! CronJob schedules as upstream reads them with `robfig/cron/v3`'s `ParseStandard`: five
//! fields (minute hour day-of-month month day-of-week) or a `@descriptor` (including
//! `@every <duration>`), with an optional `TZ=`/`CRON_TZ=` prefix; errors carry robfig's
//! and Go's wording. The apiserver validates with [`parse`] and the controller-manager
//! evaluates [`Schedule::next`] in a time zone (jiff).
//!
//! Matching follows robfig: a field is a set of values; when either day field is a bare `*`
//! (or `?`), a day matches only if both day fields match, otherwise if either does.

use std::path::Path;
use std::time::Duration;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::validation::go_quote;

/// The bit robfig sets on a field written as `*` or `?` (without a step > 1).
const STAR: u64 = 1 << 63;

/// One field's bounds and names.
struct Bounds {
    min: u64,
    max: u64,
    names: &'static [(&'static str, u64)],
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

/// When a schedule fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timing {
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

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// When it fires.
    pub timing: Timing,
    /// The zone of a `TZ=`/`CRON_TZ=` prefix, which overrides the CronJob's time zone.
    pub zone: Option<String>,
}

/// Parses a schedule like upstream's `ParseCronScheduleWithPanicRecovery`; the error is the
/// message upstream reports.
pub fn parse(spec: &str) -> Result<Schedule, String> {
    if spec.is_empty() {
        return Err("empty spec string".to_string());
    }
    let mut rest = spec;
    let mut zone = None;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let eq = spec.find('=').unwrap_or(0);
        let Some(space) = spec.find(' ') else {
            // Upstream slices with index -1 and recovers from the panic.
            return Err(format!("failed to parse cron schedule {spec}: runtime error: slice bounds out of range [{}:-1]", eq + 1));
        };
        let name = &spec[eq + 1..space];
        load_location(name).map_err(|e| format!("provided bad location {name}: {e}"))?;
        zone = Some(name.to_string());
        rest = spec[space..].trim();
    }
    let timing = if rest.starts_with('@') { parse_descriptor(rest)? } else { parse_fields(rest)? };
    Ok(Schedule { timing, zone })
}

fn parse_fields(spec: &str) -> Result<Timing, String> {
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" ")));
    }
    Ok(Timing::Fields {
        minute: parse_field(fields[0], &MINUTES)?,
        hour: parse_field(fields[1], &HOURS)?,
        dom: parse_field(fields[2], &DOM)?,
        month: parse_field(fields[3], &MONTHS)?,
        dow: parse_field(fields[4], &DOW)?,
    })
}

fn fields_of(spec: &str) -> Timing {
    parse_fields(spec).expect("descriptor expansions are valid")
}

/// `@yearly` and friends, or `@every <duration>`.
fn parse_descriptor(d: &str) -> Result<Timing, String> {
    Ok(match d {
        "@yearly" | "@annually" => fields_of("0 0 1 1 *"),
        "@monthly" => fields_of("0 0 1 * *"),
        "@weekly" => fields_of("0 0 * * 0"),
        "@daily" | "@midnight" => fields_of("0 0 * * *"),
        "@hourly" => fields_of("0 * * * *"),
        _ => {
            let Some(dur) = d.strip_prefix("@every ") else {
                return Err(format!("unrecognized descriptor: {d}"));
            };
            let parsed = parse_go_duration(dur).map_err(|e| format!("failed to parse duration {d}: {e}"))?;
            Timing::Every(Duration::from_secs(parsed.as_secs().max(1)))
        }
    })
}

/// Go's `time.ParseDuration` (negative values count as zero), with Go's error messages.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(s));
    let negative = s.starts_with('-');
    let mut rest = s.strip_prefix(['+', '-']).unwrap_or(s);
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        let value: f64 = rest[..n].parse().map_err(|_| invalid())?;
        rest = &rest[n..];
        let u = rest.bytes().take_while(|b| *b != b'.' && !b.is_ascii_digit()).count();
        let unit = match &rest[..u] {
            "" => return Err(format!("time: missing unit in duration {}", go_quote(s))),
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => return Err(format!("time: unknown unit {} in duration {}", go_quote(other), go_quote(s))),
        };
        rest = &rest[u..];
        total += value * unit;
    }
    Ok(if negative { Duration::ZERO } else { Duration::from_secs_f64(total) })
}

fn parse_field(field: &str, b: &Bounds) -> Result<u64, String> {
    let mut bits = 0;
    for expr in field.split(',') {
        bits |= parse_range(expr, b)?;
    }
    Ok(bits)
}

/// One range expression of a field: `*`, `?`, `N`, `N-M`, each optionally `/step`.
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
            let step = parse_int(range_and_step[1])?;
            if low_and_high.len() == 1 {
                end = r.max;
            }
            step
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

fn check_range(expr: &str, r: &Bounds, start: u64, end: u64, step: u64) -> Result<(), String> {
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

fn parse_value(expr: &str, r: &Bounds) -> Result<u64, String> {
    let lower = expr.to_lowercase();
    match r.names.iter().find(|(n, _)| *n == lower) {
        Some((_, v)) => Ok(*v),
        None => parse_int(expr),
    }
}

/// Go's `strconv.Atoi` with robfig's wording around it.
fn parse_int(expr: &str) -> Result<u64, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("failed to parse int from {expr}: strconv.Atoi: parsing {}: invalid syntax", go_quote(expr)));
    }
    let num: i64 = expr
        .parse()
        .map_err(|_| format!("failed to parse int from {expr}: strconv.Atoi: parsing {}: value out of range", go_quote(expr)))?;
    u64::try_from(num).map_err(|_| format!("negative number ({num}) not allowed: {expr}"))
}

/// The characters IANA allows in a zone name component (plus legacy digits and `+`).
fn valid_zone_part(part: &str) -> bool {
    (1..=14).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
}

/// Go's `time.LoadLocation`: "UTC" (and "") always load; other names are looked up in the
/// system zone database. Without a database on this machine, well-formed names are
/// accepted (upstream falls back to its embedded copy).
pub fn load_location(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "UTC" || name == "Local" {
        return Ok(());
    }
    let unknown = || format!("unknown time zone {name}");
    if name.contains("..") || name.starts_with('/') || name.contains('\\') {
        return Err(unknown());
    }
    let root = Path::new("/usr/share/zoneinfo");
    if !root.is_dir() {
        return if name.split('/').all(valid_zone_part) { Ok(()) } else { Err(unknown()) };
    }
    match std::fs::read(root.join(name)) {
        Ok(bytes) if bytes.starts_with(b"TZif") => Ok(()),
        _ => Err(unknown()),
    }
}

/// Upstream `validateTimeZone`'s checks, returning the detail of the first failure.
pub fn time_zone_problem(tz: &str) -> Option<String> {
    if tz.is_empty() {
        return Some("timeZone must be nil or non-empty string".to_string());
    }
    let bad_part = |p: &str| p == "." || p == ".." || p.starts_with('-') || !valid_zone_part(p);
    if tz.split('/').any(bad_part) {
        return Some(format!("unknown time zone {tz}"));
    }
    if tz.eq_ignore_ascii_case("local") {
        return Some("timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones".to_string());
    }
    load_location(tz).err()
}

/// Loads a time zone by IANA name; `None` and `""` mean UTC (upstream uses the controller's
/// local zone, which is UTC on every rkube machine). The error is the unknown name.
pub fn time_zone(name: Option<&str>) -> Result<TimeZone, String> {
    match name {
        None | Some("") | Some("UTC") | Some("Etc/UTC") => Ok(TimeZone::UTC),
        Some(n) => TimeZone::get(n).map_err(|_| format!("unknown time zone {n}")),
    }
}

fn has(bits: u64, v: i8) -> bool {
    bits & (1u64 << v) != 0
}

impl Schedule {
    /// The first activation strictly after `after`, evaluated in `tz` (or the schedule's own
    /// `TZ=` zone); `None` when there is none within five years (e.g. `0 0 30 2 *`).
    pub fn next(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let own = self.zone.as_deref().and_then(|z| time_zone(Some(z)).ok());
        let tz = own.as_ref().unwrap_or(tz);
        match self.timing {
            Timing::Every(d) => Timestamp::from_second(after.as_second() + d.as_secs() as i64).ok(),
            Timing::Fields { .. } => self.next_fields(after, tz),
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
                    let ts = tz.to_ambiguous_zoned(t).compatible().ok()?.timestamp();
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
        let Timing::Fields { minute, hour, month, .. } = self.timing else { return None };
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
        let Timing::Fields { dom, dow, .. } = self.timing else { return true };
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
    fn accepts_standard_schedules() {
        for s in ["*/5 * * * *", "0 0 * * *", "@hourly", "@every 1h30m", "0 9-17 * JAN-MAR mon,fri", "30 2 1 * ?", "TZ=UTC 0 * * * *"] {
            assert!(parse(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn rejects_with_robfig_messages() {
        let err = |s: &str| parse(s).unwrap_err();
        assert_eq!(err("* * * *"), "expected exactly 5 fields, found 4: [* * * *]");
        assert_eq!(err("60 * * * *"), "end of range (60) above maximum (59): 60");
        assert_eq!(err("* * 0 * *"), "beginning of range (0) below minimum (1): 0");
        assert_eq!(err("5-2 * * * *"), "beginning of range (5) beyond end of range (2): 5-2");
        assert_eq!(err("*/0 * * * *"), "step of range should be a positive number: */0");
        assert_eq!(err("x * * * *"), "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax");
        assert_eq!(err("1-2-3 * * * *"), "too many hyphens: 1-2-3");
        assert_eq!(err("@fortnightly"), "unrecognized descriptor: @fortnightly");
        assert_eq!(err("@every 5x"), "failed to parse duration @every 5x: time: unknown unit \"x\" in duration \"5x\"");
        assert_eq!(err(""), "empty spec string");
        assert_eq!(err("TZ=UTC"), "failed to parse cron schedule TZ=UTC: runtime error: slice bounds out of range [3:-1]");
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
        assert_eq!(time_zone_problem("UTC"), None);
        assert_eq!(time_zone_problem(""), Some("timeZone must be nil or non-empty string".into()));
        assert_eq!(time_zone_problem("Local").as_deref(), Some("timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"));
        assert_eq!(time_zone_problem("../etc").as_deref(), Some("unknown time zone ../etc"));
        if !Path::new("/usr/share/zoneinfo/America/New_York").exists() {
            return;
        }
        assert_eq!(time_zone_problem("Not/AZone").as_deref(), Some("unknown time zone Not/AZone"));
        let tz = time_zone(Some("America/New_York")).unwrap();
        // 09:00 in New York in January is 14:00 UTC; in July (EDT) 13:00 UTC.
        let nine = parse("0 9 * * *").unwrap();
        assert_eq!(nine.next(ts("2024-01-10T00:00:00Z"), &tz).unwrap().to_string(), "2024-01-10T14:00:00Z");
        assert_eq!(nine.next(ts("2024-07-10T00:00:00Z"), &tz).unwrap().to_string(), "2024-07-10T13:00:00Z");
        // A TZ= prefix wins over the CronJob's zone.
        let prefixed = parse("TZ=America/New_York 0 9 * * *").unwrap();
        assert_eq!(prefixed.next(ts("2024-01-10T00:00:00Z"), &TimeZone::UTC).unwrap().to_string(), "2024-01-10T14:00:00Z");
        assert_eq!(time_zone(Some("Mars/Olympus")).unwrap_err(), "unknown time zone Mars/Olympus");
    }
}
