//! One tic-tac-toe game of one agent against the configured opponent.

use anyhow::{Context, Result, bail};
use env_core::agents::POLICY_STREAM;
use env_core::ttt::{FirstMover, Mark, Opponent, TicTacToe, TttConfig, TttPlayer};
use env_core::{Environment, Rng};

use crate::cli::eval::{FirstKind, OpponentKind};
use crate::eval::settings::TttSettings;
use crate::eval::{AgentSpec, BaseAgent, EpisodeRecord, EpisodeSeeds};

/// The environment's opponent for `settings`.
pub fn opponent(settings: &TttSettings) -> Opponent {
    match settings.opponent {
        OpponentKind::Random => Opponent::Random,
        OpponentKind::Minimax => Opponent::Minimax,
        OpponentKind::Mcts => Opponent::Mcts { simulations: settings.mcts_budget },
        OpponentKind::NoisyMcts => {
            Opponent::NoisyMcts { simulations: settings.mcts_budget, p: settings.noise_p }
        }
    }
}

/// The environment's settings.
pub fn ttt_config(settings: &TttSettings) -> TttConfig {
    let first = match settings.first {
        FirstKind::Agent => FirstMover::Agent,
        FirstKind::Opponent => FirstMover::Opponent,
        FirstKind::Alternate => FirstMover::Alternate,
    };
    TttConfig { opponent: opponent(settings), first }
}

/// The baseline player `spec` names (the opponents double as agents).
pub fn agent_player(spec: &AgentSpec, mcts_budget: u32) -> Result<Opponent> {
    Ok(match spec.base {
        BaseAgent::Minimax => Opponent::Minimax,
        BaseAgent::Mcts => Opponent::Mcts { simulations: mcts_budget },
        BaseAgent::Random => Opponent::Random,
        other => bail!("agent {other:?} does not play tic-tac-toe"),
    })
}

/// Plays game `index` of `agent`. The agent draws from the `POLICY` sub-stream of the episode
/// seed, the opponent from the environment's own sub-stream.
pub fn run_ttt_episode(
    settings: &TttSettings,
    agent: &AgentSpec,
    seed: u64,
    index: u64,
) -> Result<EpisodeRecord> {
    let seeds = EpisodeSeeds::new(seed, index);
    let mut env = TicTacToe::new(ttt_config(settings)).context("building tic-tac-toe")?;
    let mut player = agent_player(agent, settings.mcts_budget)?;
    let mut rng = Rng::from_stream(seeds.episode, POLICY_STREAM);
    let mut board = env.reset(seeds.episode)?;
    let mut rec = EpisodeRecord::new(agent.name(), "ttt".into(), index, seeds.scenario, seeds.episode);
    let mut outcome = None;
    while !env.is_done() {
        let mv = player
            .choose(&board, Mark::Agent, &mut rng)
            .with_context(|| format!("agent {agent} failed to move"))?;
        let tr = env.step(mv).with_context(|| format!("agent {agent} played {mv}"))?;
        rec.actions.push(mv);
        rec.rewards.push(tr.reward);
        board = tr.observation;
        outcome = tr.info.outcome;
    }
    let outcome = outcome.context("the game ended without an outcome")?;
    rec.return_ = outcome.reward();
    rec.outcome = Some(outcome.name().to_string());
    Ok(rec)
}
