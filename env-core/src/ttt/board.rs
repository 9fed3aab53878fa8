//! The 3x3 board, its state string (`"102000000"`), legal moves and the end of the game.

use core::fmt;
use core::str::FromStr;

use super::bits::{FULL, has_line};
use super::mark::Mark;
use crate::error::{Error, Result};

/// Number of cells (and of actions): positions `0..9`, row by row.
pub const CELLS: usize = 9;

/// The eight winning lines: three rows, three columns, two diagonals.
pub const LINES: [[usize; 3]; 8] =
    [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]];

/// Where a game stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GameStatus {
    /// Free cells remain and nobody has a line.
    InProgress,
    /// The mark has three in a line.
    Won(Mark),
    /// The board is full without a line.
    Draw,
}

/// A tic-tac-toe board. Stored as the ASCII state string itself, so [`Board::as_str`] is free.
///
/// Any mix of marks is accepted (the environment can start with either player, and tests build
/// arbitrary positions); [`Board::winner`] reports the first complete line found in [`LINES`]
/// order if a hand-made board has lines for both players.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Board {
    cells: [u8; CELLS],
}

impl Default for Board {
    fn default() -> Self {
        Board::new()
    }
}

impl Board {
    /// The empty board, `"000000000"`.
    pub const fn new() -> Self {
        Board { cells: [b'0'; CELLS] }
    }

    /// Parses a 9-character state string of `0`, `1` and `2`.
    ///
    /// Errors: [`Error::ShapeMismatch`] when the length is not 9 bytes, [`Error::OutOfRange`]
    /// (`name = "board cell"`) for any other character; the reported value is the digit for
    /// `3`..`9` and the byte's code otherwise.
    pub fn parse(state: &str) -> Result<Self> {
        let bytes = state.as_bytes();
        if bytes.len() != CELLS {
            return Err(Error::ShapeMismatch { what: "board state", expected: CELLS, got: bytes.len() });
        }
        let mut cells = [b'0'; CELLS];
        for (c, &b) in cells.iter_mut().zip(bytes) {
            if !(b'0'..=b'2').contains(&b) {
                let value = if b.is_ascii_digit() { (b - b'0') as f64 } else { b as f64 };
                return Err(Error::OutOfRange { name: "board cell", value, min: 0.0, max: 2.0 });
            }
            *c = b;
        }
        Ok(Board { cells })
    }

    /// A board from cell values 0 (empty), 1 (agent), 2 (opponent); [`Error::OutOfRange`] for
    /// any other value.
    pub fn from_cells(values: [u8; CELLS]) -> Result<Self> {
        let mut cells = [b'0'; CELLS];
        for (c, &v) in cells.iter_mut().zip(&values) {
            if v > 2 {
                return Err(Error::OutOfRange { name: "board cell", value: v as f64, min: 0.0, max: 2.0 });
            }
            *c = b'0' + v;
        }
        Ok(Board { cells })
    }

    /// A board from the agent's and the opponent's cell masks (bit `p` = cell `p`), the inverse
    /// of [`Board::mask`]. Bits above 8 are ignored; [`Error::IllegalMove`] names the first cell
    /// set in both masks.
    pub fn from_masks(agent: u16, opponent: u16) -> Result<Self> {
        let both = agent & opponent & FULL;
        if both != 0 {
            return Err(Error::IllegalMove { position: both.trailing_zeros() as usize });
        }
        let mut cells = [b'0'; CELLS];
        for (p, c) in cells.iter_mut().enumerate() {
            if agent & (1 << p) != 0 {
                *c = b'1';
            } else if opponent & (1 << p) != 0 {
                *c = b'2';
            }
        }
        Ok(Board { cells })
    }

    /// The state string, e.g. `"102000000"`.
    pub fn as_str(&self) -> &str {
        // The cells are always ASCII digits, so this never takes the fallback.
        core::str::from_utf8(&self.cells).unwrap_or("")
    }

    /// The state string's bytes (ASCII `0`/`1`/`2`).
    pub const fn as_bytes(&self) -> &[u8; CELLS] {
        &self.cells
    }

    /// The cell values 0 (empty), 1 (agent), 2 (opponent).
    pub fn values(&self) -> [u8; CELLS] {
        let mut v = [0; CELLS];
        for (o, &c) in v.iter_mut().zip(&self.cells) {
            *o = c - b'0';
        }
        v
    }

    /// The mark at `pos` (`None` when empty); [`Error::InvalidAction`] when `pos >= 9`.
    pub fn get(&self, pos: usize) -> Result<Option<Mark>> {
        match self.cells.get(pos) {
            None => Err(Error::InvalidAction { action: pos, num_actions: CELLS }),
            Some(b'1') => Ok(Some(Mark::Agent)),
            Some(b'2') => Ok(Some(Mark::Opponent)),
            Some(_) => Ok(None),
        }
    }

