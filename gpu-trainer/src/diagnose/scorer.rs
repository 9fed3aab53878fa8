//! Scoring answer texts without generating: log p(answer | prompt) for many (prompt, answer)
//! pairs in few GPU calls. [`Engine`] implements [`AnswerScorer`] through
//! `Engine::score_continuations` (each prompt's KV prefix computed once for all its answers);
//! tests use a fake.

use anyhow::{Context, Result, bail};

use crate::generate::Engine;
use crate::model::check_vocab;

/// Something that scores answers.
pub trait AnswerScorer {
    /// log p(answer | prompt) for every `(prompt index, answer text)` pair, in order. Prompts
    /// are texts as the model reads them (chat turns included); the answer continues the prompt
    /// directly.
    fn score_answers(&mut self, prompts: &[String], answers: &[(usize, String)]) -> Result<Vec<f64>>;
}

impl AnswerScorer for Engine {
    fn score_answers(&mut self, prompts: &[String], answers: &[(usize, String)]) -> Result<Vec<f64>> {
        let vocab = self.config().vocab_size;
        let tok = self.tokenizer().context("scoring answers needs a tokenizer (tokenizer.json)")?;
        let mut ids = Vec::with_capacity(prompts.len());
        for text in prompts {
            let mut p = vec![tok.bos_id];
            p.extend(tok.encode(text, false).map_err(anyhow::Error::msg)?);
            check_vocab(&p, vocab)?;
            ids.push(p);
        }
        let mut conts = Vec::with_capacity(answers.len());
        for (p, text) in answers {
            let c = tok.encode(text, false).map_err(anyhow::Error::msg)?;
            if c.is_empty() {
                bail!("the answer {text:?} has no tokens");
            }
            check_vocab(&c, vocab)?;
            conts.push((*p, c));
        }
        self.score_continuations(&ids, &conts)
    }
}
