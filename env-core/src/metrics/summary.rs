//! Mean and 95% confidence interval (normal approximation), as used for the paper's plots.

use crate::error::{Error, Result};

/// The z value of a two-sided 95% normal interval.
const Z95: f64 = 1.96;

/// A mean with its 95% confidence half-width: the interval is `mean ± half_width`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanCi {
    /// The sample mean.
    pub mean: f64,
    /// 1.96 * sample sd / sqrt(n); NaN for a single value (the sd is undefined).
    pub half_width: f64,
    /// The number of values.
    pub n: u64,
}

impl MeanCi {
    /// Lower end of the interval.
    pub fn lower(&self) -> f64 {
        self.mean - self.half_width
    }

    /// Upper end of the interval.
    pub fn upper(&self) -> f64 {
        self.mean + self.half_width
    }
}

/// Streaming mean and variance (Welford), for summarising episodes without storing them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MeanAccumulator {
    n: u64,
    mean: f64,
    m2: f64,
}

impl MeanAccumulator {
    /// Adds a value (errors on a non-finite one).
    pub fn push(&mut self, x: f64) -> Result<()> {
        if !x.is_finite() {
            return Err(Error::NotFinite { name: "value" });
        }
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
        Ok(())
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// The sample standard deviation (n - 1 denominator); `None` below 2 values.
    pub fn sample_sd(&self) -> Option<f64> {
        (self.n >= 2).then(|| libm::sqrt(self.m2 / (self.n - 1) as f64))
    }

    /// The mean and 95% interval. Errors when no value was pushed.
    pub fn mean_ci95(&self) -> Result<MeanCi> {
        if self.n == 0 {
            return Err(Error::Empty { what: "values" });
        }
        let half_width = match self.sample_sd() {
            Some(sd) => Z95 * sd / libm::sqrt(self.n as f64),
            None => f64::NAN,
        };
        Ok(MeanCi { mean: self.mean, half_width, n: self.n })
    }
}

/// The mean and 95% interval (1.96 * sample sd / sqrt(n)) of `values`. Errors on an empty slice
/// or a non-finite value.
pub fn mean_ci95(values: &[f64]) -> Result<MeanCi> {
    let mut acc = MeanAccumulator::default();
    for &v in values {
        acc.push(v)?;
    }
    acc.mean_ci95()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample var 32/7
        let ci = mean_ci95(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert!((ci.mean - 5.0).abs() < 1e-12);
        let want = 1.96 * libm::sqrt(32.0 / 7.0) / libm::sqrt(8.0);
        assert!((ci.half_width - want).abs() < 1e-12);
        assert!((ci.upper() - ci.lower() - 2.0 * want).abs() < 1e-12);
        assert_eq!(ci.n, 8);
        let one = mean_ci95(&[3.0]).unwrap();
        assert_eq!(one.mean, 3.0);
        assert!(one.half_width.is_nan());
        assert!(mean_ci95(&[]).is_err());
        assert!(mean_ci95(&[1.0, f64::INFINITY]).is_err());
    }
}
