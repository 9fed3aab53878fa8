//! The RLFT run: rollouts with the live weights, the reference's log-probs, updates, held-out
//! evaluations, checkpoints, exact resume.
//!
//! ```text
//! for rollout r = 0, 1, ...:
//!     draw `envs` instances from the pool (seeded by r); play one episode each, in lock-step,
//!         sampling at temperature 1 from the CURRENT weights (no checkpoint round-trip)
//!     samples: one per step; shaped rewards; rewards-to-go; advantages normalised over the rollout
//!     reference log-probs of every completion token (the frozen start, bf16)
//!     old log-probs: the generation's (or recomputed); forced steps' from the training forward
//!     for epoch in 0..epochs: for each full minibatch of a seeded shuffle: one update
//!         (evaluate every `eval_every` updates: held-out instances, greedy decoding)
//!     checkpoint at the first rollout boundary after every `save_every` updates, and at the end
//! ```
//!
//! Exact resume: everything random is a pure function of (seed, rollout, epoch), the schedule of
//! the update count; a checkpoint holds the weights, the optimizer, and [`RlState`] (where the
//! run stands, the running reward statistic, and, when it was saved inside a rollout (a stop
//! request, or `--stop-at`), that rollout's samples). A run killed at any moment and resumed from
//! its newest checkpoint computes what an uninterrupted run computes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use env_core::Rng;
use env_core::rng::derive_seed;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::advantage::{RunningStats, Shaping};
use super::collect::{Collect, collect};
use super::log::{RlLog, read_rows};
use super::pool::Pool;
use super::samples::Sample;
use super::settings::{RlEnv, RlSettings, streams};
use super::update::{in_loss, update};
use crate::agent::AgentSettings;
use crate::envs::EnvSettings;
use crate::envs::cb::CbData;
use crate::eval::{AgentSpec, BaseAgent, EvalSettings, Wrapper, run_eval_on};
use crate::generate::{Engine, WeightDType};
use crate::progress::Progress;
use crate::runtime::Gpu;
use crate::train::learner::{GpuLearner, LearnerSettings};

/// The name of a run's checkpoint after `update` updates.
pub fn checkpoint_name(update: u64) -> String {
    format!("checkpoint-{update}")
}

/// Where a run stands (`trainer_state.json` of its checkpoints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RlState {
    /// Optimizer updates done.
    pub update: u64,
    /// The rollout in progress (or next).
    pub rollout: u64,
    /// Inside that rollout: the epoch and the next minibatch (0, 0 at a rollout boundary).
    pub epoch: usize,
    /// The next minibatch of that epoch.
    pub next_batch: usize,
    /// The running statistic of the environment rewards (`--reward-norm running`).
    pub reward_stats: RunningStats,
    /// The rollout's samples when saved inside it (empty at a boundary).
    #[serde(default)]
    pub pending: Vec<SavedSample>,
    /// The rollout's metrics when saved inside it.
    #[serde(default)]
    pub pending_metrics: Option<Value>,
}

/// A sample as a checkpoint keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedSample {
    ids: Vec<u32>,
    prompt_len: usize,
    old: Vec<f32>,
    reference: Vec<f32>,
    advantage: f32,
    #[serde(default)]
    value: Option<f32>,
    #[serde(default)]
    value_target: Option<f32>,
    stopped: bool,
    forced: bool,
    episode: usize,
    t: usize,
}

impl SavedSample {
    fn of(s: &Sample) -> SavedSample {
        SavedSample {
            ids: s.ids.clone(),
            prompt_len: s.prompt_len,
            old: s.old.clone(),
            reference: s.reference.clone(),
            advantage: s.advantage,
            value: s.value,
            value_target: s.value_target,
            stopped: s.stopped,
            forced: s.forced,
            episode: s.episode,
            t: s.t,
        }
    }

    fn sample(&self) -> Sample {
        Sample {
            ids: self.ids.clone(),
            prompt_len: self.prompt_len,
            old: self.old.clone(),
            reference: self.reference.clone(),
            advantage: self.advantage,
            value: self.value,
            value_target: self.value_target,
            env_reward: 0.0,
            reward: 0.0,
            invalid: false,
            new_action: false,
            forced: self.forced,
            stopped: self.stopped,
            entropy: None,
            episode: self.episode,
            t: self.t,
        }
    }
}

