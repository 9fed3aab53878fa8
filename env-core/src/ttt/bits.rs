//! Bitboard helpers shared by the board and the search players: bit `p` of a `u16` is cell `p`.

/// All nine cells.
pub(crate) const FULL: u16 = 0x1FF;

/// The eight winning lines as bit masks (rows, columns, diagonals).
pub(crate) const LINE_MASKS: [u16; 8] = [
    0b000_000_111,
    0b000_111_000,
    0b111_000_000,
    0b001_001_001,
    0b010_010_010,
    0b100_100_100,
    0b100_010_001,
    0b001_010_100,
];

/// Whether the cells in `mask` contain a complete line.
#[inline]
pub(crate) fn has_line(mask: u16) -> bool {
    LINE_MASKS.iter().any(|&l| l & !mask == 0)
}

/// The position of the `n`-th set bit of `mask` (counting from 0, lowest first); `None` when
/// `mask` has fewer than `n + 1` bits set.
#[inline]
pub(crate) fn nth_bit(mut mask: u16, n: usize) -> Option<usize> {
    for _ in 0..n {
        if mask == 0 {
            return None;
        }
        mask &= mask - 1;
    }
    if mask == 0 { None } else { Some(mask.trailing_zeros() as usize) }
}

/// A uniformly chosen set bit of `mask`, or `None` when it is empty.
#[inline]
pub(crate) fn random_bit(mask: u16, rng: &mut crate::rng::Rng) -> Option<usize> {
    let n = mask.count_ones() as usize;
    if n == 0 {
        return None;
    }
    nth_bit(mask, rng.below(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_bit_walks_set_bits() {
        assert_eq!(nth_bit(0b1010_0100, 0), Some(2));
        assert_eq!(nth_bit(0b1010_0100, 1), Some(5));
        assert_eq!(nth_bit(0b1010_0100, 2), Some(7));
        assert_eq!(nth_bit(0b1010_0100, 3), None);
        assert_eq!(nth_bit(0, 0), None);
    }

    #[test]
    fn lines() {
        for &l in &LINE_MASKS {
            assert_eq!(l.count_ones(), 3);
            assert!(has_line(l));
            assert!(!has_line(l & (l - 1)));
        }
        assert!(!has_line(0));
        // A full draw position: 1 2 1 / 1 2 2 / 2 1 1 for player 1 has no line.
        assert!(!has_line(0b110_001_101));
    }
}
