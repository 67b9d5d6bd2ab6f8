//! Resource quantities (upstream `resource.Quantity`): parsing, comparison and the canonical
//! string form the apiserver writes back ("0.5" becomes "500m", "1000m" becomes "1").
//!
//! Values are held exactly as a count of nano-units in an `i128`, which covers every
//! quantity upstream can represent at its nano precision (up to the `E`/`Ei` suffixes).

use serde_json::Value;

/// Upstream's parse error detail for a malformed quantity.
pub const QUANTITY_FORMAT_MSG: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const NANO: i128 = 1_000_000_000;

/// How a quantity was written, which decides how it is printed back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Decimal SI suffixes (m, k, M, ...) or none.
    DecimalSi,
    /// Binary suffixes (Ki, Mi, ...).
    BinarySi,
    /// A decimal exponent (1e3).
    DecimalExponent,
}

/// A parsed quantity: its exact value in nano-units and its format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    /// The value times 10^9, rounded up (away from zero) to a whole nano-unit.
    pub nanos: i128,
    /// The format it was written in.
    pub format: Format,
}

impl Quantity {
    /// Parses a quantity string; `None` when malformed or out of range.
    pub fn parse(s: &str) -> Option<Quantity> {
        let s = s.trim();
        let (negative, rest) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let split = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(split);
        let (digits, frac_len) = parse_number(number)?;
        let (base, exp, format) = parse_suffix(suffix)?;
        let magnitude = scale(digits, frac_len, base, exp)?;
        Some(Quantity { nanos: if negative { -magnitude } else { magnitude }, format })
    }

    /// Parses a JSON quantity (a string or a number, as upstream's unmarshaller accepts).
    pub fn from_json(v: &Value) -> Option<Quantity> {
        match v {
            Value::String(s) => Quantity::parse(s),
            Value::Number(n) => Quantity::parse(&n.to_string()),
            _ => None,
        }
    }

    /// Upstream `RoundUp(-3)`: rounds away from zero to a whole milli-unit.
    pub fn round_up_milli(self) -> Quantity {
        let step = 1_000_000;
        let rem = self.nanos % step;
        let nanos = if rem == 0 { self.nanos } else { self.nanos - rem + step * self.nanos.signum() };
        Quantity { nanos, ..self }
    }

    /// The canonical string upstream's `Quantity.String()` prints.
    pub fn canonical(&self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        let abs = self.nanos.unsigned_abs();
        let format = match self.format {
            Format::BinarySi if abs < 1024 * NANO as u128 || !abs.is_multiple_of(NANO as u128) => Format::DecimalSi,
            f => f,
        };
        let sign = if self.nanos < 0 { "-" } else { "" };
        match format {
            Format::BinarySi => format!("{sign}{}", binary_string(abs / NANO as u128)),
            f => format!("{sign}{}", decimal_string(abs, f)),
        }
    }
}

/// Splits "12.50" into (1250, 2); at least one digit and at most one dot.
fn parse_number(number: &str) -> Option<(i128, u32)> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') || int.len() + frac.len() > 30 {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    let all: String = format!("{int}{frac}");
    let digits: i128 = if all.is_empty() { 0 } else { all.parse().ok()? };
    Some((digits, frac.len() as u32))
}

/// The base (2 or 10), exponent and format of a suffix.
fn parse_suffix(suffix: &str) -> Option<(u32, i32, Format)> {
    let decimal = |e| Some((10, e, Format::DecimalSi));
    let binary = |e| Some((2, e, Format::BinarySi));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        s if s.starts_with(['e', 'E']) => {
            let e: i32 = s[1..].parse().ok()?;
            (-40..=40).contains(&e).then_some((10, e, Format::DecimalExponent))
        }
        _ => None,
    }
}

/// digits * 10^-frac_len * base^exp, in nano-units, rounded up.
fn scale(digits: i128, frac_len: u32, base: u32, exp: i32) -> Option<i128> {
    if base == 2 {
        let num = digits.checked_mul(1i128.checked_shl(exp as u32)?)?.checked_mul(NANO)?;
        return Some(div_ceil(num, 10i128.checked_pow(frac_len)?));
    }
    let power = 9 + exp - frac_len as i32;
    if power >= 0 {
        digits.checked_mul(10i128.checked_pow(power as u32)?)
    } else {
        Some(div_ceil(digits, 10i128.checked_pow((-power) as u32)?))
    }
}

