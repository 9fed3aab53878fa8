//! Contextual bandit: baselines, reward model, determinism, validation.

use env_core::cb::{
    CbTables, ContextualBandit, ContextualPolicy, DEFAULT_ALPHA, DEFAULT_DIM, DEFAULT_HORIZON,
    DEFAULT_NOISE_SD, DefaultLinUcb, Gender, Genres, LinUcb, MAX_DIM, MovieProfile, RatingSvd,
    SyntheticTables, UniformRandom, UserProfile, fill_synthetic, run_cb_episode,
};
use env_core::{Environment, Error};

type Tables = SyntheticTables<200, 10>;

fn synthetic(seed: u64) -> Tables {
    Tables::new(DEFAULT_DIM, DEFAULT_NOISE_SD, seed).unwrap()
}

/// (mean cumulative regret at T, mean per-step regret over the last 10 steps).
fn mean_final_regret(tables: &Tables, policy: &mut dyn ContextualPolicy, episodes: u64) -> (f64, f64) {
    let mut env = ContextualBandit::new(tables.tables().unwrap(), DEFAULT_HORIZON).unwrap();
    let mut actions = [0usize; DEFAULT_HORIZON];
    let mut regrets = [0.0; DEFAULT_HORIZON];
    let mut rewards = [0.0; DEFAULT_HORIZON];
    let (mut total, mut late) = (0.0, 0.0);
    for e in 0..episodes {
        let n = run_cb_episode(&mut env, policy, 1000 + e, &mut actions, &mut regrets, &mut rewards).unwrap();
        assert_eq!(n, DEFAULT_HORIZON);
        assert!(regrets.iter().all(|&r| r >= 0.0));
        total += regrets.iter().sum::<f64>();
        late += regrets[DEFAULT_HORIZON - 10..].iter().sum::<f64>();
    }
    (total / episodes as f64, late / (10 * episodes) as f64)
}

#[test]
fn linucb_beats_random() {
    // Averaged over several synthetic tables so the margin does not hinge on one draw.
    let (mut lin, mut lin_bias, mut rnd, mut lin_late, mut rnd_late) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let table_seeds = [7u64, 8, 9, 10];
    for &seed in &table_seeds {
        let tables = synthetic(seed);
        let mut linucb = DefaultLinUcb::new(DEFAULT_ALPHA, false).unwrap();
        let mut random = UniformRandom::new();
        let mut biased = DefaultLinUcb::new(DEFAULT_ALPHA, true).unwrap();
        let (l, ll) = mean_final_regret(&tables, &mut linucb, 64);
        let (r, rl) = mean_final_regret(&tables, &mut random, 64);
        let (lb, _) = mean_final_regret(&tables, &mut biased, 64);
        let n = table_seeds.len() as f64;
        (lin, lin_bias, rnd, lin_late, rnd_late) =
            (lin + l / n, lin_bias + lb / n, rnd + r / n, lin_late + ll / n, rnd_late + rl / n);
    }
    println!(
        "mean cumulative regret at T=50 over 4 tables x 64 episodes: LinUCB {lin:.2} (with bias {lin_bias:.2}), random {rnd:.2}; \
         per-step regret over steps 40..50: LinUCB {lin_late:.3}, random {rnd_late:.3}"
    );
    assert!(rnd > 10.0, "the synthetic table must leave room to learn: random regret {rnd}");
    assert!(lin < 0.75 * rnd, "LinUCB {lin} vs random {rnd}");
    assert!(lin_bias < 0.75 * rnd, "LinUCB+bias {lin_bias} vs random {rnd}");
    // Having explored, LinUCB plays close to the best movie for each user; random does not.
    assert!(lin_late < 0.5 * rnd_late, "late regret LinUCB {lin_late} vs random {rnd_late}");
}

