//! Pure grammars of the values a profile holds: DNS-1123 names, image
//! references, CIDRs, label keys and values, Prometheus durations and label
//! names, and byte counts as a user writes them. No profile, no positions:
//! the Checker (check.rs) turns their verdicts into diagnostics.

use std::net::IpAddr;

use super::quantity::Quantity;
use crate::profile::Sp;

/// Checks a DNS-1123 label (RFC 1123): what Kubernetes requires of names.
pub fn dns1123_label(s: &str, max: usize) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("empty");
    }
    if s.len() > max {
        return Err("too long");
    }
    let ok_chars = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ends_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !ok_chars || !ends_ok(s.as_bytes()[0]) || !ends_ok(s.as_bytes()[s.len() - 1]) {
        return Err("invalid characters");
    }
    Ok(())
}

/// Checks a DNS-1123 subdomain: labels joined by dots, at most 253 characters.
pub fn dns1123_subdomain(s: &str) -> Result<(), &'static str> {
    if s.len() > 253 {
        return Err("too long");
    }
    s.split('.').try_for_each(|label| dns1123_label(label, 63))
}

/// The largest quantity Kubernetes accepts, in base units.
pub const MAX_QUANTITY: f64 = i64::MAX as f64;

/// Checks an image reference: `[registry/]path[:tag][@sha256:<64 hex>]`.
pub fn image_reference(s: &str) -> Result<(), String> {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let hex = d.strip_prefix("sha256:").ok_or("the digest must start with `sha256:`")?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err("a sha256 digest has 64 lower-case hex digits".into());
        }
    }
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if name.is_empty() {
        return Err("the image name is empty".into());
    }
    for (i, part) in name.split('/').enumerate() {
        let registry =
            i == 0 && name.contains('/') && (part.contains('.') || part.contains(':') || part == "localhost");
        let ok = !part.is_empty()
            && if registry {
                part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b))
            } else {
                part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
                    && part.as_bytes()[0].is_ascii_alphanumeric()
            };
        if !ok {
            return Err(format!(
                "`{part}` is not a valid image path component (lower-case letters, digits, '.', '_', '-')"
            ));
        }
    }
    match (tag, digest) {
        (Some(t), _)
            if t.is_empty()
                || t.len() > 128
                || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)) =>
        {
            Err(format!("`{t}` is not a valid tag"))
        }
        (Some("latest"), None) | (None, None) => {
            Err("pin a version: give a tag other than `latest` (such as `:8.2`) or a digest (`@sha256:...`)".into())
        }
        _ => Ok(()),
    }
}

/// Parses `a.b.c.d/n` or an IPv6 CIDR; the host bits must be zero.
pub fn parse_cidr(s: &str) -> Result<(IpAddr, u8), String> {
    let (addr, len) = s.split_once('/').ok_or("expected a CIDR such as `192.168.4.0/24`")?;
    let ip: IpAddr = addr.parse().map_err(|_| format!("`{addr}` is not an IP address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len: u8 = len
        .parse()
        .ok()
        .filter(|l| *l <= max)
        .ok_or_else(|| format!("prefix length `{len}` is not between 0 and {max}"))?;
    if network(ip, len) != ip {
        return Err(format!("host bits are set; the network is `{}/{len}`", network(ip, len)));
    }
    Ok((ip, len))
}

fn network(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

pub fn cidr_contains((net, len): (IpAddr, u8), ip: IpAddr) -> bool {
    net.is_ipv4() == ip.is_ipv4() && network(ip, len) == net
}

/// A label key: optional DNS prefix, then a name of at most 63 characters.
pub fn label_key_ok(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    let prefix_ok = prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(|l| dns1123_label(l, 63).is_ok()));
    prefix_ok && label_value_ok(name) && !name.is_empty()
}

/// A label value: at most 63 alphanumerics, '-', '_', '.', alphanumeric at both ends.
pub fn label_value_ok(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && v.as_bytes()[0].is_ascii_alphanumeric()
            && v.as_bytes()[v.len() - 1].is_ascii_alphanumeric())
}

/// A Kubernetes label key as a Prometheus label name: every character other
/// than a letter, digit or '_' becomes '_' (what prometheus-operator does to
/// `podTargetLabels`).
pub fn prometheus_label_name(k8s: &str) -> String {
    k8s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

/// Milliseconds of a Prometheus duration (`0`, or `1h30m`: units y, w, d, h,
/// m, s, ms, largest first, each at most once); the grammar of the
/// prometheus-operator CRDs' duration pattern.
pub fn duration_ms(s: &str) -> Option<u64> {
    if s == "0" {
        return Some(0);
    }
    const UNITS: &[(&str, u64)] = &[
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("ms", 1),
        ("m", 60_000),
        ("s", 1000),
    ];
    // Rank of each unit in the required order (ms after s).
    let rank = |u: &str| ["y", "w", "d", "h", "m", "s", "ms"].iter().position(|x| *x == u);
    let (mut rest, mut total, mut last) = (s, 0u64, None::<usize>);
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, mult) = UNITS.iter().find(|(u, _)| rest.starts_with(u))?;
        let r = rank(unit)?;
        if last.is_some_and(|l| r <= l) {
            return None;
        }
        last = Some(r);
        rest = &rest[unit.len()..];
        total = total.checked_add(n.checked_mul(*mult)?)?;
    }
    Some(total)
}

