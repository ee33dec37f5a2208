//! A line chart on a canvas, drawn by plotters: the Explorer's chart and the Dashboard's
//! chart widgets. The lines come downsampled (one M4 bucket per pixel column), so what is
//! drawn is bounded by the canvas's width.

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use tabmq_app::clock_label_at;
use tabmq_dashboard::Point;

/// The colour of line `i`, in the chart and its legend.
pub fn colour(i: usize) -> RGBColor {
    let c = Palette99::pick(i).to_rgba();
    RGBColor(c.0, c.1, c.2)
}

/// Draws `lines` between `from` and `to` on `canvas`.
pub fn draw(
    canvas: &web_sys::HtmlCanvasElement,
    lines: &[(String, Vec<Point>)],
    from: u64,
    to: u64,
) -> Result<(), String> {
    let backend =
        CanvasBackend::with_canvas_object(canvas.clone()).ok_or("the canvas has no 2d context")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let values = lines.iter().flat_map(|(_, p)| p.iter().map(|p| p.value));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        let pad = (hi - lo) * 0.08;
        (lo - pad, hi + pad)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (0.0, 1.0)
    };
    let mut chart = ChartBuilder::on(&root)
        .margin(8)
        .x_label_area_size(26)
        .y_label_area_size(56)
        .build_cartesian_2d(from as f64..to as f64, lo..hi)
        .map_err(|e| e.to_string())?;
    let span = to.saturating_sub(from);
    let time = move |x: &f64| {
        let label = clock_label_at(*x);
        // Seconds are noise on a day's axis.
        if span > 3_600_000 {
            label[..5].to_owned()
        } else {
            label[..8].to_owned()
        }
    };
    chart
        .configure_mesh()
        // About one time label per 110 pixels, so a widget's narrow chart does not pile
        // them on each other.
        .x_labels((canvas.width() / 110).clamp(2, 8) as usize)
        .y_labels(6)
        .x_label_formatter(&time)
        .light_line_style(RGBColor(238, 240, 245))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, (_, points)) in lines.iter().enumerate() {
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.at_ms as f64, p.value)),
                colour(i).stroke_width(2),
            ))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}
