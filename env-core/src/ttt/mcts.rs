//! UCT Monte-Carlo tree search with a fixed-capacity node arena.
//!
//! Each simulation descends the tree by UCB1 (`mean + c * sqrt(ln N_parent / N_child)`, with a
//! win worth 1, a draw 1/2, a loss 0 for the player who made the move), expands one untried move
//! chosen at random, finishes the game with uniformly random moves and backs the result up. When
//! the arena is full the tree stops growing and the remaining simulations are rollouts from its
//! frontier. The move played is the root child visited most (ties: the higher total score, then
//! the one expanded first).
//!
//! Memory: `Mcts<NODES>` holds `NODES` nodes of 16 bytes (`Mcts<256>` is 4 KiB) and nothing
//! else; the search itself uses a few dozen bytes of stack. A budget of `s` simulations needs at
//! most `s + 1` nodes.

use super::bits::{FULL, has_line, random_bit};
use super::board::Board;
use super::mark::Mark;
use super::player::{TttPlayer, playable};
use crate::error::{Error, Result, check_count, check_range};
use crate::rng::Rng;

/// The UCT exploration constant used unless set: sqrt(2).
pub const DEFAULT_EXPLORATION: f64 = core::f64::consts::SQRT_2;

/// Largest simulation budget accepted per move.
pub const MAX_SIMULATIONS: u32 = 1_000_000;

/// Largest exploration constant accepted.
const MAX_EXPLORATION: f64 = 100.0;

/// Smallest arena: the root and one child per first move.
const MIN_NODES: usize = 10;

/// "No node" in the arena's links.
const NONE: u16 = u16::MAX;

/// The settings of an MCTS player.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MctsConfig {
    /// Simulations (playouts) per move, `1..=MAX_SIMULATIONS`.
    pub simulations: u32,
    /// The UCT exploration constant `c`, `0..=100` (default sqrt(2)).
    pub exploration: f64,
}

impl Default for MctsConfig {
    /// 1000 simulations, `c = sqrt(2)`.
    fn default() -> Self {
        MctsConfig { simulations: 1000, exploration: DEFAULT_EXPLORATION }
    }
}

impl MctsConfig {
    /// `simulations` with the default exploration constant.
    pub fn with_simulations(simulations: u32) -> Self {
        MctsConfig { simulations, ..MctsConfig::default() }
    }

    /// Checks every setting ([`Error::OutOfRange`], [`Error::NotFinite`]).
    pub fn validate(&self) -> Result<()> {
        check_count("simulations", self.simulations as usize, 1, MAX_SIMULATIONS as usize)?;
        check_range("exploration", self.exploration, 0.0, MAX_EXPLORATION)
    }
}

/// One tree node: the position reached by `mv`, with statistics for the player who played it.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Simulations through this node.
    visits: u32,
    /// Their results for the player who moved into the node, in half points (win 2, draw 1).
    score: u32,
    /// Most recently expanded child, or `NONE`.
    first_child: u16,
    /// The parent's next child, or `NONE`.
    next_sibling: u16,
    /// Free cells not expanded yet (0 at a finished position).
    untried: u16,
    /// The move into the node (the root's is meaningless).
    mv: u8,
}

const EMPTY_NODE: Node =
    Node { visits: 0, score: 0, first_child: NONE, next_sibling: NONE, untried: 0, mv: 0 };

/// The UCT player with an arena of `NODES` nodes (`10..=65535`).
#[derive(Debug, Clone)]
pub struct Mcts<const NODES: usize> {
    config: MctsConfig,
    nodes: [Node; NODES],
    len: usize,
}

/// Positions of both players during a simulation, from the point of view of the side to move.
#[derive(Clone, Copy)]
struct State {
    /// The side to move's cells.
    to_move: u16,
    /// The other side's cells.
    other: u16,
    /// Whether the side to move is the searching player.
    me_to_move: bool,
}

impl State {
    /// Plays `pos` for the side to move; returns whether that move won.
    #[inline]
    fn play(&mut self, pos: usize) -> bool {
        let moved = self.to_move | (1 << pos);
        let won = has_line(moved);
        self.to_move = self.other;
        self.other = moved;
        self.me_to_move = !self.me_to_move;
        won
    }

    #[inline]
    fn free(&self) -> u16 {
        !(self.to_move | self.other) & FULL
    }
}

/// How a simulated game ended, from the searching player's point of view.
#[derive(Clone, Copy, PartialEq)]
enum End {
    MeWon,
    MeLost,
    Draw,
}

impl<const NODES: usize> Mcts<NODES> {
    /// A player with `config`; [`Error::OutOfRange`] for bad settings and
    /// [`Error::CapacityExceeded`] when `NODES` is outside `10..=65535`.
    pub fn new(config: MctsConfig) -> Result<Self> {
        config.validate()?;
        if !(MIN_NODES..=NONE as usize).contains(&NODES) {
            return Err(Error::CapacityExceeded {
                what: "MCTS arena nodes",
                capacity: NONE as usize,
                requested: NODES,
            });
        }
        Ok(Mcts { config, nodes: [EMPTY_NODE; NODES], len: 0 })
    }

