//! Resource quantities (`100m`, `1Gi`, `2`, `1e3`, `500M`), mirroring upstream's
//! `k8s.io/apimachinery/pkg/api/resource.Quantity`.
//!
//! Grammar (upstream's):
//!
//! ```text
//! <quantity>        ::= <signedNumber><suffix>
//! <signedNumber>    ::= <number> | +<number> | -<number>
//! <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
//! <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
//! <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
//! <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
//! <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
//! ```
//!
//! Values are held exactly as a count of nano-units in an `i128`: like upstream, parsing
//! rounds anything finer than 1n up (away from zero), and `BinarySI` values are capped at
//! 2^63-1. Magnitudes beyond the `i128` range (about 1.7e29 units, only reachable with
//! huge decimal exponents) saturate.
//!
//! Formatting is upstream's canonical form: the largest suffix that keeps the number an
//! integer (`1.5` → `1500m`, `1024Mi` → `1Gi`, `1000M` → `1G`), keeping the family of
//! suffix the value was written with.
//!
//! ```
//! use rkube_apimachinery::quantity::Quantity;
//!
//! let cpu: Quantity = "1500m".parse().unwrap();
//! assert_eq!(cpu.milli_value(), 1500);
//! assert_eq!("1.5".parse::<Quantity>().unwrap(), cpu);
//! assert_eq!(Quantity::parse("1024Mi").unwrap().to_string(), "1Gi");
//! assert!(Quantity::parse("1Gi").unwrap() > Quantity::parse("1G").unwrap());
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

const NANOS_PER_UNIT: i128 = 1_000_000_000;
const NANOS_PER_MILLI: i128 = 1_000_000;
/// Upstream's cap for BinarySI values: 2^63-1 units, in nanos.
const MAX_BINARY_NANOS: u128 = (i64::MAX as u128) * 1_000_000_000;

/// The suffix family a quantity was written with; it is kept when formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantityFormat {
    /// `12e6`, `1E-3`.
    DecimalExponent,
    /// `12Mi` (powers of 1024).
    BinarySI,
    /// `12M`, `100m`, `2` (powers of 1000).
    DecimalSI,
}

/// A quantity parse error, with upstream's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The text does not have the shape of a quantity.
    #[error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    FormatWrong,
    /// The numeric part could not be read.
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    /// The suffix is not one of the known suffixes.
    #[error("unable to parse quantity's suffix")]
    Suffix,
}

/// A resource quantity: an exact number of nano-units plus the suffix family used to
/// print it. Equality and ordering compare the numeric value only.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    nanos: i128,
    format: QuantityFormat,
}

impl Default for Quantity {
    fn default() -> Self {
        Quantity {
            nanos: 0,
            format: QuantityFormat::DecimalSI,
        }
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl std::hash::Hash for Quantity {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

/// The pieces of a quantity string, as upstream's `parseQuantityString` splits it.
struct Pieces<'a> {
    positive: bool,
    num: &'a str,
    denom: &'a str,
    suffix: &'a str,
}

fn is_suffix_char(b: u8) -> bool {
    matches!(
        b,
        b'e' | b'E' | b'i' | b'n' | b'u' | b'm' | b'k' | b'K' | b'M' | b'G' | b'T' | b'P'
    )
}

/// Port of upstream's scanner: sign, leading zeros, integer digits, `.` and fraction
/// digits, then suffix letters, an optional sign and digits.
fn split_quantity(s: &str) -> Result<Pieces<'_>, QuantityError> {
    let b = s.as_bytes();
    let end = b.len();
    let mut pos = 0;
    let mut positive = true;
    if let Some(&first) = b.first() {
        match first {
            b'-' => {
                positive = false;
                pos += 1;
            }
            b'+' => pos += 1,
            _ => {}
        }
    }
    // Leading zeros; running out of input here means the number is zero.
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(Pieces {
            positive,
            num: "0",
            denom: "",
            suffix: "",
        });
    }
    let num_start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let mut num = &s[num_start..pos];
    if num.is_empty() {
        num = "0";
    }
    let mut denom = "";
    if pos < end && b[pos] == b'.' {
        pos += 1;
        let denom_start = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &s[denom_start..pos];
    }
    let suffix_start = pos;
    while pos < end && is_suffix_char(b[pos]) {
        pos += 1;
    }
    if pos < end && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(QuantityError::FormatWrong);
    }
    Ok(Pieces {
        positive,
        num,
        denom,
        suffix: &s[suffix_start..],
    })
}

