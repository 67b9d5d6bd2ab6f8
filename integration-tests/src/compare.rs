//! Masking of generated values in kubectl output, so that rkube's kubectl can be compared
//! with the real one: namespaces, RFC 3339 and RFC 1123 timestamps, UIDs, IPv4 addresses,
//! resource versions and ages.

/// Whether a word is an age as kubectl prints it (`5m`, `3h2m`, `10s`).
pub fn is_age(tok: &str) -> bool {
    let mut digits = false;
    let mut units = 0;
    for c in tok.chars() {
        if c.is_ascii_digit() {
            digits = true;
        } else if "smhdy".contains(c) && digits {
            units += 1;
            digits = false;
        } else {
            return false;
        }
    }
    units > 0 && !digits
}

fn replace_spans(s: &str, token: &str, is_match: impl Fn(&str) -> Option<usize>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < s.len() {
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'-');
        if boundary {
            if let Some(len) = is_match(&s[i..]) {
                out.push_str(token);
                i += len;
                continue;
            }
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn ipv4_len(s: &str) -> Option<usize> {
    let mut len = 0;
    for part in 0..4 {
        let d = s[len..].bytes().take_while(u8::is_ascii_digit).count();
        if d == 0 || d > 3 {
            return None;
        }
        len += d;
        if part < 3 {
            if s.as_bytes().get(len) != Some(&b'.') {
                return None;
            }
            len += 1;
        }
    }
    Some(len)
}

fn uuid_len(s: &str) -> Option<usize> {
    let groups = [8, 4, 4, 4, 12];
    let mut len = 0;
    for (i, g) in groups.iter().enumerate() {
        let h = s[len..].bytes().take_while(u8::is_ascii_hexdigit).count();
        if h != *g {
            return None;
        }
        len += h;
        if i < 4 {
            if s.as_bytes().get(len) != Some(&b'-') {
                return None;
            }
            len += 1;
        }
    }
    Some(len)
}

fn timestamp_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:ddZ";
    if b.len() < shape.len() {
        return None;
    }
    for (c, want) in b.iter().zip(shape) {
        let ok = if *want == b'd' { c.is_ascii_digit() } else { c == want };
        if !ok {
            return None;
        }
    }
    Some(shape.len())
}

fn rfc1123_len(s: &str) -> Option<usize> {
    // "Wed, 25 Nov 2026 15:21:17 +0000"
    let b = s.as_bytes();
    if b.len() < 31 || b[3] != b',' || b[4] != b' ' || b[19] != b':' || b[25] != b' ' || !(b[26] == b'+' || b[26] == b'-') {
        return None;
    }
    Some(31)
}

fn resource_version_values(s: &str) -> String {
    let mut out = Vec::new();
    for line in s.lines() {
        let l = if let Some(pos) = line.find("resourceVersion") {
            let (head, tail) = line.split_at(pos);
            let digits_start = tail.find(|c: char| c.is_ascii_digit());
            match digits_start {
                Some(d) if tail[..d].chars().all(|c| c.is_alphabetic() || "\": ".contains(c)) => {
                    let rest = &tail[d..];
                    let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                    format!("{head}{}RV{}", &tail[..d], &rest[n..])
                }
                _ => line.to_string(),
            }
        } else {
            line.to_string()
        };
        out.push(l);
    }
    let mut joined = out.join("\n");
    if s.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

/// Normalizes generated values; returns the text and whether anything was replaced.
pub fn normalize(s: &str, ns: &str) -> (String, bool) {
    let mut t = s.replace(ns, "NS");
    t = replace_spans(&t, "<TS>", timestamp_len);
    t = replace_spans(&t, "<DATE>", rfc1123_len);
    t = replace_spans(&t, "<UID>", uuid_len);
    t = replace_spans(&t, "<IP>", ipv4_len);
    t = resource_version_values(&t);
    let mut changed = t.contains("<IP>") || t.contains("<UID>");
    let words: Vec<String> = t
        .split_inclusive(|c: char| c.is_whitespace())
        .map(|w| {
            let core = w.trim_end();
            if is_age(core) {
                changed = true;
                format!("<AGE>{}", &w[core.len()..])
            } else {
                w.to_string()
            }
        })
        .collect();
    (words.concat(), changed)
}

/// Each line with its runs of spaces collapsed to one (column widths depend on masked values).
pub fn collapse(s: &str) -> String {
    s.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n")
}

/// Whether two outputs are equal once normalized (`a_ns`/`b_ns` stand for the same namespace);
/// when masking replaced anything, column padding is ignored.
pub fn same(a: &str, a_ns: &str, b: &str, b_ns: &str) -> bool {
    let (na, ca) = normalize(a, a_ns);
    let (nb, cb) = normalize(b, b_ns);
    na == nb || ((ca || cb) && collapse(&na) == collapse(&nb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_generated_values() {
        assert!(is_age("5m") && is_age("3h2m") && is_age("10s") && !is_age("80/TCP") && !is_age("v1") && !is_age("1"));
        let (n, changed) = normalize("web   10.96.0.1   5m\n  uid: 0b3d2ebc-7bd2-4d17-bb9b-2c1cd8897f06\n  resourceVersion: \"27\"\n", "x");
        assert!(changed);
        assert_eq!(n, "web   <IP>   <AGE>\n  uid: <UID>\n  resourceVersion: \"RV\"\n");
        assert!(same("Created:  Wed, 25 Nov 2026 15:21:17 +0000\nAge:  5s\n", "ns-one", "Created:  Thu, 26 Nov 2026 01:02:03 +0000\nAge:  10s\n", "ns-two"));
        assert!(!same("Replicas:  2 desired\nAge:  5s\n", "ns-one", "Replicas:  3 desired\nAge:  5s\n", "ns-one"));
    }
}
