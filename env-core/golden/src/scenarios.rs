//! The seeded scenarios whose digests the host and the Cortex-M firmware must agree on.
//!
//! Each one feeds a [`Sink`] with every value of a trajectory, in order. The seeds are those
//! of env-core's golden tests where there is one (UCB scenario 7 / episode 11, CB tables 42 /
//! episode 9 with LinUCB, the random-vs-MCTS game of seed 3), so the host tests can check the
//! recorded values against those pins.

use env_core::agents::{Ucb, run_bandit_episode};
use env_core::cb::{
    ContextualBandit, ContextualPolicy, DEFAULT_ALPHA, DEFAULT_DIM, DEFAULT_HORIZON, DEFAULT_NOISE_SD,
    LinUcb, MovieProfile, UserProfile, fill_synthetic,
};
use env_core::metrics::cumulative_regret;
use env_core::prompt::{MabPromptSpec, write_mab_prompt};
use env_core::ttt::{
    Board, FirstMover, Mark, Mcts, MctsConfig, Minimax, Opponent, RandomPlayer, TicTacToe, TttConfig,
    TttPlayer,
};
use env_core::{ArmDistribution, Environment, LabelStyle, MabConfig, MultiArmedBandit, Result, Rng};

use crate::digest::{Fnv64, Sink, TextSink};

/// The bandit of the UCB and prompt scenarios (and of the C example): the paper's default
/// bandit (10 Gaussian arms, sigma 1, horizon 50, buttons), scenario 7, episode seed 11.
pub const UCB_SCENARIO: u64 = 7;
/// See [`UCB_SCENARIO`].
pub const UCB_EPISODE: u64 = 11;
/// Users of the synthetic contextual-bandit table (as in env-core's CB tests).
pub const CB_USERS: usize = 200;
/// Movies of that table.
pub const CB_MOVIES: usize = 10;
/// MCTS simulations per move; 200 simulations need at most 201 nodes, so an arena of
/// [`MCTS_NODES`] searches exactly as env-core's 2048-node `Opponent::Mcts` does.
pub const MCTS_SIMULATIONS: u32 = 200;
/// The MCTS arena on the microcontroller: 256 nodes, 4 KiB.
pub const MCTS_NODES: usize = 256;
/// The step whose bandit prompt is digested.
pub const PROMPT_STEP: usize = 10;

/// One scenario's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Scenario name.
    pub name: &'static str,
    /// FNV-1a 64 of its values.
    pub digest: u64,
    /// How many values went in.
    pub values: u32,
}

/// A scenario: sends its values to the sink.
pub type Scenario = fn(&mut dyn Sink) -> Result<()>;

