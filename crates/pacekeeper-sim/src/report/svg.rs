//! The report's plots as standalone SVG: lines, stacked bars and a scatter with its Pareto
//! front. Each series is one `<g class="series" data-series="…">`, in one fixed colour.

use maud::{Markup, PreEscaped, html};

pub const PALETTE: [&str; 10] =
    ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#c62828", "#795548", "#ad1457", "#546e7a", "#9e9d24"];

const W: f64 = 720.0;
const H: f64 = 300.0;
const LEFT: f64 = 60.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 20.0;
const RIGHT: f64 = 20.0;

/// One series of points.
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

fn frame(title: &str, x_label: &str, y_label: &str, y_max: f64, body: Markup) -> String {
    let ticks: Vec<f64> = (0..=4).map(|i| y_max * f64::from(i) / 4.0).collect();
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - v / y_max.max(f64::MIN_POSITIVE));
    let svg = html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (W) " " (H)} width=(W) height=(H) role="img" aria-label=(title) font-family="sans-serif" font-size="11" {
            title { (title) }
            text x=(LEFT) y="14" font-size="13" font-weight="bold" { (title) }
            @for t in &ticks {
                line x1=(LEFT) x2=(W - RIGHT) y1=(f2(y(*t))) y2=(f2(y(*t))) stroke="#e0e0e0" {}
                text x=(LEFT - 6.0) y=(f2(y(*t) + 4.0)) text-anchor="end" { (short(*t)) }
            }
            text x=(f2((LEFT + W - RIGHT) / 2.0)) y=(H - 6.0) text-anchor="middle" { (x_label) }
            text x="12" y=(f2(H / 2.0)) transform={"rotate(-90 12 " (f2(H / 2.0)) ")"} text-anchor="middle" { (y_label) }
            (body)
        }
    };
    svg.into_string()
}

fn f2(v: f64) -> String {
    format!("{v:.2}")
}

/// A number for an axis: 1200 as 1.2k.
pub fn short(v: f64) -> String {
    match v.abs() {
        a if a >= 1e6 => format!("{:.1}M", v / 1e6),
        a if a >= 1e3 => format!("{:.1}k", v / 1e3),
        a if a >= 10.0 || a == 0.0 => format!("{v:.0}"),
        a if a >= 0.1 => format!("{v:.2}"),
        _ => format!("{v:.4}"),
    }
}

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * p).find(|m| *m >= v).unwrap_or(10.0 * p)
}

fn x_at(i: usize, n: usize) -> f64 {
    LEFT + (W - LEFT - RIGHT) * if n <= 1 { 0.5 } else { i as f64 / (n - 1) as f64 }
}

fn legend(names: &[&str]) -> Markup {
    html! {
        @for (i, name) in names.iter().enumerate() {
            rect x=(f2(LEFT + 10.0 + (i % 4) as f64 * 160.0)) y=(f2(TOP + 4.0 + (i / 4) as f64 * 14.0)) width="10" height="10" fill=(PALETTE[i % PALETTE.len()]) {}
            text x=(f2(LEFT + 24.0 + (i % 4) as f64 * 160.0)) y=(f2(TOP + 13.0 + (i / 4) as f64 * 14.0)) { (name) }
        }
    }
}

/// Lines over `labels` (x), one per series; optional horizontal marks (value, label).
pub fn lines(
    title: &str,
    x_label: &str,
    y_label: &str,
    labels: &[String],
    series: &[Series],
    marks: &[(f64, String)],
) -> String {
    let top = series.iter().flat_map(|s| s.values.iter().copied()).chain(marks.iter().map(|m| m.0)).fold(0.0, f64::max);
    let y_max = nice_max(top);
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - v / y_max);
    let n = labels.len();
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let every = n.div_ceil(10).max(1);
    let body = html! {
        @for (i, l) in labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
            text x=(f2(x_at(i, n))) y=(f2(H - BOTTOM + 14.0)) text-anchor="middle" { (l) }
        }
        @for (v, label) in marks {
            line.mark x1=(LEFT) x2=(W - RIGHT) y1=(f2(y(*v))) y2=(f2(y(*v))) stroke="#999" stroke-dasharray="4 3" {}
            text x=(W - RIGHT) y=(f2(y(*v) - 3.0)) text-anchor="end" fill="#666" { (label) }
        }
        @for (i, s) in series.iter().enumerate() {
            g.series data-series=(s.name) stroke=(PALETTE[i % PALETTE.len()]) fill="none" stroke-width="2" {
                polyline points=(s.values.iter().enumerate().map(|(j, v)| format!("{},{}", f2(x_at(j, n)), f2(y(*v)))).collect::<Vec<_>>().join(" ")) {}
            }
        }
        (legend(&names))
    };
    frame(title, x_label, y_label, y_max, body)
}