    /// The settings.
    pub fn config(&self) -> &MctsConfig {
        &self.config
    }

    /// Nodes the last search used (at most `NODES`).
    pub fn nodes_used(&self) -> usize {
        self.len
    }

    /// Visits of each root move in the last search (index = cell; 0 for unexpanded moves).
    pub fn root_visits(&self) -> [u32; 9] {
        let mut v = [0; 9];
        if self.len == 0 {
            return v;
        }
        let mut c = self.nodes[0].first_child;
        while let Some(n) = self.nodes.get(c as usize) {
            v[n.mv as usize] = n.visits;
            c = n.next_sibling;
        }
        v
    }

    /// Adds a node; `None` when the arena is full.
    fn push(&mut self, node: Node) -> Option<u16> {
        let slot = self.nodes.get_mut(self.len)?;
        *slot = node;
        self.len += 1;
        Some((self.len - 1) as u16)
    }

    /// The child of `parent` with the highest UCB1 value (the first expanded among ties).
    fn select(&self, parent: usize) -> Option<usize> {
        let p = &self.nodes[parent];
        let log_n = libm::log(p.visits.max(1) as f64);
        let c = self.config.exploration;
        let mut best = None;
        let mut best_value = f64::NEG_INFINITY;
        let mut i = p.first_child;
        while let Some(n) = self.nodes.get(i as usize) {
            let visits = n.visits.max(1) as f64;
            let value = n.score as f64 / (2.0 * visits) + c * libm::sqrt(log_n / visits);
            if value > best_value {
                best_value = value;
                best = Some(i as usize);
            }
            i = n.next_sibling;
        }
        best
    }

    /// Runs one simulation from the root.
    fn simulate(&mut self, root: State, rng: &mut Rng) {
        let mut path = [0u16; 10];
        let mut depth = 0;
        let mut state = root;
        let mut node = 0usize;
        let mut end = None;
        // Selection: descend while the node is fully expanded.
        loop {
            let n = self.nodes[node];
            if n.untried != 0 || n.first_child == NONE {
                break;
            }
            let Some(child) = self.select(node) else { break };
            let mover_is_me = state.me_to_move;
            let won = state.play(self.nodes[child].mv as usize);
            node = child;
            depth += 1;
            path[depth] = child as u16;
            if won {
                end = Some(if mover_is_me { End::MeWon } else { End::MeLost });
                break;
            }
            if state.free() == 0 {
                end = Some(End::Draw);
                break;
            }
        }
        // Expansion: one random untried move, if the arena has room.
        if end.is_none() && self.nodes[node].untried != 0 && self.len < NODES {
            let untried = self.nodes[node].untried;
            if let Some(pos) = random_bit(untried, rng) {
                let mover_is_me = state.me_to_move;
                let won = state.play(pos);
                let untried = if won { 0 } else { state.free() };
                let child =
                    Node { mv: pos as u8, untried, next_sibling: self.nodes[node].first_child, ..EMPTY_NODE };
                if let Some(id) = self.push(child) {
                    self.nodes[node].untried &= !(1 << pos);
                    self.nodes[node].first_child = id;
                    depth += 1;
                    path[depth] = id;
                }
                if won {
                    end = Some(if mover_is_me { End::MeWon } else { End::MeLost });
                } else if state.free() == 0 {
                    end = Some(End::Draw);
                }
            }
        }
        // Rollout: uniformly random moves to the end.
        let end = match end {
            Some(e) => e,
            None => rollout(state, rng),
        };
        // Backpropagation: the root's visits feed ln N; a node at odd depth was reached by me.
        for (d, &id) in path.iter().enumerate().take(depth + 1) {
            let n = &mut self.nodes[id as usize];
            n.visits = n.visits.saturating_add(1);
            let mover_is_me = d % 2 == 1;
            let points = match (end, mover_is_me) {
                (End::Draw, _) => 1,
                (End::MeWon, true) | (End::MeLost, false) => 2,
                _ => 0,
            };
            n.score = n.score.saturating_add(points);
        }
    }
}

/// Plays uniformly random moves from `state` (not finished) to the end.
fn rollout(mut state: State, rng: &mut Rng) -> End {
    loop {
        let Some(pos) = random_bit(state.free(), rng) else { return End::Draw };
        let mover_is_me = state.me_to_move;
        if state.play(pos) {
            return if mover_is_me { End::MeWon } else { End::MeLost };
        }
    }
}

