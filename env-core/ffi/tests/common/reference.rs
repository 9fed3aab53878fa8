//! The text of the C example `examples/simulator.c`, produced through env-core's Rust API
//! (not through the C ABI): an independent reference for the example's output.
//!
//! Shared by `examples/simulator_reference.rs` (prints it, for tools/check-firmware.sh to diff
//! with the C program) and `tests/simulator_text.rs` (compares it with the committed
//! `examples/simulator.expected`).

use std::fmt::Write;

use env_core::agents::{run_bandit_episode, Ucb};
use env_core::metrics::{coverage_curve, cumulative_regret};
use env_core::prompt::{write_mab_prompt, MabPromptSpec};
use env_core::ttt::{Mark, Minimax, Opponent, TicTacToe, TttConfig, TttPlayer};
use env_core::{Environment, MabConfig, MultiArmedBandit, Rng};

/// Scenario (arm means, labels) of the example's bandit.
pub const SCENARIO: u64 = 7;
/// Episode seed of the bandit episode.
pub const EPISODE: u64 = 11;
/// Seed of the tic-tac-toe game and of the minimax agent.
pub const GAME: u64 = 3;
/// MCTS simulations per move.
pub const SIMULATIONS: u32 = 200;
/// The step whose prompt is printed.
pub const PROMPT_STEP: usize = 10;

/// The whole text the C example prints.
pub fn simulator_text() -> String {
    let mut s = String::new();
    bandit(&mut s);
    game(&mut s);
    s.push_str("== end\n");
    s
}

fn bandit(s: &mut String) {
    let config = MabConfig::default();
    let mut env = MultiArmedBandit::new(config, SCENARIO).unwrap();
    let k = config.arms;
    let labels = *env.labels();
    let label = |a: usize| labels.get(a).unwrap().to_string();
    writeln!(
        s,
        "== bandit: {k} arms, Gaussian sigma 1, horizon {}, scenario {SCENARIO}, episode seed {EPISODE}, UCB c=1",
        config.horizon
    )
    .unwrap();
    let names: Vec<String> = (0..k).map(label).collect();
    writeln!(s, "labels: {}", names.join(", ")).unwrap();
    let best = env.best_arm();
    writeln!(s, "best arm: {best} ({}), mean {:.6}", label(best), env.means()[best]).unwrap();
    let mut actions = vec![0usize; config.horizon];
    let mut rewards = vec![0.0; config.horizon];
    run_bandit_episode(&mut env, &mut Ucb::paper(), EPISODE, &mut actions, &mut rewards).unwrap();
    for (t, (&a, &r)) in actions.iter().zip(&rewards).enumerate() {
        writeln!(s, "step {t:2}: arm {a} ({}) reward {r:+.6} [{:016x}]", label(a), r.to_bits()).unwrap();
    }
    let mut curve = vec![0.0; actions.len()];
    let regret = cumulative_regret(env.means(), &actions, &mut curve).unwrap();
    writeln!(s, "cumulative regret: {regret:.6} [{:016x}]", regret.to_bits()).unwrap();
    let coverage = coverage_curve(k, &actions, &mut curve).unwrap();
    writeln!(s, "coverage: {coverage:.6}").unwrap();

    let spec = MabPromptSpec::new(&config);
    let mut prompt = String::new();
    write_mab_prompt(&mut prompt, &spec, &labels, &actions[..PROMPT_STEP], &rewards[..PROMPT_STEP]).unwrap();
    writeln!(s, "== the prompt at step {PROMPT_STEP} ({} bytes)", prompt.len()).unwrap();
    s.push_str(&prompt);
}

fn game(s: &mut String) {
    let mut env = TicTacToe::new(TttConfig {
        opponent: Opponent::Mcts { simulations: SIMULATIONS },
        ..TttConfig::default()
    })
    .unwrap();
    writeln!(s, "== tic-tac-toe: minimax (agent, seed {GAME}) against MCTS ({SIMULATIONS} simulations), game seed {GAME}")
        .unwrap();
    env.reset(GAME).unwrap();
    let mut minimax = Minimax::new();
    let mut rng = Rng::new(GAME);
    let mut reward = 0.0;
    let mut turn = 1;
    while !env.is_done() {
        let board = *env.board();
        let pos = minimax.choose(&board, Mark::Agent, &mut rng).unwrap();
        let tr = env.step(pos).unwrap();
        let reply = tr.info.opponent_move.map_or("-".to_string(), |m| m.to_string());
        writeln!(s, "move {turn}: agent {pos}, opponent {reply} -> {}", env.board().as_str()).unwrap();
        reward = tr.reward;
        turn += 1;
    }
    let outcome = env.outcome().unwrap();
    writeln!(s, "outcome: {}, reward {}", outcome.name(), reward as i32).unwrap();
}
