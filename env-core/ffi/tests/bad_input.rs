//! Bad input through the C ABI, from Rust: every function given a null or misaligned pointer,
//! an object that was never initialised (or was moved), a too-small buffer, an out-of-range
//! arm or cell, a finished episode or an unknown label returns an error code, and the object's
//! bytes are the same after the failed call as before it.

use std::mem::size_of;
use std::ptr::{null, null_mut};

use env_core_ffi::bandit_agent::*;
use env_core_ffi::cb::*;
use env_core_ffi::cb_agent::*;
use env_core_ffi::mab::*;
use env_core_ffi::metrics::*;
use env_core_ffi::parse::*;
use env_core_ffi::prompt::*;
use env_core_ffi::status::{ec_status_message, ec_status_name};
use env_core_ffi::ttt::*;
use env_core_ffi::ttt_player::*;
use env_core_ffi::{EcBanditAgent, EcCb, EcCbAgent, EcMab, EcStatus, EcTtt, EcTttPlayer};

use EcStatus as S;

/// A zeroed object on the heap (some are tens of KiB).
fn zeroed<T>() -> Box<T> {
    // SAFETY: every object type is a plain array of integers.
    unsafe { Box::<T>::new_zeroed().assume_init() }
}

fn bytes<T>(obj: &T) -> Vec<u8> {
    // SAFETY: reading the object's own bytes.
    unsafe { std::slice::from_raw_parts((obj as *const T).cast::<u8>(), size_of::<T>()).to_vec() }
}

/// Asserts that `call` returns `want` and leaves `obj`'s bytes unchanged.
fn fails<T>(obj: &mut T, want: EcStatus, call: impl FnOnce(*mut T) -> EcStatus) {
    let before = bytes(obj);
    let got = call(obj as *mut T);
    assert_eq!(got, want);
    assert!(bytes(obj) == before, "a failed call ({want:?}) changed the object");
}

const MAB: EcMabConfig = EcMabConfig {
    arms: 3,
    horizon: 2,
    distribution: EC_DIST_GAUSSIAN,
    param: 1.0,
    labels: EC_LABELS_BUTTONS,
};

fn mab() -> Box<EcMab> {
    let mut m = zeroed::<EcMab>();
    assert_eq!(unsafe { ec_mab_init(&mut *m, &MAB, 1) }, S::Ok);
    m
}

#[test]
fn null_misaligned_uninitialised_and_moved_objects() {
    unsafe {
        assert_eq!(ec_mab_init(null_mut(), &MAB, 1), S::NullPointer);
        let mut m = zeroed::<EcMab>();
        fails(&mut *m, S::NullPointer, |p| ec_mab_init(p, null(), 1));
        // Never initialised (zeroed): every call refuses it.
        let mut arms = 0usize;
        fails(&mut *m, S::NotInitialized, |p| ec_mab_reset(p, 0));
        fails(&mut *m, S::NotInitialized, |p| ec_mab_num_arms(p, &mut arms));
        // Misaligned: one byte into a buffer.
        let mut raw = vec![0u64; size_of::<EcMab>() / 8 + 1];
        let odd = (raw.as_mut_ptr() as *mut u8).add(1) as *mut EcMab;
        assert_eq!(ec_mab_init(odd, &MAB, 1), S::Misaligned);
        assert_eq!(ec_mab_reset(odd, 1), S::Misaligned);
        assert!(raw.iter().all(|&w| w == 0));
        // Another type's object is not this one.
        let m = mab();
        let as_ttt = &*m as *const EcMab as *const EcTtt;
        assert_eq!(ec_ttt_outcome(as_ttt, &mut 0), S::NotInitialized);
        // A copy is bound to the original's address.
        let mut copy = zeroed::<EcMab>();
        std::ptr::copy_nonoverlapping(&*m, &mut *copy, 1);
        fails(&mut *copy, S::Moved, |p| ec_mab_reset(p, 0));
        let mut step = EcMabStep::default();
        fails(&mut *copy, S::Moved, |p| ec_mab_step(p, 0, &mut step));
    }
}

