//! The tic-tac-toe context after `--steps` moves of an agent.

use anyhow::{Context, Result, bail};
use env_core::agents::POLICY_STREAM;
use env_core::prompt::{ChatFormat, OutputMode, TttPromptSpec, write_ttt_prompt};
use env_core::ttt::{Mark, TicTacToe, TttPlayer};
use env_core::{Environment, Rng};

use super::PromptArgs;
use gpu_trainer::envs::ttt::ttt_config;
use gpu_trainer::envs::{EpisodeSeeds, TttSettings};
use gpu_trainer::eval::baselines::agent_player;
use gpu_trainer::eval::{AgentSpec, EvalSettings};

/// Plays `args.steps` agent moves of game `args.episode` and writes the prompt of the next move.
pub fn render(
    ttt: &TttSettings,
    agent: &AgentSpec,
    settings: &EvalSettings,
    args: &PromptArgs,
    output: OutputMode,
    chat: ChatFormat<'static>,
) -> Result<String> {
    let seeds = EpisodeSeeds::new(settings.seed, args.episode);
    let mut env = TicTacToe::new(ttt_config(ttt)).context("building tic-tac-toe")?;
    let mut player = agent_player(agent, ttt.mcts_budget)?;
    let mut rng = Rng::from_stream(seeds.episode, POLICY_STREAM);
    let mut board = env.reset(seeds.episode)?;
    let (mut states, mut actions, mut rewards) = (Vec::new(), Vec::new(), Vec::new());
    for done in 0..args.steps {
        if env.is_done() {
            bail!(
                "invalid value {} for --steps: this game ended after {done} moves of the agent",
                args.steps
            );
        }
        let mv = player.choose(&board, Mark::Agent, &mut rng)?;
        let tr = env.step(mv)?;
        states.push(board.values());
        actions.push(mv as u8);
        rewards.push(tr.reward);
        board = tr.observation;
    }
    if env.is_done() {
        bail!(
            "invalid value {} for --steps: the game is over by then, there is no next move to ask for",
            args.steps
        );
    }
    let spec =
        TttPromptSpec { output, chat, show_legal_moves: !args.no_legal_moves, ..TttPromptSpec::default() };
    let legal = board.legal_moves();
    let mut text = String::new();
    write_ttt_prompt(&mut text, &spec, &states, &actions, &rewards, &board.values(), &legal)
        .context("writing the prompt")?;
    Ok(text)
}
