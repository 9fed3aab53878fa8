//! Figures, as PNG and SVG: per-step curves with 95% confidence bands, one line per agent
//! ([`curves`]); training curves ([`loss`]); an RL run's curves ([`rl`]); the diagnostics' bars and heatmap ([`diagnose`]).

pub mod curves;
pub mod diagnose;
pub mod font;
pub mod loss;
pub mod rl;

pub use curves::{Curve, CurvePlot, write_curve_plots};