#[test]
fn mab_rejects_bad_settings_arms_and_finished_episodes() {
    unsafe {
        let mut m = mab();
        for bad in [
            EcMabConfig { arms: 1, ..MAB },
            EcMabConfig { arms: 33, ..MAB },
            EcMabConfig { horizon: 0, ..MAB },
            EcMabConfig { distribution: 7, ..MAB },
            EcMabConfig { labels: 2, ..MAB },
            EcMabConfig { distribution: EC_DIST_BERNOULLI, param: 1.5, ..MAB },
        ] {
            fails(&mut *m, S::OutOfRange, |p| ec_mab_init(p, &bad, 1));
        }
        fails(&mut *m, S::NotFinite, |p| ec_mab_init(p, &EcMabConfig { param: f64::NAN, ..MAB }, 1));
        let mut step = EcMabStep::default();
        fails(&mut *m, S::InvalidAction, |p| ec_mab_step(p, 3, &mut step));
        fails(&mut *m, S::NullPointer, |p| ec_mab_step(p, 0, null_mut()));
        assert_eq!(ec_mab_step(&mut *m, 0, &mut step), S::Ok);
        assert_eq!(ec_mab_step(&mut *m, 1, &mut step), S::Ok);
        assert_eq!(step.truncated, 1);
        fails(&mut *m, S::EpisodeOver, |p| ec_mab_step(p, 0, &mut step));
        let mut means = [0.0; 2];
        fails(&mut *m, S::BufferTooSmall, |p| ec_mab_means(p, means.as_mut_ptr(), 2));
        fails(&mut *m, S::NullPointer, |p| ec_mab_means(p, null_mut(), 3));
    }
}

#[test]
fn labels_report_the_needed_length_and_reject_unknown_text() {
    unsafe {
        let mut m = mab();
        let mut buf = [b'#' as i8; 4];
        let mut len = 0usize;
        let mut full = [0i8; 32];
        assert_eq!(ec_mab_label(&*m, 0, full.as_mut_ptr(), 32, &mut len), S::Ok);
        let name = std::ffi::CStr::from_ptr(full.as_ptr()).to_str().unwrap().to_string();
        assert_eq!(len, name.len());
        let mut small = 0usize;
        // A buffer of exactly the length has no room for the NUL.
        assert_eq!(ec_mab_label(&*m, 0, buf.as_mut_ptr(), name.len().min(4), &mut small), S::BufferTooSmall);
        assert_eq!(small, name.len());
        assert!(buf.iter().all(|&c| c == b'#' as i8), "a too-small buffer is left untouched");
        assert_eq!(ec_mab_label(&*m, 0, null_mut(), 0, &mut small), S::BufferTooSmall);
        assert_eq!(ec_mab_label(&*m, 0, null_mut(), 8, &mut small), S::NullPointer);
        assert_eq!(ec_mab_label(&*m, 0, full.as_mut_ptr(), 32, null_mut()), S::NullPointer);
        assert_eq!(ec_mab_label(&*m, 3, full.as_mut_ptr(), 32, &mut len), S::InvalidAction);
        let mut arm = 99usize;
        fails(&mut *m, S::UnknownLabel, |p| ec_mab_find_label(p, b"nope".as_ptr().cast(), 4, &mut arm));
        assert_eq!(arm, 99);
        fails(&mut *m, S::InvalidUtf8, |p| ec_mab_find_label(p, b"\xff\xfe".as_ptr().cast(), 2, &mut arm));
        fails(&mut *m, S::NullPointer, |p| ec_mab_find_label(p, null(), 3, &mut arm));
        assert_eq!(ec_mab_find_label(&*m, name.to_uppercase().as_ptr().cast(), name.len(), &mut arm), S::Ok);
        assert_eq!(arm, 0);
        // Parsing: an answer without a valid ACTION=X.
        let answer = b"I think ACTION=purple-ish";
        fails(&mut *m, S::NoValidAction, |p| {
            ec_mab_parse_action(p, answer.as_ptr().cast(), answer.len(), &mut arm)
        });
        let mut values = [0.0; 3];
        let mut mask = 0u32;
        fails(&mut *m, S::NoValidAction, |p| {
            ec_mab_parse_ucb_values(
                p,
                answer.as_ptr().cast(),
                answer.len(),
                values.as_mut_ptr(),
                3,
                &mut mask,
            )
        });
        fails(&mut *m, S::BufferTooSmall, |p| {
            ec_mab_parse_ucb_values(
                p,
                answer.as_ptr().cast(),
                answer.len(),
                values.as_mut_ptr(),
                2,
                &mut mask,
            )
        });
    }
}

