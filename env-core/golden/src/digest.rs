//! The digest: FNV-1a 64 over the bytes of every value, in order.

use core::fmt;

/// Where a scenario sends its values, in order.
pub trait Sink {
    /// Raw bytes (prompt text, boards).
    fn bytes(&mut self, bytes: &[u8]);

    /// An integer (action, user, move), as 4 little-endian bytes.
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    /// A float, as the 8 little-endian bytes of its bit pattern.
    fn f64(&mut self, v: f64) {
        self.bytes(&v.to_bits().to_le_bytes());
    }
}

/// FNV-1a 64: `h = (h ^ byte) * 0x100000001b3` from `0xcbf29ce484222325`; also counts the
/// values it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv64 {
    hash: u64,
    values: u32,
}

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64 { hash: 0xcbf2_9ce4_8422_2325, values: 0 }
    }
}

impl Fnv64 {
    /// The digest so far.
    pub fn finish(&self) -> u64 {
        self.hash
    }

    /// How many values (calls to [`Sink`]) went in.
    pub fn values(&self) -> u32 {
        self.values
    }
}

impl Sink for Fnv64 {
    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.values = self.values.wrapping_add(1);
    }
}

/// A `fmt::Write` that streams text into a sink (one value per call) and counts its bytes:
/// prompts are digested without a buffer.
pub struct TextSink<'a, S: Sink + ?Sized> {
    /// Where the bytes go.
    pub sink: &'a mut S,
    /// Bytes written.
    pub len: usize,
}

impl<S: Sink + ?Sized> fmt::Write for TextSink<'_, S> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.sink.bytes(s.as_bytes());
        self.len += s.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_64_reference_values() {
        // Published FNV-1a 64 test vectors: "" and "a" and "foobar".
        let h = |s: &str| {
            let mut f = Fnv64::default();
            f.bytes(s.as_bytes());
            f.finish()
        };
        assert_eq!(Fnv64::default().finish(), 0xcbf29ce484222325);
        assert_eq!(h("a"), 0xaf63dc4c8601ec8c);
        assert_eq!(h("foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn values_are_little_endian_bytes() {
        let mut a = Fnv64::default();
        a.u32(0x0403_0201);
        a.f64(1.0);
        let mut b = Fnv64::default();
        b.bytes(&[1, 2, 3, 4]);
        b.bytes(&[0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
        assert_eq!(a.finish(), b.finish());
        assert_eq!(a.values(), 2);
    }
}