    /// Whether `pos` is an empty cell (`false` for `pos >= 9`).
    pub fn is_free(&self, pos: usize) -> bool {
        self.cells.get(pos) == Some(&b'0')
    }

    /// Bit mask of the cells owned by `mark` (bit `p` = cell `p`).
    pub fn mask(&self, mark: Mark) -> u16 {
        let want = mark.ascii();
        let mut m = 0;
        for (p, &c) in self.cells.iter().enumerate() {
            if c == want {
                m |= 1 << p;
            }
        }
        m
    }

    /// Bit mask of the empty cells.
    pub fn free_mask(&self) -> u16 {
        !(self.mask(Mark::Agent) | self.mask(Mark::Opponent)) & FULL
    }

    /// The empty cells in increasing order. Empty once the game is over only if the board is
    /// full: use [`Board::legal_moves`] for the moves a player may still make.
    pub fn free_cells(&self) -> heapless::Vec<u8, CELLS> {
        let mut v = heapless::Vec::new();
        for (p, &c) in self.cells.iter().enumerate() {
            if c == b'0' {
                // At most 9 cells: the push cannot fail.
                let _ = v.push(p as u8);
            }
        }
        v
    }

    /// The moves the player to move may make: the empty cells in increasing order, or none
    /// when the game is over (a line or a full board).
    pub fn legal_moves(&self) -> heapless::Vec<u8, CELLS> {
        if self.is_over() { heapless::Vec::new() } else { self.free_cells() }
    }

    /// Number of cells owned by `mark`.
    pub fn count(&self, mark: Mark) -> usize {
        self.mask(mark).count_ones() as usize
    }

    /// Number of empty cells.
    pub fn empty_count(&self) -> usize {
        self.cells.iter().filter(|&&c| c == b'0').count()
    }

    /// Whether no cell is empty.
    pub fn is_full(&self) -> bool {
        self.empty_count() == 0
    }

    /// The player with three in a line, if any.
    pub fn winner(&self) -> Option<Mark> {
        Mark::ALL.into_iter().find(|&m| has_line(self.mask(m)))
    }

    /// In progress, won, or drawn.
    pub fn status(&self) -> GameStatus {
        match self.winner() {
            Some(m) => GameStatus::Won(m),
            None if self.is_full() => GameStatus::Draw,
            None => GameStatus::InProgress,
        }
    }

    /// Whether the game is over (a line or a full board).
    pub fn is_over(&self) -> bool {
        self.status() != GameStatus::InProgress
    }

    /// Puts `mark` on `pos`. Errors, leaving the board unchanged: [`Error::InvalidAction`] when
    /// `pos >= 9`, [`Error::EpisodeOver`] when the game is already over,
    /// [`Error::IllegalMove`] when the cell is taken.
    pub fn play(&mut self, pos: usize, mark: Mark) -> Result<()> {
        if pos >= CELLS {
            return Err(Error::InvalidAction { action: pos, num_actions: CELLS });
        }
        if self.is_over() {
            return Err(Error::EpisodeOver);
        }
        if self.cells[pos] != b'0' {
            return Err(Error::IllegalMove { position: pos });
        }
        self.cells[pos] = mark.ascii();
        Ok(())
    }

    /// A copy of the board with `mark` on `pos` (same errors as [`Board::play`]).
    pub fn with_move(&self, pos: usize, mark: Mark) -> Result<Board> {
        let mut b = *self;
        b.play(pos, mark)?;
        Ok(b)
    }
}

impl FromStr for Board {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Board::parse(s)
    }
}

