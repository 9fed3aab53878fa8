//! Diagnostics on hand-built trajectories, cross-checked against the agents that should score
//! extreme values, and their error cases.

use env_core::agents::{Greedy, Ucb, run_bandit_episode};
use env_core::metrics::{
    ActionClass, FrequencyBias, FrequencyClass, KnowingDoing, average_return, classify_action,
    classify_frequency, coverage_curve, cumulative_regret, cumulative_regret_from_steps, greedy_frac,
    mean_ci95, min_frac, min_frac_curve, pearson, rationale_is_correct, suffix_failure, suffix_failure_curve,
};
use env_core::{ArmStats, Error, MabConfig, MultiArmedBandit, UcbRule};

/// A 4-armed trajectory: arm 3 is the best (mean 0.9) and is pulled only at steps 2 and 4.
const MEANS: [f64; 4] = [0.5, 0.2, 0.4, 0.9];
const ACTIONS: [usize; 8] = [0, 1, 3, 0, 3, 0, 0, 0];
const REWARDS: [f64; 8] = [1.0, 0.0, 0.5, 1.0, 0.5, 1.0, 0.0, 1.0];

#[test]
fn coverage_and_regret_by_hand() {
    let mut cov = [0.0; 8];
    assert_eq!(coverage_curve(4, &ACTIONS, &mut cov), Ok(0.75));
    assert_eq!(cov, [0.25, 0.5, 0.75, 0.75, 0.75, 0.75, 0.75, 0.75]);

    let mut reg = [0.0; 8];
    let total = cumulative_regret(&MEANS, &ACTIONS, &mut reg).unwrap();
    // per step: 0.4, 0.7, 0, 0.4, 0, 0.4, 0.4, 0.4
    let want = [0.4, 1.1, 1.1, 1.5, 1.5, 1.9, 2.3, 2.7];
    for (g, w) in reg.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{reg:?}");
    }
    assert!((total - 2.7).abs() < 1e-12);

    let mut from_steps = [0.0; 8];
    let steps = [0.4, 0.7, 0.0, 0.4, 0.0, 0.4, 0.4, 0.4];
    let t2 = cumulative_regret_from_steps(&steps, &mut from_steps).unwrap();
    assert!((t2 - total).abs() < 1e-12);
}