#[test]
fn prompts_report_the_needed_length_and_check_the_history() {
    unsafe {
        let mut m = mab();
        let mut o = EcPromptOptions::default();
        assert_eq!(ec_prompt_options_default(&mut o), S::Ok);
        let actions = [0usize, 2];
        let rewards = [0.5, -0.25];
        let mut needed = 0usize;
        assert_eq!(
            ec_mab_prompt(&*m, &o, actions.as_ptr(), rewards.as_ptr(), 2, null_mut(), 0, &mut needed),
            S::BufferTooSmall
        );
        let mut buf = vec![b'#' as i8; needed];
        let mut len = 0usize;
        assert_eq!(
            ec_mab_prompt(&*m, &o, actions.as_ptr(), rewards.as_ptr(), 2, buf.as_mut_ptr(), needed, &mut len),
            S::BufferTooSmall
        );
        assert_eq!(len, needed);
        assert!(buf.iter().all(|&c| c == b'#' as i8));
        buf.push(0);
        assert_eq!(
            ec_mab_prompt(
                &*m,
                &o,
                actions.as_ptr(),
                rewards.as_ptr(),
                2,
                buf.as_mut_ptr(),
                needed + 1,
                &mut len
            ),
            S::Ok
        );
        assert_eq!(len, needed);
        assert_eq!(buf[needed], 0);
        let mut big = vec![0i8; needed + 1];
        let bad = [0usize, 3];
        fails(&mut *m, S::InvalidAction, |p| {
            ec_mab_prompt(p, &o, bad.as_ptr(), rewards.as_ptr(), 2, big.as_mut_ptr(), needed + 1, &mut len)
        });
        fails(&mut *m, S::NullPointer, |p| {
            ec_mab_prompt(p, &o, null(), rewards.as_ptr(), 2, big.as_mut_ptr(), needed + 1, &mut len)
        });
        fails(&mut *m, S::NullPointer, |p| {
            ec_mab_prompt(
                p,
                null(),
                actions.as_ptr(),
                rewards.as_ptr(),
                2,
                big.as_mut_ptr(),
                needed + 1,
                &mut len,
            )
        });
        for bad in [
            EcPromptOptions { output: 9, ..o },
            EcPromptOptions { chat: 9, ..o },
            EcPromptOptions { summary: 2, ..o },
            EcPromptOptions { output: EC_OUTPUT_KNOWING_DOING, rule: 5, ..o },
        ] {
            fails(&mut *m, S::OutOfRange, |p| {
                ec_mab_prompt(
                    p,
                    &bad,
                    actions.as_ptr(),
                    rewards.as_ptr(),
                    2,
                    big.as_mut_ptr(),
                    needed + 1,
                    &mut len,
                )
            });
        }
    }
}

const UCB: EcBanditAgentConfig = EcBanditAgentConfig {
    kind: EC_AGENT_UCB,
    param1: 1.0,
    param2: 0.0,
    param3: 0.0,
    try_all: 0,
    explore_epsilon: 0.0,
};

