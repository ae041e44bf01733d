//! The overview: the tiles, decisions by reason over the last hour and day, the most denied
//! members, restrictions started per hour by cause, and the latest denials.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use jiff::{Timestamp, ToSpan};
use maud::{Markup, html};
use pacekeeper_stats::{Bucket, Stats};
use pacekeeper_store::Store;
use serde::Deserialize;

use crate::App;
use crate::chart::{PALETTE, Series, reason_colour, stacked_bars, swatch};
use crate::layout::{Section, percent, problem_page, service_error, shell};
use crate::session::Operator;

#[derive(Deserialize)]
pub struct AtQuery {
    pub at: Option<Timestamp>,
}

pub async fn page<S: Store>(State(app): App<S>, op: Operator, Query(q): Query<AtQuery>) -> Response {
    let stats = match app.stats(q.at).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return problem_page(
                axum::http::StatusCode::NOT_FOUND,
                "Statistics are off",
                "This server runs with statistics off (stats = false or --no-stats).",
            );
        }
        Err(e) => return service_error(&e),
    };
    let body = html! {
        h1 { "Overview" }
        p.muted { "As of " time datetime=(stats.at) { (stats.at.strftime("%Y-%m-%d %H:%M UTC")) } ". "
            label.refresh { input type="checkbox" id="auto-refresh"; " refresh every 10 s" } }
        (tiles(&stats, app.shadow.is_some()))
        (decisions_by_reason(&stats, 60, 1, "decisions-1h", "Decisions by reason, last hour (per minute)"))
        (decisions_by_reason(&stats, 1440, 15, "decisions-24h", "Decisions by reason, last 24 hours (per 15 minutes)"))
        (restrictions_started(&stats))
        (top_denied(&stats))
        (recent_denials(&stats))
    };
    shell("Overview", Section::Overview, &op.who, body).into_response()
}

fn tiles(s: &Stats, shadowed: bool) -> Markup {
    let t = &s.tiles;
    let mut tiles = vec![
        ("decisions_last_minute", "Decisions, last minute", t.decisions_last_minute.to_string()),
        ("deny_share_last_hour", "Denied, last hour", percent(t.deny_share_last_hour)),
        ("near_limit_share_last_hour", "Near a limit, last hour", percent(t.near_limit_share_last_hour)),
        ("restrictions_active", "Restricted now", t.restrictions_active.to_string()),
        ("fail_open_last_hour", "Allowed unchecked (fail-open), last hour", t.fail_open_last_hour.to_string()),
        ("decisions_last_hour", "Decisions, last hour", t.decisions_last_hour.to_string()),
        ("restrictions_started_24h", "Restrictions started, 24 h", t.restrictions_started_24h.to_string()),
    ];
    if shadowed {
        let n = t.shadow_disagreements_last_hour.to_string();
        tiles.push(("shadow_disagreements_last_hour", "Shadow policy disagreed, last hour", n));
    }
    html! {
        section.tiles {
            @for (key, label, value) in tiles {
                div.tile data-tile=(key) { span.value { (value) } span.label { (label) } }
            }
        }
        @if s.dropped > 0 { p.warn { (s.dropped) " observations were dropped under load; the counts are lower than the traffic." } }
    }
}

/// The buckets of the last `minutes` minutes grouped by `step` minutes: labels and, per
/// reason present, counts.
fn by_reason(s: &Stats, minutes: i64, step: i64) -> (Vec<String>, BTreeMap<&'static str, Vec<u64>>) {
    let end = s.at.as_second().div_euclid(60);
    let start = end - minutes + 1;
    let n = (minutes / step) as usize;
    let labels = (0..n)
        .map(|i| {
            let t = Timestamp::from_second((start + i as i64 * step) * 60).unwrap_or(s.at);
            t.strftime("%H:%M").to_string()
        })
        .collect();
    let mut counts: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
    for b in s.minutes.iter().filter(|b| minute(b) >= start && minute(b) <= end) {
        let i = (((minute(b) - start) / step) as usize).min(n - 1);
        for (reason, c) in &b.by_reason {
            counts.entry(reason).or_insert_with(|| vec![0; n])[i] += c;
        }
    }
    (labels, counts)
}

