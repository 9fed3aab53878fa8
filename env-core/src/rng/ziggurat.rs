//! Standard normal sampling by the 256-layer Ziggurat method (Marsaglia & Tsang, 2000).
//!
//! About 99% of draws take one 64-bit word, a table look-up and a multiply; the wedges and the
//! tail use `libm::exp` / `libm::log`. Every operation is integer or IEEE-754 arithmetic with
//! literal tables, so the samples are bit-identical on every target.

use super::Rng;
use super::ziggurat_tables::{ZIG_F, ZIG_R, ZIG_X};

/// One N(0, 1) sample.
#[inline]
pub(super) fn standard_normal(rng: &mut Rng) -> f64 {
    loop {
        let bits = rng.next_u64();
        let i = (bits & 0xff) as usize;
        // Uniform in [-1, 1) from the upper 53 bits (independent of the layer index bits).
        let u = ((bits >> 11) as i64 as f64 * (1.0 / (1u64 << 52) as f64)) - 1.0;
        let x = u * ZIG_X[i];
        if x.abs() < ZIG_X[i + 1] {
            return x;
        }
        if i == 0 {
            return tail(rng, u < 0.0);
        }
        let y = ZIG_F[i + 1] + (ZIG_F[i] - ZIG_F[i + 1]) * rng.uniform();
        if y < libm::exp(-0.5 * x * x) {
            return x;
        }
    }
}

/// A sample from the tail beyond ZIG_R (Marsaglia 1964).
fn tail(rng: &mut Rng, negative: bool) -> f64 {
    loop {
        let x = libm::log(rng.uniform_open0()) / ZIG_R;
        let y = libm::log(rng.uniform_open0());
        if -2.0 * y >= x * x {
            return if negative { x - ZIG_R } else { ZIG_R - x };
        }
    }
}