#[test]
fn bandit_agents_refuse_bad_use() {
    unsafe {
        let mut a = zeroed::<EcBanditAgent>();
        fails(&mut *a, S::OutOfRange, |p| ec_bandit_agent_init(p, &EcBanditAgentConfig { kind: 99, ..UCB }));
        fails(&mut *a, S::OutOfRange, |p| {
            ec_bandit_agent_init(p, &EcBanditAgentConfig { try_all: 2, ..UCB })
        });
        fails(&mut *a, S::OutOfRange, |p| {
            ec_bandit_agent_init(p, &EcBanditAgentConfig { explore_epsilon: 1.5, ..UCB })
        });
        fails(&mut *a, S::NotFinite, |p| {
            ec_bandit_agent_init(p, &EcBanditAgentConfig { explore_epsilon: f64::NAN, ..UCB })
        });
        for kind in
            [EC_AGENT_UCB, EC_AGENT_THOMPSON_BETA, EC_AGENT_EPSILON_GREEDY, EC_AGENT_GREEDY, EC_AGENT_RANDOM]
        {
            let config = EcBanditAgentConfig { kind, param1: 0.5, param2: 1.0, ..UCB };
            assert_eq!(ec_bandit_agent_init(&mut *a, &config), S::Ok, "kind {kind}");
            let mut arm = 0usize;
            fails(&mut *a, S::Empty, |p| ec_bandit_agent_select(p, &mut arm));
            fails(&mut *a, S::OutOfRange, |p| ec_bandit_agent_reset(p, 0, 5));
            fails(&mut *a, S::OutOfRange, |p| ec_bandit_agent_reset(p, 33, 5));
            assert_eq!(ec_bandit_agent_reset(&mut *a, 3, 5), S::Ok);
            fails(&mut *a, S::NullPointer, |p| ec_bandit_agent_select(p, null_mut()));
            fails(&mut *a, S::InvalidAction, |p| ec_bandit_agent_update(p, 3, 1.0));
            fails(&mut *a, S::NotFinite, |p| ec_bandit_agent_update(p, 0, f64::NAN));
            assert_eq!(ec_bandit_agent_select(&mut *a, &mut arm), S::Ok);
            assert!(arm < 3);
        }
    }
}

const TTT: EcTttConfig =
    EcTttConfig { opponent: EC_PLAYER_MINIMAX, simulations: 0, p: 0.0, first: EC_FIRST_AGENT };

#[test]
fn tic_tac_toe_refuses_bad_moves_and_finished_games() {
    unsafe {
        let mut t = zeroed::<EcTtt>();
        fails(&mut *t, S::OutOfRange, |p| ec_ttt_init(p, &EcTttConfig { opponent: 9, ..TTT }));
        fails(&mut *t, S::OutOfRange, |p| ec_ttt_init(p, &EcTttConfig { opponent: EC_PLAYER_MCTS, ..TTT }));
        fails(&mut *t, S::OutOfRange, |p| ec_ttt_init(p, &EcTttConfig { first: 3, ..TTT }));
        fails(&mut *t, S::OutOfRange, |p| {
            ec_ttt_init(p, &EcTttConfig { opponent: EC_PLAYER_NOISY_MCTS, simulations: 10, p: 2.0, ..TTT })
        });
        assert_eq!(ec_ttt_init(&mut *t, &TTT), S::Ok);
        let mut step = EcTttStep::default();
        fails(&mut *t, S::InvalidAction, |p| ec_ttt_step(p, 9, &mut step));
        assert_eq!(ec_ttt_step(&mut *t, 0, &mut step), S::Ok);
        fails(&mut *t, S::IllegalMove, |p| ec_ttt_step(p, 0, &mut step));
        let taken = step.opponent_move as usize;
        fails(&mut *t, S::IllegalMove, |p| ec_ttt_step(p, taken, &mut step));
        let mut pos = 0usize;
        let answer = format!("ACTION={taken}");
        fails(&mut *t, S::IllegalMove, |p| {
            ec_ttt_parse_action(p, answer.as_ptr().cast(), answer.len(), &mut pos)
        });
        fails(&mut *t, S::NoValidAction, |p| {
            ec_ttt_parse_action(p, b"ACTION=x".as_ptr().cast(), 8, &mut pos)
        });
        let mut board = [0i8; 10];
        let mut len = 0usize;
        fails(&mut *t, S::BufferTooSmall, |p| ec_ttt_board(p, board.as_mut_ptr(), 9, &mut len));
        assert_eq!(len, 9);
        let mut moves = [0u8; 9];
        let mut n = 0usize;
        fails(&mut *t, S::BufferTooSmall, |p| ec_ttt_legal_moves(p, moves.as_mut_ptr(), 2, &mut n));
        assert_eq!(n, 7);
        // Play the game out (minimax never loses), then step again.
        while step.terminated == 0 {
            assert_eq!(ec_ttt_legal_moves(&*t, moves.as_mut_ptr(), 9, &mut n), S::Ok);
            assert_eq!(ec_ttt_step(&mut *t, moves[0] as usize, &mut step), S::Ok);
        }
        fails(&mut *t, S::EpisodeOver, |p| ec_ttt_step(p, 4, &mut step));
        assert_eq!(ec_ttt_legal_moves(&*t, moves.as_mut_ptr(), 9, &mut n), S::Ok);
        assert_eq!(n, 0);
    }
}

