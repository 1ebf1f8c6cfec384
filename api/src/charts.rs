//! Charts for the console, drawn on the server as inline SVG by `plotters` (its SVG backend, no
//! fonts needed: text stays text): stacked bars and a heat map, in the Okabe–Ito colours that
//! people with colour-blindness tell apart, with the numbers written on them, a `<title>`, and
//! `role="img"`. Each chart is drawn even when every count is zero; the page puts a table of the
//! same numbers beside it.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The Okabe–Ito colours, in order, each with the colour its numbers are written in.
const PALETTE: [(RGBColor, RGBColor); 4] = [
    (RGBColor(0, 114, 178), WHITE),
    (RGBColor(230, 159, 0), BLACK),
    (RGBColor(204, 121, 167), BLACK),
    (RGBColor(0, 158, 115), BLACK),
];

/// The colour of series `i` as CSS, for a legend beside a chart.
pub fn colour(i: usize) -> String {
    let RGBColor(r, g, b) = PALETTE[i % PALETTE.len()].0;
    format!("#{r:02x}{g:02x}{b:02x}")
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

/// Horizontal stacked bars: one bar a row (`(label, counts by series)`), each part in its
/// series' colour with its count written on it.
pub fn stacked_bars(id: &str, title: &str, rows: &[(String, Vec<u64>)]) -> Result<String, String> {
    let mut svg = String::new();
    let count = rows.len().max(1);
    let height = 60 + 36 * u32::try_from(count).unwrap_or(1);
    let names = u32::try_from(
        rows.iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(4)
            .clamp(4, 28),
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
            .x_label_formatter(&|v| {
                if v.fract() == 0.0 {
                    format!("{v:.0}")
                } else {
                    String::new()
                }
            })
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 14))
            .x_desc("schools")
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (name, parts)) in rows.iter().enumerate() {
            // Row 0 at the top.
            let y = (count - 1 - i) as f64;
            let (x0, y0) = chart.backend_coord(&(0.0, y + 0.5));
            label(&root, name, (x0 - 8, y0), Pos::new(HPos::Right, VPos::Center), &BLACK)?;
            let mut left = 0u64;
            for (k, &n) in parts.iter().enumerate() {
                if n == 0 {
                    continue;
                }
                let (fill, ink) = PALETTE[k % PALETTE.len()];
                let (from, to) = (left as f64, (left + n) as f64);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(from, y + 0.15), (to, y + 0.85)],
                        fill.filled(),
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
