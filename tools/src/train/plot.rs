//! The training-loss curve (`loss.png` / `loss.svg`): the loss of every step (thin) and its
//! moving average (thick), on a log scale, with the project's embedded font.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::io::write_atomic;
use crate::plot::font::{FAMILY, ensure_registered};
use crate::train::log::StepRecord;

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

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, title: &str, pts: &[(f64, f64)]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing failed: {e}");
    root.fill(&WHITE).map_err(err)?;
    let x_hi = pts.last().map_or(2.0, |p| p.0).max(2.0);
    let lo = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min).max(1e-6);
    let hi = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max).max(lo * 1.01);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FAMILY, 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(1f64..x_hi, (lo * 0.9..hi * 1.1).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("optimizer step")
        .y_desc("cross-entropy per target token (nats, log scale)")
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 16))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.3}"))
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

/// Writes `<stem>.png` and `<stem>.svg` of the loss of `records` (skipped steps left out).
pub fn write_loss_plot(records: &[StepRecord], title: &str, stem: &Path) -> Result<()> {
    ensure_registered();
    let pts: Vec<(f64, f64)> = records
        .iter()
        .filter(|r| !r.skipped && r.loss.is_finite() && r.loss > 0.0)
        .map(|r| (r.step as f64, r.loss))
        .collect();
    let (w, h) = SIZE;
    let mut pixels = vec![0u8; (w * h * 3) as usize];
    draw(BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area(), title, &pts)?;
    let img = image::RgbImage::from_raw(w, h, pixels).context("pixel buffer has the wrong size")?;
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).context("PNG encoding failed")?;
    write_atomic(&stem.with_extension("png"), &png.into_inner())?;
    let mut svg = String::new();
    draw(SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(), title, &pts)?;
    write_atomic(&stem.with_extension("svg"), svg.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_average_is_the_trailing_mean() {
        assert_eq!(moving_average(&[1.0, 3.0, 5.0, 7.0], 2), vec![1.0, 2.0, 4.0, 6.0]);
        assert_eq!(moving_average(&[2.0], 10), vec![2.0]);
    }
}
