//! Charts for the console, drawn on the server as inline SVG by `plotters` (its SVG backend, no
//! fonts needed: text stays text): stacked bars, running totals by day and a heat map, in the
//! Okabe–Ito colours that
//! people with colour-blindness tell apart, with the numbers written on them, a `<title>`, and
//! `role="img"`. Each chart is drawn even when every count is zero; the page puts a table of the
//! same numbers beside it.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The Okabe–Ito colours, in order, each with the colour its numbers are written in: blue,
/// orange, reddish purple, bluish green, sky blue, vermillion, yellow.
const PALETTE: [(RGBColor, RGBColor); 7] = [
    (RGBColor(0, 114, 178), WHITE),
    (RGBColor(230, 159, 0), BLACK),
    (RGBColor(204, 121, 167), BLACK),
    (RGBColor(0, 158, 115), BLACK),
    (RGBColor(86, 180, 233), BLACK),
    (RGBColor(213, 94, 0), BLACK),
    (RGBColor(240, 228, 66), BLACK),
];

/// Palette indices, by name, for charts that pick their colours by meaning.
pub mod hue {
    /// Blue.
    pub const BLUE: usize = 0;
    /// Orange.
    pub const ORANGE: usize = 1;
    /// Reddish purple.
    pub const PURPLE: usize = 2;
    /// Bluish green.
    pub const GREEN: usize = 3;
    /// Sky blue.
    pub const SKY: usize = 4;
    /// Vermillion.
    pub const VERMILLION: usize = 5;
    /// Yellow.
    pub const YELLOW: usize = 6;
}

/// The longest label written beside a bar; a longer one is cut with `…` (the table beside the
/// chart has it whole).
const LABEL_MAX: usize = 28;

/// `text` cut to [`LABEL_MAX`] characters.
fn short(text: &str) -> String {
    if text.chars().count() <= LABEL_MAX {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(LABEL_MAX - 1).collect();
        cut.push('…');
        cut
    }
}

/// The colour of series `i` as CSS, for a legend beside a chart.
pub fn colour(i: usize) -> String {
    let RGBColor(r, g, b) = PALETTE[i % PALETTE.len()].0;
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// An axis label for a count: whole numbers written, nothing between them.
fn whole(v: &f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

/// Makes the drawn SVG an image with a title that names it for screen readers.
fn titled(svg: String, id: &str, title: &str) -> String {
    let escaped = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    match svg.find('>') {
        Some(end) if svg.starts_with("<svg") => format!(
            "{} role=\"img\" aria-labelledby=\"{id}-title\" id=\"{id}\"><title id=\"{id}-title\">{escaped}</title>{}",
            &svg[..end],
            &svg[end + 1..]
        ),
        _ => svg,
    }
}

/// Writes `text` on `root` at pixel `at`, anchored by `pos`.
fn label<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    at: (i32, i32),
    pos: Pos,
    ink: &RGBColor,
) -> Result<(), String> {
    let style = ("sans-serif", 14).into_font().color(ink).pos(pos);
    root.draw(&Text::new(text.to_owned(), at, style))
        .map_err(|e| e.to_string())
}

/// Horizontal stacked bars of schools: one bar a row (`(label, counts by series)`), each part in
/// its series' colour with its count written on it.
pub fn stacked_bars(id: &str, title: &str, rows: &[(String, Vec<u64>)]) -> Result<String, String> {
    stacked_bars_of(id, title, rows, "schools", &[])
}

/// Horizontal stacked bars of `unit` (written under the axis): one bar a row (`(label, counts
/// by series)`), series `k` in the palette's colour `hues[k]` (the `k`th colour when `hues` is
/// shorter), each part with its count written on it. Labels longer than 28 characters are cut.
pub fn stacked_bars_of(
    id: &str,
    title: &str,
    rows: &[(String, Vec<u64>)],
    unit: &str,
    hues: &[usize],
) -> Result<String, String> {
    let mut svg = String::new();
    let count = rows.len().max(1);
    let height = 60 + 36 * u32::try_from(count).unwrap_or(1);
    let names = u32::try_from(
        rows.iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(4)
            .clamp(4, LABEL_MAX),
    )
    .unwrap_or(28);
    {
        let root = SVGBackend::with_string(&mut svg, (720, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let max = rows
            .iter()
            .map(|(_, parts)| parts.iter().sum::<u64>())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(names * 8 + 16)
            .build_cartesian_2d(0f64..max as f64, 0f64..count as f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .y_labels(0)
            .x_labels(usize::try_from(max.min(10)).unwrap_or(10) + 1)
            .x_label_formatter(&whole)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 14))
            .x_desc(unit)
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (name, parts)) in rows.iter().enumerate() {
            // Row 0 at the top.
            let y = (count - 1 - i) as f64;
            let (x0, y0) = chart.backend_coord(&(0.0, y + 0.5));
            label(
                &root,
                &short(name),
                (x0 - 8, y0),
                Pos::new(HPos::Right, VPos::Center),
                &BLACK,
            )?;
            let mut left = 0u64;
            for (k, &n) in parts.iter().enumerate() {
                if n == 0 {
                    continue;
                }
                let (fill, ink) = PALETTE[hues.get(k).copied().unwrap_or(k) % PALETTE.len()];
                let (from, to) = (left as f64, (left + n) as f64);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(from, y + 0.15), (to, y + 0.85)],
                        fill.filled(),
                    )))
                    .map_err(|e| e.to_string())?;
                // A dark edge, so the light colours (yellow, sky blue) stand out from the white.
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(from, y + 0.15), (to, y + 0.85)],
                        RGBColor(80, 80, 80).stroke_width(1),
                    )))
                    .map_err(|e| e.to_string())?;
                let at = chart.backend_coord(&((from + to) / 2.0, y + 0.5));
                label(&root, &n.to_string(), at, Pos::new(HPos::Center, VPos::Center), &ink)?;
                left += n;
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(titled(svg, id, title))
}

