//! Tic-tac-toe end to end: baseline agents stepping the environment against each opponent.
//!
//! Every game is fixed by its seeds, so the measured rates are exact for this code; they are
//! written next to each assertion (dev profile, whole file about 5 s).

use env_core::ttt::{
    Board, FirstMover, Mark, Mcts, MctsConfig, Minimax, NoisyMcts, Opponent, Outcome, RandomPlayer,
    TicTacToe, TttConfig, TttPlayer,
};
use env_core::{Environment, Error, Rng};

/// Wins, draws, losses of the agent.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Tally {
    win: u32,
    draw: u32,
    loss: u32,
}

impl Tally {
    fn games(&self) -> u32 {
        self.win + self.draw + self.loss
    }
    fn win_rate(&self) -> f64 {
        self.win as f64 / self.games() as f64
    }
    fn loss_rate(&self) -> f64 {
        self.loss as f64 / self.games() as f64
    }
    /// SPEC section 4: average return = win rate - loss rate.
    fn average_return(&self) -> f64 {
        self.win_rate() - self.loss_rate()
    }
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Win => self.win += 1,
            Outcome::Draw => self.draw += 1,
            Outcome::Loss => self.loss += 1,
        }
    }
}

/// One step of a game: the agent's action, the opponent's reply and the board after both.
type Ply = (usize, Option<usize>, Board);

/// Plays one episode of `env` with seed `seed`; the agent draws from its own stream of the seed.
/// Returns the outcome and the number of agent moves; checks the environment's invariants.
fn play<P: TttPlayer>(
    env: &mut TicTacToe<P>,
    agent: &mut dyn TttPlayer,
    seed: u64,
    mut log: Option<&mut Vec<Ply>>,
) -> Outcome {
    let mut rng = Rng::from_stream(seed, 0xA6E7);
    let mut board = env.reset(seed).unwrap();
    let mut total = 0.0;
    loop {
        let action = agent.choose(&board, Mark::Agent, &mut rng).unwrap();
        let t = env.step(action).unwrap();
        assert!(!t.truncated);
        total += t.reward;
        assert_eq!(t.observation.get(action), Ok(Some(Mark::Agent)));
        if let Some(o) = t.info.opponent_move {
            assert_eq!(t.observation.get(o), Ok(Some(Mark::Opponent)));
        }
        if let Some(log) = log.as_deref_mut() {
            log.push((action, t.info.opponent_move, t.observation));
        }
        board = t.observation;
        if t.terminated {
            let outcome = t.info.outcome.unwrap();
            assert_eq!(t.reward, outcome.reward());
            assert_eq!(total, outcome.reward(), "reward only at the end");
            assert_eq!(env.step(0), Err(Error::EpisodeOver));
            return outcome;
        }
        assert_eq!(t.reward, 0.0);
        assert_eq!(t.info.outcome, None);
    }
}

fn tally(
    opponent: Opponent,
    first: FirstMover,
    agent: &mut dyn TttPlayer,
    seeds: core::ops::Range<u64>,
) -> Tally {
    let mut env = TicTacToe::new(TttConfig { opponent, first }).unwrap();
    let mut t = Tally::default();
    for seed in seeds {
        t.add(play(&mut env, agent, seed, None));
    }
    t
}

#[test]
fn minimax_never_loses_to_random_and_wins_most() {
    // Measured: 967 wins, 33 draws, 0 losses (agent first); 236 / 64 / 0 (opponent first).
    let t = tally(Opponent::Random, FirstMover::Agent, &mut Minimax, 0..1000);
    println!("minimax vs random, agent first: {t:?}");
    assert_eq!(t.loss, 0, "{t:?}");
    assert!(t.win_rate() > 0.95, "{t:?}");
    let t = tally(Opponent::Random, FirstMover::Opponent, &mut Minimax, 0..300);
    println!("minimax vs random, opponent first: {t:?}");
    assert_eq!(t.loss, 0, "{t:?}");
    assert!(t.win_rate() > 0.7, "{t:?}");
}

#[test]
fn minimax_against_minimax_always_draws() {
    for first in [FirstMover::Agent, FirstMover::Opponent] {
        let t = tally(Opponent::Minimax, first, &mut Minimax, 0..100);
        assert_eq!(t, Tally { win: 0, draw: 100, loss: 0 }, "{first:?}");
    }
}

#[test]
fn mcts_beats_random() {
    let mut agent = Mcts::<2048>::new(MctsConfig::with_simulations(2000)).unwrap();
    // Measured: 199 wins, 1 draw, 0 losses (average return 0.995).
    let t = tally(Opponent::Random, FirstMover::Agent, &mut agent, 0..200);
    println!("mcts(2000) vs random: {t:?} return {}", t.average_return());
    assert!(t.win_rate() > 0.8, "{t:?}");
    assert!(t.loss_rate() < 0.03, "{t:?}");
}