impl fmt::Display for Board {
    /// Writes the 9-character state string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Board(\"{}\")", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board(s: &str) -> Board {
        Board::parse(s).unwrap()
    }

    #[test]
    fn empty_board() {
        let b = Board::new();
        assert_eq!(b.as_str(), "000000000");
        assert_eq!(b, Board::default());
        assert_eq!(b.legal_moves().as_slice(), &[0, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(b.status(), GameStatus::InProgress);
        assert_eq!(b.empty_count(), 9);
        assert_eq!(b.free_mask(), FULL);
    }

    #[test]
    fn every_line_wins_for_both_players() {
        for line in LINES {
            for mark in Mark::ALL {
                let mut b = Board::new();
                for &p in &line {
                    assert_eq!(b.winner(), None);
                    b.play(p, mark).unwrap();
                }
                assert_eq!(b.winner(), Some(mark), "{line:?} {b}");
                assert_eq!(b.status(), GameStatus::Won(mark));
                assert!(b.is_over());
                assert!(b.legal_moves().is_empty());
                // The other player filling two cells of another line does not change that.
                assert_eq!(b.count(mark), 3);
            }
        }
    }

    #[test]
    fn near_lines_do_not_win() {
        for line in LINES {
            let mut b = Board::new();
            b.play(line[0], Mark::Agent).unwrap();
            b.play(line[1], Mark::Agent).unwrap();
            b.play(line[2], Mark::Opponent).unwrap();
            assert_eq!(b.winner(), None, "{b}");
        }
    }

    #[test]
    fn draw_detection() {
        let b = board("121122211");
        assert_eq!(b.winner(), None);
        assert!(b.is_full());
        assert_eq!(b.status(), GameStatus::Draw);
        assert!(b.legal_moves().is_empty());
        // A full board with a line is a win, not a draw.
        let w = board("111221122");
        assert_eq!(w.status(), GameStatus::Won(Mark::Agent));
    }

    #[test]
    fn play_errors_leave_board_unchanged() {
        let mut b = board("102000000");
        let before = b;
        assert_eq!(b.play(0, Mark::Agent), Err(Error::IllegalMove { position: 0 }));
        assert_eq!(b.play(2, Mark::Opponent), Err(Error::IllegalMove { position: 2 }));
        assert_eq!(b.play(9, Mark::Agent), Err(Error::InvalidAction { action: 9, num_actions: 9 }));
        assert_eq!(
            b.play(usize::MAX, Mark::Agent),
            Err(Error::InvalidAction { action: usize::MAX, num_actions: 9 })
        );
        assert_eq!(b, before);
        b.play(4, Mark::Agent).unwrap();
        assert_eq!(b.as_str(), "102010000");
        let mut won = board("111220000");
        assert_eq!(won.play(8, Mark::Opponent), Err(Error::EpisodeOver));
        assert_eq!(won.as_str(), "111220000");
        assert_eq!(board("000000000").with_move(8, Mark::Opponent).unwrap().as_str(), "000000002");
    }

    #[test]
    fn state_string_round_trip() {
        for s in ["000000000", "102000000", "121122211", "222111000", "012012012"] {
            let b: Board = s.parse().unwrap();
            assert_eq!(b.as_str(), s);
            let mut buf = heapless::String::<16>::new();
            core::fmt::write(&mut buf, format_args!("{b}")).unwrap();
            assert_eq!(buf.as_str(), s);
            assert_eq!(Board::from_cells(b.values()).unwrap(), b);
            assert_eq!(Board::from_masks(b.mask(Mark::Agent), b.mask(Mark::Opponent)), Ok(b));
            assert_eq!(b.as_bytes(), s.as_bytes());
        }
        let mut buf = heapless::String::<32>::new();
        core::fmt::write(&mut buf, format_args!("{:?}", board("102000000"))).unwrap();
        assert_eq!(buf.as_str(), "Board(\"102000000\")");
    }

    #[test]
    fn parse_errors() {
        assert_eq!(Board::parse(""), Err(Error::ShapeMismatch { what: "board state", expected: 9, got: 0 }));
        assert_eq!(
            Board::parse("10200000"),
            Err(Error::ShapeMismatch { what: "board state", expected: 9, got: 8 })
        );
        assert_eq!(
            Board::parse("1020000000"),
            Err(Error::ShapeMismatch { what: "board state", expected: 9, got: 10 })
        );
        assert_eq!(
            Board::parse("102000003"),
            Err(Error::OutOfRange { name: "board cell", value: 3.0, min: 0.0, max: 2.0 })
        );
        assert_eq!(
            Board::parse("1020000x0"),
            Err(Error::OutOfRange { name: "board cell", value: b'x' as f64, min: 0.0, max: 2.0 })
        );
        // Nine bytes but not nine characters.
        assert!(Board::parse("10200é00").is_err());
        assert!(matches!(Board::from_cells([0, 0, 0, 0, 3, 0, 0, 0, 0]), Err(Error::OutOfRange { .. })));
        assert_eq!(Board::from_masks(0b1010, 0b0110), Err(Error::IllegalMove { position: 1 }));
        assert_eq!(Board::from_masks(0xFE00 | 1, 0), Ok(board("100000000")));
    }

    #[test]
    fn accessors() {
        let b = board("102000210");
        assert_eq!(b.get(0), Ok(Some(Mark::Agent)));
        assert_eq!(b.get(1), Ok(None));
        assert_eq!(b.get(2), Ok(Some(Mark::Opponent)));
        assert_eq!(b.get(9), Err(Error::InvalidAction { action: 9, num_actions: 9 }));
        assert!(b.is_free(1));
        assert!(!b.is_free(0));
        assert!(!b.is_free(9));
        assert_eq!(b.values(), [1, 0, 2, 0, 0, 0, 2, 1, 0]);
        assert_eq!(b.mask(Mark::Agent), 0b010_000_001);
        assert_eq!(b.mask(Mark::Opponent), 0b001_000_100);
        assert_eq!(b.count(Mark::Agent), 2);
        assert_eq!(b.count(Mark::Opponent), 2);
        assert_eq!(b.legal_moves().as_slice(), &[1, 3, 4, 5, 8]);
        assert_eq!(b.free_cells().as_slice(), &[1, 3, 4, 5, 8]);
        assert_eq!(b.free_mask(), 0b100_111_010);
    }
}