/// The default CPU request is lowered to the limit when the limit is smaller,
/// so that setting only a small limit still gives a valid pair.
pub fn cap_cpu_request(req: Sp<String>, limit: &Sp<String>, explicit: bool) -> Sp<String> {
    if explicit {
        return req;
    }
    match (Quantity::parse(&req.value), Quantity::parse(&limit.value)) {
        (Some(r), Some(l)) if r > l => Sp::default(limit.value.clone()),
        _ => req,
    }
}

/// `1536Mi`, `3Gi` or `1000 bytes`: a byte count as a user would write it.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "Gi"), (1 << 20, "Mi"), (1 << 10, "Ki")];
    match UNITS.iter().find(|(u, _)| b >= *u && b.is_multiple_of(*u)) {
        Some((u, name)) => format!("{}{name}", b / u),
        None => format!("{b} bytes"),
    }
}

/// A scrape interval: a Prometheus duration other than zero. (The restart
/// alert uses it as a subquery step, so it must be valid PromQL too.)
pub fn prometheus_duration(s: &str) -> bool {
    duration_ms(s).is_some_and(|ms| ms > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        for ok in [
            "redis:8.2",
            "docker.io/library/redis:8.2",
            "localhost:5000/redis:8.2",
            &format!("redis:8.2@sha256:{}", "a".repeat(64)),
            &format!("redis@sha256:{}", "0".repeat(64)),
        ] {
            assert_eq!(image_reference(ok), Ok(()), "{ok}");
        }
        for bad in
            ["redis", "redis:latest", "Redis:8.2", "redis:8.2@sha256:abc", "redis:", "redis:8.2 --x", "redis:8\n2"]
        {
            assert!(image_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        assert!(parse_cidr("192.168.4.0/24").is_ok());
        assert!(parse_cidr("fd00::/8").is_ok());
        assert!(parse_cidr("192.168.4.1/24").unwrap_err().contains("192.168.4.0/24"));
        assert!(parse_cidr("192.168.4.0/33").is_err());
        assert!(parse_cidr("192.168.4.0").is_err());
    }

    #[test]
    fn subdomains_and_byte_counts() {
        assert!(dns1123_subdomain("fast.ssd").is_ok());
        assert!(dns1123_subdomain("fast..ssd").is_err());
        assert!(dns1123_subdomain(&"a.".repeat(127)).is_err());
        assert_eq!(human_bytes(3 << 30), "3Gi");
        assert_eq!(human_bytes(1536 << 20), "1536Mi");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }

    #[test]
    fn prometheus_durations_follow_the_crd_grammar() {
        assert_eq!(duration_ms("0"), Some(0));
        assert_eq!(duration_ms("1h30m"), Some(5_400_000));
        assert_eq!(duration_ms("1m30s500ms"), Some(90_500));
        assert_eq!(duration_ms("2w"), Some(1_209_600_000));
        for bad in ["", "5", "m", "30s1m", "1m1m", "1.5h", "-1m", "1 m", "1ms5s"] {
            assert_eq!(duration_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert!(prometheus_duration("30s"));
        assert!(prometheus_duration("1m30s"));
        assert!(!prometheus_duration("30"));
        assert!(!prometheus_duration("s"));
        assert!(!prometheus_duration("30s1m"), "units largest first");
        assert!(!prometheus_duration("0s"));
    }
}
