//! The golden scenarios against independent references: the values pinned in env-core's own
//! tests, the 2048-node MCTS opponent, the C example's committed output, and the random
//! generator itself.

use env_core::ttt::{FirstMover, Minimax, Opponent, RandomPlayer, TicTacToe, TttConfig, TttPlayer};
use env_core::{Environment, MabConfig, MultiArmedBandit, Rng};
use env_core_golden::scenarios::{self, RANDOM_AGENT_STREAM};
use env_core_golden::{Fnv64, Sink};

/// One value a scenario sent.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    U32(u32),
    F64(u64),
    Bytes(Vec<u8>),
}

/// Records the values instead of hashing them.
#[derive(Default)]
struct Recorder(Vec<Value>);

impl Sink for Recorder {
    fn bytes(&mut self, bytes: &[u8]) {
        self.0.push(Value::Bytes(bytes.to_vec()));
    }
    fn u32(&mut self, v: u32) {
        self.0.push(Value::U32(v));
    }
    fn f64(&mut self, v: f64) {
        self.0.push(Value::F64(v.to_bits()));
    }
}

fn record(run: fn(&mut dyn Sink) -> env_core::Result<()>) -> Vec<Value> {
    let mut r = Recorder::default();
    run(&mut r).unwrap();
    r.0
}

#[test]
fn cb_starts_with_env_cores_golden_steps() {
    // env-core/tests/cb.rs: (user, action, reward bits) of tables 42, episode 9, LinUCB 0.5.
    const GOLDEN: [(u32, u32, u64); 4] = [
        (143, 2, 4617229644728539222),
        (73, 2, 4616986922056065801),
        (157, 3, 4617942303800702750),
        (63, 2, 4613674633066624398),
    ];
    let v = record(scenarios::cb_synthetic);
    assert_eq!(v.len(), 50 * 4);
    for (i, &(user, arm, bits)) in GOLDEN.iter().enumerate() {
        assert_eq!(&v[4 * i..4 * i + 3], &[Value::U32(user), Value::U32(arm), Value::F64(bits)], "step {i}");
    }
}

#[test]
fn ucb_starts_with_env_cores_golden_steps_and_sums_its_regret() {
    // env-core/tests/bandit_agents.rs: (action, reward bits) of UCB on scenario 7, seed 11.
    const GOLDEN_UCB: [(u32, u64); 10] = [
        (0, 0x3ff2adebe132af98),
        (1, 0x3ff3ebc0ef11386e),
        (2, 0x4006e99ec08083a8),
        (3, 0x3feee4faeff69314),
        (4, 0xbfe8271b61b08d0f),
        (5, 0x3ff390783bf185da),
        (6, 0xbfedcb9476beb591),
        (7, 0x3f9602f8f22ae800),
        (8, 0x3fd76849c833c3c4),
        (9, 0x3fe5de5d6f2ca18a),
    ];
    let v = record(scenarios::ucb_regret);
    for (i, &(a, bits)) in GOLDEN_UCB.iter().enumerate() {
        assert_eq!(&v[3 * i..3 * i + 2], &[Value::U32(a), Value::F64(bits)], "step {i}");
    }
    // The regret curve, summed here from the bandit's means.
    let env = MultiArmedBandit::new(MabConfig::default(), 7).unwrap();
    let best = env.means().iter().cloned().fold(f64::MIN, f64::max);
    let mut sum = 0.0;
    for t in 0..50 {
        let Value::U32(a) = v[3 * t] else { panic!() };
        sum += best - env.means()[a as usize];
        assert_eq!(v[3 * t + 2], Value::F64(sum.to_bits()), "regret at step {t}");
    }
}

#[test]
fn gaussian_rewards_are_the_generators_normals() {
    // Reset(seed) seeds `Rng::new(seed)`; each Gaussian reward is one `normal(mu, 1)` draw.
    let env = MultiArmedBandit::new(MabConfig::default(), 7).unwrap();
    let v = record(scenarios::mab_gaussian);
    let means: Vec<Value> = env.means().iter().map(|m| Value::F64(m.to_bits())).collect();
    assert_eq!(&v[..10], &means[..]);
    let mut rng = Rng::new(11);
    for t in 0..50 {
        let arm = (t * 7 + 1) % 10;
        let want = rng.normal(env.means()[arm], 1.0);
        assert_eq!(&v[10 + 3 * t..12 + 3 * t], &[Value::U32(arm as u32), Value::F64(want.to_bits())]);
    }
}

