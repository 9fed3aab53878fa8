//! The multi-armed bandit prompt (SPEC section 3): instruction, output instruction, history,
//! optional per-arm summary, and the question, optionally wrapped in chat turns.
//!
//! Layout (sections separated by one blank line):
//!
//! ```text
//! {instruction}
//!
//! {output instruction}
//!
//! {history: one line per step, or the empty-history sentence}
//!
//! {summary header and one line per arm}      <- only with `summary: true`
//!
//! {question}
//! ```

use core::fmt::Write;

use super::chat::ChatFormat;
use super::format::{Dp2, write_label_list};
use super::output::{OutputMode, OutputTemplates};
use super::permutation::LabelPermutation;
use super::template::{Vars, put, render};
use crate::error::{Error, Result};
use crate::labels::{LabelSet, LabelStyle};
use crate::mab::{ArmDistribution, MabConfig};
use crate::stats::ArmStats;

/// The wording of one label style. Placeholders: `{k}` (number of arms), `{last}` (`k - 1`),
/// `{labels}` (the labels, comma separated), `{horizon}`, `{distribution}` (the distribution
/// sentence of [`MabTemplates`]) and `{step}` (the step about to be played, 0-based) in
/// `instruction`, `empty_history`, `question` and `summary_header`; `{label}`, `{count}` and
/// `{mean}` (2 decimals) in the two summary lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MabWording<'a> {
    /// The task.
    pub instruction: &'a str,
    /// Written instead of the history before the first step.
    pub empty_history: &'a str,
    /// The closing question.
    pub question: &'a str,
    /// First line of the summary.
    pub summary_header: &'a str,
    /// A summary line for an arm tried at least once.
    pub summary_tried: &'a str,
    /// A summary line for an arm never tried.
    pub summary_untried: &'a str,
}

impl MabWording<'static> {
    /// Coloured buttons in a room.
    pub const BUTTONS: MabWording<'static> = MabWording {
        instruction: "You are a bandit algorithm in a room with {k} buttons, labeled {labels}. \
            Each button is tied to {distribution}. You have {horizon} steps. At each step you \
            press exactly one button and receive its reward. Your goal is to maximize the total \
            reward over the {horizon} steps.",
        empty_history: "No button has been pressed yet.",
        question: "Which button do you press at step {step}?",
        summary_header: "Summary of the buttons so far:",
        summary_tried: "{label}: times pressed {count}, average reward {mean}",
        summary_untried: "{label}: not pressed yet",
    };
    /// Numbered arms ("continuous" labels).
    pub const NUMERIC: MabWording<'static> = MabWording {
        instruction: "You are a bandit algorithm facing {k} arms, labeled 0 to {last}. Each arm \
            is tied to {distribution}. You have {horizon} steps. At each step you pull exactly \
            one arm and receive its reward. Your goal is to maximize the total reward over the \
            {horizon} steps.",
        empty_history: "No arm has been pulled yet.",
        question: "Which arm do you pull at step {step}?",
        summary_header: "Summary of the arms so far:",
        summary_tried: "{label}: times pulled {count}, average reward {mean}",
        summary_untried: "{label}: not pulled yet",
    };
}

/// All texts of the bandit prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MabTemplates<'a> {
    /// Wording for [`LabelStyle::Buttons`].
    pub buttons: MabWording<'a>,
    /// Wording for [`LabelStyle::Numeric`].
    pub numeric: MabWording<'a>,
    /// `{distribution}` for Gaussian arms (plain text, no placeholders).
    pub gaussian: &'a str,
    /// `{distribution}` for Bernoulli arms (plain text, no placeholders).
    pub bernoulli: &'a str,
    /// One history line. Placeholders: `{step}` (0-based), `{action}` (label), `{reward}`
    /// (2 decimals).
    pub history_line: &'a str,
    /// The output instructions.
    pub output: OutputTemplates<'a>,
}

