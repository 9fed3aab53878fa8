//! The run pipeline and the loop with a CPU learner (a bigram table trained by SGD with
//! momentum, exact gradients): data order, micro-batch accumulation, checkpoints and exact
//! resumption, independent of the GPU model.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use env_core::rng::derive_seed;
use env_core::{ArmDistribution, LabelStyle, MabConfig};

use super::data::{SftData, TargetMode, ExpertData};
use super::settings::{FreshBase, ModelSource, SftSettings, streams};
use super::start::{RunStart, SftOutcome, run_sft_with};
use super::steps::TrainerState;
use crate::train::Sequence;
use crate::train::fresh::ModelShape;
use crate::train::learner::{Applied, Learner, OptimSettings, OptimizerKind};

/// logits[prev][next] = w[prev * v + next]; momentum SGD.
struct Bigram {
    v: usize,
    w: Vec<f32>,
    grad: Vec<f32>,
    momentum: Vec<f32>,
    config: String,
    tokenizer: String,
    clip: f64,
}

impl Bigram {
    fn open(p: &RunStart, clip: f64) -> Result<Bigram> {
        let v = p.config.vocab_size;
        let read = |name: &str| -> Result<Vec<f32>> {
            let b = std::fs::read(p.start.join(name))?;
            Ok(b.chunks(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        };
        let (w, momentum) = if p.resume {
            (read("bigram.bin")?, read("momentum.bin")?)
        } else {
            (vec![0.0; v * v], vec![0.0; v * v])
        };
        Ok(Bigram {
            v,
            w,
            grad: vec![0.0; v * v],
            momentum,
            config: std::fs::read_to_string(p.start.join("config.json"))?,
            tokenizer: std::fs::read_to_string(p.start.join("tokenizer.json"))?,
            clip,
        })
    }
}

impl Learner for Bigram {
    fn accumulate(&mut self, seqs: &[Sequence]) -> Result<f64> {
        let mut loss = 0.0f64;
        for s in seqs {
            for t in 1..s.ids.len() {
                let wt = s.weights[t];
                if wt == 0.0 {
                    continue;
                }
                let row = s.ids[t - 1] as usize * self.v;
                let logits = &self.w[row..row + self.v];
                let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let z: f32 = logits.iter().map(|&x| (x - m).exp()).sum();
                let next = s.ids[t] as usize;
                loss += (wt * (z.ln() + m - logits[next])) as f64;
                for (j, &x) in logits.iter().enumerate() {
                    let p = (x - m).exp() / z;
                    self.grad[row + j] += wt * (p - if j == next { 1.0 } else { 0.0 });
                }
            }
        }
        Ok(loss)
    }

    fn apply(&mut self, lr: f64) -> Result<Applied> {
        let norm = self.grad.iter().map(|&g| (g as f64) * (g as f64)).sum::<f64>().sqrt();
        let scale = if norm > self.clip { (self.clip / norm) as f32 } else { 1.0 };
        for i in 0..self.w.len() {
            self.momentum[i] = 0.9 * self.momentum[i] + self.grad[i] * scale;
            self.w[i] -= lr as f32 * self.momentum[i];
            self.grad[i] = 0.0;
        }
        Ok(Applied { grad_norm: norm, skipped: None })
    }

    fn discard(&mut self) -> Result<()> {
        self.grad.iter_mut().for_each(|g| *g = 0.0);
        Ok(())
    }

    fn save(&mut self, dir: &Path, state: &serde_json::Value) -> Result<()> {
        let tmp = dir.with_file_name(".checkpoint.saving");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)?;
        let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        std::fs::write(tmp.join("bigram.bin"), bytes(&self.w))?;
        std::fs::write(tmp.join("momentum.bin"), bytes(&self.momentum))?;
        std::fs::write(tmp.join("config.json"), &self.config)?;
        std::fs::write(tmp.join("tokenizer.json"), &self.tokenizer)?;
        let state: TrainerState = serde_json::from_value(state.clone())?;
        state.write(&tmp)?;
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::rename(&tmp, dir)?;
        Ok(())
    }
}

fn settings(out: &Path, stop_at: Option<u64>, resume: bool) -> SftSettings {
    let shape = ModelShape {
        hidden: 16,
        layers: 1,
        heads: 2,
        kv_heads: 1,
        head_dim: 8,
        ffn: 16,
        window: 8,
        ..ModelShape::TINY
    };
    let bandit = MabConfig {
        arms: 3,
        horizon: 4,
        distribution: ArmDistribution::Gaussian { sigma: 1.0 },
        labels: LabelStyle::Buttons,
    };
    let data =
        ExpertData::new(vec![bandit], 5, TargetMode::Thought, false, derive_seed(11, streams::DATA)).unwrap();
    SftSettings {
        source: ModelSource::Fresh { base: FreshBase::Tiny(shape), vocab: 400 },
        data: SftData::Expert(data),
        max_len: None,
        steps: 8,
        batch: 5,
        micro_batch: 2,
        optim: OptimSettings {
            kind: OptimizerKind::Adamw,
            lr: 8.0,
            warmup: 2,
            min_lr: 0.08,
            clip: Some(1.0),
            weight_decay: 0.0,
        },
        seed: 11,
        out: out.to_path_buf(),
        resume,
        save_every: 3,
        stop_at: stop_at.unwrap_or(8),
    }
}

/// A run directory that does not exist yet (the run creates it), inside a scratch directory
/// that is deleted when the guard drops (also when the test fails).
fn tmp(tag: &str) -> (tempfile::TempDir, PathBuf) {
    let guard = tempfile::Builder::new().prefix(&format!("greedy-sft-run-{tag}-")).tempdir().unwrap();
    let run = guard.path().join("run");
    (guard, run)
}

#[test]
fn stopped_and_resumed_equals_uninterrupted_bit_for_bit() {
    let ((_a_tmp, a), (_b_tmp, b)) = (tmp("a"), tmp("b"));
    let whole = run_sft_with(&settings(&a, None, false), &(), &never(), |p| Bigram::open(p, 100.0)).unwrap();
    assert_eq!(whole.state.step, 8);
    assert_eq!(whole.state.cursor, 40, "8 steps of 5 examples: past the 20 examples twice");
    assert_eq!(whole.state.epoch, 2);
    let half =
        run_sft_with(&settings(&b, Some(5), false), &(), &never(), |p| Bigram::open(p, 100.0)).unwrap();
    assert_eq!(half.state.step, 5);
    // Lines logged after the last checkpoint are dropped when the run resumes.
    let rest = run_sft_with(&settings(&b, None, true), &(), &never(), |p| Bigram::open(p, 100.0)).unwrap();
    assert_eq!(rest.state, whole.state);
    let losses =
        |o: &SftOutcome| o.log.iter().map(|r| (r.step, r.loss.to_bits(), r.lr.to_bits())).collect::<Vec<_>>();
    assert_eq!(losses(&rest), losses(&whole));
    let weights = |d: &Path| std::fs::read(d.join("checkpoint/bigram.bin")).unwrap();
    assert_eq!(weights(&a), weights(&b), "final weights are bitwise equal");
    // The loss goes down: the bigram learns the rationales' fixed wording.
    let first = whole.log[0].loss;
    let last = whole.log[7].loss;
    assert!(last < 0.9 * first, "loss {first} -> {last}");
}

#[test]
fn resume_refuses_other_settings_and_fresh_runs_refuse_a_used_dir() {
    let (_a_tmp, a) = tmp("c");
    run_sft_with(&settings(&a, Some(2), false), &(), &never(), |p| Bigram::open(p, 100.0)).unwrap();
    let e = run_sft_with(&settings(&a, None, false), &(), &never(), |p| Bigram::open(p, 100.0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("--resume"), "{e}");
    let mut other = settings(&a, None, true);
    other.batch = 4;
    other.micro_batch = 4;
    let e = run_sft_with(&other, &(), &never(), |p| Bigram::open(p, 100.0)).unwrap_err().to_string();
    assert!(e.contains("batch") && e.contains("micro_batch"), "{e}");
    let (_d_tmp, d) = tmp("d");
    let e = run_sft_with(&settings(&d, None, true), &(), &never(), |p| Bigram::open(p, 100.0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("settings.json"), "{e}");
}

fn never() -> AtomicBool {
    AtomicBool::new(false)
}

/// A stop request (Ctrl-C) raised while step 4 runs.
struct StopAt {
    inner: Bigram,
    at: u64,
    applied: u64,
    stop: std::sync::Arc<AtomicBool>,
}

impl Learner for StopAt {
    fn accumulate(&mut self, seqs: &[Sequence]) -> Result<f64> {
        self.inner.accumulate(seqs)
    }
    fn apply(&mut self, lr: f64) -> Result<Applied> {
        self.applied += 1;
        if self.applied == self.at {
            self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        self.inner.apply(lr)
    }
    fn discard(&mut self) -> Result<()> {
        self.inner.discard()
    }
    fn save(&mut self, dir: &Path, state: &serde_json::Value) -> Result<()> {
        self.inner.save(dir, state)
    }
}

#[test]
fn a_stop_request_saves_the_step_it_reached_and_resume_goes_on_exactly() {
    let ((_a_tmp, a), (_b_tmp, b)) = (tmp("e"), tmp("f"));
    let whole = run_sft_with(&settings(&a, None, false), &(), &never(), |p| Bigram::open(p, 100.0)).unwrap();
    let stop = std::sync::Arc::new(never());
    let s = std::sync::Arc::clone(&stop);
    let cut = run_sft_with(&settings(&b, None, false), &(), &stop, move |p| {
        Ok(StopAt { inner: Bigram::open(p, 100.0)?, at: 4, applied: 0, stop: s })
    })
    .unwrap();
    assert!(cut.interrupted);
    assert_eq!(cut.state.step, 4, "stopped after the step in progress");
    // saved at step 4 although --save-every is 3: nothing done is lost
    assert_eq!(TrainerState::read(&b.join("checkpoint")).unwrap().step, 4);
    let rest = run_sft_with(&settings(&b, None, true), &(), &never(), |p| Bigram::open(p, 100.0)).unwrap();
    assert!(!rest.interrupted);
    assert_eq!(rest.state, whole.state);
    let weights = |d: &Path| std::fs::read(d.join("checkpoint/bigram.bin")).unwrap();
    assert_eq!(weights(&a), weights(&b), "final weights are bitwise equal");
}