fn minute(b: &Bucket) -> i64 {
    b.minute.as_second().div_euclid(60)
}

fn decisions_by_reason(s: &Stats, minutes: i64, step: i64, id: &str, title: &str) -> Markup {
    let (labels, counts) = by_reason(s, minutes, step);
    let series: Vec<Series> = counts
        .iter()
        .map(|(r, v)| Series { name: r.to_string(), colour: reason_colour(r), values: v.clone() })
        .collect();
    let rows: Vec<usize> = (0..labels.len()).filter(|&i| series.iter().any(|s| s.values[i] > 0)).collect();
    html! {
        section.panel {
            (stacked_bars(id, title, &labels, &series))
            details open[minutes <= 60] {
                summary { "The numbers" }
                table data-table=(id) {
                    thead { tr { th { "From" } @for s in &series { th { (swatch(s.colour)) " " (s.name) } } } }
                    tbody {
                        @for i in &rows {
                            tr { td { (labels[*i]) } @for s in &series { td.num { (s.values[*i]) } } }
                        }
                        tr.total { td { "Total" } @for s in &series { td.num { (s.values.iter().sum::<u64>()) } } }
                    }
                }
            }
        }
    }
}

fn restrictions_started(s: &Stats) -> Markup {
    let first_hour = (s.at - 23.hours()).as_second().div_euclid(3600);
    let labels: Vec<String> = (0..24)
        .map(|i| {
            Timestamp::from_second((first_hour + i) * 3600)
                .map_or_else(|_| "?".into(), |t| t.strftime("%H:00").to_string())
        })
        .collect();
    let mut by_cause: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for r in &s.restrictions_started {
        let i = r.hour.as_second().div_euclid(3600) - first_hour;
        if (0..24).contains(&i) {
            by_cause.entry(&r.cause).or_insert_with(|| vec![0; 24])[i as usize] += r.count;
        }
    }
    let series: Vec<Series> = by_cause
        .iter()
        .enumerate()
        .map(|(i, (c, v))| Series { name: c.to_string(), colour: PALETTE[i % PALETTE.len()], values: v.clone() })
        .collect();
    html! {
        section.panel {
            (stacked_bars("restrictions-24h", "Restrictions started per hour, by cause", &labels, &series))
            table data-table="restrictions-24h" {
                thead { tr { th { "Hour" } th { "Cause" } th { "Started" } } }
                tbody {
                    @for r in &s.restrictions_started {
                        tr { td { (r.hour.strftime("%Y-%m-%d %H:00")) } td { (r.cause) } td.num { (r.count) } }
                    }
                    @if s.restrictions_started.is_empty() { tr { td colspan="3" { "None in the last 24 hours." } } }
                }
            }
        }
    }
}

fn top_denied(s: &Stats) -> Markup {
    html! {
        section.panel {
            h2 { "Most denied members, last 24 hours" }
            table data-table="top-denied" {
                thead { tr { th { "Member" } th { "Denials" } th { "May include" } } }
                tbody {
                    @for t in &s.top_denied {
                        tr { td { a href={"/ui/members/" (pacekeeper_service::view_link::percent_encode(&t.member))} { (t.member) } }
                             td.num { (t.denials) } td.num { @if t.error > 0 { "±" (t.error) } } }
                    }
                    @if s.top_denied.is_empty() { tr { td colspan="3" { "No denials." } } }
                }
            }
        }
    }
}

fn recent_denials(s: &Stats) -> Markup {
    html! {
        section.panel {
            h2 { "Latest denials" }
            table data-table="recent-denials" {
                thead { tr { th { "When" } th { "Member" } th { "Action" } th { "Reason" } th { "Limit" } } }
                tbody {
                    @for d in s.recent_denials.iter().take(50) {
                        tr { td { (d.at.strftime("%m-%d %H:%M:%S")) }
                             td { a href={"/ui/members/" (pacekeeper_service::view_link::percent_encode(&d.member))} { (d.member) } }
                             td { (d.action) } td { (swatch(reason_colour(d.reason))) " " (d.reason) }
                             td { (d.limit.as_deref().unwrap_or("")) } }
                    }
                }
            }
        }
    }
}
