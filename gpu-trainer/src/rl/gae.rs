//! Generalised advantage estimation over one episode (Schulman et al. 2016), the advantages of
//! RLFT with a value head (tic-tac-toe, SPEC section 5):
//!
//! ```text
//! delta_t = r_t + gamma * V_{t+1} - V_t          (V_T = 0: the episode ended)
//! A_t     = delta_t + gamma * lambda * A_{t+1}   (A_T = 0)
//! R_t     = A_t + V_t                            (the value head's regression target)
//! ```
//!
//! lambda = 0 gives the one-step TD error, lambda = 1 the Monte-Carlo return minus V_t. The
//! advantages are then normalised over the rollout ([`normalise_rollout`]); the targets are not.

use super::advantage::mean_std;

/// The advantages and value targets of one finished episode's `rewards` and `values`
/// (V(s_t) at each step; same length).
pub fn gae(rewards: &[f64], values: &[f64], gamma: f64, lambda: f64) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(rewards.len(), values.len(), "one value per step");
    let n = rewards.len();
    let mut adv = vec![0.0; n];
    let mut next_adv = 0.0;
    for t in (0..n).rev() {
        let next_value = if t + 1 < n { values[t + 1] } else { 0.0 };
        let delta = rewards[t] + gamma * next_value - values[t];
        next_adv = delta + gamma * lambda * next_adv;
        adv[t] = next_adv;
    }
    let targets = adv.iter().zip(values).map(|(a, v)| a + v).collect();
    (adv, targets)
}

/// `(A - mean) / (std + 1e-8)` over every step of every episode (same shape).
pub fn normalise_rollout(episodes: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let all: Vec<f64> = episodes.iter().flatten().copied().collect();
    let (mean, std) = mean_std(&all);
    episodes.iter().map(|e| e.iter().map(|a| (a - mean) / (std + 1e-8)).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::super::advantage::rewards_to_go;
    use super::*;

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn a_hand_made_game_against_the_closed_form() {
        // three moves, a win at the end; gamma 1, lambda 0.95
        let (r, v) = ([0.0, 0.0, 1.0], [0.2, 0.5, 0.9]);
        let (a, g) = gae(&r, &v, 1.0, 0.95);
        let d = [0.0 + 0.5 - 0.2, 0.0 + 0.9 - 0.5, 1.0 + 0.0 - 0.9];
        let a2 = d[2];
        let a1 = d[1] + 0.95 * a2;
        let a0 = d[0] + 0.95 * a1;
        close(&a, &[a0, a1, a2]);
        close(&g, &[a0 + 0.2, a1 + 0.5, a2 + 0.9]);
    }

    #[test]
    fn lambda_zero_is_the_one_step_td_error() {
        let (r, v) = ([-5.0, 0.0, -1.0, 0.0], [0.1, -0.3, 0.4, 0.7]);
        let gamma = 0.9;
        let (a, g) = gae(&r, &v, gamma, 0.0);
        let td: Vec<f64> = (0..4).map(|t| r[t] + gamma * if t < 3 { v[t + 1] } else { 0.0 } - v[t]).collect();
        close(&a, &td);
        let one_step: Vec<f64> = (0..4).map(|t| r[t] + gamma * if t < 3 { v[t + 1] } else { 0.0 }).collect();
        close(&g, &one_step);
    }

    #[test]
    fn lambda_one_is_the_monte_carlo_return_minus_the_value() {
        let (r, v) = ([0.5, -5.0, 0.0, 1.0], [1.0, 2.0, -0.5, 0.3]);
        for gamma in [1.0, 0.8] {
            let (a, g) = gae(&r, &v, gamma, 1.0);
            let mc = rewards_to_go(&r, gamma);
            close(&g, &mc);
            let want: Vec<f64> = mc.iter().zip(&v).map(|(m, v)| m - v).collect();
            close(&a, &want);
        }
    }

    #[test]
    fn with_zero_values_the_targets_follow_lambda_discounting() {
        // V = 0: delta_t = r_t, A_t = sum_k (gamma lambda)^k r_{t+k}
        let r = [1.0, 2.0, 3.0];
        let (a, g) = gae(&r, &[0.0; 3], 1.0, 0.5);
        close(&a, &[1.0 + 0.5 * 2.0 + 0.25 * 3.0, 2.0 + 0.5 * 3.0, 3.0]);
        close(&g, &a);
        assert_eq!(gae(&[], &[], 1.0, 0.95), (vec![], vec![]));
    }

    #[test]
    fn rollout_normalisation_is_over_every_step() {
        let n = normalise_rollout(&[vec![1.0, 3.0], vec![2.0]]);
        let flat: Vec<f64> = n.iter().flatten().copied().collect();
        let (m, s) = mean_std(&flat);
        assert!(m.abs() < 1e-12 && (s - 1.0).abs() < 1e-6);
        assert!(n[1][0].abs() < 1e-12, "the mean step maps to 0");
    }
}
