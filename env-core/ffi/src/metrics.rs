//! The metrics of SPEC section 4 over caller arrays: cumulative regret, coverage, suffix
//! failure, MinFrac, GreedyFrac, tic-tac-toe average return, mean with 95% interval, Pearson
//! correlation. Arms are `size_t` indices; curves are written to `out[0..n]` (`out_len` must be
//! `n`). No function writes anything when it fails.

use env_core::metrics;

use crate::status::{to_status, EcStatus};
use crate::text::{out, slice_arg, slice_out};

/// Runs `f` on the arguments, storing its value in `*result` on success.
///
/// # Safety
/// `result` must be null or point to a writable `T`.
unsafe fn store<T>(result: *mut T, f: impl FnOnce() -> Result<T, EcStatus>) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let result = unsafe { out(result)? };
        *result = f()?;
        Ok(())
    })())
}

/// A curve function: checks `out_len == n` and writes through a scratch copy, so that a
/// failure leaves `out` untouched.
fn curve(
    out: &mut [f64],
    n: usize,
    f: impl FnOnce(&mut [f64]) -> env_core::Result<f64>,
) -> Result<f64, EcStatus> {
    if out.len() != n {
        return Err(EcStatus::ShapeMismatch);
    }
    // Run on the caller's buffer only after a dry run on a scratch one, when it fits.
    let mut scratch = [0.0; EC_MAX_CURVE];
    if let Some(s) = scratch.get_mut(..n) {
        let v = f(s)?;
        out.copy_from_slice(s);
        return Ok(v);
    }
    Err(EcStatus::CapacityExceeded)
}

/// Most steps a curve function accepts.
pub const EC_MAX_CURVE: usize = 1024;

/// Cumulative pseudo-regret: `out[t]` = sum over s <= t of (max(means) - means[actions[s]]);
/// the final value goes to `*total`.
///
/// # Safety
/// `means` must point to `k` doubles, `actions` to `n` and `out` to `out_len` values (each may
/// be null when its length is 0), `total` to a double.
#[no_mangle]
pub unsafe extern "C" fn ec_cumulative_regret(
    means: *const f64,
    k: usize,
    actions: *const usize,
    n: usize,
    out: *mut f64,
    out_len: usize,
    total: *mut f64,
) -> EcStatus {
    // SAFETY: the caller's contract.
    unsafe {
        store(total, || {
            let (means, actions, out) =
                (slice_arg(means, k)?, slice_arg(actions, n)?, slice_out(out, out_len)?);
            curve(out, n, |o| metrics::cumulative_regret(means, actions, o))
        })
    }
}

/// The action coverage curve: `out[t]` = fraction of the `arms` arms tried in steps 0..=t; the
/// final coverage goes to `*final_coverage`.
///
/// # Safety
/// `actions` must point to `n` values, `out` to `out_len` doubles, `final_coverage` to a double.
#[no_mangle]
pub unsafe extern "C" fn ec_coverage_curve(
    arms: usize,
    actions: *const usize,
    n: usize,
    out: *mut f64,
    out_len: usize,
    final_coverage: *mut f64,
) -> EcStatus {
    // SAFETY: the caller's contract.
    unsafe {
        store(final_coverage, || {
            let (actions, out) = (slice_arg(actions, n)?, slice_out(out, out_len)?);
            curve(out, n, |o| metrics::coverage_curve(arms, actions, o))
        })
    }
}

/// Suffix failure at step `t` (< n): 1 when `best_arm` is never played in steps `t..n`.
///
/// # Safety
/// `actions` must point to `n` values, `failed` to a byte.
#[no_mangle]
pub unsafe extern "C" fn ec_suffix_failure(
    arms: usize,
    best_arm: usize,
    actions: *const usize,
    n: usize,
    t: usize,
    failed: *mut u8,
) -> EcStatus {
    // SAFETY: the caller's contract.
    unsafe {
        store(failed, || {
            let actions = slice_arg(actions, n)?;
            Ok(u8::from(metrics::suffix_failure(arms, best_arm, actions, t)?))
        })
    }
}

/// The suffix-failure curve: `out[t]` = 1.0 when `best_arm` is never played in steps `t..n`.
///
/// # Safety
/// `actions` must point to `n` values, `out` to `out_len` doubles.
#[no_mangle]
pub unsafe extern "C" fn ec_suffix_failure_curve(
    arms: usize,
    best_arm: usize,
    actions: *const usize,
    n: usize,
    out: *mut f64,
    out_len: usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (actions, out) = unsafe { (slice_arg(actions, n)?, slice_out(out, out_len)?) };
        curve(out, n, |o| metrics::suffix_failure_curve(arms, best_arm, actions, o).map(|()| 0.0))?;
        Ok(())
    })())
}

/// MinFrac of a trajectory: K * min_a N(a) / n.
///
/// # Safety
/// `actions` must point to `n` values, `value` to a double.
#[no_mangle]
pub unsafe extern "C" fn ec_min_frac(
    arms: usize,
    actions: *const usize,
    n: usize,
    value: *mut f64,
) -> EcStatus {
    // SAFETY: the caller's contract.
    unsafe { store(value, || Ok(metrics::min_frac(arms, slice_arg(actions, n)?)?)) }
}

/// GreedyFrac: the fraction of steps 1..n whose action had the best empirical mean so far.
///
/// # Safety
/// `actions` and `rewards` must point to `n` values each, `value` to a double.
#[no_mangle]
pub unsafe extern "C" fn ec_greedy_frac(
    arms: usize,
    actions: *const usize,
    rewards: *const f64,
    n: usize,
    value: *mut f64,
) -> EcStatus {
    // SAFETY: the caller's contract.
    unsafe {
        store(value, || Ok(metrics::greedy_frac(arms, slice_arg(actions, n)?, slice_arg(rewards, n)?)?))
    }
}

/// Tic-tac-toe average return of `n` final rewards (+1 / 0 / -1): win rate minus loss rate.
///
/// # Safety
/// `rewards` must point to `n` doubles, `value` to a double.
#[no_mangle]
pub unsafe extern "C" fn ec_average_return(rewards: *const f64, n: usize, value: *mut f64) -> EcStatus {
    // SAFETY: the caller's contract.
    unsafe { store(value, || Ok(metrics::average_return(slice_arg(rewards, n)?)?)) }
}

/// Mean and 95% half-width (1.96 sd / sqrt(n); NaN for one value) of `n` values.
///
/// # Safety
/// `values` must point to `n` doubles, `mean` and `half_width` to doubles.
#[no_mangle]
pub unsafe extern "C" fn ec_mean_ci95(
    values: *const f64,
    n: usize,
    mean: *mut f64,
    half_width: *mut f64,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (values, mean, half_width) = unsafe { (slice_arg(values, n)?, out(mean)?, out(half_width)?) };
        let ci = metrics::mean_ci95(values)?;
        *mean = ci.mean;
        *half_width = ci.half_width;
        Ok(())
    })())
}

/// Pearson correlation of two series of `n` values.
///
/// # Safety
/// `xs` and `ys` must point to `n` doubles each, `value` to a double.
#[no_mangle]
pub unsafe extern "C" fn ec_pearson(xs: *const f64, ys: *const f64, n: usize, value: *mut f64) -> EcStatus {
    // SAFETY: the caller's contract.
    unsafe { store(value, || Ok(metrics::pearson(slice_arg(xs, n)?, slice_arg(ys, n)?)?)) }
}
