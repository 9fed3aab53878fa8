//! How close the trained model's answers are to the expert's: for every step the model played,
//! the UCB rationale for the model's own history is recomputed and compared with what it wrote.

use anyhow::{Result, bail};
use env_core::MultiArmedBandit;
use env_core::parse::parse_action;
use env_core::prompt::RationaleTemplates;

use gpu_trainer::envs::{EnvSettings, EpisodeRecord};
use gpu_trainer::eval::EvalSettings;
use gpu_trainer::train::sft::data::{TargetMode, expert_target};

/// One step: what the model wrote and what the expert would have written.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Episode index.
    pub episode: u64,
    /// Step (0-based).
    pub step: usize,
    /// The model's answer.
    pub answer: String,
    /// The UCB rationale for the same history.
    pub expert: String,
}

/// Agreement of the model with the expert over all steps of all episodes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    /// Steps compared.
    pub steps: usize,
    /// Answers with a valid action.
    pub valid: usize,
    /// Answers identical to the expert's rationale.
    pub exact: usize,
    /// Answers whose action is the one UCB chooses.
    pub same_action: usize,
    /// Per-arm lines (count, mean, UCB) compared.
    pub arm_lines: usize,
    /// Per-arm lines identical to the expert's.
    pub arm_lines_equal: usize,
    /// Answers in the try-all phase (some arm untried) whose action is the next untried arm.
    pub untried_phase: (usize, usize),
    /// Answers after every arm was tried whose action is the highest-UCB arm.
    pub ucb_phase: (usize, usize),
    /// A few steps of the first episode.
    pub samples: Vec<Sample>,
}

fn rate(n: usize, d: usize) -> f64 {
    if d == 0 { f64::NAN } else { n as f64 / d as f64 }
}

impl Analysis {
    /// Share of answers identical to the expert's.
    pub fn exact_rate(&self) -> f64 {
        rate(self.exact, self.steps)
    }
    /// Share of answers choosing UCB's action.
    pub fn action_rate(&self) -> f64 {
        rate(self.same_action, self.steps)
    }
    /// Share of per-arm lines identical to the expert's.
    pub fn arm_line_rate(&self) -> f64 {
        rate(self.arm_lines_equal, self.arm_lines)
    }
    /// Share of valid answers.
    pub fn valid_rate(&self) -> f64 {
        rate(self.valid, self.steps)
    }
}

/// Compares the `llm` records of a MAB evaluation with the UCB expert on the same histories.
pub fn compare_with_expert(records: &[EpisodeRecord], eval: &EvalSettings) -> Result<Analysis> {
    let EnvSettings::Mab(config) = &eval.env else {
        bail!("the comparison with the UCB expert needs a bandit")
    };
    let templates = RationaleTemplates::default();
    let mut a = Analysis::default();
    for rec in records.iter().filter(|r| r.agent == "llm") {
        let Some(answers) = &rec.answers else { continue };
        let env = MultiArmedBandit::new(*config, rec.scenario_seed)?;
        let labels = env.labels();
        for (t, answer) in answers.iter().enumerate() {
            let (acts, rews) = (&rec.actions[..t], &rec.rewards[..t]);
            let (expert, arm) = expert_target(TargetMode::Thought, acts, rews, labels, &templates)?;
            let said = parse_action(answer, labels).arm();
            a.steps += 1;
            a.valid += said.is_some() as usize;
            a.exact += (answer.trim() == expert) as usize;
            a.same_action += (said == Some(arm)) as usize;
            let untried = (0..config.arms).any(|k| !acts.contains(&k));
            let phase = if untried { &mut a.untried_phase } else { &mut a.ucb_phase };
            phase.0 += (said == Some(arm)) as usize;
            phase.1 += 1;
            let got: Vec<&str> = answer.lines().collect();
            for (i, want) in expert.lines().enumerate().skip(1).take(config.arms) {
                a.arm_lines += 1;
                a.arm_lines_equal += (got.get(i).map(|l| l.trim()) == Some(want)) as usize;
            }
            if rec.episode == 0 && (t == 0 || t == config.arms || t + 1 == answers.len()) {
                a.samples.push(Sample { episode: rec.episode, step: t, answer: answer.clone(), expert });
            }
        }
    }
    Ok(a)
}