/// Runs every scenario, in a fixed order, reporting each digest.
pub fn run_all(report: &mut dyn FnMut(Report)) -> Result<()> {
    let all: [(&'static str, Scenario); 8] = [
        ("mab-gaussian", mab_gaussian),
        ("mab-bernoulli", mab_bernoulli),
        ("cb-synthetic", cb_synthetic),
        ("ttt-random", ttt_random),
        ("ucb-regret", ucb_regret),
        ("ttt-random-mcts", ttt_random_vs_mcts),
        ("ttt-minimax-mcts", ttt_minimax_vs_mcts),
        ("prompt", prompt),
    ];
    for (name, run) in all {
        let mut h = Fnv64::default();
        run(&mut h)?;
        report(Report { name, digest: h.finish(), values: h.values() });
    }
    Ok(())
}

/// A bandit trajectory under a fixed action pattern: the means, then per step the arm, the
/// reward, the regret, and the truncation flag at the end.
fn mab_trajectory(
    sink: &mut dyn Sink,
    config: MabConfig,
    scenario: u64,
    seed: u64,
    stride: usize,
) -> Result<()> {
    let mut env = MultiArmedBandit::new(config, scenario)?;
    for &m in env.means() {
        sink.f64(m);
    }
    env.reset(seed)?;
    for t in 0..config.horizon {
        let arm = (t * stride + 1) % config.arms;
        let tr = env.step(arm)?;
        sink.u32(arm as u32);
        sink.f64(tr.reward);
        sink.f64(tr.info.regret);
        if tr.truncated {
            sink.u32(t as u32);
        }
    }
    Ok(())
}

/// MAB, Gaussian: the paper's default bandit, scenario 7, episode seed 11.
pub fn mab_gaussian(sink: &mut dyn Sink) -> Result<()> {
    mab_trajectory(sink, MabConfig::default(), UCB_SCENARIO, UCB_EPISODE, 7)
}

/// MAB, Bernoulli: 5 arms, gap 0.2, numeric labels, scenario 9, episode seed 4.
pub fn mab_bernoulli(sink: &mut dyn Sink) -> Result<()> {
    let config = MabConfig {
        arms: 5,
        distribution: ArmDistribution::Bernoulli { gap: 0.2 },
        labels: LabelStyle::Numeric,
        ..MabConfig::default()
    };
    mab_trajectory(sink, config, 9, 4, 3)
}

/// CB, synthetic: tables of seed 42 (200 users, 10 movies, rank 5, noise 0.5), episode seed 9,
/// LinUCB (alpha 0.5, no bias) with `Rng::new(9 ^ 0xABCD)`, as env-core's CB golden test;
/// per step the user, the arm, the reward and the regret.
pub fn cb_synthetic(sink: &mut dyn Sink) -> Result<()> {
    let mut users: [UserProfile; CB_USERS] = core::array::from_fn(|_| UserProfile::default());
    let mut movies: [MovieProfile; CB_MOVIES] = core::array::from_fn(|_| MovieProfile::default());
    let tables = fill_synthetic(&mut users, &mut movies, DEFAULT_DIM, DEFAULT_NOISE_SD, 42)?;
    let mut env = ContextualBandit::new(tables, DEFAULT_HORIZON)?;
    let mut policy = LinUcb::<CB_MOVIES, { DEFAULT_DIM + 1 }>::new(DEFAULT_ALPHA, false)?;
    policy.reset(env.num_actions(), DEFAULT_DIM)?;
    let seed = 9;
    let mut rng = Rng::new(seed ^ 0xABCD);
    env.reset(seed)?;
    while !env.is_done() {
        let ctx = env.context();
        let arm = policy.select(ctx, &mut rng)?;
        let tr = env.step(arm)?;
        policy.update(arm, ctx, tr.reward)?;
        sink.u32(tr.info.user as u32);
        sink.u32(arm as u32);
        sink.f64(tr.reward);
        sink.f64(tr.info.regret);
    }
    Ok(())
}

/// Plays one game of `agent` in `env` from seed `seed`, sending per move the agent's cell, the
/// opponent's reply (9 for none), the board and the reward; then the outcome's reward.
fn play<P: TttPlayer>(
    sink: &mut dyn Sink,
    env: &mut TicTacToe<P>,
    agent: &mut dyn TttPlayer,
    seed: u64,
    rng: &mut Rng,
) -> Result<()> {
    let board: Board = env.reset(seed)?;
    sink.bytes(board.as_bytes());
    while !env.is_done() {
        let pos = agent.choose(env.board(), Mark::Agent, rng)?;
        let tr = env.step(pos)?;
        sink.u32(pos as u32);
        sink.u32(tr.info.opponent_move.map_or(9, |m| m as u32));
        sink.bytes(tr.observation.as_bytes());
        sink.f64(tr.reward);
    }
    sink.f64(env.outcome().map_or(f64::NAN, |o| o.reward()));
    Ok(())
}

/// TTT: 16 games of a random agent (`Rng::new(100 + seed)`) against the random opponent,
/// seeds 0..16, who starts alternating with the seed.
pub fn ttt_random(sink: &mut dyn Sink) -> Result<()> {
    let mut env = TicTacToe::new(TttConfig { opponent: Opponent::Random, first: FirstMover::Alternate })?;
    for seed in 0..16 {
        let mut rng = Rng::new(100 + seed);
        play(sink, &mut env, &mut RandomPlayer::new(), seed, &mut rng)?;
    }
    Ok(())
}

/// The UCB episode (paper rule) on the default bandit: actions, rewards, then the cumulative
/// regret curve.
pub fn ucb_regret(sink: &mut dyn Sink) -> Result<()> {
    let (actions, rewards, env) = ucb_episode()?;
    let mut curve = [0.0; 50];
    cumulative_regret(env.means(), &actions, &mut curve)?;
    for ((&a, &r), &c) in actions.iter().zip(&rewards).zip(&curve) {
        sink.u32(a as u32);
        sink.f64(r);
        sink.f64(c);
    }
    Ok(())
}

/// The UCB episode of [`ucb_regret`] and [`prompt`].
pub fn ucb_episode() -> Result<([usize; 50], [f64; 50], MultiArmedBandit)> {
    let mut env = MultiArmedBandit::new(MabConfig::default(), UCB_SCENARIO)?;
    let (mut actions, mut rewards) = ([0usize; 50], [0.0; 50]);
    run_bandit_episode(&mut env, &mut Ucb::paper(), UCB_EPISODE, &mut actions, &mut rewards)?;
    Ok((actions, rewards, env))
}

/// The MCTS opponent with a 256-node arena.
fn mcts_env() -> Result<TicTacToe<Mcts<MCTS_NODES>>> {
    TicTacToe::with_player(Mcts::new(MctsConfig::with_simulations(MCTS_SIMULATIONS))?, FirstMover::Agent)
}

/// TTT against MCTS (200 simulations): env-core's golden game, a random agent drawing from
/// `Rng::from_stream(3, 0xA6E7)`, game seed 3.
pub fn ttt_random_vs_mcts(sink: &mut dyn Sink) -> Result<()> {
    let mut env = mcts_env()?;
    let mut rng = Rng::from_stream(3, RANDOM_AGENT_STREAM);
    play(sink, &mut env, &mut RandomPlayer::new(), 3, &mut rng)
}

/// The sub-stream of the game seed the random agent of [`ttt_random_vs_mcts`] draws from (as
/// in env-core's tic-tac-toe tests).
pub const RANDOM_AGENT_STREAM: u64 = 0xA6E7;

/// TTT against MCTS (200 simulations): minimax (`Rng::new(3)`) from seed 3, the C example's
/// game.
pub fn ttt_minimax_vs_mcts(sink: &mut dyn Sink) -> Result<()> {
    let mut env = mcts_env()?;
    let mut rng = Rng::new(3);
    play(sink, &mut env, &mut Minimax::new(), 3, &mut rng)
}

/// The bandit prompt (chain of thought, Gemma turns) after the first [`PROMPT_STEP`] steps of
/// the UCB episode, streamed into the digest, then its length.
pub fn prompt(sink: &mut dyn Sink) -> Result<()> {
    let (actions, rewards, env) = ucb_episode()?;
    let spec = MabPromptSpec::new(env.config());
    let mut w = TextSink { sink, len: 0 };
    write_mab_prompt(&mut w, &spec, env.labels(), &actions[..PROMPT_STEP], &rewards[..PROMPT_STEP])?;
    let len = w.len;
    sink.u32(len as u32);
    Ok(())
}
