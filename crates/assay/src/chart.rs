//! Charts rendered in Rust: SVG for the UI (scales to its container, carries hover tooltips) and
//! PNG for export. One general spec covers Assay's charts: cost per day stacked by a dimension,
//! pass rate or mean score per commit, p95 latency per day.
//!
//! Both outputs share one drawing pass, so what a person exports is what they saw. Text is laid
//! out with a bundled DejaVu Sans, so PNG rendering needs no system fonts.

use std::fmt::Write as _;
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, PxScaleFont, ScaleFont};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How the series are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// One line per series; `None` values leave a gap. All lines are drawn; the legend lists
    /// the first nine and "+N more", and colours repeat after nine series.
    Line,
    /// One bar per x label, series stacked bottom to top in order; the y axis starts at 0.
    /// More than ten series are reduced with [`top_n_with_other`] to nine and "other".
    StackedBar,
}

/// Colour scheme of the background, text and grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Dark text on white.
    Light,
    /// Light text on a near-black background.
    Dark,
}

/// How values are written on the y axis and in tooltips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueFormat {
    /// US dollars: `$1.2k` on the axis, `$12.34` in tooltips.
    Usd,
    /// A fraction 0..1 shown as a percentage: `45%`.
    Percent,
    /// A plain number: `1.2k`.
    Number,
    /// A duration in milliseconds: `250 ms`, `1.2 s`.
    Milliseconds,
}

/// One named series: a value (or no data) per x label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Shown in the legend and tooltips (a tenant, a model, "pass rate").
    pub name: String,
    /// One entry per x label, in the same order; `None` means no data (a gap in a line).
    pub values: Vec<Option<f64>>,
}

/// Everything needed to draw one chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartSpec {
    /// Drawn at the top left.
    pub title: String,
    /// Lines or stacked bars.
    pub kind: ChartKind,
    /// Categories along x, in order: dates (`2026-10-01`), short commit shas, ...
    pub x_labels: Vec<String>,
    /// When true, `YYYY-MM-DD` labels are shown as `Oct 1` on the axis.
    pub x_is_date: bool,
    /// The data; each series has exactly one value per x label.
    pub series: Vec<Series>,
    /// What the y axis measures, shown above it (`Cost`, `p95 latency`).
    pub y_label: String,
    /// How values are written.
    pub format: ValueFormat,
    /// Light or dark colours.
    pub theme: Theme,
    /// Width in pixels (200..=4096); the SVG scales, this sets its aspect ratio and text size.
    pub width: u32,
    /// Height in pixels (150..=4096).
    pub height: u32,
}

/// Name of the series that [`top_n_with_other`] creates.
pub const OTHER: &str = "other";

/// Most legend entries shown; more series are merged (stacked bars) or summarised (lines).
const MAX_LEGEND: usize = 10;

/// Keeps the `n` series with the largest totals (in their original order) and sums the rest,
/// per x label, into one series named [`OTHER`] placed last.
///
/// At most `n + 1` series come back. When there are no more than `n + 1` series they are returned
/// unchanged, since merging a single series would only rename it. A merged value is `None` where
/// every merged series had no data. An input series already named `other` is always merged.
pub fn top_n_with_other(series: &[Series], n: usize) -> Vec<Series> {
    if series.len() <= n + 1 {
        return series.to_vec();
    }
    let total = |s: &Series| -> f64 { s.values.iter().flatten().filter(|v| v.is_finite()).sum() };
    let mut ranked: Vec<usize> = (0..series.len())
        .filter(|&i| series[i].name != OTHER)
        .collect();
    // Stable sort: equal totals keep their input order, so the result does not flicker.
    ranked.sort_by(|&a, &b| total(&series[b]).total_cmp(&total(&series[a])));
    let mut keep = vec![false; series.len()];
    for &i in ranked.iter().take(n) {
        keep[i] = true;
    }
    let len = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let mut other: Vec<Option<f64>> = vec![None; len];
    let mut out = Vec::with_capacity(n + 1);
    for (s, kept) in series.iter().zip(&keep) {
        if *kept {
            out.push(s.clone());
            continue;
        }
        for (slot, v) in other.iter_mut().zip(&s.values) {
            if let Some(v) = v {
                *slot = Some(slot.unwrap_or(0.0) + v);
            }
        }
    }
    out.push(Series {
        name: OTHER.to_string(),
        values: other,
    });
    out
}

/// Renders the chart as a standalone SVG document that scales to the width of its container.
///
/// Every bar segment and line point carries an SVG `<title>` tooltip such as
/// `acme · 2026-10-03 · $12.34`. Empty data draws "No data"; invalid data is an error naming
/// the series.
pub fn render_svg(spec: &ChartSpec) -> Result<String> {
    let plan = Plan::new(spec)?;
    let mut buf = String::with_capacity(64 * 1024);
    let (texts, hotspots) = {
        let root = SVGBackend::with_string(&mut buf, (spec.width, spec.height)).into_drawing_area();
        let drawn = draw(&root, &plan).map_err(render_error)?;
        root.present().map_err(render_error)?;
        drawn
    };
    Ok(finish_svg(buf, spec, &texts, &hotspots))
}

/// Renders the chart as a PNG of exactly `width` x `height` pixels.
pub fn render_png(spec: &ChartSpec) -> Result<Vec<u8>> {
    let plan = Plan::new(spec)?;
    let (w, h) = (spec.width, spec.height);
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        let (texts, _) = draw(&root, &plan).map_err(render_error)?;
        root.present().map_err(render_error)?;
        drop(root);
        draw_texts_rgb(&mut pixels, w, h, &texts)?;
    }
    let mut out = Vec::with_capacity(pixels.len() / 8);
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Flat colours compress well with deflate's balanced level and the Up filter: about 15 KB
    // for a typical chart, where the fast levels give 70 KB.
    encoder.set_compression(png::Compression::Balanced);
    encoder.set_filter(png::Filter::Up);
    let mut writer = encoder.write_header().map_err(render_error)?;
    writer.write_image_data(&pixels).map_err(render_error)?;
    writer.finish().map_err(render_error)?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Validation and preparation

fn invalid(message: String) -> Error {
    Error::InvalidArguments {
        command: "chart".to_string(),
        message,
    }
}

/// Rendering failures are not the caller's fault (the font is bundled, the buffers are ours).
fn render_error(e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: "<chart>".into(),
        source: std::io::Error::other(format!("rendering the chart failed: {e}")),
    }
}

struct Colors {
    background: RGBColor,
    text: RGBColor,
    muted: RGBColor,
    grid: RGBColor,
    axis: RGBColor,
}

impl Colors {
    fn of(theme: Theme) -> Colors {
        match theme {
            Theme::Light => Colors {
                background: RGBColor(0xff, 0xff, 0xff),
                text: RGBColor(0x1f, 0x23, 0x28),
                muted: RGBColor(0x57, 0x60, 0x6a),
                grid: RGBColor(0xe6, 0xe8, 0xeb),
                axis: RGBColor(0x9a, 0xa1, 0xa9),
            },
            Theme::Dark => Colors {
                background: RGBColor(0x1e, 0x1e, 0x24),
                text: RGBColor(0xe8, 0xe8, 0xee),
                muted: RGBColor(0xa6, 0xa6, 0xb2),
                grid: RGBColor(0x34, 0x34, 0x3e),
                axis: RGBColor(0x6a, 0x6a, 0x78),
            },
        }
    }
}

