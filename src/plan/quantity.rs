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
    fn rejects_what_kubernetes_rejects() {
        for bad in ["", "Gi", "10GB", "ten", "-1", "1..2", "10 Gi", "0x10"] {
            assert_eq!(Quantity::parse(bad), None, "{bad}");
        }
    }
}