#[test]
fn rewards_are_dot_product_plus_noise() {
    let tables = synthetic(3);
    let t = tables.tables().unwrap();
    let mut env = ContextualBandit::new(t, 1_000_000).unwrap();
    env.reset(11).unwrap();
    let (mut resid, mut resid2) = (0.0, 0.0);
    let n = 20_000;
    for i in 0..n {
        let user = env.current_user_index();
        let arm = i % t.num_movies();
        let tr = env.step(arm).unwrap();
        let u = &tables.users()[user];
        let m = &tables.movies()[arm];
        let dot: f64 = (0..DEFAULT_DIM).map(|d| u.preferences[d] * m.features[d]).sum();
        assert!((tr.info.expected_reward - dot).abs() < 1e-12);
        assert_eq!(tr.info.user, user);
        assert!(tr.info.best_expected_reward >= tr.info.expected_reward);
        assert!((tr.info.regret - (tr.info.best_expected_reward - dot)).abs() < 1e-12);
        assert_eq!(t.expected_reward(user, tr.info.best_arm).unwrap(), tr.info.best_expected_reward);
        resid += tr.reward - dot;
        resid2 += (tr.reward - dot) * (tr.reward - dot);
    }
    let mean = resid / n as f64;
    let sd = (resid2 / n as f64 - mean * mean).sqrt();
    assert!(mean.abs() < 0.02, "noise mean {mean}");
    assert!((sd - DEFAULT_NOISE_SD).abs() < 0.02, "noise sd {sd}");
}

#[test]
fn synthetic_rewards_look_like_ratings() {
    let tables = synthetic(5);
    let t = tables.tables().unwrap();
    let (mut sum, mut n, mut gap) = (0.0, 0.0, 0.0);
    for u in 0..t.users().len() {
        let mut row = [0.0; 10];
        for (m, r) in row.iter_mut().enumerate() {
            *r = t.expected_reward(u, m).unwrap();
            sum += *r;
            n += 1.0;
        }
        gap += t.best(u).unwrap().1 - row.iter().sum::<f64>() / 10.0;
    }
    let mean = sum / n;
    let gap = gap / t.users().len() as f64;
    println!("mean expected rating {mean:.3}, mean best-minus-average {gap:.3}");
    assert!((3.0..4.2).contains(&mean), "mean expected rating {mean}");
    assert!((0.4..2.0).contains(&gap), "best-minus-average gap {gap}");
    let titles: Vec<&str> = tables.movies().iter().map(|m| m.title.as_str()).collect();
    for (i, a) in titles.iter().enumerate() {
        assert!(titles[..i].iter().all(|b| b != a), "duplicate title {a}");
    }
}

fn trajectory(seed: u64) -> Vec<(usize, usize, u64)> {
    let tables = synthetic(42);
    let mut env = ContextualBandit::new(tables.tables().unwrap(), DEFAULT_HORIZON).unwrap();
    let mut policy = DefaultLinUcb::new(DEFAULT_ALPHA, false).unwrap();
    policy.reset(env.num_actions(), DEFAULT_DIM).unwrap();
    let mut rng = env_core::Rng::new(seed ^ 0xABCD);
    let mut user = env.reset(seed).unwrap();
    let mut out = Vec::new();
    while !env.is_done() {
        assert_eq!(user, env.current_user_index());
        let ctx = env.context();
        let arm = policy.select(ctx, &mut rng).unwrap();
        let tr = env.step(arm).unwrap();
        policy.update(arm, ctx, tr.reward).unwrap();
        out.push((tr.info.user, arm, tr.reward.to_bits()));
        user = tr.observation;
    }
    out
}

#[test]
fn same_seed_same_trajectory() {
    let a = trajectory(9);
    assert_eq!(a.len(), DEFAULT_HORIZON);
    assert_eq!(a, trajectory(9));
    assert_ne!(a, trajectory(10));
}

/// Regression pin of the first steps of a seeded episode (synthetic tables seed 42, episode
/// seed 9, LinUCB alpha 0.5): (user, action, reward bits). A change here changes every CB
/// trajectory of the project; the same bits must come out on every target.
const GOLDEN: [(usize, usize, u64); 4] = [
    (143, 2, 4617229644728539222),
    (73, 2, 4616986922056065801),
    (157, 3, 4617942303800702750),
    (63, 2, 4613674633066624398),
];

#[test]
fn golden_trajectory() {
    let got = trajectory(9);
    println!("{:#x?}", &got[..4]);
    assert_eq!(&got[..4], &GOLDEN[..]);
}

