//! Runs UCB episodes on fresh 10-arm Gaussian bandits (the bench's workload) for profiling:
//! `cargo run --release -p greedy-tests --example steps -- 200000`.
use env_core::agents::{Ucb, run_bandit_episode};
use env_core::{MabConfig, MultiArmedBandit};

fn main() {
    let episodes: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let (mut actions, mut rewards) = ([0usize; 50], [0f64; 50]);
    let mut total = 0.0;
    let start = std::time::Instant::now();
    for e in 0..episodes {
        let mut env = MultiArmedBandit::new(MabConfig::default(), e).expect("valid");
        run_bandit_episode(&mut env, &mut Ucb::paper(), e, &mut actions, &mut rewards).expect("episode");
        total += rewards[49];
    }
    let secs = start.elapsed().as_secs_f64();
    println!("steps_per_s={:.0} (checksum {total:.3})", episodes as f64 * 50.0 / secs);
}
