//! Environment steps per second, on the same workload as the Python peer
//! (`../shared/peers/banditbench_steps.py`): a UCB agent on a fresh 10-arm Gaussian bandit
//! (sigma 1, horizon 50) per episode, the bandit's construction included.
//!
//! Run: `cargo bench -p greedy-tests --bench env_steps`; `tools/bench-env.sh` runs it next to
//! the peer and prints the ratio.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use env_core::Environment;
use env_core::agents::{BanditPolicy, Ucb, run_bandit_episode};
use env_core::prompt::{MabPromptSpec, write_mab_prompt};
use env_core::{MabConfig, MultiArmedBandit};
use std::hint::black_box;

const HORIZON: usize = 50;

fn mab_ucb_steps(c: &mut Criterion) {
    let mut group = c.benchmark_group("env");
    group.throughput(Throughput::Elements(HORIZON as u64));
    let config = MabConfig::default();
    let mut actions = [0usize; HORIZON];
    let mut rewards = [0f64; HORIZON];
    let mut episode = 0u64;
    group.bench_function("mab10_gaussian_ucb_episode", |b| {
        b.iter(|| {
            episode += 1;
            let mut env = MultiArmedBandit::new(config, episode).expect("valid config");
            let mut ucb = Ucb::paper();
            run_bandit_episode(&mut env, &mut ucb, episode, &mut actions, &mut rewards).expect("episode");
            black_box(&rewards);
        })
    });
    group.finish();
}

/// The parts of one step, to see where the time goes.
fn step_parts(c: &mut Criterion) {
    let mut group = c.benchmark_group("parts");
    group.throughput(Throughput::Elements(1));
    let mut rng = env_core::Rng::new(1);
    group.bench_function("standard_normal", |b| b.iter(|| black_box(rng.standard_normal())));
    let config = MabConfig { horizon: env_core::mab::MAX_HORIZON, ..MabConfig::default() };
    let mut env = MultiArmedBandit::new(config, 1).expect("valid config");
    let mut arm = 0;
    group.bench_function("mab_step", |b| {
        b.iter(|| {
            if env.is_done() {
                env.reset(1).expect("reset");
            }
            arm = (arm + 1) % 10;
            black_box(env.step(arm).expect("step").reward)
        })
    });
    let mut ucb = Ucb::paper();
    ucb.reset(10).expect("reset");
    let mut n = 0u32;
    group.bench_function("ucb_select_update", |b| {
        b.iter(|| {
            n += 1;
            if n.is_multiple_of(1000) {
                ucb.reset(10).expect("reset");
            }
            let a = ucb.select(&mut rng).expect("select");
            ucb.update(a, (a as f64) * 0.1).expect("update");
        })
    });
    group.bench_function("mab_new", |b| {
        b.iter(|| {
            n += 1;
            black_box(MultiArmedBandit::new(MabConfig::default(), n as u64).expect("valid").best_arm())
        })
    });
    group.finish();
}

/// Prompt renders per second: the full chat-wrapped MAB context with chain-of-thought after 49
/// steps (the longest a 50-step episode shows), into a reused fixed-capacity buffer.
fn prompt_renders(c: &mut Criterion) {
    let mut group = c.benchmark_group("prompt");
    group.throughput(Throughput::Elements(1));
    let config = MabConfig::default();
    let mut env = MultiArmedBandit::new(config, 3).expect("valid config");
    let (mut actions, mut rewards) = ([0usize; HORIZON], [0f64; HORIZON]);
    run_bandit_episode(&mut env, &mut Ucb::paper(), 3, &mut actions, &mut rewards).expect("episode");
    let spec = MabPromptSpec::new(&config);
    let mut buf = heapless::String::<4096>::new();
    group.bench_function("mab10_cot_chat_49_steps", |b| {
        b.iter(|| {
            buf.clear();
            write_mab_prompt(&mut buf, &spec, env.labels(), &actions[..49], &rewards[..49]).expect("fits");
            black_box(buf.len())
        })
    });
    let summary = MabPromptSpec { summary: true, ..MabPromptSpec::new(&config) };
    group.bench_function("mab10_cot_chat_49_steps_summary", |b| {
        b.iter(|| {
            buf.clear();
            write_mab_prompt(&mut buf, &summary, env.labels(), &actions[..49], &rewards[..49]).expect("fits");
            black_box(buf.len())
        })
    });
    group.finish();
}

criterion_group!(benches, mab_ucb_steps, step_parts, prompt_renders);
criterion_main!(benches);
