//! Tic-tac-toe as a [`Task`]: the model plays the agent's side; an answer that names no cell or
//! an occupied one is invalid and replaced by a random legal move. Games end at different
//! times; the rollout asks only the unfinished ones.

use anyhow::{Context, Result, bail};
use env_core::agents::POLICY_STREAM;
use env_core::parse::parse_action;
use env_core::prompt::{TttPromptSpec, write_ttt_prompt};
use env_core::ttt::{Board, Outcome as GameOutcome, TicTacToe};
use env_core::{Environment, LabelSet, LabelStyle, Rng};

use super::AgentSettings;
use super::task::{Outcome, Task, Turn};
use crate::envs::ttt::ttt_config;
use crate::envs::{EpisodeRecord, EpisodeSeeds, TttSettings};

/// At most this many moves of one side in a game of tic-tac-toe.
pub const MAX_MOVES: usize = 5;

/// The cell an answer names, if it is a legal move (an occupied cell is invalid).
pub fn ttt_move(answer: &str, cells: &LabelSet, legal: &[u8]) -> Option<usize> {
    parse_action(answer, cells).arm().filter(|&c| legal.contains(&(c as u8)))
}

/// One game.
pub struct TttTask {
    index: u64,
    seeds: EpisodeSeeds,
    env: TicTacToe,
    board: Board,
    spec: TttPromptSpec<'static>,
    cells: LabelSet,
    fallback: Rng,
    states: Vec<[u8; 9]>,
    actions: Vec<usize>,
    rewards: Vec<f64>,
    outcome: Option<GameOutcome>,
    /// the legal moves of the current position
    legal: Vec<u8>,
}

impl TttTask {
    /// Game `index` of a run seeded `seed` against the opponent of `settings`.
    pub fn new(settings: &TttSettings, llm: &AgentSettings, seed: u64, index: u64) -> Result<TttTask> {
        let seeds = EpisodeSeeds::new(seed, index);
        let mut env = TicTacToe::new(ttt_config(settings)).context("building tic-tac-toe")?;
        let board = env.reset(seeds.episode)?;
        let spec = TttPromptSpec {
            output: llm.output(),
            chat: llm.chat(),
            show_legal_moves: llm.legal_moves,
            ..TttPromptSpec::default()
        };
        Ok(TttTask {
            index,
            seeds,
            env,
            board,
            spec,
            cells: LabelSet::new(LabelStyle::Numeric, 9, 0)?,
            fallback: Rng::from_stream(seeds.episode, POLICY_STREAM),
            states: Vec::new(),
            actions: Vec::new(),
            rewards: Vec::new(),
            outcome: None,
            legal: Vec::new(),
        })
    }
}

impl Task for TttTask {
    fn index(&self) -> u64 {
        self.index
    }

    fn done(&self) -> bool {
        self.env.is_done()
    }

    fn max_steps(&self) -> usize {
        MAX_MOVES
    }

    fn turn(&mut self, _t: usize) -> Result<Turn> {
        let moves: Vec<u8> = self.actions.iter().map(|&a| a as u8).collect();
        self.legal = self.board.legal_moves().to_vec();
        let mut prompt = String::new();
        write_ttt_prompt(
            &mut prompt,
            &self.spec,
            &self.states,
            &moves,
            &self.rewards,
            &self.board.values(),
            &self.legal,
        )
        .context("writing the prompt")?;
        Ok(Turn::Ask { prompt })
    }

    fn parse(&self, answer: &str) -> Option<usize> {
        ttt_move(answer, &self.cells, &self.legal)
    }

    fn fallback(&mut self) -> usize {
        self.legal[self.fallback.below(self.legal.len())] as usize
    }

    fn step(&mut self, action: usize) -> Result<Outcome> {
        self.states.push(self.board.values());
        let tr = self
            .env
            .step(action)
            .with_context(|| format!("game {}: the agent played {action}", self.index))?;
        self.actions.push(action);
        self.rewards.push(tr.reward);
        self.board = tr.observation;
        self.outcome = tr.info.outcome;
        Ok(Outcome { reward: tr.reward, regret: None, new_action: true, coverage: None })
    }

    fn finish(self: Box<Self>, agent: &str) -> Result<EpisodeRecord> {
        let outcome = self.outcome.context("the game ended without an outcome")?;
        if !self.env.is_done() {
            bail!("game {} is not over", self.index);
        }
        let mut rec = EpisodeRecord::new(
            agent.into(),
            "ttt".into(),
            self.index,
            self.seeds.scenario,
            self.seeds.episode,
        );
        rec.actions = self.actions;
        rec.rewards = self.rewards;
        rec.return_ = outcome.reward();
        rec.outcome = Some(outcome.name().to_string());
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_must_name_a_free_cell() {
        let cells = LabelSet::new(LabelStyle::Numeric, 9, 0).unwrap();
        let legal = [0u8, 2, 5];
        assert_eq!(ttt_move("I take the corner. ACTION=2", &cells, &legal), Some(2));
        assert_eq!(ttt_move("ACTION= 5", &cells, &legal), Some(5));
        assert_eq!(ttt_move("ACTION=4", &cells, &legal), None, "occupied");
        assert_eq!(ttt_move("ACTION=9", &cells, &legal), None, "off the board");
        assert_eq!(ttt_move("the centre", &cells, &legal), None, "no marker");
    }
}
