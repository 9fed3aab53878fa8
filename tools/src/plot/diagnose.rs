//! The diagnostics' figures, as PNG and SVG: the frequency-bias stacked bars (class shares of
//! the chosen action per repetition count) and the knowing-doing heatmap (2x3 matrix).

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::io::write_atomic;
use crate::plot::curves::encode_png;
use crate::plot::font::{FAMILY, ensure_registered};
use gpu_trainer::diagnose::frequency::FrequencyReport;
use gpu_trainer::diagnose::knowing::KnowingReport;

/// Figure size in pixels.
const SIZE: (u32, u32) = (900, 600);

/// Frequent, greedy, other.
const CLASS_COLOURS: [RGBColor; 3] = [RGBColor(214, 39, 40), RGBColor(31, 119, 180), RGBColor(160, 160, 160)];

fn drawing_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    anyhow!("drawing failed: {e}")
}

/// Draws the stacked bars of `r` on `root`.
fn draw_bars<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, r: &FrequencyReport, title: &str) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(drawing_error)?;
    let n = r.rows.len();
    let labels: Vec<String> = r.rows.iter().map(|row| row.repeats.to_string()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FAMILY, 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..1.0)
        .map_err(drawing_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{:.0}%", 100.0 * y))
        .x_desc("repetitions of the target action")
        .y_desc("share of chosen actions")
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 17))
        .draw()
        .map_err(drawing_error)?;
    for (c, (name, colour)) in
        ["frequent (F_f)", "greedy (F_g)", "other (F_o)"].iter().zip(CLASS_COLOURS).enumerate()
    {
        let bars = r.rows.iter().enumerate().map(|(i, row)| {
            let s = [row.chosen.frequent, row.chosen.greedy, row.chosen.other];
            let lo: f64 = s[..c].iter().sum();
            let x = i as f64;
            Rectangle::new([(x - 0.35, lo), (x + 0.35, lo + s[c])], colour.filled())
        });
        chart
            .draw_series(bars)
            .map_err(drawing_error)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FAMILY, 15))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(drawing_error)?;
    root.present().map_err(drawing_error)?;
    Ok(())
}

/// Draws the 2x3 knowing-doing matrix of `r` on `root`: cell colour by share, count and share
/// written inside.
fn draw_heatmap<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    r: &KnowingReport,
    title: &str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(drawing_error)?;
    let total: u64 = r.matrix.iter().flatten().sum();
    let centre = Pos::new(HPos::Center, VPos::Center);
    let text = |size: u32| TextStyle::from((FAMILY, size).into_font()).pos(centre);
    root.draw(&Text::new(title.to_string(), (450, 30), text(22))).map_err(drawing_error)?;
    let (x0, y0, cw, ch) = (230i32, 110i32, 200i32, 180i32);
    for (c, name) in ["optimal", "greedy", "other"].iter().enumerate() {
        let x = x0 + c as i32 * cw + cw / 2;
        root.draw(&Text::new(format!("action: {name}"), (x, y0 - 20), text(17))).map_err(drawing_error)?;
    }
    for (row, name) in ["rationale correct", "rationale incorrect"].iter().enumerate() {
        let y = y0 + row as i32 * ch + ch / 2;
        root.draw(&Text::new(name.to_string(), (x0 / 2 + 5, y), text(17))).map_err(drawing_error)?;
        for c in 0..3 {
            let count = r.matrix[row][c];
            let share = if total > 0 { count as f64 / total as f64 } else { 0.0 };
            // white to dark blue
            let shade = |full: u8| (255.0 - share * (255.0 - full as f64)).round() as u8;
            let fill = RGBColor(shade(8), shade(48), shade(107));
            let (x, y) = (x0 + c as i32 * cw, y0 + row as i32 * ch);
            root.draw(&Rectangle::new([(x, y), (x + cw, y + ch)], fill.filled())).map_err(drawing_error)?;
            root.draw(&Rectangle::new([(x, y), (x + cw, y + ch)], BLACK.mix(0.3))).map_err(drawing_error)?;
            let ink = if share > 0.5 { WHITE } else { BLACK };
            let label = format!("{count} ({:.1}%)", 100.0 * share);
            let style = TextStyle::from((FAMILY, 20).into_font()).pos(centre).color(&ink);
            root.draw(&Text::new(label, (x + cw / 2, y + ch / 2), style)).map_err(drawing_error)?;
        }
    }
    let note = format!(
        "{} answers; {} without a valid action (not shown); {} without UCB values (counted incorrect)",
        r.answers, r.invalid_actions, r.missing_values
    );
    root.draw(&Text::new(note, (450, 500), text(15))).map_err(drawing_error)?;
    root.present().map_err(drawing_error)?;
    Ok(())
}

/// Renders a figure twice (PNG and SVG) through `$draw(area, ...)` and writes both atomically.
macro_rules! write_both {
    ($stem:expr, $draw:ident, $($arg:expr),*) => {{
        ensure_registered();
        let (w, h) = SIZE;
        let mut pixels = vec![0u8; (w * h * 3) as usize];
        $draw(BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area(), $($arg),*)?;
        write_atomic(&$stem.with_extension("png"), &encode_png(&pixels, w, h)?)?;
        let mut svg = String::new();
        $draw(SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(), $($arg),*)?;
        write_atomic(&$stem.with_extension("svg"), svg.as_bytes())?;
        Ok(())
    }};
}

/// Writes `<stem>.png` and `<stem>.svg`: the frequency-bias stacked bars.
pub fn write_frequency_plot(r: &FrequencyReport, title: &str, stem: &Path) -> Result<()> {
    write_both!(stem, draw_bars, r, title)
}

/// Writes `<stem>.png` and `<stem>.svg`: the knowing-doing heatmap.
pub fn write_knowing_plot(r: &KnowingReport, title: &str, stem: &Path) -> Result<()> {
    write_both!(stem, draw_heatmap, r, title)
}
