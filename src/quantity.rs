//! Kubernetes quantities (`1Gi`, `500M`, `1e3`, `250m`) parsed exactly, as the API server does,
//! so that what the CRD's CEL rules accept is what the controller and the chart can use.

/// A quantity as an exact fraction `numerator / denominator` (both positive powers are folded in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    negative: bool,
    numerator: u128,
    denominator: u128,
}

/// The largest storage size the CRDs accept (`quantity('1Pi')` in their CEL rules).
pub const MAX_STORAGE_BYTES: u64 = 1 << 50;

impl Quantity {
    /// Parses `[+-]digits[.digits][suffix]` with a binary (`Ki`..`Ei`), decimal (`n`,`u`,`m`,`k`,`M`..`E`)
    /// or exponent (`e3`, `E-2`) suffix; `None` when it is not a quantity or does not fit.
    pub fn parse(text: &str) -> Option<Self> {
        let (negative, rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let split = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(split);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
            return None;
        }
        let mut numerator: u128 = 0;
        for digit in whole.bytes().chain(fraction.bytes()) {
            numerator = numerator.checked_mul(10)?.checked_add(u128::from(digit - b'0'))?;
        }
        let mut exponent10 = -i32::try_from(fraction.len()).ok()?;
        let mut binary: u32 = 0;
        match suffix {
            "" => {}
            "Ki" => binary = 10,
            "Mi" => binary = 20,
            "Gi" => binary = 30,
            "Ti" => binary = 40,
            "Pi" => binary = 50,
            "Ei" => binary = 60,
            "n" => exponent10 -= 9,
            "u" => exponent10 -= 6,
            "m" => exponent10 -= 3,
            "k" => exponent10 += 3,
            "M" => exponent10 += 6,
            "G" => exponent10 += 9,
            "T" => exponent10 += 12,
            "P" => exponent10 += 15,
            "E" => exponent10 += 18,
            _ => {
                let exponent = suffix.strip_prefix(['e', 'E'])?;
                let digits = exponent.trim_start_matches(['+', '-']);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || exponent.len() - digits.len() > 1
                {
                    return None;
                }
                exponent10 = exponent10.checked_add(exponent.parse::<i32>().ok()?)?;
            }
        }
        numerator = numerator.checked_mul(1u128.checked_shl(binary)?)?;
        let mut denominator: u128 = 1;
        if exponent10 >= 0 {
            numerator = numerator.checked_mul(10u128.checked_pow(u32::try_from(exponent10).ok()?)?)?;
        } else {
            denominator = 10u128.checked_pow(exponent10.unsigned_abs())?;
        }
        Some(Self { negative, numerator, denominator })
    }

    /// The value when it is a whole, non-negative number.
    pub fn whole(self) -> Option<u128> {
        (!self.negative && self.numerator.is_multiple_of(self.denominator)).then_some(self.numerator / self.denominator)
    }

    /// The value, approximately (for comparisons such as requests ≤ limits).
    pub fn approximate(self) -> f64 {
        let value = self.numerator as f64 / self.denominator as f64;
        if self.negative { -value } else { value }
    }
}

/// Bytes of a storage quantity as the CRDs' CEL rule accepts it: a whole number with an optional
/// unit (no fraction, no `m`/`u`/`n`, no negative exponent), greater than 0 and at most 1Pi.
pub fn storage_bytes(text: &str) -> Option<u64> {
    if text.contains('.') || text.ends_with(['m', 'u', 'n']) || text.contains("e-") || text.contains("E-") {
        return None;
    }
    let quantity = Quantity::parse(text)?;
    let bytes = quantity.whole()?;
    u64::try_from(bytes).ok().filter(|b| (1..=MAX_STORAGE_BYTES).contains(b))
}

/// Bytes of any non-negative whole quantity (`0` included), as the chart's `toBytes` converts.
pub fn bytes(text: &str) -> Option<u64> {
    u64::try_from(Quantity::parse(text)?.whole()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_exactly() {
        for (text, expected) in [
            ("0", Some(0)),
            ("1k", Some(1000)),
            ("2Mi", Some(2 << 20)),
            ("1Ti", Some(1 << 40)),
            ("1.5Ki", Some(1536)),
            ("1e3", Some(1000)),
            ("1E3", Some(1000)),
            ("+5", Some(5)),
            ("1500m", None),
            ("1.5", None),
            ("-1Gi", None),
            ("1e400", None),
            ("", None),
            ("Gi", None),
            ("1Zi", None),
            ("1..2", None),
            ("1e", None),
            ("1e+-3", None),
            (".", None),
        ] {
            assert_eq!(bytes(text), expected, "{text}");
        }
        assert_eq!(Quantity::parse("250m").map(Quantity::approximate), Some(0.25));
        assert_eq!(Quantity::parse("-1").map(Quantity::approximate), Some(-1.0));
    }

    #[test]
    fn storage_sizes_are_positive_whole_and_at_most_one_pebibyte() {
        assert_eq!(storage_bytes("1Gi"), Some(1 << 30));
        assert_eq!(storage_bytes("1Pi"), Some(MAX_STORAGE_BYTES));
        assert_eq!(storage_bytes("1023Ti"), Some(1023 << 40));
        for bad in ["0", "-1Gi", "1500m", "1e400", "2Pi", "1Ei", "1.5Ki", "1.0", "1e-3", "3000m"] {
            assert_eq!(storage_bytes(bad), None, "{bad}");
        }
    }
}