#[test]
fn mcts_opponent_punishes_a_random_agent() {
    // Measured: 0 wins, 15 draws, 185 losses (average return -0.925; for comparison the paper reports -0.95 for Gemma2 2B).
    let t = tally(Opponent::Mcts { simulations: 1000 }, FirstMover::Agent, &mut RandomPlayer, 0..200);
    println!("random vs mcts(1000): {t:?} return {}", t.average_return());
    assert!(t.average_return() < -0.6, "{t:?}");
}

#[test]
fn noisy_mcts_is_weaker_than_mcts() {
    let mut random = RandomPlayer;
    // Measured: vs MCTS 0 / 11 / 189 (return -0.945), vs noisy 48 / 29 / 123 (return -0.375).
    // As opponents: a random agent does much better against the noisy one.
    let vs_mcts = tally(Opponent::Mcts { simulations: 500 }, FirstMover::Agent, &mut random, 0..200);
    let vs_noisy =
        tally(Opponent::NoisyMcts { simulations: 500, p: 0.5 }, FirstMover::Agent, &mut random, 0..200);
    println!("random vs mcts(500): {vs_mcts:?}; vs noisy-mcts(500, 0.5): {vs_noisy:?}");
    assert!(vs_noisy.average_return() > vs_mcts.average_return() + 0.2, "{vs_mcts:?} {vs_noisy:?}");
    // As agents against perfect play: MCTS draws nearly always, the noisy one loses often.
    // Measured: MCTS 0 / 100 / 0, noisy 0 / 65 / 35.
    let mut mcts = Mcts::<1024>::new(MctsConfig::with_simulations(500)).unwrap();
    let mut noisy = NoisyMcts::<1024>::new(MctsConfig::with_simulations(500), 0.5).unwrap();
    let strong = tally(Opponent::Minimax, FirstMover::Agent, &mut mcts, 0..100);
    let weak = tally(Opponent::Minimax, FirstMover::Agent, &mut noisy, 0..100);
    println!("mcts(500) vs minimax: {strong:?}; noisy-mcts vs minimax: {weak:?}");
    assert_eq!(strong.win + weak.win, 0, "nobody beats minimax");
    assert!(weak.loss >= strong.loss + 20, "{strong:?} {weak:?}");
}

#[test]
fn same_seed_same_game_and_seeds_differ() {
    let config = TttConfig {
        opponent: Opponent::NoisyMcts { simulations: 100, p: 0.5 },
        first: FirstMover::Alternate,
    };
    let mut env = TicTacToe::new(config).unwrap();
    let mut games = Vec::new();
    for seed in 0..8 {
        let mut a = Vec::new();
        let mut b = Vec::new();
        play(&mut env, &mut RandomPlayer, seed, Some(&mut a));
        play(&mut env, &mut RandomPlayer, seed, Some(&mut b));
        assert_eq!(a, b, "seed {seed}");
        games.push(a);
    }
    games.sort_by_key(|g| format!("{g:?}"));
    games.dedup();
    assert!(games.len() >= 7, "different seeds give different games");
}

/// Regression pin: the seeded game random agent vs MCTS(200) opponent, seed 3. It changes only
/// if the RNG, the board, the search or the environment changes; on every target the same.
#[test]
fn golden_game_random_vs_mcts_seed_3() {
    let mut env =
        TicTacToe::new(TttConfig { opponent: Opponent::Mcts { simulations: 200 }, first: FirstMover::Agent })
            .unwrap();
    let mut log = Vec::new();
    let outcome = play(&mut env, &mut RandomPlayer, 3, Some(&mut log));
    let got: Vec<(usize, Option<usize>, String)> =
        log.iter().map(|(a, o, b)| (*a, *o, b.to_string())).collect();
    println!("golden: {got:?} {outcome:?}");
    let want: Vec<(usize, Option<usize>, String)> =
        GOLDEN.iter().map(|&(a, o, s)| (a, o, s.to_string())).collect();
    assert_eq!(got, want);
    assert_eq!(outcome, GOLDEN_OUTCOME);
}

/// (agent action, opponent reply, board after both), captured from the first run.
const GOLDEN: &[(usize, Option<usize>, &str)] = &[
    (4, Some(0), "200010000"),
    (3, Some(5), "200112000"),
    (6, Some(2), "202112100"),
    (1, Some(8), "212112102"),
];
const GOLDEN_OUTCOME: Outcome = Outcome::Loss;