/// (agent move, opponent reply, board) of a game against `opponent`.
fn moves(v: &[Value]) -> Vec<(u32, u32, String)> {
    v[1..v.len() - 1]
        .chunks(4)
        .map(|c| match c {
            [Value::U32(a), Value::U32(o), Value::Bytes(b), Value::F64(_)] => {
                (*a, *o, String::from_utf8(b.clone()).unwrap())
            }
            _ => panic!("{c:?}"),
        })
        .collect()
}

/// The same game with env-core's `Opponent::Mcts` (a 2048-node arena per move).
fn reference_game(agent: &mut dyn TttPlayer, rng: &mut Rng) -> (Vec<(u32, u32, String)>, f64) {
    let mut env =
        TicTacToe::new(TttConfig { opponent: Opponent::Mcts { simulations: 200 }, first: FirstMover::Agent })
            .unwrap();
    env.reset(3).unwrap();
    let mut out = Vec::new();
    let mut reward = 0.0;
    while !env.is_done() {
        let pos = agent.choose(env.board(), env_core::ttt::Mark::Agent, rng).unwrap();
        let tr = env.step(pos).unwrap();
        out.push((
            pos as u32,
            tr.info.opponent_move.map_or(9, |m| m as u32),
            tr.observation.as_str().to_string(),
        ));
        reward = tr.reward;
    }
    (out, reward)
}

#[test]
fn the_256_node_mcts_game_is_env_cores_golden_game() {
    // env-core/tests/ttt.rs: random agent vs MCTS(200), seed 3.
    let want: Vec<(u32, u32, String)> =
        [(4, 0, "200010000"), (3, 5, "200112000"), (6, 2, "202112100"), (1, 8, "212112102")]
            .iter()
            .map(|&(a, o, b)| (a, o, b.to_string()))
            .collect();
    let v = record(scenarios::ttt_random_vs_mcts);
    assert_eq!(moves(&v), want);
    assert_eq!(v.last(), Some(&Value::F64((-1.0f64).to_bits())), "golden outcome: loss");
    let (reference, _) =
        reference_game(&mut RandomPlayer::new(), &mut Rng::from_stream(3, RANDOM_AGENT_STREAM));
    assert_eq!(moves(&v), reference);
}

#[test]
fn the_minimax_game_is_the_c_examples_game() {
    let v = record(scenarios::ttt_minimax_vs_mcts);
    let (reference, reward) = reference_game(&mut Minimax::new(), &mut Rng::new(3));
    assert_eq!(moves(&v), reference);
    assert_eq!(v.last(), Some(&Value::F64(reward.to_bits())));
    // The C example's committed output lists the same moves.
    let expected = include_str!("../../ffi/examples/simulator.expected");
    for (i, (a, o, b)) in reference.iter().enumerate() {
        let reply = if *o == 9 { "-".to_string() } else { o.to_string() };
        let line = format!("move {}: agent {a}, opponent {reply} -> {b}", i + 1);
        assert!(expected.contains(&line), "{line}");
    }
}

#[test]
fn the_prompt_digest_is_the_c_examples_prompt() {
    let expected = include_str!("../../ffi/examples/simulator.expected");
    let start = expected.find("<start_of_turn>user").unwrap();
    let end = expected.find("== tic-tac-toe").unwrap();
    let text = &expected[start..end];
    let mut want = Fnv64::default();
    want.bytes(text.as_bytes());
    let mut got = Fnv64::default();
    scenarios::prompt(&mut got).unwrap();
    // The scenario streams the text in pieces, then its length: same bytes, same hash.
    want.u32(text.len() as u32);
    assert_eq!(got.finish(), want.finish());
}

#[test]
fn every_digest_is_stable_and_distinct() {
    let mut a = Vec::new();
    env_core_golden::run_all(&mut |r| a.push(r)).unwrap();
    let mut b = Vec::new();
    env_core_golden::run_all(&mut |r| b.push(r)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 8);
    let mut digests: Vec<_> = a.iter().map(|r| r.digest).collect();
    digests.sort();
    digests.dedup();
    assert_eq!(digests.len(), 8, "distinct scenarios, distinct digests");
}
