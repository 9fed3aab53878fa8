//! Number and list formatting shared by every prompt: the exact text of a reward or a list.

use core::fmt::{self, Display, Write};

use crate::labels::LabelSet;
use crate::stats::UcbRule;

/// A number with 2 decimals (`0.30`, `-1.25`); a value that rounds to zero is `0.00` (never
/// `-0.00`); NaN is `NaN`, infinities `inf` / `-inf`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dp2(pub f64);

impl Display for Dp2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v.is_nan() {
            f.write_str("NaN")
        } else if v.is_infinite() {
            f.write_str(if v > 0.0 { "inf" } else { "-inf" })
        } else if libm::fabs(v) < 0.005 {
            f.write_str("0.00")
        } else {
            write!(f, "{v:.2}")
        }
    }
}

/// A reward as tic-tac-toe shows it: an integral value without decimals (`1`, `0`, `-1`),
/// anything else as [`Dp2`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Whole(pub f64);

impl Display for Whole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v.is_finite() && v == libm::trunc(v) && libm::fabs(v) < 1.0e15 {
            write!(f, "{}", v as i64)
        } else {
            Dp2(v).fmt(f)
        }
    }
}

/// Writes every label of `labels`, separated by `", "`.
pub fn write_label_list(w: &mut dyn Write, labels: &LabelSet) -> fmt::Result {
    write_joined(w, labels.as_slice(), ", ")
}

/// Writes `items` separated by `sep`.
pub fn write_joined<T: Display>(w: &mut dyn Write, items: &[T], sep: &str) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            w.write_str(sep)?;
        }
        write!(w, "{item}")?;
    }
    Ok(())
}

/// Writes a tic-tac-toe board as its 9 digits (`102000000`).
pub fn write_board(w: &mut dyn Write, board: &[u8; 9]) -> fmt::Result {
    for &c in board {
        w.write_char(char::from(b'0' + c.min(9)))?;
    }
    Ok(())
}

/// A UCB rule written as a formula: `mean + sqrt(1/N)` (the paper's rule),
/// `mean + 2 * sqrt(1/N)`, or `mean + sqrt(0.5 * ln(t) / N)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleFormula(pub UcbRule);

impl Display for RuleFormula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            UcbRule::InverseSqrtCount { c: 1.0 } => f.write_str("mean + sqrt(1/N)"),
            UcbRule::InverseSqrtCount { c } => write!(f, "mean + {c} * sqrt(1/N)"),
            UcbRule::LogTime { alpha } => write!(f, "mean + sqrt({alpha} * ln(t) / N)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_decimals() {
        let mut s = heapless::String::<64>::new();
        write!(s, "{} {} {} {} {}", Dp2(0.3), Dp2(-0.001), Dp2(1.005), Dp2(f64::NAN), Dp2(-2.5)).unwrap();
        assert_eq!(s, "0.30 0.00 1.00 NaN -2.50");
        s.clear();
        write!(s, "{} {} {} {}", Whole(1.0), Whole(-1.0), Whole(0.0), Whole(0.5)).unwrap();
        assert_eq!(s, "1 -1 0 0.50");
    }
}
