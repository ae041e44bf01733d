//! Charts as inline SVG: stacked bars over time, one group per series, each series one fixed
//! colour. Every chart is shown beside a table of the same numbers.

use maud::{Markup, html};

/// One series: a name, its colour, one value per bar.
pub struct Series {
    pub name: String,
    pub colour: &'static str,
    pub values: Vec<u64>,
}

/// The colour of a decision's reason: the same on every chart and page.
pub fn reason_colour(reason: &str) -> &'static str {
    match reason {
        "ok" => "#2e7d32",
        "limit_exceeded" => "#ef6c00",
        "restricted" => "#c62828",
        "cooldown" => "#6a1b9a",
        "cap_reached" => "#795548",
        "verification_required" => "#ad1457",
        "store_unavailable" => "#546e7a",
        _ => "#37474f",
    }
}

/// Colours for series with no fixed colour (causes), in order.
pub const PALETTE: [&str; 6] = ["#1565c0", "#ef6c00", "#c62828", "#6a1b9a", "#00838f", "#795548"];

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 180.0;

/// Stacked bars: one bar per label, the series stacked in order.
pub fn stacked_bars(id: &str, title: &str, labels: &[String], series: &[Series]) -> Markup {
    let totals: Vec<u64> = (0..labels.len()).map(|i| series.iter().map(|s| s.values[i]).sum()).collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bar = WIDTH / labels.len().max(1) as f64;
    let mut base = vec![0u64; labels.len()];
    let mut groups = Vec::with_capacity(series.len());
    for s in series {
        let rects: Vec<(f64, f64, f64, String)> = s
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| **v > 0)
            .map(|(i, &v)| {
                let y = HEIGHT - (base[i] + v) as f64 / max * HEIGHT;
                let h = v as f64 / max * HEIGHT;
                (i as f64 * bar, y, h, format!("{}: {} {}", labels[i], v, s.name))
            })
            .collect();
        for (i, v) in s.values.iter().enumerate() {
            base[i] += v;
        }
        groups.push((s, rects));
    }
    html! {
        figure.chart id=(id) {
            figcaption { (title) }
            svg viewBox={"0 0 " (WIDTH) " " (HEIGHT + 2.0)} role="img" aria-label=(title) preserveAspectRatio="none" {
                line x1="0" y1=(HEIGHT) x2=(WIDTH) y2=(HEIGHT) stroke="#999" stroke-width="1" {}
                @for (s, rects) in &groups {
                    g.series data-series=(s.name) fill=(s.colour) {
                        @for (x, y, h, tip) in rects {
                            rect x=(format!("{x:.2}")) y=(format!("{y:.2}")) width=(format!("{:.2}", (bar - 1.0).max(0.5))) height=(format!("{h:.2}")) {
                                title { (tip) }
                            }
                        }
                    }
                }
            }
            ul.legend {
                @for s in series {
                    li { (swatch(s.colour)) " " (s.name) }
                }
            }
        }
    }
}

/// A small square of a series' colour.
pub fn swatch(colour: &str) -> Markup {
    html! { svg.swatch viewBox="0 0 10 10" width="10" height="10" aria-hidden="true" { rect width="10" height="10" fill=(colour) {} } }
}

/// A horizontal bar of `used` out of `amount`.
pub fn usage_bar(used: u64, amount: u64) -> Markup {
    let share = match amount {
        0 if used == 0 => 0.0,
        0 => 1.0,
        _ => (used as f64 / amount as f64).min(1.0),
    };
    let colour = match share {
        s if s >= 1.0 => "#c62828",
        s if s >= 0.8 => "#ef6c00",
        _ => "#2e7d32",
    };
    html! {
        svg.bar viewBox="0 0 200 12" preserveAspectRatio="none" role="img" aria-label={(used) " of " (amount) " used"} {
            rect width="200" height="12" fill="#e0e0e0" {}
            rect width=(format!("{:.1}", share * 200.0)) height="12" fill=(colour) {}
        }
    }
}
