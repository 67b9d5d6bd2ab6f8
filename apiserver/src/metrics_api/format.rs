//! How metrics-server writes its values: CPU as a DecimalSI quantity of nanocores, memory as
//! a BinarySI quantity of bytes (both canonical: `12345n`, `250m`, `1236Ki`), the window as
//! a Go `time.Duration` string (`15.002s`, `1m0s`) and timestamps as RFC 3339 seconds.

use rkube_apimachinery::quantity::{Quantity, QuantityFormat};

use super::storage::Nanos;

/// CPU usage in nanocores as metrics-server prints it.
pub fn cpu(nanocores: u64) -> String {
    Quantity::from_nanos(i128::from(nanocores), QuantityFormat::DecimalSI).to_canonical_string()
}

/// Memory in bytes as metrics-server prints it.
pub fn memory(bytes: u64) -> String {
    Quantity::from_value(i128::from(bytes), QuantityFormat::BinarySI).to_canonical_string()
}

/// A duration in Go's `time.Duration.String()` form.
pub fn go_duration(d: Nanos) -> String {
    if d == 0 {
        return "0s".to_string();
    }
    let sign = if d < 0 { "-" } else { "" };
    let n = d.unsigned_abs();
    if n < 1_000_000_000 {
        let (unit, div) = match n {
            0..1_000 => ("ns", 1),
            1_000..1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{sign}{}{unit}", fraction(n / div, n % div, div));
    }
    let secs = n / 1_000_000_000;
    let s = fraction(secs % 60, n % 1_000_000_000, 1_000_000_000);
    let (h, m) = (secs / 3600, secs / 60 % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{sign}{m}m{s}s")
    } else {
        format!("{sign}{s}s")
    }
}

/// `whole.frac` with the fraction's trailing zeros (and a bare dot) dropped.
fn fraction(whole: u64, frac: u64, div: u64) -> String {
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// A timestamp as metav1.Time serializes it (RFC 3339, whole seconds, UTC).
pub fn timestamp(t: Nanos) -> String {
    chrono::DateTime::from_timestamp_nanos(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_in_canonical_form() {
        assert_eq!(cpu(0), "0");
        assert_eq!(cpu(12_345_678), "12345678n");
        assert_eq!(cpu(12_345_000), "12345u");
        assert_eq!(cpu(250_000_000), "250m");
        assert_eq!(cpu(1_000_000_000), "1");
        assert_eq!(cpu(1_500_000_000), "1500m");
        assert_eq!(memory(0), "0");
        assert_eq!(memory(512), "512");
        assert_eq!(memory(1_265_664), "1236Ki");
        assert_eq!(memory(1_265_665), "1265665");
        assert_eq!(memory(5 << 20), "5Mi");
        assert_eq!(memory(3 << 30), "3Gi");
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(15_000_000_000), "15s");
        assert_eq!(go_duration(15_123_000_000), "15.123s");
        assert_eq!(go_duration(15_000_000_001), "15.000000001s");
        assert_eq!(go_duration(60_000_000_000), "1m0s");
        assert_eq!(go_duration(61_500_000_000), "1m1.5s");
        assert_eq!(go_duration(3_661_000_000_000), "1h1m1s");
        assert_eq!(go_duration(1_500_000), "1.5ms");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(999), "999ns");
        assert_eq!(go_duration(-2_000_000_000), "-2s");
    }

    #[test]
    fn timestamps_in_whole_seconds() {
        assert_eq!(timestamp(1_700_000_000_987_654_321), "2023-11-14T22:13:20Z");
    }
}