#[test]
fn current_user_is_the_prompt_view() {
    let tables = synthetic(1);
    let mut env = ContextualBandit::new(tables.tables().unwrap(), 5).unwrap();
    let idx = env.reset(3).unwrap();
    let u = env.current_user();
    let p = &tables.users()[idx];
    assert_eq!(u.age, p.age);
    assert_eq!(u.gender, p.gender.word());
    assert_eq!(u.occupation, p.occupation_name());
    assert_eq!(u.location, p.location.as_str());
    assert_eq!(u.preferences, &p.preferences[..DEFAULT_DIM]);
    assert!(["male", "female"].contains(&u.gender));
    assert_eq!(u.location.len(), 5);
    let title = env.movie_title(2).unwrap();
    assert_eq!(env.find_movie(title), Ok(2));
    assert_eq!(env.find_movie(&title.to_ascii_uppercase()), Ok(2));
    assert_eq!(env.find_movie("3"), Ok(3));
    assert!(env.movie_title(10).is_err());
    assert_eq!(env.step(10), Err(Error::InvalidAction { action: 10, num_actions: 10 }));
    for _ in 0..5 {
        env.step(0).unwrap();
    }
    assert_eq!(env.step(0), Err(Error::EpisodeOver));
}

fn user(pref: &[f64]) -> UserProfile {
    UserProfile::new(25, Gender::Female, 12, "02139", pref).unwrap()
}

fn movie(title: &str, f: &[f64]) -> MovieProfile {
    MovieProfile::new(title, Genres::parse("Comedy|Drama").unwrap(), f).unwrap()
}

#[test]
fn bad_tables_are_errors() {
    let users = [user(&[1.0, 0.0])];
    let movies = [movie("A (1990)", &[1.0, 2.0]), movie("B (1991)", &[0.5, 0.5])];
    assert!(CbTables::new(&users, &movies, 2, 0.1).is_ok());
    assert_eq!(CbTables::new(&[], &movies, 2, 0.1).unwrap_err(), Error::Empty { what: "users" });
    assert_eq!(CbTables::new(&users, &[], 2, 0.1).unwrap_err(), Error::Empty { what: "movies" });
    assert!(matches!(CbTables::new(&users, &movies, 0, 0.1), Err(Error::OutOfRange { name: "dim", .. })));
    assert!(matches!(
        CbTables::new(&users, &movies, MAX_DIM + 1, 0.1),
        Err(Error::OutOfRange { name: "dim", .. })
    ));
    assert!(matches!(
        CbTables::new(&users, &movies, 2, -1.0),
        Err(Error::OutOfRange { name: "noise_sd", .. })
    ));
    assert!(matches!(CbTables::new(&users, &movies, 2, f64::NAN), Err(Error::NotFinite { .. })));
    let too_many: Vec<MovieProfile> = (0..33).map(|i| movie(&format!("M{i}"), &[1.0])).collect();
    assert!(matches!(
        CbTables::new(&users, &too_many, 1, 0.1),
        Err(Error::OutOfRange { name: "movies", .. })
    ));
    let nan_user = [user(&[f64::NAN, 0.0])];
    assert!(matches!(CbTables::new(&nan_user, &movies, 2, 0.1), Err(Error::NotFinite { .. })));
    let inf_movie = [movie("C", &[1.0, f64::INFINITY])];
    assert!(matches!(CbTables::new(&users, &inf_movie, 2, 0.1), Err(Error::NotFinite { .. })));
    let mut bad_occ = user(&[1.0]);
    bad_occ.occupation = 21;
    assert!(CbTables::new(&[bad_occ], &movies, 1, 0.1).is_err());
    assert!(UserProfile::new(25, Gender::Male, 21, "1", &[]).is_err());
    assert!(UserProfile::new(25, Gender::Male, 0, "12345678901234567", &[]).is_err());
    assert!(UserProfile::new(25, Gender::Male, 0, "1", &[0.0; MAX_DIM + 1]).is_err());
    assert!(MovieProfile::new(&"x".repeat(200), Genres::default(), &[]).is_err());
    let t = CbTables::new(&users, &movies, 2, 0.0).unwrap();
    assert!(ContextualBandit::new(t, 0).is_err());
    assert_eq!(t.best(0), Ok((0, 1.0)));
    assert!(t.expected_reward(1, 0).is_err());
    assert!(t.expected_reward(0, 2).is_err());
    // Synthetic generation validates its shape too.
    let mut us = vec![UserProfile::default(); 3];
    let mut ms = vec![MovieProfile::default(); 4];
    assert!(fill_synthetic(&mut us, &mut ms, 5, 0.5, 0).is_err()); // dim > movies
    assert!(fill_synthetic(&mut [], &mut ms, 2, 0.5, 0).is_err());
}

