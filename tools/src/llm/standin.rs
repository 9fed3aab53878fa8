//! TEMPORARY stand-in for `gpu_trainer::generate` (being written on branch `gpu-forward`), with
//! exactly its public names, so the command-line side builds and is tested before the GPU engine
//! lands. It runs `gpu_trainer::cpu::model::CpuModel`: a full f32 forward per generated token
//! (no KV cache), greedy or temperature / top-k / top-p sampling. Delete this file and point
//! `crate::llm::generate` at `gpu_trainer::generate` once the real `Engine` is merged.

use std::path::Path;

use anyhow::{Context, Result, bail};
use env_core::Rng;
use gpu_trainer::cpu::model::CpuModel;
use gpu_trainer::model::{Config, GemmaTokenizer};

/// Weight precision on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightDType {
    /// As stored in the checkpoint.
    #[default]
    Auto,
    F32,
    F16,
    BF16,
}

/// How to load a model.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub dtype: WeightDType,
    /// Adapter selector (index or name substring), as `GREEDY_ADAPTER`.
    pub adapter: Option<String>,
}

/// How to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub max_new_tokens: usize,
    /// 0 = greedy
    pub temperature: f32,
    pub top_k: Option<usize>,
    pub top_p: Option<f32>,
    pub seed: u64,
    /// empty = model eos + `<end_of_turn>`
    pub stop_ids: Vec<u32>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions { max_new_tokens: 256, temperature: 0.0, top_k: None, top_p: None, seed: 0, stop_ids: Vec::new() }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Eos(u32),
    MaxTokens,
}

/// The generated continuation of one prompt.
#[derive(Debug, Clone)]
pub struct Generation {
    /// generated ids (the stop id included when generation stopped on one)
    pub ids: Vec<u32>,
    /// log-probability of each generated id under the model (before temperature)
    pub logprobs: Vec<f32>,
    pub stop: StopReason,
}

/// A loaded model.
pub struct Engine {
    model: CpuModel,
    tokenizer: Option<GemmaTokenizer>,
}

impl Engine {
    pub fn load(dir: &Path, _opts: &LoadOptions) -> Result<Engine> {
        let model = CpuModel::load(dir).map_err(anyhow::Error::msg)?;
        let tok_path = dir.join("tokenizer.json");
        let tokenizer = if tok_path.is_file() {
            Some(GemmaTokenizer::from_file(&tok_path).map_err(anyhow::Error::msg)?)
        } else {
            None
        };
        Ok(Engine { model, tokenizer })
    }

    pub fn config(&self) -> &Config {
        &self.model.config
    }

    pub fn tokenizer(&self) -> Option<&GemmaTokenizer> {
        self.tokenizer.as_ref()
    }

    pub fn adapter_name(&self) -> String {
        "cpu reference (stand-in, no GPU)".into()
    }

    /// Logits [T, vocab] (row-major) of one sequence.
    pub fn logits(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        self.check_ids(ids)?;
        Ok(self.model.forward(ids))
    }

    fn check_ids(&self, ids: &[u32]) -> Result<()> {
        let vocab = self.model.config.vocab_size;
        if ids.is_empty() {
            bail!("no input ids");
        }
        if let Some(&bad) = ids.iter().find(|&&i| i as usize >= vocab) {
            bail!("token id {bad} is not below the vocabulary size {vocab}");
        }
        Ok(())
    }

    pub fn generate(&mut self, prompts: &[Vec<u32>], opts: &GenerateOptions) -> Result<Vec<Generation>> {
        let vocab = self.model.config.vocab_size;
        let stops: Vec<u32> = if opts.stop_ids.is_empty() {
            let mut s = self.model.config.eos_token_ids.clone();
            if let Some(t) = &self.tokenizer {
                s.extend(t.stop_ids());
            }
            s
        } else {
            opts.stop_ids.clone()
        };
        let mut out = Vec::with_capacity(prompts.len());
        for (p, prompt) in prompts.iter().enumerate() {
            self.check_ids(prompt).with_context(|| format!("prompt {p}"))?;
            let mut rng = Rng::from_stream(opts.seed, p as u64);
            let mut ids = prompt.clone();
            let mut g = Generation { ids: Vec::new(), logprobs: Vec::new(), stop: StopReason::MaxTokens };
            for _ in 0..opts.max_new_tokens {
                let logits = self.model.forward(&ids);
                let row = &logits[(ids.len() - 1) * vocab..ids.len() * vocab];
                let next = sample(row, opts, &mut rng);
                g.logprobs.push(log_softmax_at(row, next));
                g.ids.push(next as u32);
                ids.push(next as u32);
                if stops.contains(&(next as u32)) {
                    g.stop = StopReason::Eos(next as u32);
                    break;
                }
            }
            out.push(g);
        }
        Ok(out)
    }
}

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

fn log_softmax_at(row: &[f32], i: usize) -> f32 {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let s: f64 = row.iter().map(|&v| ((v - m) as f64).exp()).sum();
    (row[i] - m) - s.ln() as f32
}

fn sample(row: &[f32], opts: &GenerateOptions, rng: &mut Rng) -> usize {
    if opts.temperature <= 0.0 {
        return argmax(row);
    }
    let mut idx: Vec<usize> = (0..row.len()).collect();
    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    if let Some(k) = opts.top_k {
        idx.truncate(k.max(1));
    }
    let m = row[idx[0]];
    let mut p: Vec<f64> = idx.iter().map(|&i| (((row[i] - m) / opts.temperature) as f64).exp()).collect();
    let total: f64 = p.iter().sum();
    p.iter_mut().for_each(|x| *x /= total);
    if let Some(tp) = opts.top_p {
        let mut acc = 0.0;
        let mut keep = p.len();
        for (j, &x) in p.iter().enumerate() {
            acc += x;
            if acc >= tp as f64 {
                keep = j + 1;
                break;
            }
        }
        p.truncate(keep);
        idx.truncate(keep);
    }
    let total: f64 = p.iter().sum();
    let mut u = rng.uniform() * total;
    for (j, &x) in p.iter().enumerate() {
        if u < x {
            return idx[j];
        }
        u -= x;
    }
    idx[p.len() - 1]
}
