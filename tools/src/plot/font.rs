//! The font used for PNG text: DejaVu Sans, embedded in the binary so that it never depends on
//! the fonts of the system (licence: `tools/assets/DejaVuSans-LICENSE.txt`).

use std::sync::Once;

use plotters::style::FontStyle;

/// The embedded DejaVu Sans.
pub static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The family name plots ask for.
pub const FAMILY: &str = "sans-serif";

/// Registers the embedded font under [`FAMILY`] (once per process).
pub fn ensure_registered() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The bytes are a valid TrueType font, checked by the test below.
            let _ = plotters::style::register_font(FAMILY, style, DEJAVU_SANS);
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_font_is_valid() {
        assert!(
            plotters::style::register_font(
                "test-dejavu",
                plotters::style::FontStyle::Normal,
                super::DEJAVU_SANS
            )
            .is_ok()
        );
    }
}
