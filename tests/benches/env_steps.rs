//! Environment steps per second, on the same workload as the Python peer
//! (`../shared/peers/banditbench_steps.py`): a UCB agent on a fresh 10-arm Gaussian bandit
//! (sigma 1, horizon 50) per episode, the bandit's construction included.
//!
//! Run: `cargo bench -p greedy-tests --bench env_steps`; `tools/bench-env.sh` runs it next to
//! the peer and prints the ratio.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use env_core::agents::{run_bandit_episode, Ucb};
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

criterion_group!(benches, mab_ucb_steps);
criterion_main!(benches);