/// Upstream's suffix table: (base, exponent, format).
fn interpret_suffix(suffix: &str) -> Option<(u32, i64, QuantityFormat)> {
    use QuantityFormat::*;
    Some(match suffix {
        "" => (10, 0, DecimalSI),
        "n" => (10, -9, DecimalSI),
        "u" => (10, -6, DecimalSI),
        "m" => (10, -3, DecimalSI),
        "k" => (10, 3, DecimalSI),
        "M" => (10, 6, DecimalSI),
        "G" => (10, 9, DecimalSI),
        "T" => (10, 12, DecimalSI),
        "P" => (10, 15, DecimalSI),
        "E" => (10, 18, DecimalSI),
        "Ki" => (2, 10, BinarySI),
        "Mi" => (2, 20, BinarySI),
        "Gi" => (2, 30, BinarySI),
        "Ti" => (2, 40, BinarySI),
        "Pi" => (2, 50, BinarySI),
        "Ei" => (2, 60, BinarySI),
        s if s.len() > 1 && (s.starts_with('e') || s.starts_with('E')) => {
            let exp: i64 = s[1..].parse().ok()?;
            // Exponents outside the int32 scale are rejected, as current upstream does.
            if exp.unsigned_abs() > i32::MAX as u64 {
                return None;
            }
            (10, exp, DecimalExponent)
        }
        _ => return None,
    })
}

/// Multiplies a big-endian decimal digit vector by a small factor in place.
fn mul_small(digits: &mut Vec<u8>, factor: u32) {
    let mut carry: u64 = 0;
    for d in digits.iter_mut().rev() {
        let v = u64::from(*d) * u64::from(factor) + carry;
        *d = (v % 10) as u8;
        carry = v / 10;
    }
    while carry > 0 {
        digits.insert(0, (carry % 10) as u8);
        carry /= 10;
    }
}

/// Reads up to 39 decimal digits as a `u128`, saturating.
fn digits_to_u128(digits: &[u8]) -> u128 {
    let mut v: u128 = 0;
    for &d in digits {
        v = match v.checked_mul(10).and_then(|x| x.checked_add(u128::from(d))) {
            Some(x) => x,
            None => return u128::MAX,
        };
    }
    v
}

/// Exact magnitude in nanos of `digits × 10^pow10`, rounded up, saturated at i128::MAX.
fn magnitude_nanos(digits: &[u8], pow10: i64) -> u128 {
    const MAX: u128 = i128::MAX as u128;
    if digits.is_empty() {
        return 0;
    }
    let len = digits.len() as i64;
    if pow10 >= 0 {
        if len + pow10 > 39 {
            return MAX;
        }
        let mut v = digits_to_u128(digits);
        for _ in 0..pow10 {
            v = v.saturating_mul(10);
        }
        return v.min(MAX);
    }
    let cut = len + pow10; // number of integer digits
    if cut <= 0 {
        return 1; // a non-zero amount below one nano rounds up to 1n
    }
    let cut = cut as usize;
    if cut > 39 {
        return MAX;
    }
    let (int_part, frac) = digits.split_at(cut);
    let mut v = digits_to_u128(int_part);
    if frac.iter().any(|&d| d != 0) {
        v = v.saturating_add(1);
    }
    v.min(MAX)
}

fn ceil_div_away(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d == 0 {
        q
    } else if n > 0 {
        q + 1
    } else {
        q - 1
    }
}

