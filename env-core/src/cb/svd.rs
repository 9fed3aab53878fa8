//! Rank-d SVD reconstruction of a users x K ratings matrix, without allocation.
//!
//! With K <= [`MAX_ARMS`] columns the right singular vectors are the eigenvectors of the K x K
//! Gram matrix `G = R^T R`, and the singular values the square roots of its eigenvalues. The
//! Gram matrix is accumulated row by row ([`Gram::add_row`]), so the ratings never have to be
//! held in memory, then diagonalised with the cyclic Jacobi method (only `+ - * /` and `sqrt`:
//! the same bits on every target).
//!
//! The factors split the reconstruction `R_d = U_d S_d V_d^T` as: user factors
//! `p_i = R_i V_d = (U_d S_d)_i` (in rating units), movie factors `q_j = (V_d)_j` (unit
//! columns), so that `dot(p_i, q_j) = (R_d)_ij`.

// Matrix code reads best with explicit indices.
#![allow(clippy::needless_range_loop)]

use crate::MAX_ARMS;
use crate::error::{Error, Result, check_count};

/// Sweeps of the Jacobi method before giving up (it converges in well under 20 for K <= 32).
const MAX_SWEEPS: usize = 100;

/// The Gram matrix `R^T R` of a ratings matrix with `k` columns, accumulated row by row.
#[derive(Debug, Clone)]
pub struct Gram {
    k: usize,
    rows: usize,
    g: [[f64; MAX_ARMS]; MAX_ARMS],
}

impl Gram {
    /// An empty accumulator for `k` columns (1..=[`MAX_ARMS`]).
    pub fn new(k: usize) -> Result<Self> {
        check_count("columns", k, 1, MAX_ARMS)?;
        Ok(Gram { k, rows: 0, g: [[0.0; MAX_ARMS]; MAX_ARMS] })
    }

