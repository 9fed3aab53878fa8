//! Expert rationales, the targets of thought cloning (SPEC section 7) and of the fixed-template
//! exploration steps (SPEC section 6).
//!
//! The UCB rationale lists every arm's count, mean and UCB value (untried: count 0, mean and UCB
//! `NaN`), then names the chosen arm and ends with `ACTION=X`. The chosen arm is always
//! [`UcbRule::choose`]: the first untried arm while there is one, else the highest UCB value.

use core::fmt::Write;

use super::format::{Dp2, RuleFormula};
use super::template::{Vars, put, render};
use crate::error::{Error, Result};
use crate::labels::LabelSet;
use crate::stats::{ArmStats, UcbRule};

/// The texts of the rationales. Placeholders: `{rule}` (the formula) in `header`; `{label}`,
/// `{count}`, `{mean}` and `{ucb}` (2 decimals, `NaN` when untried) in `arm_line`; `{label}` in
/// `best`, `untried`, `action` and `explore`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RationaleTemplates<'a> {
    /// First line.
    pub header: &'a str,
    /// One line per arm.
    pub arm_line: &'a str,
    /// The decision when every arm was tried.
    pub best: &'a str,
    /// The decision while some arm is untried.
    pub untried: &'a str,
    /// The final line.
    pub action: &'a str,
    /// The whole fixed-template rationale of try-all / epsilon-greedy exploration steps.
    pub explore: &'a str,
}

impl Default for RationaleTemplates<'static> {
    fn default() -> Self {
        RationaleTemplates {
            header: "For each action I compute its count N, its mean reward and UCB = {rule}.",
            arm_line: "{label}: count={count}, mean={mean}, UCB={ucb}",
            best: "{label} has the highest UCB value.",
            untried: "Not all actions have been tried yet, so I choose the next untried one: \
                {label}.",
            action: "ACTION={label}",
            explore: "Action {label} has not been tried yet, let's explore it. ACTION={label}",
        }
    }
}

fn label_vars(label: crate::labels::Label) -> impl FnMut(&str, &mut dyn Write) -> Option<Result<()>> {
    move |name, w| match name {
        "label" => put(w, format_args!("{label}")),
        _ => None,
    }
}

/// Writes the UCB expert's rationale for `stats` with `labels` (pass the shown labels under
/// context randomization) and returns the arm it chooses, which equals `rule.choose(stats)`.
pub fn write_ucb_rationale<W: Write>(
    w: &mut W,
    stats: &ArmStats,
    rule: UcbRule,
    labels: &LabelSet,
    templates: &RationaleTemplates<'_>,
) -> Result<usize> {
    let w: &mut dyn Write = w;
    if labels.len() != stats.arms() {
        return Err(Error::ShapeMismatch { what: "labels", expected: stats.arms(), got: labels.len() });
    }
    let header: &mut Vars<'_> = &mut |name, w| match name {
        "rule" => put(w, format_args!("{}", RuleFormula(rule))),
        _ => None,
    };
    render(w, templates.header, header)?;
    for arm in 0..stats.arms() {
        let label = labels.get(arm)?;
        let count = stats.count(arm);
        let mean = stats.mean(arm).unwrap_or(f64::NAN);
        let ucb = rule.value(stats, arm).unwrap_or(f64::NAN);
        let vars: &mut Vars<'_> = &mut |name, w| match name {
            "label" => put(w, format_args!("{label}")),
            "count" => put(w, format_args!("{count}")),
            "mean" => put(w, format_args!("{}", Dp2(mean))),
            "ucb" => put(w, format_args!("{}", Dp2(ucb))),
            _ => None,
        };
        w.write_char('\n')?;
        render(w, templates.arm_line, vars)?;
    }
    let chosen = rule.choose(stats);
    let label = labels.get(chosen)?;
    let decision = if stats.first_untried().is_some() { templates.untried } else { templates.best };
    w.write_char('\n')?;
    render(w, decision, &mut label_vars(label))?;
    w.write_char('\n')?;
    render(w, templates.action, &mut label_vars(label))?;
    Ok(chosen)
}

