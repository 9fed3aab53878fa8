//! A portable seeded random number generator.
//!
//! [`Rng`] is xoshiro256++ seeded through SplitMix64. Everything it derives (uniform floats,
//! bounded integers, Gaussians by the Ziggurat method with `libm` in its rare slow paths) uses only
//! integer arithmetic, literal tables and IEEE-754 operations that `libm` implements in software,
//! so a seed gives bit-identical trajectories on every target, a Cortex-M4 included.

mod ziggurat;
mod ziggurat_tables;

use core::convert::Infallible;
use rand_core::{SeedableRng, TryRng};

/// SplitMix64 step: used to expand seeds and to derive independent sub-seeds.
#[inline]
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Derives a seed for a named sub-stream (`stream`) of `seed`, e.g. episode `i` of a run.
/// Different streams of the same seed are statistically independent.
#[inline]
pub fn derive_seed(seed: u64, stream: u64) -> u64 {
    let mut s = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
    splitmix64(&mut s);
    splitmix64(&mut s)
}

/// xoshiro256++ generator. Not cryptographic; small, fast and reproducible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator seeded from one `u64` (expanded with SplitMix64).
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let s = [splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm)];
        Rng { s }
    }

    /// A generator for sub-stream `stream` of `seed` (see [`derive_seed`]).
    pub fn from_stream(seed: u64, stream: u64) -> Self {
        Rng::new(derive_seed(seed, stream))
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// The next 32 random bits (the high half of [`Rng::next_u64`]).
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        // The 53-bit value fits an i64: the signed conversion is exact and one instruction on x86.
        (self.next_u64() >> 11) as i64 as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `(0, 1]`: safe to take the logarithm of.
    #[inline]
    pub fn uniform_open0(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as i64 as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    #[inline]
    pub fn uniform_range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform integer in `0..n` without modulo bias (Lemire's method). `n == 0` returns 0.
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let n = n as u64;
        let mut m = (self.next_u64() as u128) * (n as u128);
        let mut lo = m as u64;
        if lo < n {
            let threshold = n.wrapping_neg() % n;
            while lo < threshold {
                m = (self.next_u64() as u128) * (n as u128);
                lo = m as u64;
            }
        }
        (m >> 64) as usize
    }

    /// `true` with probability `p` (clamped to `[0, 1]`).
    #[inline]
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// A standard normal sample (256-layer Ziggurat; see `ziggurat.rs`).
    #[inline]
    pub fn standard_normal(&mut self) -> f64 {
        ziggurat::standard_normal(self)
    }

    /// A sample of N(mean, sd^2).
    #[inline]
    pub fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        mean + sd * self.standard_normal()
    }

    /// A Gamma(shape, 1) sample (Marsaglia-Tsang), `shape > 0`.
    pub fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            // Boost: Gamma(a) = Gamma(a + 1) * U^(1/a).
            let u = self.uniform_open0();
            return self.gamma(shape + 1.0) * libm::pow(u, 1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / libm::sqrt(9.0 * d);
        loop {
            let x = self.standard_normal();
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = self.uniform_open0();
            if libm::log(u) < 0.5 * x * x + d - d * v + d * libm::log(v) {
                return d * v;
            }
        }
    }

    /// A Beta(a, b) sample, `a, b > 0`.
    pub fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a);
        let y = self.gamma(b);
        if x + y == 0.0 { 0.5 } else { x / (x + y) }
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// A uniformly chosen element index among those where `keep(i)` holds, or `None`.
    pub fn choose_where(&mut self, n: usize, mut keep: impl FnMut(usize) -> bool) -> Option<usize> {
        let count = (0..n).filter(|&i| keep(i)).count();
        if count == 0 {
            return None;
        }
        let mut k = self.below(count);
        for i in 0..n {
            if keep(i) {
                if k == 0 {
                    return Some(i);
                }
                k -= 1;
            }
        }
        None
    }
}

