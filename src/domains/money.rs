//! Amounts of money and counts, as the built-in domains read them from commands: integers in
//! minor units (cents), never floats. A non-integer, negative, NaN, infinite or unsafe
//! (> 2^53 - 1) value is a `ValidationError` (DESIGN.md §3).
//!
//! ```
//! use eventjournal::domains::money::amount;
//! use serde_json::json;
//! assert_eq!(amount("amount", Some(&json!(2500)), true), Ok(2500));
//! assert!(amount("amount", Some(&json!(12.5)), true).is_err());
//! ```

use serde_json::Value;

use crate::canonical::{kind_of, MAX_SAFE_INTEGER};
use crate::error::Rejection;

/// Checks an amount of money given in integer minor units: a non-negative (or, with
/// `positive`, strictly positive) integer no larger than 2^53 - 1.
pub fn amount(field: &str, value: Option<&Value>, positive: bool) -> Result<u64, Rejection> {
    safe_integer(field, value, positive, " in minor units (e.g. cents)")
}

/// Checks a count (e.g. a quantity): a positive integer no larger than 2^53 - 1.
pub fn count(field: &str, value: Option<&Value>) -> Result<u64, Rejection> {
    safe_integer(field, value, true, "")
}

fn safe_integer(field: &str, value: Option<&Value>, positive: bool, unit: &str) -> Result<u64, Rejection> {
    let what = if positive { "a positive" } else { "a non-negative" };
    let err = |got: String| {
        Rejection::validation(format!(
            "{field} must be {what} integer{unit} no larger than 2^53-1, got {got}"
        ))
    };
    let n = match value {
        None => return Err(Rejection::validation(format!("{field} is required"))),
        Some(Value::Number(n)) => n,
        Some(other) => return Err(err(kind_of(other).to_owned())),
    };
    let v = if let Some(u) = n.as_u64() {
        u
    } else if n.as_i64().is_some() {
        return Err(err(crate::canonical::number_text(n)));
    } else {
        let f = n.as_f64().unwrap_or(f64::NAN);
        if !(f.is_finite() && f.fract() == 0.0 && f >= 0.0 && f <= MAX_SAFE_INTEGER as f64) {
            return Err(err(crate::canonical::number_text(n)));
        }
        f as u64
    };
    if v > MAX_SAFE_INTEGER || (positive && v == 0) {
        return Err(err(crate::canonical::number_text(n)));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_are_safe_integers() {
        let ok = |v: Value, p| amount("amount", Some(&v), p);
        assert_eq!(ok(json!(5), true), Ok(5));
        assert_eq!(ok(json!(0), false), Ok(0));
        assert_eq!(ok(json!(100.0), true), Ok(100));
        assert!(ok(json!(0), true).is_err());
        assert!(ok(json!(-1), false).is_err());
        assert!(ok(json!(1.5), true).is_err());
        assert!(ok(json!(9007199254740992u64), true).is_err());
        assert_eq!(ok(json!(9007199254740991u64), true), Ok(9007199254740991));
        assert!(ok(json!(1e300), true).is_err());
        assert!(ok(json!("5"), true).is_err());
        assert!(ok(json!(null), true).is_err());
        assert!(amount("amount", None, true).is_err());
    }

    #[test]
    fn counts_are_positive_safe_integers() {
        assert_eq!(count("quantity", Some(&json!(3))), Ok(3));
        assert!(count("quantity", Some(&json!(0))).is_err());
        assert!(count("quantity", Some(&json!(2.5))).is_err());
        assert!(count("quantity", None).is_err());
    }
}