/// Running totals by whole day (`x` from 0), one line a series (`(name, totals)`, `totals[d]` the
/// total at the end of day `d`), drawn as steps: the first series solid with dots, the next
/// dashed with squares, so they differ without colour too. Each total is written where it
/// changes, and each line's name at its end.
pub fn running_totals(
    id: &str,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[(String, Vec<u64>)],
) -> Result<String, String> {
    let days = series.iter().map(|(_, t)| t.len()).max().unwrap_or(0).max(1);
    let top = series
        .iter()
        .flat_map(|(_, t)| t.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 340)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        // Room on the right for each line's name.
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_right(110)
            .margin_top(28)
            .x_label_area_size(44)
            .y_label_area_size(48)
            .build_cartesian_2d(-0.5f64..(days as f64 - 0.5).max(0.5), 0f64..(top as f64 * 1.1).ceil())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(230, 230, 230))
            .x_labels(days.min(15) + 1)
            .y_labels(usize::try_from(top.min(10)).unwrap_or(10) + 1)
            .x_label_formatter(&|v| if *v >= 0.0 { whole(v) } else { String::new() })
            .y_label_formatter(&whole)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 14))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(|e| e.to_string())?;
        for (k, (name, totals)) in series.iter().enumerate() {
            let (colour, _) = PALETTE[k % PALETTE.len()];
            let style = colour.stroke_width(3);
            // Steps: across each day at its total, then up (or down) to the next day's.
            let mut points = Vec::with_capacity(totals.len() * 2 + 1);
            for (d, &n) in totals.iter().enumerate() {
                let (x, y) = (d as f64, n as f64);
                if d > 0 {
                    points.push((x - 0.5, totals[d - 1] as f64));
                    points.push((x - 0.5, y));
                } else {
                    points.push((x - 0.5, y));
                }
                points.push((x + 0.5, y));
            }
            if k % 2 == 0 {
                chart
                    .draw_series(LineSeries::new(points, style))
                    .map_err(|e| e.to_string())?;
            } else {
                chart
                    .draw_series(DashedLineSeries::new(points, 10, 6, style))
                    .map_err(|e| e.to_string())?;
            }
            for (d, &n) in totals.iter().enumerate() {
                if d > 0 && totals[d - 1] == n {
                    continue;
                }
                let at = (d as f64, n as f64);
                if k % 2 == 0 {
                    chart
                        .draw_series(std::iter::once(Circle::new(at, 5, colour.filled())))
                        .map_err(|e| e.to_string())?;
                } else {
                    let (x, y) = chart.backend_coord(&at);
                    root.draw(&Rectangle::new([(x - 5, y - 5), (x + 5, y + 5)], colour.filled()))
                        .map_err(|e| e.to_string())?;
                }
                let (x, y) = chart.backend_coord(&at);
                // The first series' numbers above its line, the second's below.
                let (dy, v) = if k % 2 == 0 {
                    (-10, VPos::Bottom)
                } else {
                    (10, VPos::Top)
                };
                label(&root, &n.to_string(), (x, y + dy), Pos::new(HPos::Center, v), &BLACK)?;
            }
            let last = totals.last().copied().unwrap_or(0);
            let (x, y) = chart.backend_coord(&((days as f64) - 0.5, last as f64));
            let dy = if k % 2 == 0 { -8 } else { 8 };
            label(
                &root,
                &short(name),
                (x + 8, y + dy),
                Pos::new(HPos::Left, VPos::Center),
                &BLACK,
            )?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(titled(svg, id, title))
}