impl TryRng for Rng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> core::result::Result<u32, Infallible> {
        Ok(Rng::next_u32(self))
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, Infallible> {
        Ok(Rng::next_u64(self))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = Rng::next_u64(self).to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

impl SeedableRng for Rng {
    type Seed = [u8; 32];

    fn from_seed(seed: [u8; 32]) -> Self {
        let mut s = [0u64; 4];
        for (i, word) in s.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&seed[i * 8..i * 8 + 8]);
            *word = u64::from_le_bytes(b);
        }
        if s == [0; 4] {
            // The all-zero state is a fixed point of xoshiro; fall back to a seeded state.
            return Rng::new(0);
        }
        Rng { s }
    }

    fn seed_from_u64(state: u64) -> Self {
        Rng::new(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn golden_first_values() {
        // Pinned: a change here changes every trajectory of the project.
        let mut r = Rng::new(0);
        let got = [r.next_u64(), r.next_u64(), r.next_u64()];
        assert_eq!(got, GOLDEN_SEED0);
    }

    const GOLDEN_SEED0: [u64; 3] = [0x53175d61490b23df, 0x61da6f3dc380d507, 0x5c0fdf91ec9a7bfc];

    #[test]
    fn below_is_in_range_and_covers() {
        let mut r = Rng::new(7);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            let x = r.below(7);
            seen[x] += 1;
        }
        for &c in &seen {
            assert!((800..1200).contains(&c), "{seen:?}");
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.below(1), 0);
    }

    #[test]
    fn normal_moments() {
        let mut r = Rng::new(3);
        let n = 200_000;
        let (mut s, mut s2) = (0.0, 0.0);
        for _ in 0..n {
            let x = r.normal(1.5, 2.0);
            s += x;
            s2 += x * x;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!((mean - 1.5).abs() < 0.02, "mean {mean}");
        assert!((var - 4.0).abs() < 0.05, "var {var}");
    }

    #[test]
    fn normal_tails_and_shape() {
        // P(|Z| > 3.6541528853610088), the Ziggurat's tail, is 2.58e-4; P(Z < -1) = 0.158655.
        let mut r = Rng::new(11);
        let n = 1_000_000;
        let (mut tail, mut below_m1, mut s3, mut s4) = (0u32, 0u32, 0.0, 0.0);
        for _ in 0..n {
            let x = r.standard_normal();
            tail += (x.abs() > super::ziggurat_tables::ZIG_R) as u32;
            below_m1 += (x < -1.0) as u32;
            s3 += x * x * x;
            s4 += x * x * x * x;
        }
        let (tail, below) = (tail as f64 / n as f64, below_m1 as f64 / n as f64);
        assert!((tail - 2.58e-4).abs() < 6e-5, "tail share {tail}");
        assert!((below - 0.158655).abs() < 2e-3, "P(Z<-1) {below}");
        assert!((s3 / n as f64).abs() < 0.02, "skew");
        assert!((s4 / n as f64 - 3.0).abs() < 0.05, "kurtosis");
    }

    #[test]
    fn beta_mean() {
        let mut r = Rng::new(5);
        let n = 50_000;
        let m: f64 = (0..n).map(|_| r.beta(2.0, 6.0)).sum::<f64>() / n as f64;
        assert!((m - 0.25).abs() < 0.005, "{m}");
        let m: f64 = (0..n).map(|_| r.beta(0.5, 0.5)).sum::<f64>() / n as f64;
        assert!((m - 0.5).abs() < 0.01, "{m}");
    }

    #[test]
    fn rand_core_traits() {
        use rand_core::Rng as _;
        let mut a = Rng::seed_from_u64(9);
        let mut b = Rng::new(9);
        assert_eq!(rand_core::Rng::next_u64(&mut a), b.next_u64());
        let mut buf = [0u8; 11];
        a.fill_bytes(&mut buf);
        assert!(buf.iter().any(|&x| x != 0));
    }
}
