//! The C ABI gives what env-core's Rust API gives, for the same seeds: episodes, agents,
//! prompts, parsing and metrics (called here through the C functions, from Rust).

use std::ptr::null;

use env_core::agents::{run_bandit_episode, BetaThompson};
use env_core::cb::{
    fill_synthetic, ContextualBandit, ContextualPolicy, DefaultLinUcb, MovieProfile, UserContext, UserProfile,
};
use env_core::metrics::{coverage_curve, greedy_frac, min_frac};
use env_core::prompt::{write_cb_prompt, write_ttt_prompt, CbPromptSpec, TttPromptSpec};
use env_core::ttt::{FirstMover, Mark, Mcts, MctsConfig, Opponent, TicTacToe, TttConfig, TttPlayer};
use env_core::{ArmDistribution, Environment, LabelStyle, MabConfig, MultiArmedBandit, Rng};
use env_core_ffi::bandit_agent::*;
use env_core_ffi::cb::*;
use env_core_ffi::cb_agent::*;
use env_core_ffi::mab::*;
use env_core_ffi::metrics::*;
use env_core_ffi::parse::*;
use env_core_ffi::prompt::*;
use env_core_ffi::ttt::*;
use env_core_ffi::ttt_player::*;
use env_core_ffi::{EcBanditAgent, EcCb, EcCbAgent, EcMab, EcStatus, EcTtt, EcTttPlayer};

fn zeroed<T>() -> Box<T> {
    // SAFETY: every object type is a plain array of integers.
    unsafe { Box::<T>::new_zeroed().assume_init() }
}

fn ok(s: EcStatus) {
    assert_eq!(s, EcStatus::Ok);
}

fn text(render: impl Fn(*mut i8, usize, &mut usize) -> EcStatus) -> String {
    let mut needed = 0;
    assert_eq!(render(std::ptr::null_mut(), 0, &mut needed), EcStatus::BufferTooSmall);
    let mut buf = vec![0i8; needed + 1];
    let mut len = 0;
    ok(render(buf.as_mut_ptr(), buf.len(), &mut len));
    assert_eq!(len, needed);
    String::from_utf8(buf[..len].iter().map(|&c| c as u8).collect()).unwrap()
}

#[test]
fn bernoulli_thompson_episode_and_metrics() {
    let config = MabConfig {
        arms: 5,
        horizon: 40,
        distribution: ArmDistribution::Bernoulli { gap: 0.5 },
        labels: LabelStyle::Numeric,
    };
    let mut env = MultiArmedBandit::new(config, 12).unwrap();
    let (mut actions, mut rewards) = ([0usize; 40], [0.0; 40]);
    run_bandit_episode(&mut env, &mut BetaThompson::default(), 5, &mut actions, &mut rewards).unwrap();

    let mut m = zeroed::<EcMab>();
    let mut a = zeroed::<EcBanditAgent>();
    let c = EcMabConfig {
        arms: 5,
        horizon: 40,
        distribution: EC_DIST_BERNOULLI,
        param: 0.5,
        labels: EC_LABELS_NUMERIC,
    };
    let agent = EcBanditAgentConfig {
        kind: EC_AGENT_THOMPSON_BETA,
        param1: 1.0,
        param2: 1.0,
        param3: 0.0,
        try_all: 0,
        explore_epsilon: 0.0,
    };
    let (mut ffi_actions, mut ffi_rewards) = ([0usize; 40], [0.0; 40]);
    unsafe {
        ok(ec_mab_init(&mut *m, &c, 12));
        ok(ec_bandit_agent_init(&mut *a, &agent));
        ok(ec_mab_reset(&mut *m, 5));
        ok(ec_bandit_agent_reset(&mut *a, 5, 5));
        for t in 0..40 {
            let mut step = EcMabStep::default();
            ok(ec_bandit_agent_select(&mut *a, &mut ffi_actions[t]));
            ok(ec_mab_step(&mut *m, ffi_actions[t], &mut step));
            ok(ec_bandit_agent_update(&mut *a, ffi_actions[t], step.reward));
            ffi_rewards[t] = step.reward;
            assert_eq!(step.regret, env.best_mean() - env.means()[ffi_actions[t]]);
        }
    }
    assert_eq!(ffi_actions, actions);
    assert_eq!(ffi_rewards.map(f64::to_bits), rewards.map(f64::to_bits));

    let mut curve = [0.0; 40];
    let mut ffi_curve = [0.0; 40];
    let mut v = 0.0;
    unsafe {
        ok(ec_coverage_curve(5, actions.as_ptr(), 40, ffi_curve.as_mut_ptr(), 40, &mut v));
        assert_eq!(v, coverage_curve(5, &actions, &mut curve).unwrap());
        assert_eq!(ffi_curve, curve);
        ok(ec_min_frac(5, actions.as_ptr(), 40, &mut v));
        assert_eq!(v, min_frac(5, &actions).unwrap());
        ok(ec_greedy_frac(5, actions.as_ptr(), rewards.as_ptr(), 40, &mut v));
        assert_eq!(v, greedy_frac(5, &actions, &rewards).unwrap());
        // Parsing with the numeric labels.
        let answer = b"Thinking... ACTION = **3**.";
        let mut arm = 0;
        ok(ec_mab_parse_action(&*m, answer.as_ptr().cast(), answer.len(), &mut arm));
        assert_eq!(arm, 3);
    }
}