#[test]
fn suffix_failure_min_frac_greedy_frac_by_hand() {
    let mut sf = [0.0; 8];
    suffix_failure_curve(4, 3, &ACTIONS, &mut sf).unwrap();
    assert_eq!(sf, [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    assert_eq!(suffix_failure(4, 3, &ACTIONS, 4), Ok(false));
    assert_eq!(suffix_failure(4, 3, &ACTIONS, 5), Ok(true));

    // arm 2 is never pulled: MinFrac is 0 throughout
    let mut mf = [1.0; 8];
    assert_eq!(min_frac_curve(4, &ACTIONS, &mut mf), Ok(0.0));
    assert!(mf.iter().all(|&x| x == 0.0));
    // a 2-armed trajectory: counts 3 and 1 -> 2 * 1 / 4
    assert_eq!(min_frac(2, &[0, 1, 0, 0]), Ok(0.5));

    // greedy arm before each step (rewards so far):
    // t1: {0:1.0} -> plays 1, not greedy
    // t2: {0:1.0, 1:0.0} -> plays 3, not greedy
    // t3: {0:1.0, 1:0, 3:0.5} -> plays 0, greedy
    // t4: {0:1.0} best -> plays 3, not greedy
    // t5: 0 -> greedy; t6: 0 (mean 1.0) -> greedy; t7: 0 (mean 0.75 > 0.5) -> greedy
    assert_eq!(greedy_frac(4, &ACTIONS, &REWARDS), Ok(4.0 / 7.0));
}

#[test]
fn knowing_doing_classification_by_hand() {
    let rule = UcbRule::PAPER;
    // history of the first 5 steps: arm 0: 1,1 (n 2, mean 1), arm 1: 0 (n 1), arm 3: .5,.5 (n 2)
    // arm 2 untried: only arm 2 is optimal
    let s = ArmStats::from_history(4, &ACTIONS[..5], &REWARDS[..5]).unwrap();
    assert_eq!(classify_action(&rule, &s, 2), Ok(ActionClass::Optimal));
    assert_eq!(classify_action(&rule, &s, 0), Ok(ActionClass::Greedy));
    assert_eq!(classify_action(&rule, &s, 3), Ok(ActionClass::Other));
    // all tried: arm 0: 1 + sqrt(1/2) = 1.707; arm 1: 0 + 1 = 1; arm 2: 0.1 + 1 = 1.1;
    // arm 3: 0.5 + sqrt(1/2) = 1.207 -> arm 0 is optimal (and greedy), arm 3 other
    let s = ArmStats::from_history(4, &[0, 0, 1, 2, 3, 3], &[1.0, 1.0, 0.0, 0.1, 0.5, 0.5]).unwrap();
    assert_eq!(classify_action(&rule, &s, 0), Ok(ActionClass::Optimal));
    assert_eq!(classify_action(&rule, &s, 3), Ok(ActionClass::Other));
    assert_eq!(rationale_is_correct(&rule, &s, &[1.71, 1.0, 1.1, 1.21]), Ok(true));
    assert_eq!(rationale_is_correct(&rule, &s, &[1.71, 1.0, 1.8, 1.21]), Ok(false));

    let mut m = KnowingDoing::default();
    m.add(true, ActionClass::Greedy);
    m.add(true, ActionClass::Optimal);
    m.add(false, ActionClass::Greedy);
    m.add(true, ActionClass::Greedy);
    assert_eq!(m.counts, [[1, 2, 0], [0, 1, 0]]);
    assert_eq!(m.shares().unwrap()[0], [0.25, 0.5, 0.0]);
    assert_eq!(m.row_share(true, ActionClass::Greedy), Ok(2.0 / 3.0));
    assert!(m.row_share(false, ActionClass::Other).is_ok());
    assert!(KnowingDoing::default().row_share(false, ActionClass::Other).is_err());
}

#[test]
fn ucb_is_always_optimal_and_greedy_always_greedy() {
    let cfg = MabConfig::default();
    let (mut a, mut r) = ([0usize; 50], [0.0; 50]);
    for scenario in 0..8 {
        let mut env = MultiArmedBandit::new(cfg, scenario).unwrap();
        run_bandit_episode(&mut env, &mut Ucb::paper(), scenario, &mut a, &mut r).unwrap();
        for t in 0..50 {
            let s = ArmStats::from_history(10, &a[..t], &r[..t]).unwrap();
            assert_eq!(classify_action(&UcbRule::PAPER, &s, a[t]), Ok(ActionClass::Optimal), "t {t}");
        }
        run_bandit_episode(&mut env, &mut Greedy::new(), scenario, &mut a, &mut r).unwrap();
        assert_eq!(greedy_frac(10, &a, &r), Ok(1.0));
    }
}

#[test]
fn frequency_bias_by_hand() {
    // a history where arm 1 is repeated (frequent) but arm 0 has the best mean
    let s = ArmStats::from_history(3, &[0, 1, 1, 1, 1], &[0.9, 0.1, 0.1, 0.1, 0.1]).unwrap();
    assert_eq!(classify_frequency(&s, 1), Ok(FrequencyClass::Frequent));
    assert_eq!(classify_frequency(&s, 0), Ok(FrequencyClass::Greedy));
    assert_eq!(classify_frequency(&s, 2), Ok(FrequencyClass::Other));
    let mut f = FrequencyBias::default();
    for &a in &[1, 1, 1, 0] {
        f.add(classify_frequency(&s, a).unwrap());
    }
    assert_eq!(f.shares(), Ok([0.75, 0.25, 0.0]));
    // entropy against the repetition count: deviations (-1.5, -.5, .5, 1.5) and
    // (1.5, -.5, .5, -1.5): sxy = -4, sxx = syy = 5, r = -0.8
    let reps = [0.0, 1.0, 2.0, 3.0];
    let entropy = [3.0, 1.0, 2.0, 0.0];
    assert!((pearson(&reps, &entropy).unwrap() + 0.8).abs() < 1e-12);
}

#[test]
fn games_and_confidence_intervals() {
    assert_eq!(average_return(&[1.0, 1.0, 1.0, 0.0, -1.0]), Ok(0.4));
    let ci = mean_ci95(&[1.0, 2.0, 3.0, 4.0]).unwrap();
    assert_eq!(ci.mean, 2.5);
    // sample sd = sqrt(5/3); 1.96 * sd / 2
    assert!((ci.half_width - 1.96 * (5.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-12);
}

#[test]
fn error_cases() {
    let mut out3 = [0.0; 3];
    assert_eq!(
        coverage_curve(4, &ACTIONS, &mut out3),
        Err(Error::ShapeMismatch { what: "curve buffer", expected: 8, got: 3 })
    );
    let mut out8 = [0.0; 8];
    assert_eq!(
        coverage_curve(3, &ACTIONS, &mut out8),
        Err(Error::InvalidAction { action: 3, num_actions: 3 })
    );
    assert!(matches!(coverage_curve(0, &[], &mut []), Err(Error::OutOfRange { name: "arms", .. })));
    assert!(matches!(cumulative_regret(&[], &[], &mut []), Err(Error::Empty { .. })));
    assert!(matches!(cumulative_regret(&[0.1, f64::NAN], &[0], &mut [0.0]), Err(Error::NotFinite { .. })));
    assert!(matches!(cumulative_regret_from_steps(&[0.1], &mut out3), Err(Error::ShapeMismatch { .. })));
    assert!(suffix_failure(4, 3, &ACTIONS, 8).is_err());
    assert!(suffix_failure(4, 4, &ACTIONS, 0).is_err());
    assert!(matches!(suffix_failure(4, 3, &[], 0), Err(Error::Empty { .. })));
    assert!(suffix_failure_curve(4, 3, &ACTIONS, &mut out3).is_err());
    assert!(min_frac_curve(4, &ACTIONS, &mut out3).is_err());
    assert!(matches!(min_frac(4, &[]), Err(Error::Empty { .. })));
    assert!(matches!(greedy_frac(4, &ACTIONS, &REWARDS[..7]), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(greedy_frac(4, &[0], &[1.0]), Err(Error::Empty { .. })));
    assert!(matches!(greedy_frac(4, &[0, 1], &[1.0, f64::NAN]), Err(Error::NotFinite { .. })));
    let s = ArmStats::new(3).unwrap();
    assert!(classify_action(&UcbRule::PAPER, &s, 3).is_err());
    assert!(classify_action(&UcbRule::InverseSqrtCount { c: -1.0 }, &s, 0).is_err());
    assert!(classify_frequency(&s, 7).is_err());
    assert!(rationale_is_correct(&UcbRule::PAPER, &s, &[1.0, 2.0]).is_err());
    assert!(FrequencyBias::default().shares().is_err());
    assert!(KnowingDoing::default().shares().is_err());
    assert!(pearson(&[1.0, 2.0], &[3.0, 3.0]).is_err());
    assert!(average_return(&[]).is_err());
    assert!(mean_ci95(&[]).is_err());
}