impl Quantity {
    /// Parses a quantity (upstream `ParseQuantity`). Surrounding whitespace is an error.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        if s.is_empty() {
            return Err(QuantityError::FormatWrong);
        }
        if s == "0" {
            return Ok(Quantity::default());
        }
        let p = split_quantity(s)?;
        let (base, exponent, mut format) =
            interpret_suffix(p.suffix).ok_or(QuantityError::Suffix)?;

        // All significant digits, leading zeros dropped; the last one is worth 10^-len(denom).
        let mut digits: Vec<u8> = p
            .num
            .bytes()
            .chain(p.denom.bytes())
            .map(|c| c - b'0')
            .skip_while(|&d| d == 0)
            .collect();
        let mut pow10 = 9 - p.denom.len() as i64;
        if base == 10 {
            pow10 += exponent;
        } else if !digits.is_empty() {
            let mut remaining = exponent;
            while remaining > 0 {
                let step = remaining.min(16);
                mul_small(&mut digits, 1u32 << step);
                remaining -= step;
            }
        }
        let mut magnitude = magnitude_nanos(&digits, pow10);
        if format == QuantityFormat::BinarySI {
            magnitude = magnitude.min(MAX_BINARY_NANOS);
            if magnitude > 0 && magnitude < NANOS_PER_UNIT as u128 {
                // Fractions below one are printed as DecimalSI, as upstream does.
                format = QuantityFormat::DecimalSI;
            }
        }
        let magnitude = magnitude as i128; // at most i128::MAX by construction
        Ok(Quantity {
            nanos: if p.positive { magnitude } else { -magnitude },
            format,
        })
    }

    /// Reads a quantity from JSON the way upstream's `UnmarshalJSON` does: a string (with
    /// surrounding whitespace trimmed) or a number is parsed, `null` is zero.
    pub fn from_json(v: &Value) -> Result<Self, QuantityError> {
        match v {
            Value::Null => Ok(Quantity::default()),
            Value::String(s) => Quantity::parse(s.trim()),
            Value::Number(n) => Quantity::parse(&n.to_string()),
            _ => Err(QuantityError::FormatWrong),
        }
    }

    /// A quantity of `nanos` nano-units printed in `format`.
    pub fn from_nanos(nanos: i128, format: QuantityFormat) -> Self {
        Quantity { nanos, format }
    }

    /// A quantity of `milli` milli-units (DecimalSI), e.g. CPU.
    pub fn from_milli(milli: i128) -> Self {
        Quantity {
            nanos: milli.saturating_mul(NANOS_PER_MILLI),
            format: QuantityFormat::DecimalSI,
        }
    }

    /// A quantity of whole units printed in `format`.
    pub fn from_value(value: i128, format: QuantityFormat) -> Self {
        Quantity {
            nanos: value.saturating_mul(NANOS_PER_UNIT),
            format,
        }
    }

    /// The exact value in nano-units.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// The value in milli-units, rounded away from zero (upstream `MilliValue`).
    pub fn milli_value(&self) -> i128 {
        ceil_div_away(self.nanos, NANOS_PER_MILLI)
    }

    /// The value in whole units, rounded away from zero (upstream `Value`).
    pub fn value(&self) -> i128 {
        ceil_div_away(self.nanos, NANOS_PER_UNIT)
    }

    /// The suffix family used when printing.
    pub fn format(&self) -> QuantityFormat {
        self.format
    }

    /// The same value printed in another suffix family.
    pub fn with_format(self, format: QuantityFormat) -> Self {
        Quantity { format, ..self }
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// -1, 0 or 1.
    pub fn signum(&self) -> i32 {
        self.nanos.signum() as i32
    }

    /// The sum, saturating; a zero left operand takes the right one's format (upstream keeps
    /// the suffix of the non-zero operand).
    pub fn saturating_add(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_add(other.nanos),
            format: if self.is_zero() {
                other.format
            } else {
                self.format
            },
        }
    }

    /// The difference, saturating, with the format rule of [`Quantity::saturating_add`].
    pub fn saturating_sub(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_sub(other.nanos),
            format: if self.is_zero() {
                other.format
            } else {
                self.format
            },
        }
    }

    /// The negated value.
    pub fn neg(&self) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_neg(),
            format: self.format,
        }
    }

    /// Parses and re-prints a quantity in canonical form (`"1000m"` → `"1"`).
    pub fn canonicalize(s: &str) -> Result<String, QuantityError> {
        Quantity::parse(s).map(|q| q.to_string())
    }

    fn decimal_canonical(magnitude: u128, format: QuantityFormat) -> String {
        let mut m = magnitude;
        let mut exp: i64 = -9;
        while m >= 10 && m.is_multiple_of(10) {
            m /= 10;
            exp += 1;
        }
        let r = exp.rem_euclid(3);
        for _ in 0..r {
            m *= 10; // cannot overflow: at least `r` factors of ten were removed above
        }
        exp -= r;
        let suffix = match format {
            QuantityFormat::DecimalExponent => {
                if exp == 0 {
                    String::new()
                } else {
                    format!("e{exp}")
                }
            }
            _ => match exp {
                -9 => "n".to_string(),
                -6 => "u".to_string(),
                -3 => "m".to_string(),
                0 => String::new(),
                3 => "k".to_string(),
                6 => "M".to_string(),
                9 => "G".to_string(),
                12 => "T".to_string(),
                15 => "P".to_string(),
                18 => "E".to_string(),
                // No SI suffix past E: fall back to exponent notation (current upstream).
                other => format!("e{other}"),
            },
        };
        format!("{m}{suffix}")
    }

    /// Upstream's canonical form (`CanonicalizeBytes`): largest suffix without fractional
    /// digits; BinarySI values below 1024 or with a fraction are printed as DecimalSI.
    pub fn to_canonical_string(&self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        let magnitude = self.nanos.unsigned_abs();
        let sign = if self.nanos < 0 { "-" } else { "" };
        let body = match self.format {
            QuantityFormat::BinarySI
                if magnitude >= 1024 * NANOS_PER_UNIT as u128
                    && magnitude.is_multiple_of(NANOS_PER_UNIT as u128) =>
            {
                let mut units = magnitude / NANOS_PER_UNIT as u128;
                let mut times = 0;
                while units >= 1024 && units.is_multiple_of(1024) && times < 6 {
                    units /= 1024;
                    times += 1;
                }
                let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][times];
                format!("{units}{suffix}")
            }
            QuantityFormat::BinarySI => {
                Self::decimal_canonical(magnitude, QuantityFormat::DecimalSI)
            }
            f => Self::decimal_canonical(magnitude, f),
        };
        format!("{sign}{body}")
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical_string())
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_canonical_string())
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(deserializer)?;
        Quantity::from_json(&v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use QuantityFormat::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    /// `mantissa × 10^exp` in nanos.
    fn dec(mantissa: i128, exp: i32) -> i128 {
        let e = exp + 9;
        if e >= 0 {
            mantissa * 10i128.pow(e as u32)
        } else {
            mantissa / 10i128.pow((-e) as u32)
        }
    }

    const MAX_NANOS: i128 = (i64::MAX as i128) * 1_000_000_000;

    // Upstream TestQuantityParse table: (input, nanos, format).
    fn parse_table() -> Vec<(&'static str, i128, QuantityFormat)> {
        vec![
            ("0", 0, DecimalSI),
            ("0n", 0, DecimalSI),
            ("0u", 0, DecimalSI),
            ("0m", 0, DecimalSI),
            ("0Ki", 0, BinarySI),
            ("0k", 0, DecimalSI),
            ("0Mi", 0, BinarySI),
            ("0M", 0, DecimalSI),
            ("0Gi", 0, BinarySI),
            ("0G", 0, DecimalSI),
            ("0Ti", 0, BinarySI),
            ("0T", 0, DecimalSI),
            ("1", dec(1, 0), DecimalSI),
            ("1Ki", dec(1024, 0), BinarySI),
            ("8Ki", dec(8 * 1024, 0), BinarySI),
            ("7Mi", dec(7 << 20, 0), BinarySI),
            ("6Gi", dec(6 << 30, 0), BinarySI),
            ("5Ti", dec(5 << 40, 0), BinarySI),
            ("4Pi", dec(4 << 50, 0), BinarySI),
            ("3Ei", dec(3 << 60, 0), BinarySI),
            ("10Ti", dec(10 << 40, 0), BinarySI),
            ("100Ti", dec(100 << 40, 0), BinarySI),
            ("5n", dec(5, -9), DecimalSI),
            ("4u", dec(4, -6), DecimalSI),
            ("3m", dec(3, -3), DecimalSI),
            ("9", dec(9, 0), DecimalSI),
            ("8k", dec(8, 3), DecimalSI),
            ("50k", dec(5, 4), DecimalSI),
            ("7M", dec(7, 6), DecimalSI),
            ("6G", dec(6, 9), DecimalSI),
            ("5T", dec(5, 12), DecimalSI),
            ("40T", dec(4, 13), DecimalSI),
            ("300T", dec(3, 14), DecimalSI),
            ("2P", dec(2, 15), DecimalSI),
            ("1E", dec(1, 18), DecimalSI),
            ("1E-3", dec(1, -3), DecimalExponent),
            ("1e3", dec(1, 3), DecimalExponent),
            ("1E6", dec(1, 6), DecimalExponent),
            ("1e9", dec(1, 9), DecimalExponent),
            ("1E12", dec(1, 12), DecimalExponent),
            ("1e15", dec(1, 15), DecimalExponent),
            ("1E18", dec(1, 18), DecimalExponent),
            ("1e14", dec(1, 14), DecimalExponent),
            ("1e13", dec(1, 13), DecimalExponent),
            ("100.035k", dec(100035, 0), DecimalSI),
            ("0.001", dec(1, -3), DecimalSI),
            ("0.0005k", dec(5, -1), DecimalSI),
            ("0.005", dec(5, -3), DecimalSI),
            ("0.05", dec(5, -2), DecimalSI),
            ("0.5", dec(5, -1), DecimalSI),
            ("0.00050k", dec(5, -1), DecimalSI),
            ("0.00500", dec(5, -3), DecimalSI),
            ("0.05000", dec(5, -2), DecimalSI),
            ("0.50000", dec(5, -1), DecimalSI),
            ("0.5e0", dec(5, -1), DecimalExponent),
            ("0.5e-1", dec(5, -2), DecimalExponent),
            ("0.5e-2", dec(5, -3), DecimalExponent),
            ("10.035M", dec(10035, 3), DecimalSI),
            ("1.2e3", dec(12, 2), DecimalExponent),
            ("1.3E+6", dec(13, 5), DecimalExponent),
            ("1.40e9", dec(14, 8), DecimalExponent),
            ("1.53E12", dec(153, 10), DecimalExponent),
            ("1.6e15", dec(16, 14), DecimalExponent),
            ("1.7E18", dec(17, 17), DecimalExponent),
            ("9.01", dec(901, -2), DecimalSI),
            ("8.1k", dec(81, 2), DecimalSI),
            ("7.123456M", dec(7123456, 0), DecimalSI),
            ("6.987654321G", dec(6987654321, 0), DecimalSI),
            ("5.444T", dec(5444, 9), DecimalSI),
            ("40.1T", dec(401, 11), DecimalSI),
            ("300.2T", dec(3002, 11), DecimalSI),
            ("2.5P", dec(25, 14), DecimalSI),
            ("1.01E", dec(101, 16), DecimalSI),
            // Things that saturate/round.
            ("3.001n", dec(4, -9), DecimalSI),
            ("1.1E-9", dec(2, -9), DecimalExponent),
            ("0.0000000001", dec(1, -9), DecimalSI),
            ("0.0000000005", dec(1, -9), DecimalSI),
            ("0.00000000050", dec(1, -9), DecimalSI),
            ("0.5e-9", dec(1, -9), DecimalExponent),
            ("0.9n", dec(1, -9), DecimalSI),
            ("0.00000012345", dec(124, -9), DecimalSI),
            ("0.00000012354", dec(124, -9), DecimalSI),
            ("9Ei", MAX_NANOS, BinarySI),
            ("9223372036854775807Ki", MAX_NANOS, BinarySI),
            ("12E", dec(12, 18), DecimalSI),
            // Fractional binary values.
            ("100.035Ki", dec(10243584, -2), BinarySI),
            ("0.5Mi", dec(524288, 0), BinarySI),
            ("0.05Gi", dec(536870912, -1), BinarySI),
            ("0.025Ti", dec(274877906944, -1), BinarySI),
            // Things written by trolls.
            ("0.000000000001Ki", dec(2, -9), DecimalSI),
            (".001", dec(1, -3), DecimalSI),
            (".0001k", dec(100, -3), DecimalSI),
            ("1.", dec(1, 0), DecimalSI),
            ("1.G", dec(1, 9), DecimalSI),
        ]
    }

    #[test]
    fn parse_upstream_table() {
        assert_eq!(Quantity::parse(""), Err(QuantityError::FormatWrong));
        for (input, nanos, format) in parse_table() {
            let got = q(input);
            assert_eq!(got.nanos(), nanos, "{input}");
            assert_eq!(got.format(), format, "{input}");
            // Negative and explicitly positive versions.
            let neg = q(&format!("-{input}"));
            assert_eq!(neg.nanos(), -nanos, "-{input}");
            assert_eq!(neg.format(), format, "-{input}");
            let pos = q(&format!("+{input}"));
            assert_eq!(pos.nanos(), nanos, "+{input}");
            assert_eq!(pos.format(), format, "+{input}");
        }
    }

    #[test]
    fn parse_invalid() {
        let cases = [
            ("1.1.M", QuantityError::FormatWrong),
            ("1+1.0M", QuantityError::FormatWrong),
            ("0.1mi", QuantityError::Suffix),
            ("0.1am", QuantityError::FormatWrong),
            ("aoeu", QuantityError::FormatWrong),
            (".5i", QuantityError::Suffix),
            ("1i", QuantityError::Suffix),
            ("-3.01i", QuantityError::Suffix),
            ("-3.01e-", QuantityError::Suffix),
            ("1e4294967297", QuantityError::Suffix),
            ("1E2147483648", QuantityError::Suffix),
            ("1E-2147483648", QuantityError::Suffix),
            (" 1", QuantityError::FormatWrong),
            ("1 ", QuantityError::FormatWrong),
            ("1K", QuantityError::Suffix),
            ("1ki", QuantityError::Suffix),
            ("1e", QuantityError::Suffix),
            ("1Gi5", QuantityError::Suffix),
        ];
        for (input, want) in cases {
            assert_eq!(Quantity::parse(input), Err(want), "{input:?}");
        }
        assert_eq!(
            QuantityError::FormatWrong.to_string(),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
        assert_eq!(
            QuantityError::Suffix.to_string(),
            "unable to parse quantity's suffix"
        );
    }

    #[test]
    fn parse_edge_cases() {
        // Upstream's scanner accepts a bare sign or dot as zero.
        for s in [".", "-.", "+", "-", "00", "-0", "0.0"] {
            assert!(q(s).is_zero(), "{s}");
        }
        assert_eq!(q("1E2147483647").nanos(), i128::MAX);
        assert_eq!(q("1E-2147483647").nanos(), 1);
        assert_eq!(q("-1E-2147483647").nanos(), -1);
        assert_eq!(
            q("100000000000000000000000000000000000000000000").nanos(),
            i128::MAX
        );
        assert_eq!(
            q("-100000000000000000000000000000000000000000000").nanos(),
            -i128::MAX
        );
        let long_fraction = format!("0.{}1", "0".repeat(200));
        assert_eq!(q(&long_fraction).nanos(), 1);
        let long_exact = format!("1.{}", "0".repeat(200));
        assert_eq!(q(&long_exact).nanos(), NANOS_PER_UNIT);
        // Leading zeros in the integer part do not matter.
        assert_eq!(q("000123m").milli_value(), 123);
    }

    // Upstream TestQuantityString.
    #[test]
    fn canonical_strings() {
        let cases: Vec<(i128, QuantityFormat, &str)> = vec![
            (dec(1 << 30, 0), BinarySI, "1Gi"),
            (dec(300 << 20, 0), BinarySI, "300Mi"),
            (dec(6 * 1024, 0), BinarySI, "6Ki"),
            (dec(1001 << 30, 0), BinarySI, "1001Gi"),
            (dec(1 << 40, 0), BinarySI, "1Ti"),
            (dec(5, 0), BinarySI, "5"),
            (dec(500, -3), BinarySI, "500m"),
            (dec(1, 9), DecimalSI, "1G"),
            (dec(1000, 6), DecimalSI, "1G"),
            (dec(1000000, 3), DecimalSI, "1G"),
            (dec(1000000000, 0), DecimalSI, "1G"),
            (dec(1, -3), DecimalSI, "1m"),
            (dec(80, -3), DecimalSI, "80m"),
            (dec(1080, -3), DecimalSI, "1080m"),
            (dec(108, -2), DecimalSI, "1080m"),
            (dec(10800, -4), DecimalSI, "1080m"),
            (dec(300, 6), DecimalSI, "300M"),
            (dec(1, 12), DecimalSI, "1T"),
            (dec(1, 18), DecimalSI, "1E"),
            (dec(1, 21), DecimalSI, "1e21"),
            (dec(5, 21), DecimalSI, "5e21"),
            (dec(1, 24), DecimalSI, "1e24"),
            (dec(1234567, 6), DecimalSI, "1234567M"),
            (dec(1234567, -3), BinarySI, "1234567m"),
            (dec(3, 3), DecimalSI, "3k"),
            (dec(1025, 0), BinarySI, "1025"),
            (0, DecimalSI, "0"),
            (0, BinarySI, "0"),
            (dec(1, 9), DecimalExponent, "1e9"),
            (dec(1, -3), DecimalExponent, "1e-3"),
            (dec(1, -9), DecimalExponent, "1e-9"),
            (dec(80, -3), DecimalExponent, "80e-3"),
            (dec(300, 6), DecimalExponent, "300e6"),
            (dec(1, 12), DecimalExponent, "1e12"),
            (dec(1, 3), DecimalExponent, "1e3"),
            (dec(3, 3), DecimalExponent, "3e3"),
            (0, DecimalExponent, "0"),
            (dec(1, -9), DecimalSI, "1n"),
            (dec(80, -9), DecimalSI, "80n"),
            (dec(1080, -9), DecimalSI, "1080n"),
            (dec(1, -6), DecimalSI, "1u"),
            (dec(80, -6), DecimalSI, "80u"),
            (dec(1080, -6), DecimalSI, "1080u"),
            (dec(2000, 0), BinarySI, "2000"),
        ];
        for (nanos, format, want) in cases {
            let got = Quantity::from_nanos(nanos, format);
            assert_eq!(got.to_string(), want, "{nanos} {format:?}");
            // The canonical string parses back to the same value.
            assert_eq!(q(want).nanos(), nanos, "{want}");
            if nanos != 0 {
                assert_eq!(
                    Quantity::from_nanos(-nanos, format).to_string(),
                    format!("-{want}")
                );
            }
        }
    }

    // Upstream TestQuantityParseEmit plus common canonicalisations.
    #[test]
    fn parse_emit() {
        let cases = [
            ("1Ki", "1Ki"),
            ("1Mi", "1Mi"),
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1000M", "1G"),
            (".001Ki", "1024m"),
            (".000001Ki", "1024u"),
            (".000000001Ki", "1024n"),
            (".000000000001Ki", "2n"),
            ("1000m", "1"),
            ("1.5", "1500m"),
            ("1.5Gi", "1536Mi"),
            ("100m", "100m"),
            ("2", "2"),
            ("1e3", "1e3"),
            ("500M", "500M"),
            ("0.5", "500m"),
            ("1000", "1k"),
            ("9Ei", "9223372036854775807"),
            ("12E", "12E"),
            ("1000E", "1e21"),
        ];
        for (input, want) in cases {
            assert_eq!(q(input).to_string(), want, "{input}");
            if !q(input).is_zero() {
                assert_eq!(
                    q(&format!("-{input}")).to_string(),
                    format!("-{want}"),
                    "-{input}"
                );
            }
        }
        // 9Ei is capped at 2^63-1, which does not divide by 1024: printed in full.
        assert_eq!(q("9Ei").nanos(), MAX_NANOS);
        assert_eq!(Quantity::canonicalize("2048Ki"), Ok("2Mi".to_string()));
        assert_eq!(Quantity::canonicalize("x"), Err(QuantityError::FormatWrong));
    }

    // Upstream TestQuantityCmp and TestQuantityCmpInt64AndDec (adapted).
    #[test]
    fn comparisons() {
        assert_eq!(q("0").cmp(&q("0")), Ordering::Equal);
        assert_eq!(q("100m").cmp(&q("50m")), Ordering::Greater);
        assert_eq!(q("50m").cmp(&q("100m")), Ordering::Less);
        assert_eq!(q("10000T").cmp(&q("100Gi")), Ordering::Greater);
        assert_eq!(q("1Gi").cmp(&q("1G")), Ordering::Greater);
        assert_eq!(q("1000m"), q("1"));
        assert_eq!(q("1k"), q("1e3"));
        assert_eq!(q("1024"), q("1Ki"));
        assert!(q("-1") < q("0"));
        assert!(q("9.01") > q("9"));
        assert_eq!(q("0.8").cmp(&q("1")), Ordering::Less);
        assert_eq!(q("0.8").cmp(&q("0.79")), Ordering::Greater);
    }

    #[test]
    fn milli_and_value_round_away_from_zero() {
        assert_eq!(q("100m").milli_value(), 100);
        assert_eq!(q("1Gi").milli_value(), 1_073_741_824_000);
        assert_eq!(q("2").milli_value(), 2000);
        assert_eq!(q("1e3").milli_value(), 1_000_000);
        assert_eq!(q("500M").milli_value(), 500_000_000_000);
        assert_eq!(q("0.1m").milli_value(), 1);
        assert_eq!(q("1n").milli_value(), 1);
        assert_eq!(q("-1.5m").milli_value(), -2);
        assert_eq!(q("1.5").value(), 2);
        assert_eq!(q("-1.5").value(), -2);
        assert_eq!(q("100m").value(), 1);
        assert_eq!(q("9.01").value(), 10);
        assert_eq!(q("1Ki").value(), 1024);
    }

    #[test]
    fn arithmetic_and_constructors() {
        // Upstream TestQuantityAddZeroPreservesSuffix / Sub.
        for s in ["100m", "1Gi"] {
            let v = q(s);
            let zero = q("0");
            assert_eq!(v.saturating_add(&zero).to_string(), s);
            assert_eq!(zero.saturating_add(&v).to_string(), s);
            assert_eq!(v.saturating_sub(&zero).to_string(), s);
            assert_eq!(zero.saturating_sub(&v).to_string(), v.neg().to_string());
        }
        assert_eq!(q("500m").saturating_add(&q("1")).to_string(), "1500m");
        assert_eq!(Quantity::from_milli(250).to_string(), "250m");
        assert_eq!(Quantity::from_value(2048, BinarySI).to_string(), "2Ki");
        assert_eq!(q("1Gi").with_format(DecimalSI).to_string(), "1073741824");
        assert_eq!(q("-2").signum(), -1);
        let big = Quantity::from_nanos(i128::MAX, DecimalSI);
        assert_eq!(big.saturating_add(&big).nanos(), i128::MAX);
        assert_eq!(
            Quantity::from_nanos(i128::MIN, DecimalSI).neg().nanos(),
            i128::MAX
        );
        assert!(!Quantity::from_nanos(i128::MIN, DecimalSI)
            .to_string()
            .is_empty());
    }

    #[test]
    fn serde_round_trip() {
        let v: Quantity = serde_json::from_str("\"1000m\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(serde_json::to_string(&v).ok(), Some("\"1\"".to_string()));
        let n: Quantity = serde_json::from_str("2").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n.to_string(), "2");
        let f: Quantity = serde_json::from_str("0.5").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.to_string(), "500m");
        let t: Quantity = serde_json::from_str("\" 1Gi \"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.to_string(), "1Gi");
        let z: Quantity = serde_json::from_str("null").unwrap_or_else(|e| panic!("{e}"));
        assert!(z.is_zero());
        assert!(serde_json::from_str::<Quantity>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Quantity>("true").is_err());
        assert_eq!(
            Quantity::from_json(&serde_json::json!([1])),
            Err(QuantityError::FormatWrong)
        );
    }
}
