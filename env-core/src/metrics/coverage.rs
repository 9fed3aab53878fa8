//! Action coverage.

use super::{check_actions, check_curve};
use crate::MAX_ARMS;
use crate::error::Result;

/// Action coverage curve: `out[t]` = C_{t+1} = the fraction of the `arms` arms tried at least
/// once in the first t + 1 steps. Returns the final coverage (0 for an empty trajectory).
pub fn coverage_curve(arms: usize, actions: &[usize], out: &mut [f64]) -> Result<f64> {
    check_actions(arms, actions)?;
    check_curve(out, actions.len())?;
    let mut tried = [false; MAX_ARMS];
    let mut n = 0usize;
    let mut c = 0.0;
    for (o, &a) in out.iter_mut().zip(actions) {
        if !tried[a] {
            tried[a] = true;
            n += 1;
        }
        c = n as f64 / arms as f64;
        *o = c;
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        let mut out = [0.0; 5];
        assert_eq!(coverage_curve(4, &[1, 1, 3, 1, 0], &mut out), Ok(0.75));
        assert_eq!(out, [0.25, 0.25, 0.5, 0.5, 0.75]);
    }
}