/// Tableau 10 without its grey, which is kept for "other"; distinguishable under the common
/// colour-vision deficiencies and readable on both backgrounds.
const PALETTE: [RGBColor; 9] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
];
const OTHER_COLOR: RGBColor = RGBColor(0xba, 0xb0, 0xac);

/// The validated spec with the series that will actually be drawn.
struct Plan<'a> {
    spec: &'a ChartSpec,
    series: Vec<Series>,
    colors: Vec<RGBColor>,
    /// Series that [`top_n_with_other`] folded into "other" (stacked bars only).
    merged: usize,
    has_data: bool,
}

impl<'a> Plan<'a> {
    fn new(spec: &'a ChartSpec) -> Result<Plan<'a>> {
        bundled_font()?;
        if !(200..=4096).contains(&spec.width) || !(150..=4096).contains(&spec.height) {
            return Err(invalid(format!(
                "chart size {}x{} is outside 200..=4096 x 150..=4096 pixels",
                spec.width, spec.height
            )));
        }
        let n = spec.x_labels.len();
        for s in &spec.series {
            if s.values.len() != n {
                return Err(invalid(format!(
                    "series {:?} has {} values but there are {} x labels",
                    s.name,
                    s.values.len(),
                    n
                )));
            }
            for (v, label) in s.values.iter().zip(&spec.x_labels) {
                let Some(v) = *v else { continue };
                if !v.is_finite() {
                    return Err(invalid(format!(
                        "series {:?} has a non-finite value ({v}) at {label:?}",
                        s.name
                    )));
                }
                if spec.kind == ChartKind::StackedBar && v < 0.0 {
                    return Err(invalid(format!(
                        "series {:?} has a negative value ({v}) at {label:?}; stacked bars need values >= 0",
                        s.name
                    )));
                }
            }
        }
        let (series, merged) =
            if spec.kind == ChartKind::StackedBar && spec.series.len() > MAX_LEGEND {
                (
                    top_n_with_other(&spec.series, MAX_LEGEND - 1),
                    spec.series.len() - (MAX_LEGEND - 1),
                )
            } else {
                (spec.series.clone(), 0)
            };
        let colors = series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if spec.kind == ChartKind::StackedBar && s.name == OTHER {
                    OTHER_COLOR
                } else {
                    PALETTE[i % PALETTE.len()]
                }
            })
            .collect();
        let has_data = series.iter().any(|s| s.values.iter().any(Option::is_some));
        Ok(Plan {
            spec,
            series,
            colors,
            merged,
            has_data,
        })
    }

    /// The y range the data needs, before rounding to ticks.
    fn data_range(&self) -> (f64, f64) {
        let n = self.spec.x_labels.len();
        match self.spec.kind {
            ChartKind::StackedBar => {
                let max = (0..n)
                    .map(|i| self.series.iter().filter_map(|s| s.values[i]).sum::<f64>())
                    .fold(0.0, f64::max);
                (0.0, max)
            }
            ChartKind::Line => {
                let values = self.series.iter().flat_map(|s| s.values.iter().flatten());
                let (min, max) =
                    values.fold((0.0f64, 0.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
                (min, max)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fonts and text

static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Font stack of SVG text. Layout is measured with the bundled DejaVu Sans, which is wider than
/// the usual UI fonts, so substitutes only ever leave more room.
const SVG_FONT_FAMILY: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";

/// The bundled font, parsed once per process.
fn bundled_font() -> Result<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
        .ok_or_else(|| render_error("the bundled font could not be loaded"))
}

/// The font at an em size of `px` pixels, the same size an SVG `font-size` of `px` gives.
fn scaled(font: &'static FontRef<'static>, px: f64) -> PxScaleFont<&'static FontRef<'static>> {
    let em_to_height = font.height_unscaled() / font.units_per_em().unwrap_or(1000.0);
    font.as_scaled(PxScale::from(px as f32 * em_to_height))
}

const TITLE_PX: f64 = 15.0;
const LABEL_PX: f64 = 11.5;
const SMALL_PX: f64 = 11.0;

/// Width of `text` in pixels, with kerning.
fn text_width_f(px: f64, text: &str) -> f32 {
    let Ok(font) = bundled_font() else { return 0.0 };
    let sf = scaled(font, px);
    let mut width = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            width += sf.kern(p, id);
        }
        width += sf.h_advance(id);
        prev = Some(id);
    }
    width
}

fn text_width(px: f64, text: &str) -> i32 {
    text_width_f(px, text).ceil() as i32
}

/// Shortens `text` with an ellipsis so that it fits in `max` pixels.
fn fit_text(px: f64, text: &str, max: i32) -> String {
    if text_width(px, text) <= max {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut keep = chars.len();
    while keep > 0 {
        keep -= 1;
        let candidate: String = chars[..keep]
            .iter()
            .collect::<String>()
            .trim_end()
            .to_string()
            + "…";
        if text_width(px, &candidate) <= max {
            return candidate;
        }
    }
    "…".to_string()
}

/// Horizontal anchor of a text item.
#[derive(Clone, Copy)]
enum Align {
    Start,
    Middle,
    End,
}

/// One piece of text, positioned by its anchor and baseline. Both outputs draw text themselves
/// from these, so SVG and PNG share one layout.
struct TextItem {
    text: String,
    px: f64,
    color: RGBColor,
    x: i32,
    baseline: f32,
    align: Align,
}

impl TextItem {
    /// Text whose capitals start at `top`.
    fn top(text: &str, px: f64, color: RGBColor, x: i32, top: i32, align: Align) -> TextItem {
        TextItem::at(text, px, color, x, top as f32 + 0.76 * px as f32, align)
    }

    /// Text whose capitals are centred on `middle`.
    fn middle(text: &str, px: f64, color: RGBColor, x: i32, middle: i32, align: Align) -> TextItem {
        TextItem::at(text, px, color, x, middle as f32 + 0.36 * px as f32, align)
    }

    fn at(text: &str, px: f64, color: RGBColor, x: i32, baseline: f32, align: Align) -> TextItem {
        TextItem {
            text: text.to_string(),
            px,
            color,
            x,
            baseline,
            align,
        }
    }

    fn start_x(&self) -> f32 {
        let w = text_width_f(self.px, &self.text);
        match self.align {
            Align::Start => self.x as f32,
            Align::Middle => self.x as f32 - w / 2.0,
            Align::End => self.x as f32 - w,
        }
    }
}

fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Rasterises text into an RGB buffer, blending glyph coverage over what is already drawn.
fn draw_texts_rgb(pixels: &mut [u8], width: u32, height: u32, texts: &[TextItem]) -> Result<()> {
    let font = bundled_font()?;
    let (w, h) = (width as i32, height as i32);
    for t in texts {
        let sf = scaled(font, t.px);
        let mut x = t.start_x();
        let mut prev = None;
        let fg = [
            f32::from(t.color.0),
            f32::from(t.color.1),
            f32::from(t.color.2),
        ];
        for c in t.text.chars() {
            let id = sf.glyph_id(c);
            if let Some(p) = prev {
                x += sf.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(sf.scale(), ab_glyph::point(x, t.baseline));
            x += sf.h_advance(id);
            let Some(outline) = sf.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            let (ox, oy) = (bounds.min.x as i32, bounds.min.y as i32);
            outline.draw(|gx, gy, coverage| {
                let (px, py) = (ox + gx as i32, oy + gy as i32);
                if px < 0 || py < 0 || px >= w || py >= h {
                    return;
                }
                let a = coverage.clamp(0.0, 1.0);
                let i = (py as usize * width as usize + px as usize) * 3;
                for (k, fg) in fg.iter().enumerate() {
                    let bg = f32::from(pixels[i + k]);
                    pixels[i + k] = (bg + (fg - bg) * a).round() as u8;
                }
            });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Number formatting

/// The fewest decimals (0..=6) that write `step` exactly, so all ticks of an axis agree.
fn step_decimals(step: f64) -> usize {
    (0..=6)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
        })
        .unwrap_or(6)
}

/// Inserts thousands separators into the integer part of a formatted number.
fn group_thousands(s: &str) -> String {
    let (int, frac) = match s.find('.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let mut out = String::with_capacity(s.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out + frac
}

/// `v` with the fewest decimals in `min..=max` that reproduce it (up to float noise).
fn exact_decimals(v: f64, min: usize, max: usize) -> String {
    for d in min..max {
        let s = format!("{v:.d$}");
        if s.parse::<f64>()
            .is_ok_and(|p| (p - v).abs() <= 1e-12 * v.abs().max(1.0))
        {
            return s;
        }
    }
    format!("{v:.max$}")
}

fn sign(v: f64) -> &'static str {
    if v < 0.0 {
        "-"
    } else {
        ""
    }
}

/// The precise value for a tooltip: `$12.34`, `45.5%`, `1,234 ms`.
pub fn format_value(v: f64, format: ValueFormat) -> String {
    let a = v.abs();
    match format {
        ValueFormat::Usd => format!("{}${}", sign(v), group_thousands(&exact_decimals(a, 2, 6))),
        ValueFormat::Percent => format!("{}{}%", sign(v), exact_decimals(a * 100.0, 0, 2)),
        ValueFormat::Number => format!("{}{}", sign(v), group_thousands(&exact_decimals(a, 0, 4))),
        ValueFormat::Milliseconds => {
            format!(
                "{}{} ms",
                sign(v),
                group_thousands(&exact_decimals(a, 0, 2))
            )
        }
    }
}

/// How tick values of one axis are written: a shared unit and number of decimals.
struct AxisFormat {
    format: ValueFormat,
    divisor: f64,
    suffix: &'static str,
    decimals: usize,
}

impl AxisFormat {
    fn new(format: ValueFormat, max_abs: f64, step: f64) -> AxisFormat {
        let (divisor, suffix) = match format {
            ValueFormat::Usd | ValueFormat::Number if max_abs >= 1e6 => (1e6, "M"),
            ValueFormat::Usd | ValueFormat::Number if max_abs >= 1e3 => (1e3, "k"),
            ValueFormat::Usd | ValueFormat::Number => (1.0, ""),
            ValueFormat::Percent => (0.01, "%"),
            ValueFormat::Milliseconds if max_abs >= 1e3 => (1e3, " s"),
            ValueFormat::Milliseconds => (1.0, " ms"),
        };
        AxisFormat {
            format,
            divisor,
            suffix,
            decimals: step_decimals(step / divisor),
        }
    }

    fn tick(&self, v: f64) -> String {
        let d = self.decimals;
        let n = format!("{:.d$}", (v / self.divisor).abs());
        if n.trim_start_matches(['0', '.']).is_empty() {
            // Zero is written plainly, whatever the unit and decimals of the other ticks.
            return match self.format {
                ValueFormat::Usd => "$0",
                ValueFormat::Percent => "0%",
                ValueFormat::Number | ValueFormat::Milliseconds => "0",
            }
            .to_string();
        }
        let sign = if v < 0.0 { "-" } else { "" };
        let n = group_thousands(&n);
        match self.format {
            ValueFormat::Usd => format!("{sign}${n}{}", self.suffix),
            _ => format!("{sign}{n}{}", self.suffix),
        }
    }
}

/// Rounds `raw` up to 1, 2, 2.5 or 5 times a power of ten.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let norm = raw / magnitude;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Tick values covering `lo..=hi` (which includes 0) with about `target` intervals.
fn y_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64) {
    let (lo, hi) = if hi - lo <= 0.0 {
        (lo, lo + 1.0)
    } else {
        (lo, hi)
    };
    let step = nice_step((hi - lo) / target.max(1) as f64);
    let first = (lo / step).floor() as i64;
    let last = (hi / step).ceil() as i64;
    let ticks = (first..=last)
        .map(|i| {
            let t = i as f64 * step;
            // Snap away float noise (0.30000000000000004) so labels and grid agree.
            (t / step * 1e6).round() / 1e6 * step
        })
        .collect();
    (ticks, step)
}

// ---------------------------------------------------------------------------------------------
// X labels

/// Shows `2026-10-01` as `Oct 1`; other labels unchanged.
fn axis_x_label(label: &str, is_date: bool) -> String {
    if is_date {
        if let Some(day) = label.get(..10) {
            if let Ok(d) = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") {
                return d.format("%b %-d").to_string();
            }
        }
    }
    label.to_string()
}

/// Every how many x labels one is shown, so that labels never overlap. Dates are also kept few
/// (30 days on a typical chart show every 5th, 90 days every 15th); other labels, such as
/// commits, are each worth reading, so they are only thinned to fit.
fn x_label_step(n: usize, plot_width: f64, max_label_width: f64, is_date: bool) -> usize {
    if n == 0 || plot_width <= 0.0 {
        return 1;
    }
    let slot = plot_width / n as f64;
    let to_fit = ((max_label_width + 12.0) / slot).ceil() as usize;
    let max_labels = ((plot_width / 80.0).floor() as usize).clamp(2, 12);
    let to_limit = if is_date { n.div_ceil(max_labels) } else { 1 };
    let need = to_fit.max(to_limit).max(1);
    const NICE: [usize; 12] = [1, 2, 3, 5, 10, 15, 20, 25, 30, 50, 60, 100];
    NICE.iter()
        .copied()
        .find(|&s| s >= need)
        .unwrap_or_else(|| need.div_ceil(100) * 100)
}

// ---------------------------------------------------------------------------------------------
// Layout

struct LegendEntry {
    label: String,
    color: RGBColor,
    /// The "+N more" line: muted text, no swatch.
    is_more: bool,
}

enum LegendPlace {
    Right {
        x: i32,
        y: i32,
    },
    Below {
        rows: Vec<Vec<(i32, usize)>>,
        y: i32,
    },
}

struct Layout {
    title: Option<String>,
    y_label: Option<String>,
    plot_left: i32,
    plot_top: i32,
    plot_right: i32,
    plot_bottom: i32,
    ticks: Vec<f64>,
    tick_labels: Vec<String>,
    x_step: usize,
    x_labels: Vec<String>,
    legend: Vec<LegendEntry>,
    legend_place: LegendPlace,
}

const PAD: i32 = 12;
const LEGEND_ROW: i32 = 20;
const SWATCH: i32 = 12;

fn layout(plan: &Plan) -> Layout {
    let spec = plan.spec;
    let (w, h) = (spec.width as i32, spec.height as i32);

    let title =
        (!spec.title.trim().is_empty()).then(|| fit_text(TITLE_PX, spec.title.trim(), w - 2 * PAD));
    let y_label = (!spec.y_label.trim().is_empty())
        .then(|| fit_text(SMALL_PX, spec.y_label.trim(), w - 2 * PAD));
    let mut top = PAD;
    if title.is_some() {
        top += 24;
    }
    if y_label.is_some() {
        top += 18;
    }
    let plot_top = top + 6;

    // Legend entries: stacked bars were already merged to at most MAX_LEGEND series.
    let mut legend: Vec<LegendEntry> = Vec::new();
    let mut hidden = 0;
    if plan.has_data {
        let shown = if plan.series.len() > MAX_LEGEND {
            hidden = plan.series.len() - (MAX_LEGEND - 1);
            MAX_LEGEND - 1
        } else {
            plan.series.len()
        };
        for (i, s) in plan.series.iter().take(shown).enumerate() {
            let mut label = if s.name.trim().is_empty() {
                "(unnamed)".to_string()
            } else {
                s.name.clone()
            };
            if plan.merged > 0 && i == plan.series.len() - 1 {
                label = format!("{OTHER} ({} series)", plan.merged);
            }
            legend.push(LegendEntry {
                label,
                color: plan.colors[i],
                is_more: false,
            });
        }
    }

    // Legend to the right when there is room, otherwise in rows below the plot.
    let right_legend = w >= 520;
    let max_name = if right_legend {
        (w * 28 / 100).min(200) - SWATCH - 8
    } else {
        (w - 2 * PAD - SWATCH - 8).min(180)
    };
    for e in &mut legend {
        e.label = fit_text(LABEL_PX, &e.label, max_name);
    }
    let more = |n: usize| format!("+{n} more");

    let x_label_height = 22;
    let (plot_right, mut plot_bottom, legend_place);
    if legend.is_empty() {
        plot_right = w - PAD - 8;
        plot_bottom = h - PAD - x_label_height;
        legend_place = LegendPlace::Right { x: w, y: plot_top };
    } else if right_legend {
        let mut widest = legend
            .iter()
            .map(|e| text_width(LABEL_PX, &e.label))
            .max()
            .unwrap_or(0);
        if hidden > 0 {
            widest = widest.max(text_width(LABEL_PX, &more(hidden)));
        }
        let legend_w = SWATCH + 8 + widest;
        plot_right = w - PAD - legend_w - 20;
        plot_bottom = h - PAD - x_label_height;
        // Never let the legend run past the bottom: fold what does not fit into "+N more".
        let capacity = (((plot_bottom - plot_top) / LEGEND_ROW).max(1)) as usize;
        let rows = legend.len() + usize::from(hidden > 0);
        if rows > capacity {
            let keep = capacity.saturating_sub(1);
            hidden += legend.len() - keep;
            legend.truncate(keep);
        }
        legend_place = LegendPlace::Right {
            x: plot_right + 20,
            y: plot_top,
        };
    } else {
        plot_right = w - PAD - 8;
        let mut labels: Vec<String> = legend.iter().map(|e| e.label.clone()).collect();
        if hidden > 0 {
            labels.push(more(hidden));
        }
        let mut rows: Vec<Vec<(i32, usize)>> = vec![Vec::new()];
        let mut x = PAD;
        for (i, label) in labels.iter().enumerate() {
            let item_w = SWATCH + 6 + text_width(LABEL_PX, label) + 16;
            if x + item_w > w - PAD && x > PAD {
                rows.push(Vec::new());
                x = PAD;
            }
            if let Some(row) = rows.last_mut() {
                row.push((x, i));
            }
            x += item_w;
        }
        let legend_h = rows.len() as i32 * LEGEND_ROW;
        plot_bottom = h - PAD - x_label_height - legend_h;
        legend_place = LegendPlace::Below {
            rows,
            y: plot_bottom + x_label_height + 8,
        };
    }

    // Y ticks: about one per 50 px of height.
    let plot_h = (plot_bottom - plot_top).max(20);
    plot_bottom = plot_top + plot_h;
    let target = ((plot_h / 50) as usize).clamp(2, 8);
    let (lo, hi) = if plan.has_data {
        plan.data_range()
    } else {
        (0.0, 1.0)
    };
    let (ticks, step) = y_ticks(lo, hi, target);
    let max_abs = ticks.iter().fold(0.0f64, |m, t| m.max(t.abs()));
    let axis = AxisFormat::new(spec.format, max_abs, step);
    let tick_labels: Vec<String> = ticks.iter().map(|&t| axis.tick(t)).collect();
    let tick_w = tick_labels
        .iter()
        .map(|t| text_width(LABEL_PX, t))
        .max()
        .unwrap_or(0);
    let plot_left = PAD + tick_w + 8;

    // X labels: shortened, then thinned to fit.
    let x_labels: Vec<String> = spec
        .x_labels
        .iter()
        .map(|l| fit_text(LABEL_PX, &axis_x_label(l, spec.x_is_date), 110))
        .collect();
    let widest_x = x_labels
        .iter()
        .map(|l| text_width(LABEL_PX, l))
        .max()
        .unwrap_or(0);
    let x_step = x_label_step(
        x_labels.len(),
        f64::from(plot_right - plot_left),
        f64::from(widest_x),
        spec.x_is_date,
    );

    Layout {
        title,
        y_label,
        plot_left,
        plot_top,
        plot_right,
        plot_bottom,
        ticks,
        tick_labels,
        x_step,
        x_labels,
        legend: legend_with_more(legend, hidden),
        legend_place,
    }
}

/// Appends the "+N more" line, drawn without a swatch.
fn legend_with_more(mut legend: Vec<LegendEntry>, hidden: usize) -> Vec<LegendEntry> {
    if hidden > 0 {
        legend.push(LegendEntry {
            label: format!("+{hidden} more"),
            color: RGBColor(0, 0, 0),
            is_more: true,
        });
    }
    legend
}

// ---------------------------------------------------------------------------------------------
// Drawing

/// A transparent hover target with its tooltip, in pixels.
enum Hotspot {
    Rect {
        x: i32,
        y: i32,
        w: i32,
        h: i32,
        title: String,
    },
    Circle {
        cx: i32,
        cy: i32,
        r: i32,
        title: String,
    },
}

type DrawResult<T, DB> =
    std::result::Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draws the shapes with plotters and returns the text to draw on top and the hover targets.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    plan: &Plan,
) -> DrawResult<(Vec<TextItem>, Vec<Hotspot>), DB> {
    let spec = plan.spec;
    let colors = Colors::of(spec.theme);
    let lay = layout(plan);
    root.fill(&colors.background)?;
    let mut texts = Vec::new();

    if let Some(title) = &lay.title {
        texts.push(TextItem::top(
            title,
            TITLE_PX,
            colors.text,
            PAD,
            PAD,
            Align::Start,
        ));
    }
    if let Some(y_label) = &lay.y_label {
        let y = if lay.title.is_some() { PAD + 24 } else { PAD };
        texts.push(TextItem::top(
            y_label,
            SMALL_PX,
            colors.muted,
            PAD,
            y,
            Align::Start,
        ));
    }

    if !plan.has_data {
        let cx = (lay.plot_left + lay.plot_right) / 2;
        let cy = (lay.plot_top + lay.plot_bottom) / 2;
        texts.push(TextItem::middle(
            "No data",
            14.0,
            colors.muted,
            cx,
            cy,
            Align::Middle,
        ));
        return Ok((texts, Vec::new()));
    }

    let n = spec.x_labels.len();
    let (w, h) = (spec.width as i32, spec.height as i32);
    let y_lo = lay.ticks.first().copied().unwrap_or(0.0);
    let y_hi = lay.ticks.last().copied().unwrap_or(1.0);
    let chart = ChartBuilder::on(root)
        .margin_left(lay.plot_left)
        .margin_top(lay.plot_top)
        .margin_right(w - lay.plot_right)
        .margin_bottom(h - lay.plot_bottom)
        .build_cartesian_2d(0f64..n as f64, y_lo..y_hi)?;
    let area = chart.plotting_area();

    // Grid and y tick labels.
    for (t, label) in lay.ticks.iter().zip(&lay.tick_labels) {
        let color = if *t == 0.0 { colors.axis } else { colors.grid };
        area.draw(&PathElement::new(vec![(0.0, *t), (n as f64, *t)], color))?;
        let (_, py) = chart.backend_coord(&(0.0, *t));
        texts.push(TextItem::middle(
            label,
            LABEL_PX,
            colors.muted,
            lay.plot_left - 8,
            py,
            Align::End,
        ));
    }

    let slot_px = f64::from(lay.plot_right - lay.plot_left) / n.max(1) as f64;
    let mut hotspots = Vec::new();
    match spec.kind {
        ChartKind::StackedBar => {
            let show_total = plan.series.len() > 1;
            for i in 0..n {
                let total: f64 = plan.series.iter().filter_map(|s| s.values[i]).sum();
                let mut base = 0.0;
                let (x0, x1) = (i as f64 + 0.14, i as f64 + 0.86);
                for (s, color) in plan.series.iter().zip(&plan.colors) {
                    let Some(v) = s.values[i] else { continue };
                    let top = base + v;
                    area.draw(&Rectangle::new([(x0, base), (x1, top)], color.filled()))?;
                    let (px0, py1) = chart.backend_coord(&(x0, base));
                    let (px1, py0) = chart.backend_coord(&(x1, top));
                    let mut title = tooltip(&s.name, &spec.x_labels[i], v, spec.format);
                    if show_total {
                        let _ = write!(title, "\ntotal {}", format_value(total, spec.format));
                    }
                    hotspots.push(Hotspot::Rect {
                        x: px0,
                        y: py0,
                        w: (px1 - px0).max(1),
                        h: (py1 - py0).max(1),
                        title,
                    });
                    base = top;
                }
            }
        }
        ChartKind::Line => {
            let marker_all = slot_px >= 14.0;
            let hover_r = (slot_px * 0.45).clamp(4.0, 9.0) as i32;
            for (s, color) in plan.series.iter().zip(&plan.colors) {
                let style = color.stroke_width(2);
                let mut run: Vec<(f64, f64)> = Vec::new();
                let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
                for (i, v) in s.values.iter().enumerate() {
                    match v {
                        Some(v) => run.push((i as f64 + 0.5, *v)),
                        None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
                        None => {}
                    }
                }
                if !run.is_empty() {
                    runs.push(run);
                }
                for run in &runs {
                    if run.len() > 1 {
                        area.draw(&PathElement::new(run.clone(), style))?;
                    }
                    if marker_all || run.len() == 1 {
                        for p in run {
                            area.draw(&Circle::new(*p, 3, color.filled()))?;
                        }
                    }
                }
                for (i, v) in s.values.iter().enumerate() {
                    let Some(v) = *v else { continue };
                    let (cx, cy) = chart.backend_coord(&(i as f64 + 0.5, v));
                    hotspots.push(Hotspot::Circle {
                        cx,
                        cy,
                        r: hover_r,
                        title: tooltip(&s.name, &spec.x_labels[i], v, spec.format),
                    });
                }
            }
        }
    }

    // X labels, centred under their slot, nudged inside the canvas at the edges.
    for i in (0..n).step_by(lay.x_step.max(1)) {
        let label = &lay.x_labels[i];
        let half = text_width(LABEL_PX, label) / 2;
        let (x, _) = chart.backend_coord(&(i as f64 + 0.5, y_lo));
        let x = x.clamp(half + 2, (w - half - 2).max(half + 2));
        texts.push(TextItem::top(
            label,
            LABEL_PX,
            colors.muted,
            x,
            lay.plot_bottom + 7,
            Align::Middle,
        ));
    }

    draw_legend(root, &lay, spec.kind, &colors, &mut texts)?;
    Ok((texts, hotspots))
}

fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    lay: &Layout,
    kind: ChartKind,
    colors: &Colors,
    texts: &mut Vec<TextItem>,
) -> DrawResult<(), DB> {
    let mut entry = |i: usize, x: i32, cy: i32| -> DrawResult<(), DB> {
        let e = &lay.legend[i];
        if e.is_more {
            texts.push(TextItem::middle(
                &e.label,
                LABEL_PX,
                colors.muted,
                x,
                cy,
                Align::Start,
            ));
            return Ok(());
        }
        match kind {
            ChartKind::StackedBar => root.draw(&Rectangle::new(
                [(x, cy - SWATCH / 2), (x + SWATCH, cy + SWATCH / 2)],
                e.color.filled(),
            ))?,
            ChartKind::Line => {
                root.draw(&PathElement::new(
                    vec![(x, cy), (x + SWATCH, cy)],
                    e.color.stroke_width(2),
                ))?;
                root.draw(&Circle::new((x + SWATCH / 2, cy), 3, e.color.filled()))?;
            }
        }
        texts.push(TextItem::middle(
            &e.label,
            LABEL_PX,
            colors.text,
            x + SWATCH + 6,
            cy,
            Align::Start,
        ));
        Ok(())
    };
    match &lay.legend_place {
        LegendPlace::Right { x, y } => {
            for i in 0..lay.legend.len() {
                entry(i, *x, y + i as i32 * LEGEND_ROW + LEGEND_ROW / 2)?;
            }
        }
        LegendPlace::Below { rows, y } => {
            for (r, row) in rows.iter().enumerate() {
                let cy = y + r as i32 * LEGEND_ROW + LEGEND_ROW / 2;
                for (x, i) in row {
                    entry(*i, *x, cy)?;
                }
            }
        }
    }
    Ok(())
}

fn tooltip(series: &str, x_label: &str, v: f64, format: ValueFormat) -> String {
    format!("{series} · {x_label} · {}", format_value(v, format))
}

// ---------------------------------------------------------------------------------------------
// SVG post-processing

fn escape_xml(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// Makes the document scale to its container and adds the tooltip layer, which plotters has no
/// notion of, on top of everything drawn.
fn finish_svg(svg: String, spec: &ChartSpec, texts: &[TextItem], hotspots: &[Hotspot]) -> String {
    let mut out = String::with_capacity(svg.len() + hotspots.len() * 140 + 512);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" \
         preserveAspectRatio=\"xMidYMid meet\" role=\"img\" aria-label=\"",
        w = spec.width,
        h = spec.height
    );
    escape_xml(&spec.title, &mut out);
    let _ = writeln!(
        out,
        "\" font-family=\"{SVG_FONT_FAMILY}\" style=\"display:block;max-width:100%;height:auto\">"
    );
    // plotters opens with `<svg width=.. height=.. viewBox=.. xmlns=..>`; keep what follows.
    let body_start = svg
        .find("<svg")
        .and_then(|s| svg[s..].find('>').map(|e| s + e + 1))
        .unwrap_or(0);
    let body_end = svg.rfind("</svg>").unwrap_or(svg.len());
    out.push_str(svg[body_start..body_end].trim_start_matches('\n'));
    for t in texts {
        let anchor = match t.align {
            Align::Start => "start",
            Align::Middle => "middle",
            Align::End => "end",
        };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{:.1}\" font-size=\"{}\" fill=\"{}\" text-anchor=\"{anchor}\">",
            t.x,
            t.baseline,
            t.px,
            hex(t.color)
        );
        escape_xml(&t.text, &mut out);
        out.push_str("</text>\n");
    }
    if !hotspots.is_empty() {
        out.push_str(
            "<g class=\"chart-tooltips\" fill=\"#000\" fill-opacity=\"0\" pointer-events=\"all\">\n",
        );
        for spot in hotspots {
            let title = match spot {
                Hotspot::Rect { x, y, w, h, title } => {
                    let _ = write!(
                        out,
                        "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\">"
                    );
                    title
                }
                Hotspot::Circle { cx, cy, r, title } => {
                    let _ = write!(out, "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"{r}\">");
                    title
                }
            };
            out.push_str("<title>");
            escape_xml(title, &mut out);
            out.push_str("</title>");
            out.push_str(match spot {
                Hotspot::Rect { .. } => "</rect>\n",
                Hotspot::Circle { .. } => "</circle>\n",
            });
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Instant;

    fn days(n: usize) -> Vec<String> {
        let start = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        (0..n)
            .map(|i| {
                (start + chrono::Duration::days(i as i64))
                    .format("%Y-%m-%d")
                    .to_string()
            })
            .collect()
    }

    /// Deterministic, uneven costs: series i is roughly (i + 1) times larger, with a few gaps.
    fn cost_series(count: usize, n: usize) -> Vec<Series> {
        (0..count)
            .map(|s| Series {
                name: format!("tenant-{s:02}"),
                values: (0..n)
                    .map(|d| {
                        if (d + s) % 11 == 3 {
                            None
                        } else {
                            Some(
                                ((s + 1) as f64 * 3.17
                                    + ((d * 7 + s * 13) % 17) as f64 * 0.91 * 100.0)
                                    .round()
                                    / 100.0,
                            )
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    fn cost_spec(series: usize, n: usize) -> ChartSpec {
        ChartSpec {
            title: "Cost per day by tenant".into(),
            kind: ChartKind::StackedBar,
            x_labels: days(n),
            x_is_date: true,
            series: cost_series(series, n),
            y_label: "Cost (USD)".into(),
            format: ValueFormat::Usd,
            theme: Theme::Light,
            width: 800,
            height: 400,
        }
    }

    fn pass_rate_spec() -> ChartSpec {
        let commits: Vec<String> = [
            "a1b2c3d", "b2c3d4e", "c3d4e5f", "d4e5f60", "e5f6071", "f607182", "0718293", "18293a4",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        ChartSpec {
            title: "Eval pass rate per commit".into(),
            kind: ChartKind::Line,
            x_labels: commits,
            x_is_date: false,
            series: vec![
                Series {
                    name: "pass rate".into(),
                    values: vec![
                        Some(0.8),
                        Some(0.82),
                        Some(0.9),
                        None,
                        Some(0.875),
                        Some(0.93),
                        Some(0.95),
                        Some(0.9),
                    ],
                },
                Series {
                    name: "mean score".into(),
                    values: vec![
                        Some(0.61),
                        Some(0.64),
                        Some(0.7),
                        Some(0.68),
                        None,
                        Some(0.72),
                        Some(0.74),
                        Some(0.8),
                    ],
                },
            ],
            y_label: "Share of cases".into(),
            format: ValueFormat::Percent,
            theme: Theme::Light,
            width: 800,
            height: 360,
        }
    }

    fn latency_spec() -> ChartSpec {
        let n = 30;
        ChartSpec {
            title: "p95 latency per day".into(),
            kind: ChartKind::Line,
            x_labels: days(n),
            x_is_date: true,
            series: vec![
                Series {
                    name: "gpt-4o-mini".into(),
                    values: (0..n)
                        .map(|d| {
                            if d == 12 {
                                None
                            } else {
                                Some(800.0 + ((d * 37) % 23) as f64 * 40.0)
                            }
                        })
                        .collect(),
                },
                Series {
                    name: "claude-3-5-haiku-20241022-with-a-very-long-deployment-name".into(),
                    values: (0..n)
                        .map(|d| Some(1200.0 + ((d * 53) % 19) as f64 * 55.0))
                        .collect(),
                },
            ],
            y_label: "p95 latency".into(),
            format: ValueFormat::Milliseconds,
            theme: Theme::Dark,
            width: 800,
            height: 360,
        }
    }

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    fn non_none(spec: &ChartSpec) -> usize {
        spec.series
            .iter()
            .map(|s| s.values.iter().flatten().count())
            .sum()
    }

    /// A small well-formedness check: every element opened is closed in order.
    fn assert_balanced(svg: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("unclosed tag") + start;
            let tag = &rest[start + 1..end];
            assert!(!tag.contains('<'), "'<' inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name.trim()),
                    "mismatched </{name}>"
                );
            } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
                stack.push(tag.split_whitespace().next().unwrap().to_string());
            }
            rest = &rest[end + 1..];
        }
        assert!(stack.is_empty(), "unclosed elements: {stack:?}");
        // Text between tags must not hold a raw '&' that is not an entity.
        for part in svg.split('&').skip(1) {
            let entity = part.split(';').next().unwrap();
            assert!(
                ["lt", "gt", "amp", "quot", "apos"].contains(&entity) || entity.starts_with('#'),
                "bad entity &{entity}"
            );
        }
    }

    fn titles(svg: &str) -> Vec<String> {
        svg.split("<title>")
            .skip(1)
            .map(|t| t.split("</title>").next().unwrap().to_string())
            .collect()
    }

    fn png_size(png: &[u8]) -> (u32, u32) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
        (w, h)
    }

    fn example_dir() -> PathBuf {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
        target.join("chart-examples")
    }

    #[test]
    fn svg_is_well_formed_scalable_and_has_a_title_per_value() {
        for spec in [cost_spec(4, 30), pass_rate_spec(), latency_spec()] {
            let svg = render_svg(&spec).unwrap();
            assert_balanced(&svg);
            assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 800 "));
            assert!(svg.contains("width=\"100%\""));
            assert_eq!(count(&svg, "<svg"), 1);
            assert_eq!(titles(&svg).len(), non_none(&spec), "{}", spec.title);
        }
    }

    #[test]
    fn titles_carry_exact_values_series_and_x_label() {
        let mut spec = cost_spec(2, 5);
        spec.series[0].name = "acme <&> \"co\"".into();
        spec.series[0].values[2] = Some(12.34);
        spec.series[1].values[2] = Some(0.0042);
        spec.series[1].values[3] = Some(1234.5);
        let svg = render_svg(&spec).unwrap();
        assert_balanced(&svg);
        let t = titles(&svg);
        assert!(
            t.iter().any(|t| t.starts_with(
                "acme &lt;&amp;&gt; &quot;co&quot; · 2026-10-03 · $12.34\ntotal $12.3442"
            )),
            "{t:?}"
        );
        assert!(
            t.iter()
                .any(|t| t.starts_with("tenant-01 · 2026-10-03 · $0.0042")),
            "{t:?}"
        );
        assert!(
            t.iter()
                .any(|t| t.starts_with("tenant-01 · 2026-10-04 · $1,234.50")),
            "{t:?}"
        );

        let svg = render_svg(&pass_rate_spec()).unwrap();
        let t = titles(&svg);
        assert!(
            t.contains(&"pass rate · c3d4e5f · 90%".to_string()),
            "{t:?}"
        );
        assert!(
            t.contains(&"pass rate · e5f6071 · 87.5%".to_string()),
            "{t:?}"
        );
        let svg = render_svg(&latency_spec()).unwrap();
        assert!(titles(&svg).contains(&"gpt-4o-mini · 2026-10-01 · 800 ms".to_string()));
    }

    #[test]
    fn tooltip_shapes_sit_on_their_bars() {
        // One series, one value filling the whole axis: its hover rect spans the plot height.
        let spec = ChartSpec {
            series: vec![Series {
                name: "a".into(),
                values: vec![Some(10.0), Some(5.0)],
            }],
            x_labels: vec!["x".into(), "y".into()],
            ..cost_spec(1, 2)
        };
        let svg = render_svg(&spec).unwrap();
        let rects: Vec<(i32, i32, i32, i32)> = svg
            .split("<rect x=\"")
            .skip(1)
            .filter(|r| r.contains("<title>"))
            .map(|r| {
                let nums: Vec<i32> = r
                    .split('"')
                    .enumerate()
                    .filter(|(i, _)| i % 2 == 0)
                    .take(4)
                    .map(|(_, v)| v.parse().unwrap())
                    .collect();
                (nums[0], nums[1], nums[2], nums[3])
            })
            .collect();
        assert_eq!(rects.len(), 2);
        let (a, b) = (rects[0], rects[1]);
        // Same baseline, the second half as tall, to the right of the first.
        assert_eq!(a.1 + a.3, b.1 + b.3);
        assert!((a.3 - 2 * b.3).abs() <= 2, "{a:?} {b:?}");
        assert!(b.0 > a.0 + a.2);
    }

    #[test]
    fn x_labels_are_thinned_so_they_never_crowd() {
        assert_eq!(x_label_step(30, 560.0, 40.0, true), 5);
        assert_eq!(x_label_step(90, 560.0, 40.0, true), 15);
        assert_eq!(x_label_step(7, 560.0, 40.0, true), 1);
        assert_eq!(x_label_step(0, 560.0, 40.0, true), 1);
        // Commits are shown whenever they fit; dates are thinned further.
        assert_eq!(x_label_step(12, 560.0, 30.0, false), 1);
        assert_eq!(x_label_step(12, 560.0, 30.0, true), 2);
        assert_eq!(x_label_step(30, 560.0, 48.0, false), 5);
        // Wide labels in little room need a larger step even for few points.
        assert!(x_label_step(12, 300.0, 100.0, false) >= 5);
        // Whatever the inputs, the shown labels (with a 12 px gap) never overlap.
        for n in 1..200 {
            for width in [150.0, 300.0, 560.0, 1200.0] {
                for label in [20.0, 48.0, 110.0] {
                    for is_date in [true, false] {
                        let step = x_label_step(n, width, label, is_date);
                        assert!(
                            step as f64 * width / n as f64 >= label + 12.0 || step >= n,
                            "{n} {width} {label}"
                        );
                    }
                }
            }
        }

        let count_labels = |n: usize| {
            let svg = render_svg(&cost_spec(3, n)).unwrap();
            count(&svg, ">Oct ") + count(&svg, ">Nov ") + count(&svg, ">Dec ")
        };
        assert_eq!(count_labels(30), 6); // every 5th
        assert_eq!(count_labels(90), 6); // every 15th
        let svg = render_svg(&cost_spec(3, 30)).unwrap();
        assert!(svg.contains(">Oct 1</text>"));
        assert!(svg.contains(">Oct 6</text>"));
        assert!(!svg.contains(">Oct 2</text>"));
    }

    #[test]
    fn y_axis_is_formatted_and_bars_start_at_zero() {
        let a = AxisFormat::new(ValueFormat::Usd, 1500.0, 500.0);
        assert_eq!(a.tick(0.0), "$0");
        assert_eq!(a.tick(1500.0), "$1.5k");
        let a = AxisFormat::new(ValueFormat::Usd, 40.0, 10.0);
        assert_eq!(a.tick(20.0), "$20");
        let a = AxisFormat::new(ValueFormat::Percent, 1.0, 0.25);
        assert_eq!(a.tick(0.5), "50%");
        let a = AxisFormat::new(ValueFormat::Percent, 0.1, 0.025);
        assert_eq!(a.tick(0.075), "7.5%");
        let a = AxisFormat::new(ValueFormat::Milliseconds, 2000.0, 500.0);
        assert_eq!(a.tick(1500.0), "1.5 s");
        let a = AxisFormat::new(ValueFormat::Milliseconds, 400.0, 100.0);
        assert_eq!(a.tick(300.0), "300 ms");
        let a = AxisFormat::new(ValueFormat::Number, 2_000_000.0, 500_000.0);
        assert_eq!(a.tick(1_500_000.0), "1.5M");

        let (ticks, _) = y_ticks(0.0, 37.0, 5);
        assert_eq!(ticks, vec![0.0, 10.0, 20.0, 30.0, 40.0]);
        let (ticks, _) = y_ticks(0.0, 0.95, 5);
        assert_eq!(ticks.last(), Some(&1.0));

        let svg = render_svg(&cost_spec(3, 10)).unwrap();
        assert!(svg.contains(">$0</text>"), "bars start at $0");
        let svg = render_svg(&latency_spec()).unwrap();
        assert!(
            svg.contains(" s</text>"),
            "latency over a second is shown in seconds"
        );
        let svg = render_svg(&pass_rate_spec()).unwrap();
        assert!(svg.contains(">100%</text>"));
    }

    #[test]
    fn exact_values_are_formatted_for_tooltips() {
        assert_eq!(format_value(12.34, ValueFormat::Usd), "$12.34");
        assert_eq!(format_value(12.0, ValueFormat::Usd), "$12.00");
        assert_eq!(
            format_value(1234567.891, ValueFormat::Usd),
            "$1,234,567.891"
        );
        assert_eq!(format_value(-3.5, ValueFormat::Usd), "-$3.50");
        assert_eq!(format_value(0.45, ValueFormat::Percent), "45%");
        assert_eq!(format_value(1.0 / 3.0, ValueFormat::Percent), "33.33%");
        assert_eq!(format_value(1234.0, ValueFormat::Milliseconds), "1,234 ms");
        assert_eq!(format_value(0.25, ValueFormat::Number), "0.25");
    }

    #[test]
    fn top_n_with_other_merges_the_smallest_series() {
        let s = |name: &str, v: Vec<Option<f64>>| Series {
            name: name.into(),
            values: v,
        };
        let input = vec![
            s("small", vec![Some(1.0), None, Some(1.0)]),
            s("big", vec![Some(10.0), Some(10.0), Some(10.0)]),
            s("tiny", vec![None, None, Some(0.5)]),
            s("mid", vec![Some(5.0), Some(5.0), None]),
        ];
        let out = top_n_with_other(&input, 2);
        let names: Vec<&str> = out.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["big", "mid", "other"],
            "input order kept, other last"
        );
        assert_eq!(out[2].values, vec![Some(1.0), None, Some(1.5)]);
        // Totals are preserved per x label.
        for i in 0..3 {
            let before: f64 = input.iter().filter_map(|s| s.values[i]).sum();
            let after: f64 = out.iter().filter_map(|s| s.values[i]).sum();
            assert_eq!(before, after);
        }
        // Nothing to merge when one series would only be renamed.
        assert_eq!(top_n_with_other(&input, 3), input);
        // An existing "other" is folded in rather than duplicated.
        let mut with_other = input.clone();
        with_other[1].name = "other".into();
        let out = top_n_with_other(&with_other, 1);
        assert_eq!(out.iter().filter(|s| s.name == "other").count(), 1);
        assert_eq!(out[0].name, "mid");
    }

    #[test]
    fn legend_truncates_names_and_caps_entries() {
        // 14 stacked series: 9 largest + "other" in the chart and legend.
        let mut spec = cost_spec(14, 10);
        spec.series[13].name =
            "a-tenant-with-an-extremely-long-name-that-cannot-possibly-fit-in-a-legend".into();
        let svg = render_svg(&spec).unwrap();
        assert!(svg.contains(">other (5 series)</text>"), "merged entry");
        assert!(svg.contains("a-tenant-with"), "largest series kept");
        let legend_text = svg
            .split(">a-tenant-with")
            .nth(1)
            .and_then(|rest| rest.split("</text>").next())
            .unwrap();
        assert!(
            legend_text.ends_with('…'),
            "long name truncated: {legend_text}"
        );
        assert!(!legend_text.contains("cannot-possibly"));
        let legend_swatches = titles(&svg)
            .iter()
            .map(|t| t.split(" · ").next().unwrap().to_string())
            .collect::<std::collections::BTreeSet<_>>();
        assert_eq!(legend_swatches.len(), 10);
        assert!(legend_swatches.contains("other"));

        // 13 lines: 9 named, then "+4 more"; every line is still drawn and has tooltips.
        let mut spec = latency_spec();
        spec.series = (0..13)
            .map(|i| Series {
                name: format!("model-{i}"),
                values: (0..30).map(|d| Some(100.0 + (i * 10 + d) as f64)).collect(),
            })
            .collect();
        let svg = render_svg(&spec).unwrap();
        assert!(svg.contains(">+4 more</text>"));
        assert!(svg.contains(">model-8</text>"));
        assert!(!svg.contains(">model-9</text>"));
        assert_eq!(titles(&svg).len(), 13 * 30);

        // Narrow charts put the legend below the plot.
        let mut spec = cost_spec(3, 10);
        spec.width = 400;
        spec.height = 300;
        let svg = render_svg(&spec).unwrap();
        assert_balanced(&svg);
        assert!(svg.contains(">tenant-02</text>"));
    }

    #[test]
    fn themes_differ() {
        let mut spec = cost_spec(3, 10);
        let light = render_svg(&spec).unwrap();
        spec.theme = Theme::Dark;
        let dark = render_svg(&spec).unwrap();
        assert_ne!(light, dark);
        assert!(light.contains("fill=\"#FFFFFF\""));
        assert!(dark.contains("fill=\"#1E1E24\""));
        // Series colours are the same on both themes.
        assert!(light.contains("#4E79A7") && dark.contains("#4E79A7"));
        let light_png = render_png(&ChartSpec {
            theme: Theme::Light,
            ..spec.clone()
        })
        .unwrap();
        let dark_png = render_png(&spec).unwrap();
        assert_ne!(light_png, dark_png);
    }

    #[test]
    fn png_has_signature_and_requested_size() {
        for (w, h) in [(800, 400), (640, 480), (300, 200)] {
            let spec = ChartSpec {
                width: w,
                height: h,
                ..cost_spec(5, 30)
            };
            let png = render_png(&spec).unwrap();
            assert_eq!(png_size(&png), (w, h));
            let decoder = png::Decoder::new(std::io::Cursor::new(png));
            let reader = decoder.read_info().unwrap();
            assert_eq!(reader.info().width, w);
        }
    }

    #[test]
    fn empty_data_draws_no_data() {
        let mut spec = cost_spec(0, 30);
        let svg = render_svg(&spec).unwrap();
        assert_balanced(&svg);
        assert!(svg.contains(">No data</text>"));
        assert_eq!(titles(&svg).len(), 0);
        spec.series = vec![Series {
            name: "a".into(),
            values: vec![None; 30],
        }];
        assert!(render_svg(&spec).unwrap().contains(">No data</text>"));
        spec.x_labels.clear();
        spec.series.clear();
        assert!(render_svg(&spec).unwrap().contains(">No data</text>"));
        assert_eq!(png_size(&render_png(&spec).unwrap()), (800, 400));
        // Zeros are data, not "no data".
        let spec = ChartSpec {
            series: vec![Series {
                name: "a".into(),
                values: vec![Some(0.0); 30],
            }],
            ..cost_spec(0, 30)
        };
        let svg = render_svg(&spec).unwrap();
        assert!(!svg.contains("No data"));
        assert_eq!(titles(&svg).len(), 30);
    }

    #[test]
    fn bad_input_is_an_error_naming_the_series() {
        let err = |spec: &ChartSpec| {
            let e = render_svg(spec).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidInput);
            assert!(render_png(spec).is_err());
            e.to_string()
        };
        let mut spec = cost_spec(2, 5);
        spec.series[1].values.pop();
        let e = err(&spec);
        assert!(
            e.contains("\"tenant-01\" has 4 values but there are 5 x labels"),
            "{e}"
        );

        let mut spec = cost_spec(2, 5);
        spec.series[0].values[1] = Some(f64::NAN);
        let e = err(&spec);
        assert!(
            e.contains("\"tenant-00\"") && e.contains("NaN") && e.contains("2026-10-02"),
            "{e}"
        );

        let mut spec = cost_spec(2, 5);
        spec.series[1].values[4] = Some(-2.0);
        let e = err(&spec);
        assert!(
            e.contains("\"tenant-01\" has a negative value (-2)") && e.contains("2026-10-05"),
            "{e}"
        );
        // Negative values are fine on a line chart.
        spec.kind = ChartKind::Line;
        let svg = render_svg(&spec).unwrap();
        assert!(svg.contains("-$"));

        let spec = ChartSpec {
            width: 10,
            ..cost_spec(1, 3)
        };
        assert!(err(&spec).contains("10x400"));
    }

    #[test]
    fn a_month_of_ten_stacked_series_renders_quickly() {
        let spec = cost_spec(10, 30);
        render_svg(&spec).unwrap();
        render_png(&spec).unwrap();
        // The fastest of a few runs: other tests share the machine's cores meanwhile.
        let fastest = |f: &dyn Fn()| {
            (0..5)
                .map(|_| {
                    let start = Instant::now();
                    f();
                    start.elapsed().as_secs_f64() * 1000.0
                })
                .fold(f64::INFINITY, f64::min)
        };
        let svg_ms = fastest(&|| {
            render_svg(&spec).unwrap();
        });
        let png_ms = fastest(&|| {
            render_png(&spec).unwrap();
        });
        println!("30 days x 10 series: svg {svg_ms:.2} ms, png {png_ms:.2} ms per render");
        assert!(svg_ms < 300.0, "svg took {svg_ms:.1} ms");
        assert!(png_ms < 300.0, "png took {png_ms:.1} ms");
    }

    #[test]
    fn writes_example_charts() {
        let dir = example_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let mut cost_90 = cost_spec(14, 90);
        cost_90.title = "Cost per day by tenant, last 90 days".into();
        let mut cost_narrow = cost_spec(4, 14);
        cost_narrow.width = 420;
        cost_narrow.height = 320;
        let examples = [
            ("cost-stacked-light", cost_spec(6, 30)),
            (
                "cost-stacked-dark",
                ChartSpec {
                    theme: Theme::Dark,
                    ..cost_spec(6, 30)
                },
            ),
            ("cost-stacked-90-days", cost_90),
            ("cost-stacked-narrow", cost_narrow),
            ("pass-rate-line", pass_rate_spec()),
            ("latency-line-dark", latency_spec()),
            ("empty", cost_spec(0, 30)),
        ];
        for (name, spec) in examples {
            let svg = render_svg(&spec).unwrap();
            std::fs::write(dir.join(format!("{name}.svg")), svg).unwrap();
            let png = render_png(&spec).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        }
        assert!(dir.join("cost-stacked-light.png").is_file());
    }
}