impl Default for MabTemplates<'static> {
    fn default() -> Self {
        MabTemplates {
            buttons: MabWording::BUTTONS,
            numeric: MabWording::NUMERIC,
            gaussian: "a Gaussian reward distribution with a fixed but unknown mean",
            bernoulli: "a Bernoulli reward distribution (reward 0 or 1) with a fixed but unknown \
                success probability",
            history_line: "Step={step} Action={action} Reward={reward}",
            output: OutputTemplates::default(),
        }
    }
}

/// Everything about a bandit prompt except the history itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MabPromptSpec<'a> {
    /// Which wording ([`MabTemplates::buttons`] or [`MabTemplates::numeric`]).
    pub style: LabelStyle,
    /// Gaussian or Bernoulli wording.
    pub distribution: ArmDistribution,
    /// The number of steps announced.
    pub horizon: usize,
    /// Chain-of-thought, action only, or the knowing-doing probe.
    pub output: OutputMode,
    /// Append the per-arm summary after the history.
    pub summary: bool,
    /// Context randomization: this step's permutation (`None`: labels as they are).
    pub permutation: Option<LabelPermutation>,
    /// Chat turns or plain text.
    pub chat: ChatFormat<'a>,
    /// The texts.
    pub templates: MabTemplates<'a>,
}

impl MabPromptSpec<'static> {
    /// The paper's prompt for `config`: chain-of-thought, no summary, no randomization, Gemma
    /// turns, default texts.
    pub fn new(config: &MabConfig) -> Self {
        MabPromptSpec {
            style: config.labels,
            distribution: config.distribution,
            horizon: config.horizon,
            output: OutputMode::ChainOfThought,
            summary: false,
            permutation: None,
            chat: ChatFormat::GEMMA,
            templates: MabTemplates::default(),
        }
    }
}

impl Default for MabPromptSpec<'static> {
    /// [`MabPromptSpec::new`] of [`MabConfig::default`].
    fn default() -> Self {
        MabPromptSpec::new(&MabConfig::default())
    }
}

impl<'a> MabPromptSpec<'a> {
    /// The wording of this spec's label style.
    pub fn wording(&self) -> &MabWording<'a> {
        match self.style {
            LabelStyle::Buttons => &self.templates.buttons,
            LabelStyle::Numeric => &self.templates.numeric,
        }
    }

    /// The labels shown in this prompt (`shown[a]` names true arm `a`): parse the answer
    /// against these to get the true arm.
    pub fn shown_labels(&self, labels: &LabelSet) -> Result<LabelSet> {
        match &self.permutation {
            Some(p) => p.relabel(labels),
            None => Ok(*labels),
        }
    }
}

/// Checks a history: equal lengths, every action an arm of `labels`.
pub(crate) fn check_history(k: usize, actions: &[usize], rewards: &[f64]) -> Result<()> {
    if actions.len() != rewards.len() {
        return Err(Error::ShapeMismatch { what: "rewards", expected: actions.len(), got: rewards.len() });
    }
    if let Some(&a) = actions.iter().find(|&&a| a >= k) {
        return Err(Error::InvalidAction { action: a, num_actions: k });
    }
    Ok(())
}

/// Writes the whole bandit prompt for the history `actions[t]`, `rewards[t]` (true arm indices)
/// with the canonical `labels`. With a permutation, the instruction lists the labels in their
/// canonical order while history, summary and answer use the permuted names.
pub fn write_mab_prompt<W: Write>(
    w: &mut W,
    spec: &MabPromptSpec<'_>,
    labels: &LabelSet,
    actions: &[usize],
    rewards: &[f64],
) -> Result<()> {
    let w: &mut dyn Write = w;
    check_history(labels.len(), actions, rewards)?;
    let shown = spec.shown_labels(labels)?;
    let stats =
        if spec.summary { Some(ArmStats::from_history(labels.len(), actions, rewards)?) } else { None };
    spec.chat.wrap(w, |w| {
        write_mab_section(w, spec, labels, actions.len(), spec.wording().instruction)?;
        w.write_str("\n\n")?;
        spec.templates.output.write(w, spec.output, &mut |w| Ok(write_label_list(w, labels)?))?;
        w.write_str("\n\n")?;
        if actions.is_empty() {
            write_mab_section(w, spec, labels, 0, spec.wording().empty_history)?;
        } else {
            write_mab_history(w, spec.templates.history_line, &shown, actions, rewards)?;
        }
        if let Some(stats) = &stats {
            w.write_str("\n\n")?;
            write_mab_summary(w, spec, labels, &shown, stats)?;
        }
        w.write_str("\n\n")?;
        write_mab_section(w, spec, labels, actions.len(), spec.wording().question)
    })
}