/// The texts of the greedy agent's rationale (the LLM failure mode the paper describes, as a
/// cloning target for a greedy starting policy). Placeholders: `{label}`, and `{mean}` (2
/// decimals) in `best`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreedyTemplates<'a> {
    /// The decision when nothing was tried yet (the greedy agent picks an arm at random).
    pub first: &'a str,
    /// The decision afterwards: the best mean reward so far.
    pub best: &'a str,
    /// The final line.
    pub action: &'a str,
}

impl Default for GreedyTemplates<'static> {
    fn default() -> Self {
        GreedyTemplates {
            first: "Nothing has been tried yet, so I start with {label}.",
            best: "{label} has the best mean reward so far ({mean}), so I choose it again.",
            action: "ACTION={label}",
        }
    }
}

/// Writes the greedy agent's rationale for `stats`: `first` (the arm it picks when nothing was
/// tried, drawn by the caller as env-core's `Greedy` draws it), else the best mean among the
/// tried arms (ties: the lowest index). Returns the arm it names, `ACTION=X` last.
pub fn write_greedy_rationale<W: Write>(
    w: &mut W,
    stats: &ArmStats,
    first: usize,
    labels: &LabelSet,
    templates: &GreedyTemplates<'_>,
) -> Result<usize> {
    let w: &mut dyn Write = w;
    if labels.len() != stats.arms() {
        return Err(Error::ShapeMismatch { what: "labels", expected: stats.arms(), got: labels.len() });
    }
    let chosen = match stats.greedy_arm() {
        Some(arm) => {
            let label = labels.get(arm)?;
            let mean = stats.mean(arm).unwrap_or(f64::NAN);
            let vars: &mut Vars<'_> = &mut |name, w| match name {
                "label" => put(w, format_args!("{label}")),
                "mean" => put(w, format_args!("{}", Dp2(mean))),
                _ => None,
            };
            render(w, templates.best, vars)?;
            arm
        }
        None => {
            render(w, templates.first, &mut label_vars(labels.get(first)?))?;
            first
        }
    };
    w.write_char('\n')?;
    render(w, templates.action, &mut label_vars(labels.get(chosen)?))?;
    Ok(chosen)
}

/// Writes the fixed exploration rationale for `arm` ("Action X has not been tried yet, let's
/// explore it. ACTION=X").
pub fn write_explore_rationale<W: Write>(
    w: &mut W,
    arm: usize,
    labels: &LabelSet,
    templates: &RationaleTemplates<'_>,
) -> Result<()> {
    write_with_label(w, templates.explore, arm, labels)
}

/// Writes the behaviour-cloning target: the action line alone (`ACTION=red`).
pub fn write_action<W: Write>(
    w: &mut W,
    arm: usize,
    labels: &LabelSet,
    templates: &RationaleTemplates<'_>,
) -> Result<()> {
    write_with_label(w, templates.action, arm, labels)
}

/// Renders a template whose only placeholder is `arm`'s label.
fn write_with_label<W: Write>(w: &mut W, template: &str, arm: usize, labels: &LabelSet) -> Result<()> {
    let label = labels.get(arm)?;
    render(w, template, &mut label_vars(label))
}

/// Writes a `<ucb_values>` block, one `label: value` line per arm, values at full precision
/// (Rust's shortest round-trip form; `NaN` / `inf` as such). This is the format the
/// knowing-doing prompt asks for and [`crate::parse::parse_ucb_values`] reads.
pub fn write_ucb_values<W: Write>(w: &mut W, labels: &LabelSet, values: &[f64]) -> Result<()> {
    if values.len() != labels.len() {
        return Err(Error::ShapeMismatch { what: "ucb values", expected: labels.len(), got: values.len() });
    }
    w.write_str("<ucb_values>\n")?;
    for (label, v) in labels.as_slice().iter().zip(values) {
        writeln!(w, "{label}: {v}")?;
    }
    w.write_str("</ucb_values>")?;
    Ok(())
}
