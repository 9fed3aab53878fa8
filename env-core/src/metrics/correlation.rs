//! Pearson correlation (entropy vs repetition count in the frequency-bias study).

use crate::error::{Error, Result};

/// The Pearson correlation of two equally long series (at least 2 points, all finite). Errors on
/// mismatched lengths, fewer than 2 points, a non-finite value, or a constant series (whose
/// correlation is undefined: [`Error::NotFinite`]).
pub fn pearson(xs: &[f64], ys: &[f64]) -> Result<f64> {
    if xs.len() != ys.len() {
        return Err(Error::ShapeMismatch { what: "correlation series", expected: xs.len(), got: ys.len() });
    }
    if xs.len() < 2 {
        return Err(Error::Empty { what: "correlation series (2 points or more)" });
    }
    if xs.iter().chain(ys).any(|v| !v.is_finite()) {
        return Err(Error::NotFinite { name: "correlation input" });
    }
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&x, &y) in xs.iter().zip(ys) {
        let (dx, dy) = (x - mx, y - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return Err(Error::NotFinite { name: "correlation of a constant series" });
    }
    Ok((sxy / libm::sqrt(sxx * syy)).clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        assert_eq!(pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]), Ok(1.0));
        assert_eq!(pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Ok(-1.0));
        // x = 1,2,3,4; y = 1,3,2,4: sxy = 4, sxx = syy = 5 -> 0.8
        let r = pearson(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]).unwrap();
        assert!((r - 0.8).abs() < 1e-12);
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).is_err());
        assert!(pearson(&[1.0], &[1.0]).is_err());
        assert!(pearson(&[1.0, 2.0], &[1.0]).is_err());
        assert!(pearson(&[1.0, f64::NAN], &[1.0, 2.0]).is_err());
    }
}