    /// Adds one row of the ratings matrix (length `k`, finite values).
    pub fn add_row(&mut self, row: &[f64]) -> Result<()> {
        if row.len() != self.k {
            return Err(Error::ShapeMismatch { what: "ratings row", expected: self.k, got: row.len() });
        }
        if !row.iter().all(|x| x.is_finite()) {
            return Err(Error::NotFinite { name: "rating" });
        }
        for (i, &ri) in row.iter().enumerate() {
            for (j, &rj) in row.iter().enumerate().take(i + 1) {
                self.g[i][j] += ri * rj;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Number of rows added.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Diagonalises the Gram matrix. Errors if no row was added.
    pub fn decompose(&self) -> Result<RatingSvd> {
        if self.rows == 0 {
            return Err(Error::Empty { what: "ratings matrix" });
        }
        let k = self.k;
        let mut a = [[0.0; MAX_ARMS]; MAX_ARMS];
        for i in 0..k {
            for j in 0..=i {
                a[i][j] = self.g[i][j];
                a[j][i] = self.g[i][j];
            }
        }
        let mut v = [[0.0; MAX_ARMS]; MAX_ARMS];
        for (i, row) in v.iter_mut().enumerate().take(k) {
            row[i] = 1.0;
        }
        jacobi(&mut a, &mut v, k);
        // Order the eigenpairs by decreasing eigenvalue (stable selection sort, K <= 32).
        let mut order = [0usize; MAX_ARMS];
        for (i, o) in order.iter_mut().enumerate() {
            *o = i;
        }
        for i in 0..k {
            let mut best = i;
            for j in i + 1..k {
                if a[order[j]][order[j]] > a[order[best]][order[best]] {
                    best = j;
                }
            }
            order.swap(i, best);
        }
        let mut svd =
            RatingSvd { k, rows: self.rows, singular: [0.0; MAX_ARMS], v: [[0.0; MAX_ARMS]; MAX_ARMS] };
        for (c, &src) in order.iter().enumerate().take(k) {
            let lambda = a[src][src];
            svd.singular[c] = if lambda > 0.0 { libm::sqrt(lambda) } else { 0.0 };
            // Sign convention: the largest-magnitude entry of each singular vector is positive.
            let mut pivot = 0;
            for r in 0..k {
                if libm::fabs(v[r][src]) > libm::fabs(v[pivot][src]) {
                    pivot = r;
                }
            }
            let sign = if v[pivot][src] < 0.0 { -1.0 } else { 1.0 };
            for r in 0..k {
                svd.v[c][r] = sign * v[r][src];
            }
        }
        Ok(svd)
    }
}

/// Cyclic Jacobi eigenvalue iteration on the symmetric `k x k` block of `a`; the eigenvectors
/// accumulate in the columns of `v`, the eigenvalues are left on the diagonal of `a`.
fn jacobi(a: &mut [[f64; MAX_ARMS]; MAX_ARMS], v: &mut [[f64; MAX_ARMS]; MAX_ARMS], k: usize) {
    for _ in 0..MAX_SWEEPS {
        let mut off = 0.0;
        let mut diag = 0.0;
        for i in 0..k {
            diag += a[i][i] * a[i][i];
            for j in 0..k {
                if i != j {
                    off += a[i][j] * a[i][j];
                }
            }
        }
        if off <= 1e-30 * diag || off == 0.0 {
            return;
        }
        for p in 0..k {
            for q in p + 1..k {
                let apq = a[p][q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * apq);
                let t = {
                    let s = if theta >= 0.0 { 1.0 } else { -1.0 };
                    s / (libm::fabs(theta) + libm::sqrt(theta * theta + 1.0))
                };
                let c = 1.0 / libm::sqrt(t * t + 1.0);
                let s = t * c;
                for r in 0..k {
                    let arp = a[r][p];
                    let arq = a[r][q];
                    a[r][p] = c * arp - s * arq;
                    a[r][q] = s * arp + c * arq;
                }
                for r in 0..k {
                    let apr = a[p][r];
                    let aqr = a[q][r];
                    a[p][r] = c * apr - s * aqr;
                    a[q][r] = s * apr + c * aqr;
                }
                for row in v.iter_mut().take(k) {
                    let vp = row[p];
                    let vq = row[q];
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
}

/// The right singular vectors and singular values of a ratings matrix (see the module docs).
#[derive(Debug, Clone)]
pub struct RatingSvd {
    k: usize,
    rows: usize,
    singular: [f64; MAX_ARMS],
    /// `v[c]` is the c-th right singular vector.
    v: [[f64; MAX_ARMS]; MAX_ARMS],
}

impl RatingSvd {
    /// Decomposes a row-major `rows x cols` matrix.
    pub fn from_matrix(ratings: &[f64], rows: usize, cols: usize) -> Result<Self> {
        let mut gram = Gram::new(cols)?;
        let expected = rows.checked_mul(cols).ok_or(Error::CapacityExceeded {
            what: "ratings matrix",
            capacity: usize::MAX,
            requested: usize::MAX,
        })?;
        if ratings.len() != expected {
            return Err(Error::ShapeMismatch { what: "ratings matrix", expected, got: ratings.len() });
        }
        for row in ratings.chunks(cols) {
            gram.add_row(row)?;
        }
        gram.decompose()
    }

    /// Number of columns (movies).
    pub fn columns(&self) -> usize {
        self.k
    }

    /// Number of rows (users) the matrix had.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The singular values, largest first (length [`RatingSvd::columns`]).
    pub fn singular_values(&self) -> &[f64] {
        &self.singular[..self.k]
    }

    /// The `c`-th right singular vector (length [`RatingSvd::columns`]).
    pub fn right_vector(&self, c: usize) -> Result<&[f64]> {
        check_count("component", c, 0, self.k - 1)?;
        Ok(&self.v[c][..self.k])
    }

    /// `sum_{c >= dim} s_c^2`: the squared Frobenius error of the rank-`dim` reconstruction
    /// (Eckart-Young).
    pub fn dropped_energy(&self, dim: usize) -> f64 {
        self.singular[..self.k].iter().skip(dim).map(|s| s * s).sum()
    }

    /// Writes the user factors `p = row V_dim` (length `out.len()` = dim, at most the number
    /// of columns) of one ratings row.
    pub fn user_factors(&self, row: &[f64], out: &mut [f64]) -> Result<()> {
        if row.len() != self.k {
            return Err(Error::ShapeMismatch { what: "ratings row", expected: self.k, got: row.len() });
        }
        check_count("dim", out.len(), 1, self.k)?;
        for (c, o) in out.iter_mut().enumerate() {
            *o = row.iter().zip(&self.v[c][..self.k]).map(|(r, v)| r * v).sum();
        }
        Ok(())
    }

    /// Writes the movie factors `q = (V_dim)_movie` (length `out.len()` = dim).
    pub fn movie_factors(&self, movie: usize, out: &mut [f64]) -> Result<()> {
        check_count("movie", movie, 0, self.k - 1)?;
        check_count("dim", out.len(), 1, self.k)?;
        for (c, o) in out.iter_mut().enumerate() {
            *o = self.v[c][movie];
        }
        Ok(())
    }
}
