//! Small shared helpers: the output streams and Go-compatible formatting of values.

use std::io::{self, BufWriter, Write};

/// Where a command writes: buffered stdout and unbuffered stderr. Writing to stderr flushes
/// stdout first, so the two interleave as they would on a terminal.
pub struct Streams {
    /// Standard output (buffered).
    pub out: Box<dyn Write>,
    err: Box<dyn Write>,
}

impl Streams {
    /// The process's stdout and stderr.
    pub fn stdio() -> Self {
        Streams { out: Box::new(BufWriter::with_capacity(64 * 1024, io::stdout())), err: Box::new(io::stderr()) }
    }

    /// Streams over arbitrary writers (tests).
    pub fn new(out: Box<dyn Write>, err: Box<dyn Write>) -> Self {
        Streams { out, err }
    }

    /// Writes a line to stderr (after flushing stdout).
    pub fn eprintln(&mut self, msg: &str) {
        let _ = self.out.flush();
        let _ = writeln!(self.err, "{msg}");
    }

    /// Writes text to stderr as is (after flushing stdout).
    pub fn eprint(&mut self, msg: &str) {
        let _ = self.out.flush();
        let _ = write!(self.err, "{msg}");
    }

    /// Writes a line to stdout.
    pub fn println(&mut self, msg: &str) {
        let _ = writeln!(self.out, "{msg}");
    }

    /// Flushes stdout.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Formats a float as Go's `strconv.FormatFloat(f, 'g', -1, 64)` (what `fmt.Sprint` prints).
pub fn go_format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Shortest round-trip digits via Rust's exponent formatting.
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

/// Formats a JSON number the way Go prints it after decoding into `interface{}` with
/// integers kept as int64 (unstructured objects): integers as is, floats like `%v`.
pub fn go_format_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    go_format_float(n.as_f64().unwrap_or(0.0))
}

/// Quotes a string as Go's `%q` does for printable text.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Parses a Go duration (`300ms`, `1.5h`, `2h45m`, `0`), or a bare number of seconds.
pub fn parse_go_duration(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    if s == "0" {
        return Some(std::time::Duration::ZERO);
    }
    if let Ok(n) = s.parse::<u64>() {
        return Some(std::time::Duration::from_secs(n));
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    Some(std::time::Duration::from_secs_f64(total))
}

/// Seconds since a RFC 3339 timestamp (0 if it cannot be parsed).
pub fn seconds_since(timestamp: &str) -> Option<i64> {
    let t: k8s_openapi::jiff::Timestamp = timestamp.parse().ok()?;
    Some(k8s_openapi::jiff::Timestamp::now().as_second() - t.as_second())
}

/// The human age of a RFC 3339 timestamp as upstream prints it (`<unknown>` if missing).
pub fn age(timestamp: Option<&str>) -> String {
    match timestamp.and_then(seconds_since) {
        Some(s) => rkube_apimachinery::duration::human_duration(s),
        None => "<unknown>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_floats() {
        assert_eq!(go_format_float(0.5), "0.5");
        assert_eq!(go_format_float(1e21), "1e+21");
        assert_eq!(go_format_float(1e6), "1e+06");
        assert_eq!(go_format_float(1.5e-7), "1.5e-07");
        assert_eq!(go_format_float(123456.0), "123456");
        assert_eq!(go_format_float(0.0001), "0.0001");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_go_duration("1m30s"), Some(std::time::Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Some(std::time::Duration::from_millis(250)));
        assert_eq!(parse_go_duration("5"), Some(std::time::Duration::from_secs(5)));
        assert_eq!(parse_go_duration("x"), None);
    }

    #[test]
    fn quoting() {
        assert_eq!(go_quote("a\"b"), "\"a\\\"b\"");
    }
}
