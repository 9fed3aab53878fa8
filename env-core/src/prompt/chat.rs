//! Chat-turn wrappers: the Gemma instruction-tuned turn format, or plain text for base models.

use core::fmt::Write;

use crate::error::Result;

/// Text written before and after the prompt's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatFormat<'a> {
    /// Written before the content.
    pub prefix: &'a str,
    /// Written after the content; the model's answer follows it.
    pub suffix: &'a str,
}

impl ChatFormat<'static> {
    /// Gemma's turns: `<start_of_turn>user\n{content}<end_of_turn>\n<start_of_turn>model\n`.
    pub const GEMMA: ChatFormat<'static> =
        ChatFormat { prefix: "<start_of_turn>user\n", suffix: "<end_of_turn>\n<start_of_turn>model\n" };
    /// No turns (base models): the content alone.
    pub const PLAIN: ChatFormat<'static> = ChatFormat { prefix: "", suffix: "" };
}

impl Default for ChatFormat<'static> {
    /// [`ChatFormat::GEMMA`].
    fn default() -> Self {
        ChatFormat::GEMMA
    }
}

impl ChatFormat<'_> {
    /// Writes `prefix`, then whatever `content` writes, then `suffix`.
    pub fn wrap<W: Write + ?Sized>(
        &self,
        w: &mut W,
        content: impl FnOnce(&mut W) -> Result<()>,
    ) -> Result<()> {
        w.write_str(self.prefix)?;
        content(w)?;
        w.write_str(self.suffix)?;
        Ok(())
    }
}
