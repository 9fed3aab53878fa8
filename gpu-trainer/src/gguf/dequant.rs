//! ggml tensor types and their dequantization to f32.
//!
//! Each block format is decoded with the same f32 operations, in the same
//! order, as gguf-py's `gguf.quants.dequantize` (`d * q`, `d * q + m`,
//! `(d * sc) * q - dmin * m`, ...; no fused multiply-add), so the values agree
//! bit for bit (tests/gguf_dequant.rs checks it against gguf-py's output).
//! f16 scales are converted exactly (`half`).
//!
//! Layouts (little-endian, `QK_K` = 256), as in ggml-common.h:
//! | type | block | bytes | fields |
//! |---|---|---|---|
//! | Q4_0 | 32 | 18 | d f16, qs[16] (low nibbles: elements 0..16, high: 16..32), q - 8 |
//! | Q4_1 | 32 | 20 | d f16, m f16, qs[16] |
//! | Q5_0 | 32 | 22 | d f16, qh u32 (5th bit of element j at bit j), qs[16], q - 16 |
//! | Q5_1 | 32 | 24 | d f16, m f16, qh u32, qs[16] |
//! | Q8_0 | 32 | 34 | d f16, qs i8[32] |
//! | Q8_1 | 32 | 36 | d f16, s f16 (sum, unused here), qs i8[32] |
//! | Q2_K | 256 | 84 | scales[16] (lo: scale, hi: min), qs[64] (2 bits), d f16, dmin f16 |
//! | Q3_K | 256 | 110 | hmask[32], qs[64] (2 bits), scales[12] (16 x 6 bits), d f16 |
//! | Q4_K | 256 | 144 | d f16, dmin f16, scales[12] (8 x 6-bit scale + 6-bit min), qs[128] |
//! | Q5_K | 256 | 176 | d f16, dmin f16, scales[12], qh[32], qs[128] |
//! | Q6_K | 256 | 210 | ql[128], qh[64], scales i8[16], d f16 |
//! | Q8_K | 256 | 292 | d f32, qs i8[256], bsums i16[16] (unused here) |

use half::{bf16, f16};

/// A ggml tensor type this converter reads.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GgmlType {
    F32,
    F16,
    BF16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    Q8_K,
}

const QK_K: usize = 256;

impl GgmlType {
    /// Every supported type.
    pub const ALL: [GgmlType; 15] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q8_1,
        GgmlType::Q2_K,
        GgmlType::Q3_K,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
        GgmlType::Q8_K,
    ];

    /// The type with ggml id `id` (`enum ggml_type`), if supported.
    pub fn from_id(id: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.id() == id)
    }

    /// ggml's id of the type.
    pub fn id(self) -> u32 {
        match self {
            GgmlType::F32 => 0,
            GgmlType::F16 => 1,
            GgmlType::Q4_0 => 2,
            GgmlType::Q4_1 => 3,
            GgmlType::Q5_0 => 6,
            GgmlType::Q5_1 => 7,
            GgmlType::Q8_0 => 8,
            GgmlType::Q8_1 => 9,
            GgmlType::Q2_K => 10,
            GgmlType::Q3_K => 11,
            GgmlType::Q4_K => 12,
            GgmlType::Q5_K => 13,
            GgmlType::Q6_K => 14,
            GgmlType::Q8_K => 15,
            GgmlType::BF16 => 30,
        }
    }

    /// ggml's name of the type ("Q4_K").
    pub fn name(self) -> &'static str {
        match self {
            GgmlType::F32 => "F32",
            GgmlType::F16 => "F16",
            GgmlType::BF16 => "BF16",
            GgmlType::Q4_0 => "Q4_0",
            GgmlType::Q4_1 => "Q4_1",
            GgmlType::Q5_0 => "Q5_0",
            GgmlType::Q5_1 => "Q5_1",
            GgmlType::Q8_0 => "Q8_0",
            GgmlType::Q8_1 => "Q8_1",
            GgmlType::Q2_K => "Q2_K",
            GgmlType::Q3_K => "Q3_K",
            GgmlType::Q4_K => "Q4_K",
            GgmlType::Q5_K => "Q5_K",
            GgmlType::Q6_K => "Q6_K",
            GgmlType::Q8_K => "Q8_K",
        }
    }

    /// Elements per block (1 for the plain float types).
    pub fn block_size(self) -> usize {
        match self {
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => 1,
            GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 => 32,
            GgmlType::Q8_0 | GgmlType::Q8_1 => 32,
            _ => QK_K,
        }
    }

    /// Bytes per block.
    pub fn type_size(self) -> usize {
        match self {
            GgmlType::F32 => 4,
            GgmlType::F16 | GgmlType::BF16 => 2,
            GgmlType::Q4_0 => 18,
            GgmlType::Q4_1 => 20,
            GgmlType::Q5_0 => 22,
            GgmlType::Q5_1 => 24,
            GgmlType::Q8_0 => 34,
            GgmlType::Q8_1 => 36,
            GgmlType::Q2_K => 84,
            GgmlType::Q3_K => 110,
            GgmlType::Q4_K => 144,
            GgmlType::Q5_K => 176,
            GgmlType::Q6_K => 210,
            GgmlType::Q8_K => 292,
        }
    }
}

