//! Training curves (`loss.png` / `loss.svg`, and any per-step series): the value of every step
//! (thin) and its moving average (thick), with the project's embedded font. The y axis is linear from 0 (a log
//! axis over less than a decade, the usual span of a short run, got no tick labels), the x ticks
//! are whole steps.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::io::write_atomic;
use crate::plot::font::{FAMILY, ensure_registered};
use gpu_trainer::train::sft::log::StepRow;

/// Figure size in pixels.
const SIZE: (u32, u32) = (900, 560);

/// Moving average of `v` over a trailing window of `w` values.
pub fn moving_average(v: &[f64], w: usize) -> Vec<f64> {
    let w = w.max(1);
    let mut out = Vec::with_capacity(v.len());
    let mut sum = 0.0;
    for i in 0..v.len() {
        sum += v[i];
        if i >= w {
            sum -= v[i - w];
        }
        out.push(sum / (i + 1).min(w) as f64);
    }
    out
}

/// What one series plot shows.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// X axis label.
    pub x_desc: &'a str,
    /// Y axis label.
    pub y_desc: &'a str,
    /// Start the y axis at 0 (losses) rather than at the lowest value (rewards can be negative).
    pub from_zero: bool,
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, s: &Series<'_>, pts: &[(f64, f64)]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing failed: {e}");
    root.fill(&WHITE).map_err(err)?;
    let x_hi = pts.last().map_or(2.0, |p| p.0).max(2.0);
    let hi = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let lo = if s.from_zero { 0.0 } else { pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min) };
    let (lo, hi) = if hi.is_finite() && lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.08).max(1e-3);
    let (lo, hi) = (if s.from_zero { 0.0 } else { lo - pad }, hi + pad);
    // as many x ticks as steps up to 10: with fewer, plotters puts ticks between whole steps
    let x_ticks = (x_hi as usize).clamp(2, 10);
    let mut chart = ChartBuilder::on(&root)
        .caption(s.title, (FAMILY, 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(1f64..x_hi, lo..hi)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(s.x_desc)
        .y_desc(s.y_desc)
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 16))
        .x_labels(x_ticks)
        .y_labels(8)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| if (hi - lo).abs() < 0.1 { format!("{y:.3}") } else { format!("{y:.2}") })
        .light_line_style(RGBColor(238, 238, 238))
        .draw()
        .map_err(err)?;
    let raw = RGBColor(31, 119, 180);
    chart.draw_series(LineSeries::new(pts.iter().copied(), raw.mix(0.35).stroke_width(1))).map_err(err)?;
    let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let smooth = moving_average(&ys, (pts.len() / 25).max(1));
    chart
        .draw_series(LineSeries::new(pts.iter().zip(smooth).map(|(p, s)| (p.0, s)), raw.stroke_width(3)))
        .map_err(err)?
        .label("moving average")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], raw.stroke_width(3)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FAMILY, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Writes `<stem>.png` and `<stem>.svg` of `pts` (x, y).
pub fn write_series_plot(series: &Series<'_>, pts: &[(f64, f64)], stem: &Path) -> Result<()> {
    ensure_registered();
    let (w, h) = SIZE;
    let mut pixels = vec![0u8; (w * h * 3) as usize];
    draw(BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area(), series, pts)?;
    let img = image::RgbImage::from_raw(w, h, pixels).context("pixel buffer has the wrong size")?;
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).context("PNG encoding failed")?;
    write_atomic(&stem.with_extension("png"), &png.into_inner())?;
    let mut svg = String::new();
    draw(SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(), series, pts)?;
    write_atomic(&stem.with_extension("svg"), svg.as_bytes())?;
    Ok(())
}

/// Writes `<stem>.png` and `<stem>.svg` of the loss of `rows` (skipped steps left out).
pub fn write_loss_plot(rows: &[StepRow], title: &str, stem: &Path) -> Result<()> {
    let pts: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| !r.skipped && r.loss.is_finite() && r.loss > 0.0)
        .map(|r| (r.step as f64, r.loss))
        .collect();
    let series = Series {
        title,
        x_desc: "optimizer step",
        y_desc: "cross-entropy per target token (nats)",
        from_zero: true,
    };
    write_series_plot(&series, &pts, stem)
}

/// Writes `out/loss.png` and `out/loss.svg` of an SFT run (nothing when it has no steps).
pub fn write_sft_loss(out: &Path, rows: &[StepRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    write_loss_plot(rows, &format!("SFT loss ({} steps)", rows.len()), &out.join("loss"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts of an SVG's `<text>` elements.
    fn svg_texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.to_string()))
            .collect()
    }

    #[test]
    fn a_short_run_has_whole_step_ticks_and_loss_labels() {
        let records: Vec<StepRow> = [3.0, 2.5, 2.2, 2.0]
            .iter()
            .enumerate()
            .map(|(i, &loss)| StepRow {
                step: i as u64 + 1,
                loss,
                lr: 1e-3,
                grad_norm: 1.0,
                tokens: 10,
                target_tokens: 5,
                tokens_per_s: 1.0,
                skipped: false,
                skip_reason: None,
                elapsed_s: 0.0,
            })
            .collect();
        let dir = tempfile::Builder::new().prefix("greedy-loss-plot-").tempdir().unwrap();
        write_loss_plot(&records, "t", &dir.path().join("loss")).unwrap();
        let svg = std::fs::read_to_string(dir.path().join("loss.svg")).unwrap();
        let texts = svg_texts(&svg);
        // x ticks are whole numbers ("3"), y labels have decimals ("2.50")
        let steps: Vec<u64> = texts.iter().filter_map(|t| t.trim().parse().ok()).collect();
        let mut distinct = steps.clone();
        distinct.dedup();
        assert_eq!(steps, distinct, "no repeated step tick: {texts:?}");
        assert!(distinct.len() >= 3, "whole-step ticks: {texts:?}");
        let loss_labels = texts.iter().filter(|t| t.contains('.') && t.trim().parse::<f64>().is_ok()).count();
        assert!(loss_labels >= 3, "y-axis labels: {texts:?}");
    }

    #[test]
    fn moving_average_is_the_trailing_mean() {
        assert_eq!(moving_average(&[1.0, 3.0, 5.0, 7.0], 2), vec![1.0, 2.0, 4.0, 6.0]);
        assert_eq!(moving_average(&[2.0], 10), vec![2.0]);
    }
}
