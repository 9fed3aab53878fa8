//! [`Policy`]: what answers the agent's prompts. The GPU engine is one ([`Engine`]: BOS,
//! tokenize, one batched generate, decode); tests script one. Every completion keeps its token
//! ids and the log-probs it was sampled with, which RL fine-tuning learns from.

use anyhow::{Context, Result, bail};

use crate::generate::{Engine, GenerateOptions, StopReason};

/// How the completions of one call are sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleOptions {
    /// Budget per answer.
    pub max_new_tokens: usize,
    /// 0 = greedy.
    pub temperature: f32,
    /// Seed of this call; prompt i samples from stream `streams[i]` of it.
    pub seed: u64,
    /// Report each generated token's policy entropy ([`Completion::entropies`]).
    pub entropy: bool,
}

/// One answer to one prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The decoded answer.
    pub text: String,
    /// The prompt's token ids as the model read them (BOS first); empty from a scripted policy.
    pub prompt_ids: Vec<u32>,
    /// The generated ids, the stop token included when one ended the answer.
    pub ids: Vec<u32>,
    /// log p of each generated id under the distribution it was sampled from (temperature 1 with
    /// no top-k / top-p: the model's full softmax).
    pub logprobs: Vec<f32>,
    /// Whether a stop token ended it (false: the budget cut it).
    pub stopped: bool,
    /// With [`SampleOptions::entropy`]: the entropy (nats) of the policy's temperature-1
    /// distribution at each generated token.
    pub entropies: Vec<f32>,
}

impl Completion {
    /// A completion that is only text (scripted policies, tests).
    pub fn text(text: impl Into<String>) -> Completion {
        Completion {
            text: text.into(),
            prompt_ids: Vec::new(),
            ids: Vec::new(),
            logprobs: Vec::new(),
            stopped: true,
            entropies: Vec::new(),
        }
    }
}

/// Something that answers prompt texts: the model, or a scripted fake in tests.
pub trait Policy {
    /// One completion per prompt, all in one batch; prompt i samples from RNG stream `streams[i]`.
    fn complete(
        &mut self,
        prompts: &[String],
        streams: &[u64],
        opts: &SampleOptions,
    ) -> Result<Vec<Completion>>;
}

impl Policy for Engine {
    fn complete(
        &mut self,
        prompts: &[String],
        streams: &[u64],
        opts: &SampleOptions,
    ) -> Result<Vec<Completion>> {
        let vocab = self.config().vocab_size;
        let tok = self.tokenizer().context("the LLM agent needs a tokenizer (tokenizer.json)")?;
        let mut ids = Vec::with_capacity(prompts.len());
        for text in prompts {
            let mut p = vec![tok.bos_id];
            p.extend(tok.encode(text, false).map_err(anyhow::Error::msg)?);
            crate::model::check_vocab(&p, vocab)?;
            ids.push(p);
        }
        let gen_opts = GenerateOptions {
            max_new_tokens: opts.max_new_tokens,
            temperature: opts.temperature,
            top_k: None,
            top_p: None,
            seed: opts.seed,
            stop_ids: Vec::new(),
            entropy: opts.entropy,
        };
        let gens = self.generate_streams(&ids, streams, &gen_opts)?;
        if gens.len() != prompts.len() {
            bail!("the engine returned {} answers for {} prompts", gens.len(), prompts.len());
        }
        let tok = self.tokenizer().context("tokenizer")?;
        gens.into_iter()
            .zip(ids)
            .map(|(g, prompt_ids)| {
                Ok(Completion {
                    text: tok.decode(&g.ids, true).map_err(anyhow::Error::msg)?,
                    prompt_ids,
                    stopped: matches!(g.stop, StopReason::Eos(_)),
                    ids: g.ids,
                    logprobs: g.logprobs,
                    entropies: g.entropies,
                })
            })
            .collect()
    }
}

/// A policy whose prompts all end with `prefix` and whose answers start with it: the model
/// continues from the prefix, and what is parsed and logged is the prefix + the continuation
/// (the token ids stay the generated ones; the prefix is part of the prompt).
pub(super) struct Prefixed<'a> {
    pub inner: &'a mut dyn Policy,
    pub prefix: &'a str,
}

impl Policy for Prefixed<'_> {
    fn complete(
        &mut self,
        prompts: &[String],
        streams: &[u64],
        opts: &SampleOptions,
    ) -> Result<Vec<Completion>> {
        let prompts: Vec<String> = prompts.iter().map(|t| format!("{t}{}", self.prefix)).collect();
        let mut out = self.inner.complete(&prompts, streams, opts)?;
        for c in &mut out {
            c.text = format!("{}{}", self.prefix, c.text);
        }
        Ok(out)
    }
}
