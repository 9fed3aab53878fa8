//! The tic-tac-toe prompt (SPEC sections 2-3). Boards are `[u8; 9]` of cells 0 (empty), 1 (the
//! agent) and 2 (the opponent), positions 0..8 row by row.
//!
//! Layout (sections separated by a blank line): instruction, output instruction, history (one
//! line per past move, or the empty-history sentence), the current state, the legal moves
//! (unless switched off), the question.

use core::fmt::Write;

use super::chat::ChatFormat;
use super::format::{Whole, write_board, write_joined};
use super::output::{OutputMode, OutputTemplates};
use super::template::{Vars, put, render};
use crate::error::{Error, Result};

/// The texts of the tic-tac-toe prompt. Placeholders: none in `instruction`, `empty_history`
/// and `question`; `{step}` (0-based), `{state}` (the board before the move), `{action}` and
/// `{reward}` (integral rewards without decimals) in `history_line`; `{state}` in `current`;
/// `{legal}` (comma separated) in `legal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TttTemplates<'a> {
    /// The rules.
    pub instruction: &'a str,
    /// Written instead of the history before the first move.
    pub empty_history: &'a str,
    /// One history line.
    pub history_line: &'a str,
    /// The current board.
    pub current: &'a str,
    /// The legal moves.
    pub legal: &'a str,
    /// The closing question.
    pub question: &'a str,
    /// The output instructions (`{labels}` = the legal moves, or all 9 positions when the legal
    /// moves are not shown).
    pub output: OutputTemplates<'a>,
}

impl Default for TttTemplates<'static> {
    fn default() -> Self {
        TttTemplates {
            instruction: "You are playing tic-tac-toe. You are player 1 and your opponent is \
                player 2. The board is written as 9 digits, one per position, positions 0 to 8 \
                row by row from the top left: 0 is an empty cell, 1 your mark, 2 your opponent's \
                mark. At each step you place your mark on an empty position. At the end of the \
                game you receive a reward of 1 for a win, 0 for a draw and -1 for a loss.",
            empty_history: "No move has been played yet.",
            history_line: "Step={step} State={state} Action={action} Reward={reward}",
            current: "Current state: {state}",
            legal: "Legal moves: {legal}",
            question: "Which position do you play?",
            output: OutputTemplates::default(),
        }
    }
}

/// Everything about a tic-tac-toe prompt except the game itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TttPromptSpec<'a> {
    /// Chain-of-thought or action only.
    pub output: OutputMode,
    /// List the legal moves (the paper's default; removing them cut the win rate).
    pub show_legal_moves: bool,
    /// Chat turns or plain text.
    pub chat: ChatFormat<'a>,
    /// The texts.
    pub templates: TttTemplates<'a>,
}

impl Default for TttPromptSpec<'static> {
    /// Chain-of-thought, legal moves shown, Gemma turns, default texts.
    fn default() -> Self {
        TttPromptSpec {
            output: OutputMode::ChainOfThought,
            show_legal_moves: true,
            chat: ChatFormat::GEMMA,
            templates: TttTemplates::default(),
        }
    }
}

const ALL_POSITIONS: [u8; 9] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

fn check_board(board: &[u8; 9]) -> Result<()> {
    match board.iter().find(|&&c| c > 2) {
        Some(&c) => Err(Error::OutOfRange { name: "cell", value: c as f64, min: 0.0, max: 2.0 }),
        None => Ok(()),
    }
}

/// Writes the whole tic-tac-toe prompt. The history is `states[t]` (the board the agent saw),
/// `actions[t]` (its move, 0..8) and `rewards[t]`; `board` is the current board and `legal` its
/// legal moves.
pub fn write_ttt_prompt<W: Write>(
    w: &mut W,
    spec: &TttPromptSpec<'_>,
    states: &[[u8; 9]],
    actions: &[u8],
    rewards: &[f64],
    board: &[u8; 9],
    legal: &[u8],
) -> Result<()> {
    let w: &mut dyn Write = w;
    if actions.len() != states.len() {
        return Err(Error::ShapeMismatch { what: "actions", expected: states.len(), got: actions.len() });
    }
    if rewards.len() != states.len() {
        return Err(Error::ShapeMismatch { what: "rewards", expected: states.len(), got: rewards.len() });
    }
    if let Some(&a) = actions.iter().chain(legal).find(|&&a| a > 8) {
        return Err(Error::InvalidAction { action: a as usize, num_actions: 9 });
    }
    for s in states.iter().chain(core::iter::once(board)) {
        check_board(s)?;
    }
    let t = &spec.templates;
    let none: &mut Vars<'_> = &mut |_, _| None;
    spec.chat.wrap(w, |w| {
        render(w, t.instruction, none)?;
        w.write_str("\n\n")?;
        let labels: &[u8] = if spec.show_legal_moves { legal } else { &ALL_POSITIONS };
        t.output.write(w, spec.output, &mut |w| Ok(write_joined(w, labels, ", ")?))?;
        w.write_str("\n\n")?;
        if states.is_empty() {
            render(w, t.empty_history, none)?;
        }
        for (i, ((s, &a), &r)) in states.iter().zip(actions).zip(rewards).enumerate() {
            if i > 0 {
                w.write_char('\n')?;
            }
            let vars: &mut Vars<'_> = &mut |name, w| match name {
                "step" => put(w, format_args!("{i}")),
                "state" => Some(write_board(w, s).map_err(Error::from)),
                "action" => put(w, format_args!("{a}")),
                "reward" => put(w, format_args!("{}", Whole(r))),
                _ => None,
            };
            render(w, t.history_line, vars)?;
        }
        w.write_str("\n\n")?;
        render(w, t.current, &mut |name, w| match name {
            "state" => Some(write_board(w, board).map_err(Error::from)),
            _ => None,
        })?;
        if spec.show_legal_moves {
            w.write_char('\n')?;
            render(w, t.legal, &mut |name, w| match name {
                "legal" => Some(write_joined(w, legal, ", ").map_err(Error::from)),
                _ => None,
            })?;
        }
        w.write_str("\n\n")?;
        render(w, t.question, none)
    })
}