/// A heat map of a square matrix (`matrix[i][j]` between `names[i]` and `names[j]`), each cell's
/// number written in it, darker for more; the names down the left and along the top.
pub fn heat_map(id: &str, title: &str, names: &[String], matrix: &[Vec<u64>]) -> Result<String, String> {
    let n = names.len().max(1);
    let cell = 56u32;
    let margin =
        8 * u32::try_from(names.iter().map(|s| s.chars().count()).max().unwrap_or(4).clamp(4, 24)).unwrap_or(96) + 20;
    let size = u32::try_from(n).unwrap_or(1) * cell;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (size + margin + 16, size + margin + 16)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let max = matrix.iter().flatten().copied().max().unwrap_or(0).max(1);
        let left = i32::try_from(margin).unwrap_or(100);
        let cell = i32::try_from(cell).unwrap_or(56);
        let (RGBColor(r, g, b), _) = PALETTE[0];
        for (i, name) in names.iter().enumerate() {
            let i32_i = i32::try_from(i).unwrap_or(0);
            label(
                &root,
                name,
                (left - 8, left + i32_i * cell + cell / 2),
                Pos::new(HPos::Right, VPos::Center),
                &BLACK,
            )?;
            let style = ("sans-serif", 14)
                .into_font()
                .transform(FontTransform::Rotate270)
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center));
            root.draw(&Text::new(
                name.clone(),
                (left + i32_i * cell + cell / 2, left - 8),
                style,
            ))
            .map_err(|e| e.to_string())?;
        }
        for (i, row) in matrix.iter().enumerate() {
            for (j, &value) in row.iter().enumerate() {
                let share = value as f64 / max as f64;
                let mix = |c: u8| (255.0 - (255.0 - f64::from(c)) * share).round() as u8;
                let (x, y) = (
                    left + i32::try_from(j).unwrap_or(0) * cell,
                    left + i32::try_from(i).unwrap_or(0) * cell,
                );
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    RGBColor(mix(r), mix(g), mix(b)).filled(),
                ))
                .map_err(|e| e.to_string())?;
                root.draw(&Rectangle::new([(x, y), (x + cell, y + cell)], RGBColor(176, 176, 176)))
                    .map_err(|e| e.to_string())?;
                let ink = if share > 0.5 { WHITE } else { BLACK };
                label(
                    &root,
                    &value.to_string(),
                    (x + cell / 2, y + cell / 2),
                    Pos::new(HPos::Center, VPos::Center),
                    &ink,
                )?;
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(titled(svg, id, title))
}