fn div_ceil(num: i128, den: i128) -> i128 {
    if den == 0 {
        return num;
    }
    num / den + i128::from(num % den != 0)
}

/// Decimal forms: mantissa * 10^exp with exp a multiple of 3, as large as keeps the
/// mantissa whole.
fn decimal_string(nanos: u128, format: Format) -> String {
    let mut mantissa = nanos;
    let mut exp: i32 = -9;
    while mantissa.is_multiple_of(1000) && (format == Format::DecimalExponent || exp < 18) {
        mantissa /= 1000;
        exp += 3;
    }
    let suffix = match (format, exp) {
        (Format::DecimalExponent, 0) => String::new(),
        (Format::DecimalExponent, e) => format!("e{e}"),
        (_, -9) => "n".into(),
        (_, -6) => "u".into(),
        (_, -3) => "m".into(),
        (_, 0) => String::new(),
        (_, 3) => "k".into(),
        (_, 6) => "M".into(),
        (_, 9) => "G".into(),
        (_, 12) => "T".into(),
        (_, 15) => "P".into(),
        (_, e) => if e == 18 { "E".into() } else { format!("e{e}") },
    };
    format!("{mantissa}{suffix}")
}

/// Binary form of a whole number of units: mantissa * 1024^k.
fn binary_string(units: u128) -> String {
    let mut mantissa = units;
    let mut k = 0;
    while mantissa.is_multiple_of(1024) && k < 6 {
        mantissa /= 1024;
        k += 1;
    }
    let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][k];
    format!("{mantissa}{suffix}")
}

/// Rewrites every value of a `ResourceList` object in canonical form, rounded up to
/// milli-units (upstream `SetDefaults_ResourceList`); malformed values are left as they are
/// for validation to report.
pub fn canonicalize_list(list: Option<&mut Value>) {
    let Some(map) = list.and_then(Value::as_object_mut) else { return };
    for v in map.values_mut() {
        if let Some(q) = Quantity::from_json(v) {
            *v = Value::String(q.round_up_milli().canonical());
        }
    }
}

/// The canonical form of a JSON quantity, or its raw text when malformed ("0" when absent,
/// as upstream prints a zero Quantity).
pub fn display(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "0".to_string(),
        Some(v) => Quantity::from_json(v).map(|q| q.canonical()).unwrap_or_else(|| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(s: &str) -> String {
        Quantity::parse(s).map(|q| q.canonical()).unwrap_or_else(|| "ERR".into())
    }

    #[test]
    fn canonical_forms_match_upstream() {
        assert_eq!(canon("0.5"), "500m");
        assert_eq!(canon("1000m"), "1");
        assert_eq!(canon("1500"), "1500");
        assert_eq!(canon("2000"), "2k");
        assert_eq!(canon("1Gi"), "1Gi");
        assert_eq!(canon("0.5Gi"), "512Mi");
        assert_eq!(canon("1.5Gi"), "1536Mi");
        assert_eq!(canon("100Mi"), "100Mi");
        assert_eq!(canon("1e3"), "1e3");
        assert_eq!(canon("512"), "512");
        assert_eq!(canon("-1"), "-1");
        assert_eq!(canon("0"), "0");
        assert_eq!(canon("12e"), "ERR");
        assert_eq!(canon("abc"), "ERR");
        assert_eq!(canon("1.2.3"), "ERR");
    }

    #[test]
    fn comparison_is_exact() {
        let a = Quantity::parse("1").map(|q| q.nanos);
        let b = Quantity::parse("1000m").map(|q| q.nanos);
        assert_eq!(a, b);
        assert!(Quantity::parse("1Ki").map(|q| q.nanos) > Quantity::parse("1k").map(|q| q.nanos));
    }

    #[test]
    fn lists_are_rounded_to_milli() {
        let mut v = json!({"cpu": "1n", "memory": 1073741824, "bad": "x"});
        canonicalize_list(Some(&mut v));
        assert_eq!(v, json!({"cpu": "1m", "memory": "1073741824", "bad": "x"}));
        assert_eq!(display(None), "0");
    }
}
