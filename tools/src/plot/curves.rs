//! Line plots with confidence bands.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::io::write_atomic;
use crate::plot::font::{FAMILY, ensure_registered};

/// One agent's curve: a mean per step and a 95% confidence half-width per step.
#[derive(Debug, Clone)]
pub struct Curve<'a> {
    /// Legend entry.
    pub label: &'a str,
    /// Mean per step (step 1 first).
    pub mean: &'a [f64],
    /// Half-width of the band per step.
    pub ci95: &'a [f64],
}

/// A figure: title, axis labels, curves.
#[derive(Debug, Clone)]
pub struct CurvePlot<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// X axis label.
    pub x_label: &'a str,
    /// Y axis label.
    pub y_label: &'a str,
    /// One curve per agent.
    pub curves: Vec<Curve<'a>>,
    /// Fixed y range, if any (coverage: 0..1); else fitted to the bands.
    pub y_range: Option<(f64, f64)>,
    /// Values the quantity cannot leave (coverage: 0..1): the bands are clipped to them.
    pub bounds: Option<(f64, f64)>,
    /// Where the legend goes (away from where the curves are).
    pub legend: SeriesLabelPosition,
}

/// Figure size in pixels.
pub const SIZE: (u32, u32) = (900, 600);

/// A palette that stays readable for many agents (Tableau 10).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A band half-width, 0 where it is undefined (NaN for a single episode).
fn finite_or_zero(h: f64) -> f64 {
    if h.is_finite() { h } else { 0.0 }
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, plot: &CurvePlot) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing failed: {e}");
    root.fill(&WHITE).map_err(err)?;
    let steps = plot.curves.iter().map(|c| c.mean.len()).max().unwrap_or(1).max(1);
    let (y_lo, y_hi) = plot.y_range.unwrap_or_else(|| {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for c in &plot.curves {
            for (m, h) in c.mean.iter().zip(c.ci95) {
                let h = finite_or_zero(*h);
                lo = lo.min(m - h);
                hi = hi.max(m + h);
            }
        }
        if !lo.is_finite() || !hi.is_finite() {
            return (0.0, 1.0);
        }
        let pad = ((hi - lo) * 0.05).max(1e-9);
        (lo.min(0.0), hi + pad)
    });
    let mut chart = ChartBuilder::on(&root)
        .caption(plot.title, (FAMILY, 24))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(1f64..steps as f64, y_lo..y_hi)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(plot.x_label)
        .y_desc(plot.y_label)
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 17))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .max_light_lines(2)
        .light_line_style(RGBColor(238, 238, 238))
        .draw()
        .map_err(err)?;
    let (b_lo, b_hi) = plot.bounds.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
    for (i, c) in plot.curves.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let upper = c
            .mean
            .iter()
            .zip(c.ci95)
            .enumerate()
            .map(|(t, (m, h))| ((t + 1) as f64, (m + finite_or_zero(*h)).clamp(b_lo, b_hi)));
        let lower = c
            .mean
            .iter()
            .zip(c.ci95)
            .enumerate()
            .map(|(t, (m, h))| ((t + 1) as f64, (m - finite_or_zero(*h)).clamp(b_lo, b_hi)));
        let mut band: Vec<(f64, f64)> = upper.collect();
        band.extend(lower.collect::<Vec<_>>().into_iter().rev());
        chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.18).filled()))).map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                c.mean.iter().enumerate().map(|(t, &m)| ((t + 1) as f64, m)),
                colour.stroke_width(2),
            ))
            .map_err(err)?
            .label(c.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(plot.legend.clone())
        .label_font((FAMILY, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Writes `plot` to `<stem>.png` and `<stem>.svg`, each atomically.
pub fn write_curve_plots(plot: &CurvePlot, stem: &Path) -> Result<()> {
    ensure_registered();
    let (w, h) = SIZE;
    let mut pixels = vec![0u8; (w * h * 3) as usize];
    draw(BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area(), plot)?;
    let png = encode_png(&pixels, w, h)?;
    write_atomic(&stem.with_extension("png"), &png)?;
    let mut svg = String::new();
    draw(SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(), plot)?;
    write_atomic(&stem.with_extension("svg"), svg.as_bytes())?;
    Ok(())
}

/// Encodes RGB pixels as PNG in memory (so the file can be written atomically).
pub(crate) fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let img = image::RgbImage::from_raw(w, h, rgb.to_vec()).context("pixel buffer has the wrong size")?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).context("PNG encoding failed")?;
    Ok(out.into_inner())
}