#[test]
fn players_refuse_bad_boards_marks_and_finished_games() {
    unsafe {
        let mut pl = zeroed::<EcTttPlayer>();
        let mcts = EcTttPlayerConfig { kind: EC_PLAYER_MCTS, simulations: 50, p: 0.0 };
        fails(&mut *pl, S::OutOfRange, |p| {
            ec_ttt_player_init(p, &EcTttPlayerConfig { simulations: 0, ..mcts }, 1)
        });
        fails(&mut *pl, S::OutOfRange, |p| ec_ttt_player_init(p, &EcTttPlayerConfig { kind: 7, ..mcts }, 1));
        assert_eq!(ec_ttt_player_init(&mut *pl, &mcts, 1), S::Ok);
        let mut pos = 0usize;
        let won = b"111220000";
        fails(&mut *pl, S::EpisodeOver, |p| ec_ttt_player_choose(p, won.as_ptr().cast(), 9, 2, &mut pos));
        let open = b"100020000";
        fails(&mut *pl, S::OutOfRange, |p| ec_ttt_player_choose(p, open.as_ptr().cast(), 9, 3, &mut pos));
        fails(&mut *pl, S::OutOfRange, |p| ec_ttt_player_choose(p, open.as_ptr().cast(), 9, 0, &mut pos));
        let bad = b"100320000";
        assert_ne!(ec_ttt_player_choose(&mut *pl, bad.as_ptr().cast(), 9, 1, &mut pos), S::Ok);
        assert_ne!(ec_ttt_player_choose(&mut *pl, open.as_ptr().cast(), 8, 1, &mut pos), S::Ok);
        fails(&mut *pl, S::NullPointer, |p| ec_ttt_player_choose(p, null(), 9, 1, &mut pos));
        assert_eq!(ec_ttt_player_choose(&mut *pl, open.as_ptr().cast(), 9, 1, &mut pos), S::Ok);
        assert!(open[pos] == b'0');
    }
}

const CB: EcCbConfig = EcCbConfig { users: 20, movies: 5, dim: 3, noise_sd: 0.5, table_seed: 4, horizon: 3 };