impl RlState {
    fn start() -> RlState {
        RlState {
            update: 0,
            rollout: 0,
            epoch: 0,
            next_batch: 0,
            reward_stats: RunningStats::default(),
            pending: Vec::new(),
            pending_metrics: None,
        }
    }
}

/// What a finished invocation did.
#[derive(Debug, Clone)]
pub struct RlOutcome {
    /// The newest checkpoint.
    pub checkpoint: PathBuf,
    /// Updates done.
    pub update: u64,
    /// Stopped early by a stop request (the checkpoint holds the update it reached).
    pub interrupted: bool,
    /// Every row of the run's log (this and earlier invocations).
    pub rows: Vec<Value>,
    /// What the learner computed on.
    pub device: String,
    /// Wall time of this invocation.
    pub seconds: f64,
}

/// The newest complete checkpoint of a run directory: (path, update).
pub fn newest_checkpoint(out: &Path) -> Result<Option<(PathBuf, u64)>> {
    let Ok(entries) = std::fs::read_dir(out) else { return Ok(None) };
    let mut best: Option<(PathBuf, u64)> = None;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(n) = name.strip_prefix("checkpoint-").and_then(|n| n.parse::<u64>().ok()) else { continue };
        crate::train::checkpoint::recover(&e.path())?;
        if e.path().join("trainer_state.json").is_file() && best.as_ref().is_none_or(|b| n > b.1) {
            best = Some((e.path(), n));
        }
    }
    Ok(best)
}

/// The evaluation settings of the run: the agent as trained, greedy decoding, held-out
/// instances, no exploration mechanism.
pub fn eval_settings(s: &RlSettings, data: Option<&CbData>) -> Result<EvalSettings> {
    let _ = data;
    let env = match &s.env {
        RlEnv::Mab(c) => EnvSettings::Mab(*c),
        RlEnv::Cb(c) => EnvSettings::Cb(c.clone()),
        RlEnv::Ttt(t) => EnvSettings::Ttt(*t),
    };
    let mcts_budget = if let RlEnv::Ttt(t) = &s.env { t.mcts_budget } else { 200 };
    Ok(EvalSettings {
        env,
        agents: vec![AgentSpec { wrappers: Vec::<Wrapper>::new(), base: BaseAgent::Llm }],
        epsilon: s.epsilon,
        mcts_budget,
        episodes: s.eval_episodes,
        seed: derive_seed(s.seed, streams::EVAL),
        llm: Some(AgentSettings { temperature: 0.0, entropy: false, ..s.agent.clone() }),
    })
}

