//! The output instruction: how the model must answer (SPEC sections 3 and 4).

use core::fmt::Write;

use super::format::RuleFormula;
use super::template::{Vars, put, render};
use crate::error::Result;
use crate::stats::UcbRule;

/// What the model is asked to write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutputMode {
    /// Short step-by-step thinking, then `ACTION=X`.
    ChainOfThought,
    /// Only `ACTION=X`.
    ActionOnly,
    /// The knowing-doing probe (SPEC section 4): state the UCB rule, compute every arm's value
    /// inside `<ucb_values>...</ucb_values>`, then `ACTION=X`.
    KnowingDoing(UcbRule),
}

/// The texts of the output instructions. Placeholders: `{labels}` (the valid labels, comma
/// separated) in all three; `{rule}` (the UCB formula, e.g. `mean + sqrt(1/N)`) in
/// `knowing_doing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputTemplates<'a> {
    /// [`OutputMode::ChainOfThought`].
    pub chain_of_thought: &'a str,
    /// [`OutputMode::ActionOnly`].
    pub action_only: &'a str,
    /// [`OutputMode::KnowingDoing`].
    pub knowing_doing: &'a str,
}

impl Default for OutputTemplates<'static> {
    fn default() -> Self {
        OutputTemplates {
            chain_of_thought: "Think step by step about which action to take next, but keep your \
                thinking short. End your answer with ACTION=X, where X is one of: {labels}.",
            action_only: "Do not explain. Answer with ACTION=X only, where X is one of: {labels}.",
            knowing_doing: "First write down the UCB rule: the UCB value of an action is {rule}, \
                where mean is its average reward so far and N the number of times it was chosen; \
                an action never chosen has no UCB value yet (write nan). Then compute the UCB \
                value of every action and write them between <ucb_values> and </ucb_values>, one \
                line per action of the form label: value. Finally end your answer with ACTION=X, \
                where X is one of: {labels}.",
        }
    }
}

impl OutputTemplates<'_> {
    /// Writes the instruction of `mode`; `labels` writes the list of valid labels.
    pub fn write(
        &self,
        w: &mut dyn Write,
        mode: OutputMode,
        labels: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
    ) -> Result<()> {
        let (template, rule) = match mode {
            OutputMode::ChainOfThought => (self.chain_of_thought, None),
            OutputMode::ActionOnly => (self.action_only, None),
            OutputMode::KnowingDoing(rule) => (self.knowing_doing, Some(rule)),
        };
        let vars: &mut Vars<'_> = &mut |name, w| match (name, rule) {
            ("labels", _) => Some(labels(w)),
            ("rule", Some(r)) => put(w, format_args!("{}", RuleFormula(r))),
            _ => None,
        };
        render(w, template, vars)
    }
}