#[test]
fn contextual_bandit_and_agents_refuse_bad_input() {
    unsafe {
        let mut c = zeroed::<EcCb>();
        for bad in [
            EcCbConfig { users: 0, ..CB },
            EcCbConfig { users: EC_CB_MAX_USERS as u32 + 1, ..CB },
            EcCbConfig { movies: 33, ..CB },
            EcCbConfig { dim: 6, ..CB },
            EcCbConfig { horizon: 0, ..CB },
        ] {
            fails(&mut *c, S::OutOfRange, |p| ec_cb_init(p, &bad));
        }
        assert_eq!(ec_cb_init(&mut *c, &CB), S::Ok);
        // Re-initialising with bad settings leaves the working object intact.
        fails(&mut *c, S::OutOfRange, |p| ec_cb_init(p, &EcCbConfig { dim: 6, ..CB }));
        let mut user = 0usize;
        assert_eq!(ec_cb_reset(&mut *c, 2, &mut user), S::Ok);
        let mut step = EcCbStep::default();
        fails(&mut *c, S::InvalidAction, |p| ec_cb_step(p, 5, &mut step));
        let mut ctx = [0.0; 3];
        let mut dim = 0usize;
        fails(&mut *c, S::BufferTooSmall, |p| ec_cb_context(p, ctx.as_mut_ptr(), 2, &mut dim));
        assert_eq!(dim, 3);
        let mut title = [0i8; 4];
        let mut len = 0usize;
        fails(&mut *c, S::BufferTooSmall, |p| ec_cb_movie_title(p, 0, title.as_mut_ptr(), 4, &mut len));
        fails(&mut *c, S::InvalidAction, |p| ec_cb_movie_title(p, 5, title.as_mut_ptr(), 4, &mut len));
        let mut arm = 0usize;
        fails(&mut *c, S::UnknownLabel, |p| {
            ec_cb_find_movie(p, b"Nothing (1900)".as_ptr().cast(), 14, &mut arm)
        });
        fails(&mut *c, S::NoValidAction, |p| ec_cb_parse_action(p, b"ACTION=?".as_ptr().cast(), 8, &mut arm));
        let mut o = EcPromptOptions::default();
        assert_eq!(ec_prompt_options_default(&mut o), S::Ok);
        let (users, actions, rewards) = ([0usize, 99], [0usize, 1], [1.0, 2.0]);
        let mut buf = vec![0i8; 8192];
        fails(&mut *c, S::OutOfRange, |p| {
            ec_cb_prompt(
                p,
                &o,
                users.as_ptr(),
                actions.as_ptr(),
                rewards.as_ptr(),
                2,
                buf.as_mut_ptr(),
                8192,
                &mut len,
            )
        });
        let many = vec![0usize; EC_CB_MAX_HISTORY + 1];
        let many_r = vec![0.0; EC_CB_MAX_HISTORY + 1];
        fails(&mut *c, S::CapacityExceeded, |p| {
            ec_cb_prompt(
                p,
                &o,
                many.as_ptr(),
                many.as_ptr(),
                many_r.as_ptr(),
                many.len(),
                buf.as_mut_ptr(),
                8192,
                &mut len,
            )
        });
        for _ in 0..3 {
            assert_eq!(ec_cb_step(&mut *c, 0, &mut step), S::Ok);
        }
        fails(&mut *c, S::EpisodeOver, |p| ec_cb_step(p, 0, &mut step));
        // The table lives in the object: a copy must not be used.
        let mut copy = zeroed::<EcCb>();
        std::ptr::copy_nonoverlapping(&*c, &mut *copy, 1);
        fails(&mut *copy, S::Moved, |p| ec_cb_reset(p, 1, &mut user));

        let mut a = zeroed::<EcCbAgent>();
        let lin = EcCbAgentConfig { kind: EC_CB_AGENT_LINUCB, alpha: 0.5, bias: 0 };
        fails(&mut *a, S::OutOfRange, |p| ec_cb_agent_init(p, &EcCbAgentConfig { alpha: -1.0, ..lin }));
        fails(&mut *a, S::OutOfRange, |p| ec_cb_agent_init(p, &EcCbAgentConfig { bias: 3, ..lin }));
        assert_eq!(ec_cb_agent_init(&mut *a, &lin), S::Ok);
        fails(&mut *a, S::OutOfRange, |p| ec_cb_agent_reset(p, 33, 3, 1));
        fails(&mut *a, S::OutOfRange, |p| ec_cb_agent_reset(p, 5, 18, 1));
        assert_eq!(ec_cb_agent_reset(&mut *a, 5, 3, 1), S::Ok);
        let ctx2 = [0.1, 0.2];
        fails(&mut *a, S::ShapeMismatch, |p| ec_cb_agent_select(p, ctx2.as_ptr(), 2, &mut arm));
        fails(&mut *a, S::InvalidAction, |p| ec_cb_agent_update(p, 5, ctx.as_ptr(), 3, 1.0));
        fails(&mut *a, S::NotFinite, |p| ec_cb_agent_update(p, 0, ctx.as_ptr(), 3, f64::INFINITY));
    }
}