#[test]
fn linucb_on_the_synthetic_table() {
    let mut users: Vec<UserProfile> = vec![UserProfile::default(); 30];
    let mut movies: Vec<MovieProfile> = vec![MovieProfile::default(); 6];
    let tables = fill_synthetic(&mut users, &mut movies, 4, 0.5, 21).unwrap();
    let mut env = ContextualBandit::new(tables, 20).unwrap();
    let mut lin = DefaultLinUcb::new(0.5, true).unwrap();
    lin.reset(6, 4).unwrap();
    let mut rng = Rng::new(77);
    let mut want = Vec::new();
    env.reset(8).unwrap();
    while !env.is_done() {
        let ctx = env.context();
        let arm = lin.select(ctx, &mut rng).unwrap();
        let tr = env.step(arm).unwrap();
        lin.update(arm, ctx, tr.reward).unwrap();
        want.push((tr.info.user, arm, tr.reward.to_bits(), tr.info.regret.to_bits()));
    }

    let mut c = zeroed::<EcCb>();
    let mut a = zeroed::<EcCbAgent>();
    let mut got = Vec::new();
    unsafe {
        ok(ec_cb_init(
            &mut *c,
            &EcCbConfig { users: 30, movies: 6, dim: 4, noise_sd: 0.5, table_seed: 21, horizon: 20 },
        ));
        ok(ec_cb_agent_init(&mut *a, &EcCbAgentConfig { kind: EC_CB_AGENT_LINUCB, alpha: 0.5, bias: 1 }));
        ok(ec_cb_agent_reset(&mut *a, 6, 4, 77));
        let mut user = 0;
        ok(ec_cb_reset(&mut *c, 8, &mut user));
        let mut step = EcCbStep::default();
        while step.truncated == 0 {
            let (mut ctx, mut dim, mut arm) = ([0.0; 16], 0, 0);
            ok(ec_cb_context(&*c, ctx.as_mut_ptr(), 16, &mut dim));
            assert_eq!(dim, 4);
            ok(ec_cb_agent_select(&mut *a, ctx.as_ptr(), dim, &mut arm));
            ok(ec_cb_step(&mut *c, arm, &mut step));
            ok(ec_cb_agent_update(&mut *a, arm, ctx.as_ptr(), dim, step.reward));
            got.push((step.user, arm, step.reward.to_bits(), step.regret.to_bits()));
        }
        // The prompt after two steps, against env-core's writer.
        let o = EcPromptOptions { output: EC_OUTPUT_ACTION_ONLY, ..EcPromptOptions::default() };
        let shown = [got[0].0, got[1].0];
        let acts = [got[0].1, got[1].1];
        let rews = [f64::from_bits(got[0].2), f64::from_bits(got[1].2)];
        let ffi = text(|b, cap, len| {
            ec_cb_prompt(&*c, &o, shown.as_ptr(), acts.as_ptr(), rews.as_ptr(), 2, b, cap, len)
        });
        let view = |u: usize| {
            let p = &users[u];
            UserContext {
                age: p.age,
                gender: p.gender.word(),
                occupation: p.occupation_name(),
                location: p.location.as_str(),
                preferences: &p.preferences[..4],
            }
        };
        let titles: Vec<&str> = movies.iter().map(|m| m.title.as_str()).collect();
        let spec = CbPromptSpec {
            horizon: 20,
            output: env_core::prompt::OutputMode::ActionOnly,
            ..CbPromptSpec::default()
        };
        let mut rust = String::new();
        let (u0, u1) = (view(shown[0]), view(shown[1]));
        let mut current = 0;
        ok(ec_cb_current_user(&*c, &mut current));
        write_cb_prompt(&mut rust, &spec, &titles, &[u0, u1], &acts, &rews, &view(current)).unwrap();
        assert_eq!(ffi, rust);
        // An answer naming a title.
        let answer = format!("ACTION={}", titles[4]);
        let mut arm = 0;
        ok(ec_cb_parse_action(&*c, answer.as_ptr().cast(), answer.len(), &mut arm));
        assert_eq!(arm, 4);
    }
    assert_eq!(got, want);
}

