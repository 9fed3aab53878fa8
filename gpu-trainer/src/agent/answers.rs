//! What an episode of the LLM agent keeps of the model's answers, step by step, for its record.

use super::AgentSettings;
use super::ask::Decision;
use crate::envs::EpisodeRecord;

/// The answers of one episode.
#[derive(Debug, Default)]
pub struct AnswerLog {
    answers: Vec<String>,
    first_answers: Vec<String>,
    sample_actions: Vec<Vec<Option<usize>>>,
    changed_by_correction: usize,
    invalid: usize,
    explore_steps: usize,
}

fn truncate_chars(s: &str, n: Option<usize>) -> String {
    match n {
        Some(n) if s.chars().count() > n => s.chars().take(n).collect::<String>() + "…",
        _ => s.to_string(),
    }
}

impl AnswerLog {
    /// Logs a model decision.
    pub fn push(&mut self, d: &Decision, llm: &AgentSettings) {
        self.invalid += d.action.is_none() as usize;
        self.changed_by_correction += d.changed_by_correction;
        self.answers.push(truncate_chars(&d.answer, llm.answer_chars));
        if let Some(f) = &d.first_answer {
            self.first_answers.push(truncate_chars(f, llm.answer_chars));
        }
        self.sample_actions.push(d.sample_actions.clone());
    }

    /// Logs a step decided by an exploration mechanism (its fixed-template text).
    pub fn push_forced(&mut self, text: String, llm: &AgentSettings) {
        self.explore_steps += 1;
        if llm.self_correct {
            self.first_answers.push(text.clone());
        }
        self.answers.push(text);
        self.sample_actions.push(Vec::new());
    }

    /// Moves the log into the episode's record; `wrapped`: an exploration mechanism was on.
    pub fn fill(self, rec: &mut EpisodeRecord, llm: &AgentSettings, wrapped: bool) {
        rec.invalid_answers = Some(self.invalid);
        rec.answers = Some(self.answers);
        if llm.self_correct {
            rec.first_answers = Some(self.first_answers);
            rec.changed_by_correction = Some(self.changed_by_correction);
        }
        if llm.samples > 1 {
            rec.sample_actions = Some(self.sample_actions);
        }
        if wrapped {
            rec.explore_steps = Some(self.explore_steps);
        }
    }
}