#[test]
fn policies_reject_bad_input() {
    let mut p = LinUcb::<4, 3>::new(DEFAULT_ALPHA, true).unwrap();
    assert!(LinUcb::<4, 3>::new(f64::NAN, false).is_err());
    assert!(LinUcb::<4, 3>::new(-1.0, false).is_err());
    let mut rng = env_core::Rng::new(0);
    assert!(p.select(&[1.0, 2.0], &mut rng).is_err()); // not reset
    assert!(p.reset(5, 2).is_err()); // too many arms
    assert!(p.reset(4, 3).is_err()); // 3 + bias > 3
    p.reset(4, 2).unwrap();
    assert!(p.select(&[1.0], &mut rng).is_err());
    assert!(p.select(&[1.0, f64::NAN], &mut rng).is_err());
    assert!(p.update(4, &[1.0, 2.0], 1.0).is_err());
    assert!(p.update(0, &[1.0, 2.0], f64::INFINITY).is_err());
    let mut r = UniformRandom::new();
    assert!(r.select(&[1.0], &mut rng).is_err());
    r.reset(3, 1).unwrap();
    assert!(r.select(&[1.0], &mut rng).unwrap() < 3);
    let tables = synthetic(2);
    let mut env = ContextualBandit::new(tables.tables().unwrap(), 50).unwrap();
    let mut short = [0usize; 49];
    let mut f = [0.0; 50];
    let mut g = [0.0; 50];
    assert!(matches!(
        run_cb_episode(&mut env, &mut r, 0, &mut short, &mut f, &mut g),
        Err(Error::CapacityExceeded { what: "actions_out", .. })
    ));
}

#[test]
fn linucb_learns_a_linear_model() {
    // Sherman-Morrison keeps A^-1 exact: after many updates on a noiseless linear reward the
    // greedy part of the score recovers the reward of each arm.
    let mut p = LinUcb::<2, 2>::new(0.0, false).unwrap();
    p.reset(2, 2).unwrap();
    let theta = [[1.0, -2.0], [0.5, 3.0]];
    let mut rng = env_core::Rng::new(1);
    for _ in 0..500 {
        let x = [rng.normal(0.0, 1.0), rng.normal(0.0, 1.0)];
        for (a, th) in theta.iter().enumerate() {
            p.update(a, &x, th[0] * x[0] + th[1] * x[1]).unwrap();
        }
    }
    let x = [0.3, 0.7];
    for (a, th) in theta.iter().enumerate() {
        let want = th[0] * x[0] + th[1] * x[1];
        assert!((p.score(a, &x).unwrap() - want).abs() < 0.01);
    }
}

#[test]
fn svd_reconstructs_and_obeys_eckart_young() {
    let mut rng = env_core::Rng::new(4);
    let (rows, cols) = (30, 7);
    let m: Vec<f64> = (0..rows * cols).map(|_| (1 + rng.below(5)) as f64).collect();
    let svd = RatingSvd::from_matrix(&m, rows, cols).unwrap();
    let s = svd.singular_values();
    assert!(s.windows(2).all(|w| w[0] >= w[1]));
    for d in 1..=cols {
        let mut err = 0.0;
        for i in 0..rows {
            let row = &m[i * cols..(i + 1) * cols];
            let mut p = vec![0.0; d];
            svd.user_factors(row, &mut p).unwrap();
            for (j, &r) in row.iter().enumerate() {
                let mut q = vec![0.0; d];
                svd.movie_factors(j, &mut q).unwrap();
                let rec: f64 = p.iter().zip(&q).map(|(a, b)| a * b).sum();
                err += (r - rec) * (r - rec);
            }
        }
        let dropped = svd.dropped_energy(d);
        assert!((err - dropped).abs() < 1e-8 * (1.0 + dropped), "d={d}: {err} vs {dropped}");
        if d == cols {
            assert!(err < 1e-18, "full-rank reconstruction error {err}");
        }
    }
    assert!(RatingSvd::from_matrix(&m[..10], rows, cols).is_err());
    assert!(RatingSvd::from_matrix(&[], 0, 3).is_err());
    assert!(RatingSvd::from_matrix(&[f64::NAN], 1, 1).is_err());
}