/// Stacked bars over `labels`, the series stacked in order.
pub fn stacked(title: &str, x_label: &str, y_label: &str, labels: &[String], series: &[Series]) -> String {
    let n = labels.len();
    let totals: Vec<f64> = (0..n).map(|i| series.iter().map(|s| s.values[i]).sum()).collect();
    let y_max = nice_max(totals.iter().copied().fold(0.0, f64::max));
    let scale = (H - TOP - BOTTOM) / y_max;
    let slot = (W - LEFT - RIGHT) / n.max(1) as f64;
    let mut base = vec![0.0; n];
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let mut groups = Vec::new();
    for (k, s) in series.iter().enumerate() {
        let rects: Vec<(f64, f64, f64)> = (0..n)
            .map(|i| {
                let h = s.values[i] * scale;
                let y = H - BOTTOM - base[i] * scale - h;
                base[i] += s.values[i];
                (LEFT + i as f64 * slot + slot * 0.1, y, h)
            })
            .collect();
        groups.push((k, s, rects));
    }
    let body = html! {
        @for (i, l) in labels.iter().enumerate() {
            text x=(f2(LEFT + (i as f64 + 0.5) * slot)) y=(f2(H - BOTTOM + 14.0)) text-anchor="middle" { (l) }
        }
        @for (k, s, rects) in &groups {
            g.series data-series=(s.name) fill=(PALETTE[k % PALETTE.len()]) {
                @for (x, y, h) in rects { rect x=(f2(*x)) y=(f2(*y)) width=(f2(slot * 0.8)) height=(f2(*h)) {} }
            }
        }
        (legend(&names))
    };
    frame(title, x_label, y_label, y_max, body)
}

/// One point per labelled (x, y); the first is marked as the baseline; the Pareto front (no
/// other point lower on both axes) is drawn through its points.
pub fn tradeoff(title: &str, x_label: &str, y_label: &str, points: &[(String, f64, f64)]) -> String {
    let x_max = nice_max(points.iter().map(|p| p.1).fold(0.0, f64::max));
    let y_max = nice_max(points.iter().map(|p| p.2).fold(0.0, f64::max));
    let x = |v: f64| LEFT + (W - LEFT - RIGHT) * v / x_max;
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - v / y_max);
    let mut front: Vec<&(String, f64, f64)> = points
        .iter()
        .filter(|p| !points.iter().any(|q| q.1 <= p.1 && q.2 <= p.2 && (q.1 < p.1 || q.2 < p.2)))
        .collect();
    front.sort_by(|a, b| a.1.total_cmp(&b.1));
    let body = html! {
        @for i in 0..=4 {
            text x=(f2(x(x_max * f64::from(i) / 4.0))) y=(f2(H - BOTTOM + 14.0)) text-anchor="middle" { (short(x_max * f64::from(i) / 4.0 * 100.0)) "%" }
        }
        g.front stroke="#999" stroke-dasharray="5 3" fill="none" {
            polyline points=(front.iter().map(|p| format!("{},{}", f2(x(p.1)), f2(y(p.2)))).collect::<Vec<_>>().join(" ")) {}
        }
        @for (i, (label, px, py)) in points.iter().enumerate() {
            g.series.point data-series=(label) fill=(PALETTE[i % PALETTE.len()]) {
                @if i == 0 { rect x=(f2(x(*px) - 6.0)) y=(f2(y(*py) - 6.0)) width="12" height="12" {} }
                @else { circle cx=(f2(x(*px))) cy=(f2(y(*py))) r="5" {} }
                text x=(f2(x(*px) + 8.0)) y=(f2(y(*py) - 8.0)) fill="#333" { (label) @if i == 0 { " (baseline)" } }
            }
        }
    };
    frame(title, x_label, y_label, y_max, body)
}

/// An SVG document as it is embedded in HTML.
pub fn inline(svg: &str) -> PreEscaped<&str> {
    PreEscaped(svg)
}