impl<const NODES: usize> TttPlayer for Mcts<NODES> {
    fn choose(&mut self, board: &Board, me: Mark, rng: &mut Rng) -> Result<usize> {
        self.config.validate()?;
        let free = playable(board)?;
        self.len = 0;
        self.push(Node { untried: free, ..EMPTY_NODE }).ok_or(Error::CapacityExceeded {
            what: "MCTS arena nodes",
            capacity: NODES,
            requested: 1,
        })?;
        if free.count_ones() == 1 {
            return Ok(free.trailing_zeros() as usize);
        }
        let root = State { to_move: board.mask(me), other: board.mask(me.other()), me_to_move: true };
        for _ in 0..self.config.simulations {
            self.simulate(root, rng);
        }
        // The most visited root child; ties go to the higher score, then the first found.
        let mut best: Option<Node> = None;
        let mut i = self.nodes[0].first_child;
        while let Some(&n) = self.nodes.get(i as usize) {
            let better = match best {
                None => true,
                Some(b) => (n.visits, n.score) > (b.visits, b.score),
            };
            if better {
                best = Some(n);
            }
            i = n.next_sibling;
        }
        match best {
            Some(n) => Ok(n.mv as usize),
            // Not reachable with NODES >= 10 and simulations >= 1, but never panic.
            None => random_bit(free, rng).ok_or(Error::EpisodeOver),
        }
    }

    fn name(&self) -> &'static str {
        "mcts"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Board {
        Board::parse(s).unwrap()
    }

    #[test]
    fn settings_are_validated() {
        assert!(Mcts::<64>::new(MctsConfig::default()).is_ok());
        assert!(matches!(
            Mcts::<64>::new(MctsConfig::with_simulations(0)),
            Err(Error::OutOfRange { name: "simulations", .. })
        ));
        assert!(matches!(
            Mcts::<64>::new(MctsConfig::with_simulations(MAX_SIMULATIONS + 1)),
            Err(Error::OutOfRange { name: "simulations", .. })
        ));
        assert!(matches!(
            Mcts::<64>::new(MctsConfig { simulations: 10, exploration: -1.0 }),
            Err(Error::OutOfRange { name: "exploration", .. })
        ));
        assert!(matches!(
            Mcts::<64>::new(MctsConfig { simulations: 10, exploration: f64::NAN }),
            Err(Error::NotFinite { name: "exploration" })
        ));
        assert!(matches!(Mcts::<9>::new(MctsConfig::default()), Err(Error::CapacityExceeded { .. })));
        assert!(Mcts::<10>::new(MctsConfig::default()).is_ok());
    }

    #[test]
    fn node_is_sixteen_bytes() {
        assert_eq!(core::mem::size_of::<Node>(), 16);
    }

    #[test]
    fn takes_an_immediate_win_and_blocks() {
        let mut p = Mcts::<512>::new(MctsConfig::with_simulations(400)).unwrap();
        for seed in 0..10 {
            let mut rng = Rng::new(seed);
            // Agent wins at 2 (the opponent threatens 3).
            assert_eq!(p.choose(&b("110022000"), Mark::Agent, &mut rng), Ok(2));
            // The opponent must block 2.
            assert_eq!(p.choose(&b("110200000"), Mark::Opponent, &mut rng), Ok(2));
        }
    }

    #[test]
    fn arena_never_overflows_and_search_continues_when_full() {
        let mut p = Mcts::<10>::new(MctsConfig::with_simulations(2000)).unwrap();
        let mut rng = Rng::new(5);
        let mv = p.choose(&Board::new(), Mark::Agent, &mut rng).unwrap();
        assert!(mv < 9);
        assert_eq!(p.nodes_used(), 10);
        // Every simulation went through the root and one of its 9 children.
        let visits = p.root_visits();
        assert_eq!(visits.iter().sum::<u32>(), 2000);
        assert!(visits.iter().all(|&v| v > 0), "{visits:?}");

        let mut big = Mcts::<4096>::new(MctsConfig::with_simulations(300)).unwrap();
        big.choose(&Board::new(), Mark::Agent, &mut rng).unwrap();
        assert_eq!(big.nodes_used(), 301);
    }

    #[test]
    fn single_move_and_errors() {
        let mut p = Mcts::<64>::new(MctsConfig::with_simulations(50)).unwrap();
        let mut rng = Rng::new(0);
        assert_eq!(p.choose(&b("121122210"), Mark::Agent, &mut rng), Ok(8));
        assert_eq!(p.choose(&b("111220000"), Mark::Opponent, &mut rng), Err(Error::EpisodeOver));
        assert_eq!(p.choose(&b("121122211"), Mark::Opponent, &mut rng), Err(Error::EpisodeOver));
        assert_eq!(p.name(), "mcts");
        assert_eq!(p.config().simulations, 50);
    }

    #[test]
    fn same_seed_same_move() {
        let mut p = Mcts::<256>::new(MctsConfig::with_simulations(200)).unwrap();
        for seed in 0..20 {
            let a = p.choose(&b("100020000"), Mark::Agent, &mut Rng::new(seed)).unwrap();
            let v = p.root_visits();
            let c = p.choose(&b("100020000"), Mark::Agent, &mut Rng::new(seed)).unwrap();
            assert_eq!(a, c);
            assert_eq!(v, p.root_visits());
        }
    }
}
