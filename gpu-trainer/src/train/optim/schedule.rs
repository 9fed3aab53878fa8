//! Learning-rate schedule of SPEC section 5: linear warm-up from 0 to the peak, then cosine decay
//! to a floor (lr 1e-4, 100 warm-up steps, cosine to 1e-6).

/// Linear warm-up then cosine decay (HuggingFace's `get_cosine_schedule_with_warmup` with a floor
/// instead of 0):
///
/// - `step < warmup_steps`: `peak * step / warmup_steps` (so step 0 has lr 0, as HF);
/// - `warmup_steps <= step < total_steps`: `floor + (peak - floor) * (1 + cos(pi * p)) / 2`,
///   `p = (step - warmup_steps) / (total_steps - warmup_steps)`;
/// - `step >= total_steps`: `floor`.
///
/// `step` is the 0-based index of the optimizer update about to be made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrSchedule {
    pub peak: f32,
    pub warmup_steps: u64,
    pub total_steps: u64,
    pub floor: f32,
}

impl LrSchedule {
    /// SPEC section 5's schedule over `total_steps` updates: peak 1e-4, 100 warm-up steps,
    /// floor 1e-6.
    pub fn spec(total_steps: u64) -> LrSchedule {
        LrSchedule { peak: 1e-4, warmup_steps: 100, total_steps, floor: 1e-6 }
    }

    /// Error unless the numbers make a schedule: finite, 0 <= floor <= peak.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.peak.is_finite() && self.floor.is_finite() && self.floor >= 0.0 && self.floor <= self.peak)
        {
            return Err(format!(
                "lr schedule: need 0 <= floor ({}) <= peak ({}), both finite",
                self.floor, self.peak
            ));
        }
        Ok(())
    }

    /// The learning rate of update `step` (0-based), computed in f64.
    pub fn lr(&self, step: u64) -> f32 {
        let (peak, floor) = (self.peak as f64, self.floor as f64);
        if step < self.warmup_steps {
            return (peak * step as f64 / self.warmup_steps as f64) as f32;
        }
        if step >= self.total_steps {
            return self.floor;
        }
        let p = (step - self.warmup_steps) as f64 / (self.total_steps - self.warmup_steps) as f64;
        (floor + (peak - floor) * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_is_linear_from_zero() {
        let s = LrSchedule::spec(1000);
        assert_eq!(s.lr(0), 0.0);
        assert!((s.lr(1) - 1e-6).abs() < 1e-12);
        assert!((s.lr(50) - 5e-5).abs() < 1e-12);
        assert!((s.lr(99) - 9.9e-5).abs() < 1e-11);
        for k in 1..100 {
            assert!(s.lr(k) > s.lr(k - 1), "warm-up must increase at {k}");
        }
    }

    #[test]
    fn cosine_reaches_peak_half_and_floor() {
        let s = LrSchedule { peak: 1e-4, warmup_steps: 100, total_steps: 1100, floor: 1e-6 };
        assert_eq!(s.lr(100), 1e-4);
        // halfway through the decay: cos(pi/2) = 0, the mean of peak and floor
        assert!((s.lr(600) - (1e-4 + 1e-6) / 2.0).abs() < 1e-11);
        // a quarter: (1 + cos(pi/4)) / 2
        let q = 1e-6 + (1e-4 - 1e-6) * (1.0 + std::f64::consts::FRAC_1_SQRT_2) / 2.0;
        assert!((s.lr(350) as f64 - q).abs() < 1e-11);
        assert_eq!(s.lr(1100), 1e-6);
        assert_eq!(s.lr(5000), 1e-6);
        for k in 101..1100 {
            assert!(s.lr(k) <= s.lr(k - 1), "decay must not increase at {k}");
            assert!(s.lr(k) >= 1e-6);
        }
    }

    #[test]
    fn no_warmup_and_degenerate_totals() {
        let s = LrSchedule { peak: 2.0, warmup_steps: 0, total_steps: 4, floor: 0.0 };
        assert_eq!(s.lr(0), 2.0);
        assert!((s.lr(2) - 1.0).abs() < 1e-6);
        assert_eq!(s.lr(4), 0.0);
        // total <= warm-up: straight to the floor after warm-up
        let s = LrSchedule { peak: 1.0, warmup_steps: 10, total_steps: 5, floor: 0.25 };
        assert!((s.lr(5) - 0.5).abs() < 1e-7);
        assert_eq!(s.lr(10), 0.25);
    }

    #[test]
    fn validate_rejects_bad_numbers() {
        assert!(LrSchedule::spec(10).validate().is_ok());
        assert!(LrSchedule { peak: 1e-6, warmup_steps: 0, total_steps: 1, floor: 1e-4 }.validate().is_err());
        assert!(
            LrSchedule { peak: f32::NAN, warmup_steps: 0, total_steps: 1, floor: 0.0 }.validate().is_err()
        );
    }
}