/// Renders one of the spec's texts with the prompt-level placeholders.
fn write_mab_section(
    w: &mut dyn Write,
    spec: &MabPromptSpec<'_>,
    labels: &LabelSet,
    step: usize,
    template: &str,
) -> Result<()> {
    let k = labels.len();
    let vars: &mut Vars<'_> = &mut |name, w| match name {
        "k" => put(w, format_args!("{k}")),
        "last" => put(w, format_args!("{}", k.saturating_sub(1))),
        "labels" => Some(write_label_list(w, labels).map_err(Error::from)),
        "horizon" => put(w, format_args!("{}", spec.horizon)),
        "step" => put(w, format_args!("{step}")),
        "distribution" => Some(w.write_str(distribution_text(spec)).map_err(Error::from)),
        _ => None,
    };
    render(w, template, vars)
}

fn distribution_text<'a>(spec: &MabPromptSpec<'a>) -> &'a str {
    match spec.distribution {
        ArmDistribution::Gaussian { .. } => spec.templates.gaussian,
        ArmDistribution::Bernoulli { .. } => spec.templates.bernoulli,
    }
}

/// Writes one `line` template per step (`{step}`, `{action}` = `shown` label of the true arm,
/// `{reward}` with 2 decimals), separated by newlines, no trailing newline.
pub fn write_mab_history(
    w: &mut dyn Write,
    line: &str,
    shown: &LabelSet,
    actions: &[usize],
    rewards: &[f64],
) -> Result<()> {
    check_history(shown.len(), actions, rewards)?;
    for (t, (&a, &r)) in actions.iter().zip(rewards).enumerate() {
        if t > 0 {
            w.write_char('\n')?;
        }
        let label = shown.get(a)?;
        let vars: &mut Vars<'_> = &mut |name, w| match name {
            "step" => put(w, format_args!("{t}")),
            "action" => put(w, format_args!("{label}")),
            "reward" => put(w, format_args!("{}", Dp2(r))),
            _ => None,
        };
        render(w, line, vars)?;
    }
    Ok(())
}

/// Writes the summary: the header, then one line per label in canonical order, each giving the
/// count and mean of the true arm shown under that label.
fn write_mab_summary(
    w: &mut dyn Write,
    spec: &MabPromptSpec<'_>,
    labels: &LabelSet,
    shown: &LabelSet,
    stats: &ArmStats,
) -> Result<()> {
    let wording = spec.wording();
    write_mab_section(w, spec, labels, stats.total() as usize, wording.summary_header)?;
    for j in 0..labels.len() {
        let arm = match &spec.permutation {
            Some(p) => p.true_arm(j)?,
            None => j,
        };
        let label = shown.get(arm)?;
        let count = stats.count(arm);
        let mean = stats.mean(arm);
        let vars: &mut Vars<'_> = &mut |name, w| match name {
            "label" => put(w, format_args!("{label}")),
            "count" => put(w, format_args!("{count}")),
            "mean" => put(w, format_args!("{}", Dp2(mean.unwrap_or(f64::NAN)))),
            _ => None,
        };
        w.write_char('\n')?;
        render(w, if mean.is_some() { wording.summary_tried } else { wording.summary_untried }, vars)?;
    }
    Ok(())
}
