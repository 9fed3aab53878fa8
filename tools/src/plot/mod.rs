//! Plots of per-step curves (mean over episodes with a shaded 95% confidence band), one line per
//! agent, written as PNG and SVG.

pub mod curves;
pub mod font;

pub use curves::{Curve, CurvePlot, write_curve_plots};