/// ggml's name of a type id, for the ones this converter does not read (for errors).
pub fn type_name_of_id(id: u32) -> String {
    if let Some(t) = GgmlType::from_id(id) {
        return t.name().to_string();
    }
    let name = match id {
        4 => "Q4_2 (removed)",
        5 => "Q4_3 (removed)",
        16 => "IQ2_XXS",
        17 => "IQ2_XS",
        18 => "IQ3_XXS",
        19 => "IQ1_S",
        20 => "IQ4_NL",
        21 => "IQ3_S",
        22 => "IQ2_S",
        23 => "IQ4_XS",
        24 => "I8",
        25 => "I16",
        26 => "I32",
        27 => "I64",
        28 => "F64",
        29 => "IQ1_M",
        34 => "TQ1_0",
        35 => "TQ2_0",
        39 => "MXFP4",
        _ => "unknown",
    };
    name.to_string()
}

/// Dequantizes `bytes` (whole blocks of type `t`) into `out`, one f32 per
/// element. `bytes.len()` must be `out.len() / block_size * type_size`.
pub fn dequantize(t: GgmlType, bytes: &[u8], out: &mut [f32]) -> Result<(), String> {
    let (bs, ts) = (t.block_size(), t.type_size());
    if !out.len().is_multiple_of(bs) || bytes.len() != out.len() / bs * ts {
        return Err(format!(
            "{} elements of {} need {} bytes, got {}",
            out.len(),
            t.name(),
            out.len().div_ceil(bs) * ts,
            bytes.len()
        ));
    }
    let blocks = bytes.chunks_exact(ts).zip(out.chunks_exact_mut(bs));
    match t {
        GgmlType::F32 => blocks.for_each(|(b, y)| y[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        GgmlType::F16 => blocks.for_each(|(b, y)| y[0] = half_at(b, 0)),
        GgmlType::BF16 => blocks.for_each(|(b, y)| y[0] = bf16::from_bits(u16_at(b, 0)).to_f32()),
        GgmlType::Q4_0 => blocks.for_each(|(b, y)| q4_0(b, y)),
        GgmlType::Q4_1 => blocks.for_each(|(b, y)| q4_1(b, y)),
        GgmlType::Q5_0 => blocks.for_each(|(b, y)| q5_0(b, y)),
        GgmlType::Q5_1 => blocks.for_each(|(b, y)| q5_1(b, y)),
        GgmlType::Q8_0 => blocks.for_each(|(b, y)| q8(half_at(b, 0), &b[2..], y)),
        GgmlType::Q8_1 => blocks.for_each(|(b, y)| q8(half_at(b, 0), &b[4..], y)),
        GgmlType::Q2_K => blocks.for_each(|(b, y)| q2_k(b, y)),
        GgmlType::Q3_K => blocks.for_each(|(b, y)| q3_k(b, y)),
        GgmlType::Q4_K => blocks.for_each(|(b, y)| q4_k(b, y)),
        GgmlType::Q5_K => blocks.for_each(|(b, y)| q5_k(b, y)),
        GgmlType::Q6_K => blocks.for_each(|(b, y)| q6_k(b, y)),
        GgmlType::Q8_K => blocks.for_each(|(b, y)| {
            let d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            q8(d, &b[4..4 + QK_K], y)
        }),
    }
    Ok(())
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

/// the f16 at byte `i`, as f32 (exact)
fn half_at(b: &[u8], i: usize) -> f32 {
    f16::from_bits(u16_at(b, i)).to_f32()
}

/// 4-bit value `j` of a 32-element block: low nibbles first, then high nibbles
fn nibble(qs: &[u8], j: usize) -> u8 {
    if j < 16 { qs[j] & 0x0F } else { qs[j - 16] >> 4 }
}

fn q4_0(b: &[u8], y: &mut [f32]) {
    let d = half_at(b, 0);
    for (j, v) in y.iter_mut().enumerate() {
        *v = d * (nibble(&b[2..], j) as i32 - 8) as f32;
    }
}

fn q4_1(b: &[u8], y: &mut [f32]) {
    let (d, m) = (half_at(b, 0), half_at(b, 2));
    for (j, v) in y.iter_mut().enumerate() {
        *v = d * nibble(&b[4..], j) as f32 + m;
    }
}

/// 5-bit value `j`: the nibble plus bit `j` of `qh` as the fifth bit
fn five_bits(qh: u32, qs: &[u8], j: usize) -> u8 {
    nibble(qs, j) | ((((qh >> j) & 1) as u8) << 4)
}

fn q5_0(b: &[u8], y: &mut [f32]) {
    let d = half_at(b, 0);
    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    for (j, v) in y.iter_mut().enumerate() {
        *v = d * (five_bits(qh, &b[6..], j) as i32 - 16) as f32;
    }
}

fn q5_1(b: &[u8], y: &mut [f32]) {
    let (d, m) = (half_at(b, 0), half_at(b, 2));
    let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    for (j, v) in y.iter_mut().enumerate() {
        *v = d * five_bits(qh, &b[8..], j) as f32 + m;
    }
}

/// `d * q` for signed 8-bit `qs` (Q8_0, Q8_1, Q8_K)
fn q8(d: f32, qs: &[u8], y: &mut [f32]) {
    for (v, &q) in y.iter_mut().zip(qs) {
        *v = q as i8 as f32 * d;
    }
}

/// Element `i` (0..256) of a 256-element block packed 2 bits per element in
/// 64 bytes: two halves of 128, each four shifts (0, 2, 4, 6) of 32 bytes.
fn two_bits(qs: &[u8], i: usize) -> u8 {
    let (half, shift, l) = (i / 128, (i % 128) / 32, i % 32);
    (qs[half * 32 + l] >> (2 * shift)) & 3
}

fn q2_k(b: &[u8], y: &mut [f32]) {
    let (scales, qs) = (&b[0..16], &b[16..80]);
    let (d, dmin) = (half_at(b, 80), half_at(b, 82));
    for (g, ys) in y.chunks_exact_mut(16).enumerate() {
        let dl = d * (scales[g] & 0x0F) as f32;
        let ml = dmin * (scales[g] >> 4) as f32;
        for (k, v) in ys.iter_mut().enumerate() {
            *v = dl * two_bits(qs, g * 16 + k) as f32 - ml;
        }
    }
}

fn q3_k(b: &[u8], y: &mut [f32]) {
    let (hmask, qs, scales) = (&b[0..32], &b[32..96], &b[96..108]);
    let d = half_at(b, 108);
    for (g, ys) in y.chunks_exact_mut(16).enumerate() {
        // 16 six-bit scales: low 4 bits from scales[0..8] (both nibbles), high 2 from scales[8..12]
        let low = (scales[g % 8] >> (4 * (g / 8))) & 0x0F;
        let high = (scales[8 + g % 4] >> (2 * (g / 4))) & 0x03;
        let dl = d * (((low | (high << 4)) as i8) - 32) as f32;
        for (k, v) in ys.iter_mut().enumerate() {
            let i = g * 16 + k;
            // the third bit is in hmask: bit (i / 32) of byte (i % 32); a clear bit means -4
            let hbit = (hmask[i % 32] >> (i / 32)) & 1;
            let q = two_bits(qs, i) as i8 - (((hbit ^ 1) << 2) as i8);
            *v = dl * q as f32;
        }
    }
}

/// The 8 six-bit (scale, min) pairs of Q4_K / Q5_K from their 12 bytes.
fn k_scale_min(s: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (s[j] & 0x3F, s[4 + j] & 0x3F)
    } else {
        let (sc_lo, m_lo) = (s[8 + j - 4] & 0x0F, s[8 + j - 4] >> 4);
        (sc_lo | ((s[j - 4] >> 2) & 0x30), m_lo | ((s[j] >> 2) & 0x30))
    }
}

/// Element `i` (0..256) of a 256-element block packed 4 bits per element in
/// 128 bytes: four chunks of 32 bytes, low nibbles (32 elements) then high.
fn k_nibble(qs: &[u8], i: usize) -> u8 {
    let (chunk, hi, l) = (i / 64, (i % 64) / 32, i % 32);
    (qs[chunk * 32 + l] >> (4 * hi)) & 0x0F
}

fn q4_k(b: &[u8], y: &mut [f32]) {
    let (d, dmin) = (half_at(b, 0), half_at(b, 2));
    let (scales, qs) = (&b[4..16], &b[16..144]);
    for (g, ys) in y.chunks_exact_mut(32).enumerate() {
        let (sc, m) = k_scale_min(scales, g);
        let (dl, ml) = (d * sc as f32, dmin * m as f32);
        for (l, v) in ys.iter_mut().enumerate() {
            *v = dl * k_nibble(qs, g * 32 + l) as f32 - ml;
        }
    }
}

fn q5_k(b: &[u8], y: &mut [f32]) {
    let (d, dmin) = (half_at(b, 0), half_at(b, 2));
    let (scales, qh, qs) = (&b[4..16], &b[16..48], &b[48..176]);
    for (g, ys) in y.chunks_exact_mut(32).enumerate() {
        let (sc, m) = k_scale_min(scales, g);
        let (dl, ml) = (d * sc as f32, dmin * m as f32);
        for (l, v) in ys.iter_mut().enumerate() {
            let q = k_nibble(qs, g * 32 + l) | (((qh[l] >> g) & 1) << 4);
            *v = dl * q as f32 - ml;
        }
    }
}

fn q6_k(b: &[u8], y: &mut [f32]) {
    let (ql, qh, scales) = (&b[0..128], &b[128..192], &b[192..208]);
    let d = half_at(b, 208);
    for (g, ys) in y.chunks_exact_mut(16).enumerate() {
        let dl = d * scales[g] as i8 as f32;
        for (k, v) in ys.iter_mut().enumerate() {
            let i = g * 16 + k;
            // two halves of 128: low 4 bits from 64 bytes of ql (low nibbles, then high),
            // high 2 bits from 32 bytes of qh (shifts 0, 2, 4, 6)
            let (half, r) = (i / 128, i % 128);
            let lo = (ql[half * 64 + r % 64] >> (4 * (r / 64))) & 0x0F;
            let hi = (qh[half * 32 + r % 32] >> (2 * (r / 32))) & 0x03;
            *v = dl * (((lo | (hi << 4)) as i8) - 32) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_ggml() {
        // bytes per block from ggml-common.h's static_asserts
        for (t, bs, ts) in [(GgmlType::Q4_K, 256, 144), (GgmlType::Q6_K, 256, 210), (GgmlType::Q5_0, 32, 22)]
        {
            assert_eq!((t.block_size(), t.type_size()), (bs, ts), "{}", t.name());
        }
        for t in GgmlType::ALL {
            assert_eq!(GgmlType::from_id(t.id()), Some(t));
        }
        assert_eq!(GgmlType::from_id(16), None);
        assert_eq!(type_name_of_id(16), "IQ2_XXS");
    }

    #[test]
    fn q8_0_by_hand() {
        // d = 0.5 (f16 0x3800), q = -128, -1, 0, 1, 127, ...
        let mut b = vec![0x00, 0x38];
        b.extend((0..32).map(|i: i32| [-128i32, -1, 0, 1, 127][i as usize % 5] as i8 as u8));
        let mut y = [0f32; 32];
        dequantize(GgmlType::Q8_0, &b, &mut y).unwrap();
        assert_eq!(&y[..5], &[-64.0, -0.5, 0.0, 0.5, 63.5]);
    }

    #[test]
    fn wrong_length_is_an_error() {
        let mut y = [0f32; 32];
        let e = dequantize(GgmlType::Q4_0, &[0u8; 17], &mut y).unwrap_err();
        assert!(e.contains("need 18 bytes, got 17"), "{e}");
    }
}
