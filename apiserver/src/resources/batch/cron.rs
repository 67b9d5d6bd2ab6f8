//! CronJob schedules, checked as upstream does with `robfig/cron/v3`'s `ParseStandard`
//! (five fields or a `@descriptor`, optional `TZ=`/`CRON_TZ=` prefix), with its error
//! messages, and time zone names checked as Go's `time.LoadLocation` would.

use std::path::Path;

/// Bounds and names of one schedule field.
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

/// Parses a schedule like upstream's `ParseCronScheduleWithPanicRecovery`; the error is
/// the message upstream puts in the field error.
pub fn parse_schedule(spec: &str) -> Result<(), String> {
    if spec.is_empty() {
        return Err("empty spec string".to_string());
    }
    let mut rest = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let eq = spec.find('=').unwrap_or(0);
        let Some(space) = spec.find(' ') else {
            // Upstream slices with index -1 and recovers from the panic.
            return Err(format!(
                "failed to parse cron schedule {spec}: runtime error: slice bounds out of range [{}:-1]",
                eq + 1
            ));
        };
        let zone = &spec[eq + 1..space];
        if let Err(e) = load_location(zone) {
            return Err(format!("provided bad location {zone}: {e}"));
        }
        rest = spec[space..].trim();
    }
    if rest.starts_with('@') {
        return parse_descriptor(rest);
    }
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" ")));
    }
    for (field, bounds) in fields.iter().zip([MINUTES, HOURS, DOM, MONTHS, DOW].iter()) {
        for expr in field.split(',').filter(|e| !e.is_empty()) {
            parse_range(expr, bounds)?;
        }
    }
    Ok(())
}

/// `@yearly` and friends, or `@every <duration>`.
fn parse_descriptor(d: &str) -> Result<(), String> {
    match d {
        "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly" => Ok(()),
        _ => match d.strip_prefix("@every ") {
            Some(dur) => parse_go_duration(dur).map_err(|e| format!("failed to parse duration {d}: {e}")),
            None => Err(format!("unrecognized descriptor: {d}")),
        },
    }
}

/// One range expression of a field: `*`, `?`, `N`, `N-M`, each optionally `/step`.
fn parse_range(expr: &str, r: &Bounds) -> Result<(), String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let (start, mut end) = if low_and_high[0] == "*" || low_and_high[0] == "?" {
        (r.min, r.max)
    } else {
        let start = parse_int_or_name(low_and_high[0], r)?;
        match low_and_high.len() {
            1 => (start, start),
            2 => (start, parse_int_or_name(low_and_high[1], r)?),
            _ => return Err(format!("too many hyphens: {expr}")),
        }
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = must_parse_int(range_and_step[1])?;
            if low_and_high.len() == 1 {
                end = r.max;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
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

fn parse_int_or_name(expr: &str, r: &Bounds) -> Result<u64, String> {
    let lower = expr.to_lowercase();
    match r.names.iter().find(|(n, _)| *n == lower) {
        Some((_, v)) => Ok(*v),
        None => must_parse_int(expr),
    }
}

/// Go's `strconv.Atoi` with robfig's wording around it.
fn must_parse_int(expr: &str) -> Result<u64, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("failed to parse int from {expr}: strconv.Atoi: parsing {}: invalid syntax", quote(expr)));
    }
    let num: i64 = expr
        .parse()
        .map_err(|_| format!("failed to parse int from {expr}: strconv.Atoi: parsing {}: value out of range", quote(expr)))?;
    u64::try_from(num).map_err(|_| format!("negative number ({num}) not allowed: {expr}"))
}

fn quote(s: &str) -> String {
    rkube_apimachinery::validation::go_quote(s)
}

/// Go's `time.ParseDuration`, reporting errors with Go's messages.
fn parse_go_duration(s: &str) -> Result<(), String> {
    let invalid = || format!("time: invalid duration {}", quote(s));
    let mut rest = s.strip_prefix(['+', '-']).unwrap_or(s);
    if rest == "0" {
        return Ok(());
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let num_len = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        let number = &rest[..num_len];
        if number.is_empty() || number == "." {
            return Err(invalid());
        }
        rest = &rest[num_len..];
        let unit_len = rest.bytes().take_while(|b| *b != b'.' && !b.is_ascii_digit()).count();
        let unit = &rest[..unit_len];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", quote(s)));
        }
        if !["ns", "us", "µs", "μs", "ms", "s", "m", "h"].contains(&unit) {
            return Err(format!("time: unknown unit {} in duration {}", quote(unit), quote(s)));
        }
        rest = &rest[unit_len..];
    }
    Ok(())
}

/// The characters IANA allows in a zone name component (plus legacy digits and `+`).
fn valid_zone_part(part: &str) -> bool {
    (1..=14).contains(&part.len())
        && part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_standard_schedules() {
        for s in ["*/5 * * * *", "0 0 * * *", "@hourly", "@every 1h30m", "0 9-17 * JAN-MAR mon,fri", "30 2 1 * ?", "TZ=UTC 0 * * * *"] {
            assert_eq!(parse_schedule(s), Ok(()), "{s}");
        }
    }

    #[test]
    fn rejects_with_robfig_messages() {
        assert_eq!(parse_schedule("* * * *").unwrap_err(), "expected exactly 5 fields, found 4: [* * * *]");
        assert_eq!(parse_schedule("60 * * * *").unwrap_err(), "end of range (60) above maximum (59): 60");
        assert_eq!(parse_schedule("* * 0 * *").unwrap_err(), "beginning of range (0) below minimum (1): 0");
        assert_eq!(parse_schedule("5-2 * * * *").unwrap_err(), "beginning of range (5) beyond end of range (2): 5-2");
        assert_eq!(parse_schedule("*/0 * * * *").unwrap_err(), "step of range should be a positive number: */0");
        assert_eq!(
            parse_schedule("x * * * *").unwrap_err(),
            "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(parse_schedule("1-2-3 * * * *").unwrap_err(), "too many hyphens: 1-2-3");
        assert_eq!(parse_schedule("@fortnightly").unwrap_err(), "unrecognized descriptor: @fortnightly");
        assert_eq!(
            parse_schedule("@every 5x").unwrap_err(),
            "failed to parse duration @every 5x: time: unknown unit \"x\" in duration \"5x\""
        );
        assert_eq!(parse_schedule("").unwrap_err(), "empty spec string");
    }

    #[test]
    fn time_zones() {
        assert_eq!(time_zone_problem("UTC"), None);
        assert_eq!(time_zone_problem(""), Some("timeZone must be nil or non-empty string".into()));
        assert_eq!(time_zone_problem("Local").as_deref(), Some("timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"));
        assert_eq!(time_zone_problem("../etc").as_deref(), Some("unknown time zone ../etc"));
        assert_eq!(time_zone_problem("Not/AZone").as_deref(), if Path::new("/usr/share/zoneinfo").is_dir() { Some("unknown time zone Not/AZone") } else { None });
        if Path::new("/usr/share/zoneinfo/Europe/Paris").exists() {
            assert_eq!(time_zone_problem("Europe/Paris"), None);
        }
    }
}