#[test]
fn metrics_refuse_bad_arrays_and_leave_outputs_alone() {
    unsafe {
        let means = [0.1, 0.5, 0.9];
        let actions = [0usize, 2, 1];
        let mut out = [7.0; 3];
        let mut total = 7.0;
        assert_eq!(
            ec_cumulative_regret(means.as_ptr(), 3, actions.as_ptr(), 3, out.as_mut_ptr(), 2, &mut total),
            S::ShapeMismatch
        );
        let bad = [0usize, 3, 1];
        assert_eq!(
            ec_cumulative_regret(means.as_ptr(), 3, bad.as_ptr(), 3, out.as_mut_ptr(), 3, &mut total),
            S::InvalidAction
        );
        assert_eq!(
            ec_cumulative_regret(null(), 3, actions.as_ptr(), 3, out.as_mut_ptr(), 3, &mut total),
            S::NullPointer
        );
        assert_eq!(
            ec_cumulative_regret(means.as_ptr(), 3, actions.as_ptr(), 3, out.as_mut_ptr(), 3, null_mut()),
            S::NullPointer
        );
        assert_eq!((out, total), ([7.0; 3], 7.0), "failed calls write nothing");
        assert_eq!(ec_coverage_curve(3, bad.as_ptr(), 3, out.as_mut_ptr(), 3, &mut total), S::InvalidAction);
        assert_eq!(ec_suffix_failure_curve(3, 5, actions.as_ptr(), 3, out.as_mut_ptr(), 3), S::InvalidAction);
        assert_eq!((out, total), ([7.0; 3], 7.0));
        let mut flag = 7u8;
        assert_eq!(ec_suffix_failure(3, 2, actions.as_ptr(), 3, 3, &mut flag), S::OutOfRange);
        assert_eq!(flag, 7);
        let mut v = 7.0;
        assert_eq!(ec_min_frac(3, actions.as_ptr(), 0, &mut v), S::Empty);
        assert_eq!(ec_average_return(null(), 0, &mut v), S::Empty);
        assert_ne!(ec_pearson(means.as_ptr(), means.as_ptr(), 1, &mut v), S::Ok, "fewer than 2 points");
        assert_eq!(v, 7.0);
        let (mut m, mut h) = (7.0, 7.0);
        assert_eq!(ec_mean_ci95(means.as_ptr(), 3, &mut m, null_mut()), S::NullPointer);
        assert_eq!((m, h), (7.0, 7.0));
        assert_eq!(ec_mean_ci95(means.as_ptr(), 3, &mut m, &mut h), S::Ok);
    }
}

#[test]
fn every_status_has_a_name_and_a_message() {
    for code in 0..=17 {
        let name = unsafe { std::ffi::CStr::from_ptr(ec_status_name(code)) }.to_str().unwrap();
        let message = unsafe { std::ffi::CStr::from_ptr(ec_status_message(code)) }.to_str().unwrap();
        assert!(name.starts_with("EC_STATUS_") && name != "EC_STATUS_UNKNOWN", "{code}");
        assert!(!message.is_empty() && message != "unknown status code");
    }
    let unknown = unsafe { std::ffi::CStr::from_ptr(ec_status_name(-1)) };
    assert_eq!(unknown.to_bytes(), b"EC_STATUS_UNKNOWN");
}
