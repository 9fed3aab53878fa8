//! Measuring a prompt before writing it: [`CountingWriter`] counts bytes and writes nothing.

use core::fmt;

use crate::error::Result;

/// A [`fmt::Write`] that only counts the bytes written to it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CountingWriter {
    /// Bytes written so far.
    pub len: usize,
}

impl fmt::Write for CountingWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.len += s.len();
        Ok(())
    }
}

/// The number of bytes `write` produces: run it against a [`CountingWriter`].
///
/// `required_len(|w| write_mab_prompt(w, &spec, &labels, &a, &r))` gives the buffer size a
/// prompt needs.
pub fn required_len(write: impl FnOnce(&mut CountingWriter) -> Result<()>) -> Result<usize> {
    let mut c = CountingWriter::default();
    write(&mut c)?;
    Ok(c.len)
}
