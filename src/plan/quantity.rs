//! Kubernetes resource quantities (`500m`, `2Gi`, `1.5`), parsed so that the
//! plan can compare requests with limits and derive `maxmemory` in bytes.

/// A parsed quantity, as a value in base units (cores or bytes).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Quantity(pub f64);

const SUFFIXES: &[(&str, f64)] = &[
    ("Ki", 1024.0),
    ("Mi", 1_048_576.0),
    ("Gi", 1_073_741_824.0),
    ("Ti", 1_099_511_627_776.0),
    ("Pi", 1_125_899_906_842_624.0),
    ("Ei", 1_152_921_504_606_846_976.0),
    ("m", 1e-3),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
    ("E", 1e18),
];

impl Quantity {
    /// Parses the Kubernetes quantity grammar (decimal number, optional
    /// binary/decimal suffix or exponent). Returns `None` when it is not one.
    pub fn parse(s: &str) -> Option<Quantity> {
        let (num, mult) = match SUFFIXES.iter().find(|(suf, _)| s.ends_with(suf)) {
            Some((suf, m)) => (&s[..s.len() - suf.len()], *m),
            None => match s.find(['e', 'E']) {
                Some(i) => {
                    let exp: i32 = s[i + 1..].parse().ok()?;
                    (&s[..i], 10f64.powi(exp))
                }
                None => (s, 1.0),
            },
        };
        let digits = num.strip_prefix('+').unwrap_or(num);
        let valid = !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
            && digits.matches('.').count() <= 1
            && digits != ".";
        if !valid {
            return None;
        }
        let v: f64 = digits.parse().ok()?;
        Some(Quantity(v * mult))
    }
}

/// The form in which the API server stores a quantity (Kubernetes'
/// canonical form: `1000m` is `1`, `1024Mi` is `1Gi`, `0.5` is `500m`), so
/// that what redis-gen writes is what a client-side diff finds in the
/// cluster. The suffix family of the input is kept (binary stays binary
/// when the value is a whole number of bytes of at least 1Ki), as the API
/// server does; a value it cannot represent exactly is returned as written.
pub fn canonical(s: &str) -> String {
    canonical_parts(s).unwrap_or_else(|| s.to_string())
}

/// The suffix family of a quantity, which the API server keeps.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    Binary,
    Decimal,
    Exponent,
}

/// `s` as an exact decimal `n * 10^exp`, and its format.
fn exact(s: &str) -> Option<(u128, i32, Format)> {
    let (num, binary, exp10) = match SUFFIXES.iter().find(|(suf, _)| s.ends_with(suf)) {
        Some((suf, _)) if suf.ends_with('i') => {
            let power = 1 + SUFFIXES.iter().position(|(x, _)| x == suf)? as u32;
            (&s[..s.len() - suf.len()], Some(power), 0)
        }
        Some((suf, _)) => {
            let e = match *suf {
                "m" => -3,
                "k" => 3,
                "M" => 6,
                "G" => 9,
                "T" => 12,
                "P" => 15,
                _ => 18,
            };
            (&s[..s.len() - suf.len()], None, e)
        }
        None => match s.find(['e', 'E']) {
            Some(i) => (&s[..i], None, s[i + 1..].parse().ok()?),
            None => (s, None, 0),
        },
    };
    let digits = num.strip_prefix('+').unwrap_or(num);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut n: u128 = format!("{int}{frac}").parse().ok()?;
    let mut exp = exp10 - i32::try_from(frac.len()).ok()?;
    if let Some(power) = binary {
        n = n.checked_mul(1u128.checked_shl(10 * power)?)?;
    }
    while n != 0 && n.is_multiple_of(10) {
        n /= 10;
        exp += 1;
    }
    let format = match (binary, s.contains(['e', 'E'])) {
        (Some(_), _) => Format::Binary,
        (None, true) => Format::Exponent,
        (None, false) => Format::Decimal,
    };
    Some((n, exp, format))
}

fn canonical_parts(s: &str) -> Option<String> {
    let (mut n, mut exp, format) = exact(s)?;
    if n == 0 {
        return Some("0".into());
    }
    if format == Format::Binary && exp >= 0 {
        let bytes = n.checked_mul(10u128.checked_pow(exp as u32)?)?;
        if bytes >= 1024 {
            let mut power = 0;
            let mut m = bytes;
            while m % 1024 == 0 && power < 6 {
                m /= 1024;
                power += 1;
            }
            let suffix = if power == 0 { "" } else { SUFFIXES[power - 1].0 };
            return Some(format!("{m}{suffix}"));
        }
    }
    // Decimal: thousandths at the finest (the API server rounds up to them).
    if exp < -3 {
        let drop = 10u128.checked_pow((-3 - exp) as u32)?;
        n = n.div_ceil(drop);
        exp = -3;
    }
    let group = exp.div_euclid(3).clamp(-1, 6);
    let m = n.checked_mul(10u128.checked_pow((exp - 3 * group) as u32)?)?;
    Some(match format {
        Format::Exponent if group != 0 => format!("{m}e{}", 3 * group),
        Format::Exponent => m.to_string(),
        _ => format!("{m}{}", ["m", "", "k", "M", "G", "T", "P", "E"][(group + 1) as usize]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubernetes_forms() {
        assert_eq!(Quantity::parse("10Gi"), Some(Quantity(10.0 * 1_073_741_824.0)));
        assert_eq!(Quantity::parse("1000m"), Some(Quantity(1.0)));
        assert_eq!(Quantity::parse("1.5"), Some(Quantity(1.5)));
        assert_eq!(Quantity::parse("1e3"), Some(Quantity(1000.0)));
        assert_eq!(Quantity::parse("64Mi"), Some(Quantity(67_108_864.0)));
    }

    #[test]
    fn canonical_is_what_the_api_server_stores() {
        // Pairs as kube-apiserver v1.37 stores them (tests/py/test_cluster.py applies the real ones).
        for (written, stored) in [
            ("1000m", "1"),
            ("500m", "500m"),
            ("1500m", "1500m"),
            ("0.5", "500m"),
            ("1.5", "1500m"),
            ("2", "2"),
            ("2000", "2k"),
            ("100m", "100m"),
            ("0.0001", "1m"),
            ("1e3", "1e3"),
            ("15e2", "1500"),
            ("2Gi", "2Gi"),
            ("1024Mi", "1Gi"),
            ("1536Mi", "1536Mi"),
            ("0.5Gi", "512Mi"),
            ("64Mi", "64Mi"),
            ("512", "512"),
            ("1.5Ki", "1536"),
            ("10G", "10G"),
            ("1000M", "1G"),
            ("0", "0"),
        ] {
            assert_eq!(canonical(written), stored, "{written}");
        }
    }

    #[test]
    fn rejects_what_kubernetes_rejects() {
        for bad in ["", "Gi", "10GB", "ten", "-1", "1..2", "10 Gi", "0x10"] {
            assert_eq!(Quantity::parse(bad), None, "{bad}");
        }
    }
}