/// Runs (or resumes) the RLFT run of `settings`.
pub fn run_rl(settings: &RlSettings, progress: &dyn Progress, stop: &AtomicBool) -> Result<RlOutcome> {
    let s = settings;
    let started = Instant::now();
    let out = &s.out;
    let settings_path = out.join("settings.json");
    let now = s.to_json();
    let (start_dir, mut state) = if s.resume {
        let before: Value =
            serde_json::from_str(&std::fs::read_to_string(&settings_path).with_context(|| {
                format!("--resume: {} has no settings.json (not an RL run)", out.display())
            })?)
            .with_context(|| format!("{}: not valid JSON", settings_path.display()))?;
        let mut diff = Vec::new();
        crate::train::sft::start::differing_keys(&before, &now, "", &mut diff);
        if !diff.is_empty() {
            bail!(
                "--resume: the settings differ from those of the run in {} ({})",
                out.display(),
                diff.join(", ")
            );
        }
        let (dir, _) = newest_checkpoint(out)?
            .with_context(|| format!("--resume: no checkpoint-<update> in {}", out.display()))?;
        let state: RlState = serde_json::from_str(&std::fs::read_to_string(dir.join("trainer_state.json"))?)
            .with_context(|| format!("{}: not an RL trainer state", dir.display()))?;
        (dir, state)
    } else {
        if newest_checkpoint(out)?.is_some() {
            bail!(
                "--out {} already holds an RL run: pass --resume to continue it, or choose another --out",
                out.display()
            );
        }
        // an RL run that died before its first checkpoint is started again; anything else is
        // not ours to write into
        let foreign =
            std::fs::read_dir(out).ok().and_then(|mut d| d.next()).is_some() && !settings_path.is_file();
        if foreign {
            bail!("--out {} is not empty and holds no RL run: choose another --out", out.display());
        }
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let mut text = serde_json::to_string_pretty(&now)?;
        text.push('\n');
        crate::atomic::write_file(&settings_path, text.as_bytes())?;
        (s.model.clone(), RlState::start())
    };
    if state.update > s.updates {
        bail!("--resume: the checkpoint is at update {}, past --updates {}", state.update, s.updates);
    }
    let gpu = Arc::new(Gpu::new().context("opening the GPU")?);
    let config = crate::model::Config::from_dir(&start_dir)?;
    let context = config.max_position_embeddings.unwrap_or(1 << 16).min(1 << 16);
    let learner_settings = LearnerSettings {
        optim: s.optim,
        max_tokens: s.micro_batch.max(1) * context,
        loss_chunk_rows: 256,
        checkpointing: false,
        value_head: s.value.is_some(),
    };
    let mut learner = GpuLearner::open_on(Arc::clone(&gpu), &start_dir, &learner_settings, s.resume)?;
    if let Some(v) = &s.value {
        learner.set_value_lr_scale((v.lr / s.optim.lr) as f32)?;
    }
    // the frozen reference: the starting checkpoint, bf16 on the GPU (2 bytes per parameter)
    let mut reference = Engine::load_shared(Arc::clone(&gpu), &s.model, WeightDType::BF16)
        .with_context(|| format!("loading the reference model {}", s.model.display()))?;
    let mut policy = learner.engine()?;
    let tok = learner.tokenizer()?;
    let end = if s.agent.base { tok.eos_id } else { tok.end_of_turn_id };
    let vocab = config.vocab_size;
    let data = match &s.env {
        RlEnv::Cb(cb) => Some(CbData::prepare(cb, s.seed)?),
        RlEnv::Mab(_) | RlEnv::Ttt(_) => None,
    };
    let pool = Pool::new(s.seed, s.pool)?;
    let schedule = s.optim.schedule(s.updates)?;
    let shaping =
        Shaping { invalid_penalty: s.invalid_penalty, explore_bonus: s.explore_bonus.then_some(1.0) };
    let train_agent = AgentSettings { entropy: true, ..s.agent.clone() };
    let eval = eval_settings(s, data.as_ref())?;
    let mut log = RlLog::open(out, state.update)?;
    let device = gpu.adapter_info().name.clone();
    let every = s.save_every.max(1);
    // checkpoints at the first rollout boundary at or past each multiple of save_every
    let mut next_save = (state.update / every + 1) * every;
    let mut saved_at: Option<u64> = None;
    let mut interrupted = false;

    let evaluate = |policy: &mut Engine, log: &mut RlLog, update: u64| -> Result<()> {
        policy.set_prefix_cache(true); // the weights changed: forget cached keys and values
        let t = Instant::now();
        let o = run_eval_on(&eval, &(), Some(policy as &mut dyn crate::agent::Policy))?;
        let a = &o.summaries[0];
        log.push(&json!({
            "eval": true, "update": update, "episodes": a.episodes,
            "regret": a.mean_regret, "regret_ci95": a.regret_ci95,
            "coverage": a.mean_coverage, "coverage_ci95": a.coverage_ci95,
            "suffix_failure": a.suffix_failure_rate, "invalid_rate": a.invalid_rate,
            "return": a.mean_return, "return_ci95": a.return_ci95,
            "win_rate": a.win_rate, "draw_rate": a.draw_rate, "loss_rate": a.loss_rate,
            "greedy_frac": a.mean_greedy_frac, "min_frac": a.mean_min_frac,
            "time/eval_s": t.elapsed().as_secs_f64(),
        }))
    };
    if state.update == 0 && state.pending.is_empty() {
        if let Some(how) = learner.value_head_source() {
            progress.note(&format!("value head: {how}"));
        }
        if let RlEnv::Ttt(_) = &s.env {
            // the classic players on the evaluation's games, for comparison
            let mut b = eval.clone();
            b.agents = [BaseAgent::Random, BaseAgent::Minimax, BaseAgent::Mcts]
                .into_iter()
                .map(|base| AgentSpec { wrappers: Vec::new(), base })
                .collect();
            b.llm = None;
            for a in run_eval_on(&b, &(), None)?.summaries {
                log.push(&json!({
                    "baseline": a.agent, "update": 0, "episodes": a.episodes,
                    "return": a.mean_return, "return_ci95": a.return_ci95,
                    "win_rate": a.win_rate, "draw_rate": a.draw_rate, "loss_rate": a.loss_rate,
                }))?;
            }
        }
        evaluate(&mut policy, &mut log, 0)?;
    }
    progress.start(s.stop_at, "updates");
    progress.set(state.update);
    let per_rollout = s.updates_per_rollout();
    if per_rollout == 0 {
        bail!(
            "a rollout of {} samples holds no full batch of {}: lower --batch or raise --envs (tic-tac-toe: --rollout-steps)",
            s.rollout_samples(),
            s.batch
        );
    }
    let checkpoint = |learner: &mut GpuLearner, state: &RlState| -> Result<PathBuf> {
        use crate::train::learner::Learner;
        let dir = out.join(checkpoint_name(state.update));
        learner.save(&dir, &serde_json::to_value(state)?)?;
        // keep the newest `keep_checkpoints`
        let mut all: Vec<u64> = std::fs::read_dir(out)?
            .flatten()
            .filter_map(|e| {
                e.file_name().to_string_lossy().strip_prefix("checkpoint-").and_then(|n| n.parse().ok())
            })
            .collect();
        all.sort_unstable();
        let keep = s.keep_checkpoints.max(1);
        if all.len() > keep {
            for n in &all[..all.len() - keep] {
                let _ = std::fs::remove_dir_all(out.join(checkpoint_name(*n)));
            }
        }
        Ok(dir)
    };

    'rollouts: while state.update < s.stop_at {
        let r = state.rollout;
        let (samples, metrics, t_gen, t_ref) = if state.pending.is_empty() {
            let mut ctx = Collect {
                settings: s,
                policy: &mut policy,
                reference: &mut reference,
                learner: &mut learner,
                pool: &pool,
                tokenizer: &tok,
                end,
                vocab,
                shaping: &shaping,
                agent: &train_agent,
                data: data.as_ref(),
            };
            let c = collect(&mut ctx, r, &mut state.reward_stats)?;
            (c.samples, c.metrics, c.generate_s, c.reference_s)
        } else {
            let samples: Vec<Sample> = state.pending.iter().map(SavedSample::sample).collect();
            (samples, state.pending_metrics.clone().unwrap_or(Value::Null), 0.0, 0.0)
        };
        // 3. updates over seeded shuffles of the samples
        let per_epoch = samples.len() / s.batch.max(1);
        let mut t_learn = 0.0;
        while state.epoch < s.epochs {
            let mut order: Vec<usize> = (0..samples.len()).collect();
            Rng::from_stream(derive_seed(derive_seed(s.seed, streams::SHUFFLE), r), state.epoch as u64)
                .shuffle(&mut order);
            while state.next_batch < per_epoch {
                if state.update >= s.stop_at || stop.load(Ordering::SeqCst) {
                    // inside the rollout: the checkpoint keeps its samples
                    state.pending = samples.iter().map(SavedSample::of).collect();
                    state.pending_metrics = Some(metrics.clone());
                    interrupted = state.update < s.stop_at;
                    break 'rollouts;
                }
                let b = state.next_batch;
                let batch: Vec<&Sample> =
                    order[b * s.batch..(b + 1) * s.batch].iter().map(|&i| &samples[i]).collect();
                let lr = schedule.lr(state.update) as f64;
                let value = s.value.as_ref().map(|v| &v.loss);
                let u =
                    update(&mut learner, &batch, s.micro_batch, &s.objective, value, s.mask_truncated, lr)?;
                t_learn += u.seconds;
                state.update += 1;
                state.next_batch += 1;
                let mut row = json!({
                    "update": state.update, "rollout": r, "epoch": state.epoch,
                    "loss": u.sums.loss(s.objective.kl_coef) + s.value.map_or(0.0, |v| v.loss.vf_coef as f64 * u.value.value_loss()),
                    "pg_loss": u.sums.pg_loss(), "kl": u.sums.kl_mean(),
                    "clip_frac": u.sums.clip_frac(), "ratio_mean": u.sums.ratio_mean(),
                    "approx_kl_old": if u.sums.tokens == 0 { 0.0 } else { u.sums.approx_kl_old / u.sums.tokens as f64 },
                    "old_logprob_gap_max": u.old_gap_max,
                    "grad_norm": u.grad_norm, "lr": lr, "skipped": u.skipped,
                    "num_tokens": u.tokens, "completion_tokens": u.sums.tokens,
                    "samples_in_loss": batch.iter().filter(|x| in_loss(x, s.mask_truncated)).count(),
                    "time/generate_s": t_gen, "time/reference_s": t_ref, "time/learn_s": u.seconds,
                    "tokens_per_s": u.tokens as f64 / u.seconds.max(1e-9),
                    "elapsed_s": started.elapsed().as_secs_f64(),
                });
                if s.value.is_some()
                    && let Some(row) = row.as_object_mut()
                {
                    row.insert("value_loss".into(), json!(u.value.value_loss()));
                    row.insert("values/pred_mean".into(), json!(u.value.value_mean()));
                    row.insert("value_clip_frac".into(), json!(u.value.clip_frac()));
                }
                if let (Some(row), Some(m)) = (row.as_object_mut(), metrics.as_object()) {
                    for (k, v) in m {
                        row.insert(k.clone(), v.clone());
                    }
                }
                log.push(&row)?;
                progress.set(state.update);
                progress.message(&format!(
                    "reward {:.3} kl {:.4} clip {:.2} invalid {:.0}%",
                    metrics["reward"].as_f64().unwrap_or(f64::NAN),
                    u.sums.kl_mean(),
                    u.sums.clip_frac(),
                    100.0 * metrics["invalid_rate"].as_f64().unwrap_or(0.0)
                ));
                if let Some(why) = &u.skipped {
                    progress.note(&format!("update {}: skipped ({why})", state.update));
                }
                if s.eval_every > 0 && state.update % s.eval_every == 0 {
                    evaluate(&mut policy, &mut log, state.update)?;
                }
            }
            state.epoch += 1;
            state.next_batch = 0;
        }
        let _ = t_learn;
        // a rollout boundary
        state.rollout += 1;
        state.epoch = 0;
        state.next_batch = 0;
        state.pending.clear();
        state.pending_metrics = None;
        if state.update >= next_save || state.update >= s.stop_at {
            checkpoint(&mut learner, &state)?;
            saved_at = Some(state.update);
            next_save = (state.update / every + 1) * every;
        }
        if stop.load(Ordering::SeqCst) && state.update < s.stop_at {
            interrupted = true;
            break;
        }
    }
    let done = state.update >= s.updates && !interrupted;
    let evaluated = read_rows(log.path())?.iter().any(|r| r["eval"] == true && r["update"] == state.update);
    if done && !evaluated {
        evaluate(&mut policy, &mut log, state.update)?;
    }
    let dir = if saved_at == Some(state.update) && state.pending.is_empty() {
        out.join(checkpoint_name(state.update))
    } else {
        checkpoint(&mut learner, &state)?
    };
    progress.finish();
    Ok(RlOutcome {
        checkpoint: dir,
        update: state.update,
        interrupted,
        rows: read_rows(log.path())?,
        device,
        seconds: started.elapsed().as_secs_f64(),
    })
}