#[test]
fn mcts_player_and_opponent_and_the_ttt_prompt() {
    // The player object (arena inside it) plays as env-core's players do.
    let mut p = zeroed::<EcTttPlayer>();
    let mut t = zeroed::<EcTtt>();
    let mut rust_env =
        TicTacToe::new(TttConfig { opponent: Opponent::Random, first: FirstMover::Opponent }).unwrap();
    let mut rust_agent = Mcts::<2048>::new(MctsConfig::with_simulations(300)).unwrap();
    let mut rng = Rng::new(9);
    unsafe {
        ok(ec_ttt_player_init(
            &mut *p,
            &EcTttPlayerConfig { kind: EC_PLAYER_MCTS, simulations: 300, p: 0.0 },
            9,
        ));
        ok(ec_ttt_init(
            &mut *t,
            &EcTttConfig { opponent: EC_PLAYER_RANDOM, simulations: 0, p: 0.0, first: EC_FIRST_OPPONENT },
        ));
        ok(ec_ttt_reset(&mut *t, 6));
        rust_env.reset(6).unwrap();
        let (mut states, mut acts, mut rews) = (Vec::new(), Vec::new(), Vec::new());
        let mut step = EcTttStep::default();
        while step.terminated == 0 {
            let mut board = [0i8; 10];
            let mut len = 0;
            ok(ec_ttt_board(&*t, board.as_mut_ptr(), 10, &mut len));
            let s: String = board[..9].iter().map(|&c| c as u8 as char).collect();
            assert_eq!(s, rust_env.board().as_str());
            // The prompt before the move, against env-core's writer.
            let o = EcPromptOptions::default();
            let flat: Vec<u8> = states.iter().flatten().copied().collect();
            let ffi = text(|b, cap, l| {
                ec_ttt_prompt(
                    &*t,
                    &o,
                    if flat.is_empty() { null() } else { flat.as_ptr() },
                    acts.as_ptr(),
                    rews.as_ptr(),
                    acts.len(),
                    b,
                    cap,
                    l,
                )
            });
            let mut rust = String::new();
            let legal = rust_env.legal_actions();
            write_ttt_prompt(
                &mut rust,
                &TttPromptSpec::default(),
                &states,
                &acts,
                &rews,
                &rust_env.board().values(),
                &legal,
            )
            .unwrap();
            assert_eq!(ffi, rust);

            let mut pos = 0;
            ok(ec_ttt_player_choose(&mut *p, board.as_ptr(), 9, 1, &mut pos));
            assert_eq!(pos, rust_agent.choose(rust_env.board(), Mark::Agent, &mut rng).unwrap());
            states.push(rust_env.board().values());
            ok(ec_ttt_step(&mut *t, pos, &mut step));
            let tr = rust_env.step(pos).unwrap();
            assert_eq!(step.reward, tr.reward);
            assert_eq!(step.opponent_move, tr.info.opponent_move.map_or(-1, |m| m as i32));
            acts.push(pos as u8);
            rews.push(tr.reward);
        }
        let mut outcome = 0;
        ok(ec_ttt_outcome(&*t, &mut outcome));
        assert_ne!(outcome, EC_OUTCOME_NONE);
    }
}
