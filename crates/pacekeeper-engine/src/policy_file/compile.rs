//! Compiling the raw file into a [`Policy`]: `compile` calls one builder per section of the
//! file, in the order the sections refer to each other. Tiers, actions, warnings, gauges,
//! retention and key collisions are here; limits in `limits.rs`, penalties, escalation,
//! cooldowns and content rules in `penalties.rs`, reputation in `reputation.rs`, windows in
//! `window.rs`. Each default is a named constant beside its builder.

use super::*;

/// The most actions a policy may declare (their keys are bits of a 64-bit set).
const MAX_ACTIONS: usize = 64;

/// Warn at 80 % of a limit used.
const DEFAULT_WARNING_THRESHOLD: f64 = 0.8;

/// A request id is remembered for a day, at most 32 per member.
const DEFAULT_IDEMPOTENCY_WINDOW: Ms = 86_400_000;
const DEFAULT_IDEMPOTENCY_MAX: usize = 32;

/// The last 8 ended restrictions of a member are kept.
const DEFAULT_HISTORY_MAX: usize = 8;

pub(super) fn compile(ctx: &mut Ctx<'_>, raw: RawPolicy, src: &str) -> Policy {
    let (tiers, default_tier, actions) = tiers_and_actions(ctx, &raw);
    let warning_threshold = warning_threshold(ctx, &raw);
    let gauges = gauges(ctx, &raw, &actions);
    let penalties = penalties(ctx, &raw, &actions);
    let known = Known { tiers: &tiers, actions: &actions, gauges: &gauges, penalties: &penalties };
    let limits = limits(ctx, &raw, &known);
    let escalation = escalation(ctx, &raw, &penalties);
    let cooldowns = cooldowns(ctx, &raw, &actions);
    let content_rules = content_rules(ctx, &raw, &actions, &penalties);
    let reputation = reputation(ctx, &raw, &actions, &penalties);
    let (idempotency_window, idempotency_max, history_max) = retention(ctx, &raw);
    check_keys(ctx, &actions, &limits, &penalties, &gauges);
    let mut limits_by_action = vec![Vec::new(); actions.len()];
    for (i, l) in limits.iter().enumerate() {
        for &a in &l.actions {
            limits_by_action[a].push(i);
        }
    }
    Policy {
        name: raw.name,
        description: raw.description,
        source: src.to_string(),
        tiers,
        default_tier,
        actions,
        channels: raw.channels,
        limits,
        limits_by_action,
        gauges,
        penalties,
        escalation,
        cooldowns,
        content_rules,
        reputation,
        warning_threshold,
        idempotency_window,
        idempotency_max,
        history_max,
    }
}

/// Tiers, the default tier and actions: everything else refers to them.
fn tiers_and_actions(ctx: &mut Ctx<'_>, raw: &RawPolicy) -> (Vec<String>, usize, Vec<Action>) {
    let mut seen = HashSet::new();
    for t in raw.tiers.get_ref() {
        dup_check(ctx, &mut seen, t, "tier");
    }
    if raw.tiers.get_ref().is_empty() {
        ctx.err(raw.tiers.span(), "`tiers` is empty", Some("list at least one tier, e.g. `tiers = [\"free\"]`".into()));
    }
    let tiers: Vec<String> = raw.tiers.get_ref().iter().map(|t| t.get_ref().clone()).collect();
    let default_tier = tiers.iter().position(|t| t == raw.default_tier.get_ref()).unwrap_or_else(|| {
        ctx.err(
            raw.default_tier.span(),
            format!("default_tier `{}` is not one of the tiers", raw.default_tier.get_ref()),
            Some(format!("use one of: {}", tiers.join(", "))),
        );
        0
    });
    let mut seen = HashSet::new();
    for a in raw.actions.get_ref() {
        dup_check(ctx, &mut seen, a, "action");
    }
    if raw.actions.get_ref().len() > MAX_ACTIONS {
        ctx.err(raw.actions.span(), "more than 64 actions", Some("merge actions that share limits".into()));
    }
    let actions: Vec<Action> = raw
        .actions
        .get_ref()
        .iter()
        .map(|a| Action { name: Arc::from(a.get_ref().as_str()), key: name_key(a.get_ref()) })
        .collect();

    (tiers, default_tier, actions)
}

/// The share of a limit used at which decisions warn.
fn warning_threshold(ctx: &mut Ctx<'_>, raw: &RawPolicy) -> f64 {
    match &raw.warning_threshold {
        Some(w) if !(*w.get_ref() > 0.0 && *w.get_ref() <= 1.0) => {
            ctx.err(
                w.span(),
                "warning_threshold must be above 0 and at most 1",
                Some("e.g. 0.8 warns at 80 % used".into()),
            );
            DEFAULT_WARNING_THRESHOLD
        }
        Some(w) => *w.get_ref(),
        None => DEFAULT_WARNING_THRESHOLD,
    }
}

/// Gauges, with the actions and events that move them.
fn gauges(ctx: &mut Ctx<'_>, raw: &RawPolicy, actions: &[Action]) -> Vec<Gauge> {
    let mut seen = HashSet::new();
    let mut gauges = Vec::new();
    for g in &raw.gauge {
        dup_check(ctx, &mut seen, &g.name, "gauge");
        let up_actions = g.up_actions.iter().filter_map(|a| ctx.action(actions, a, "gauge up_actions")).collect();
        let mut up_events = 0;
        for e in &g.up_events {
            if let Some(k) = ctx.event(e) {
                up_events |= k.bit();
            }
        }
        let mut down_events = 0;
        for e in &g.down_events {
            if let Some(k) = ctx.event(e) {
                down_events |= k.bit();
            }
        }
        gauges.push(Gauge {
            name: Arc::from(g.name.get_ref().as_str()),
            key: name_key(g.name.get_ref()),
            up_actions,
            up_events,
            down_events,
        });
    }

    gauges
}

/// What each member's state keeps: request ids (window, count) and ended restrictions.
fn retention(ctx: &mut Ctx<'_>, raw: &RawPolicy) -> (Ms, usize, usize) {
    let (idempotency_window, idempotency_max) = match &raw.idempotency {
        Some(i) => {
            let w = ctx.duration(&i.window, "idempotency window").unwrap_or(DEFAULT_IDEMPOTENCY_WINDOW);
            if !(1..=1024).contains(i.max.get_ref()) {
                ctx.err(
                    i.max.span(),
                    "idempotency max must be between 1 and 1024",
                    Some("it bounds the request ids kept per member".into()),
                );
            }
            (w, (*i.max.get_ref()).clamp(1, 1024) as usize)
        }
        None => (DEFAULT_IDEMPOTENCY_WINDOW, DEFAULT_IDEMPOTENCY_MAX),
    };
    let history_max = match &raw.restriction_history {
        Some(h) if !(0..=256).contains(h.get_ref()) => {
            ctx.err(h.span(), "restriction_history must be between 0 and 256", None);
            DEFAULT_HISTORY_MAX
        }
        Some(h) => *h.get_ref() as usize,
        None => DEFAULT_HISTORY_MAX,
    };

    (idempotency_window, idempotency_max, history_max)
}

/// Stored keys are 32-bit hashes of names: two names must not share one.
fn check_keys(ctx: &mut Ctx<'_>, actions: &[Action], limits: &[Limit], penalties: &[Penalty], gauges: &[Gauge]) {
    let mut keys = std::collections::HashMap::new();
    for (name, key) in actions
        .iter()
        .map(|a| (&a.name, a.key))
        .chain(limits.iter().map(|l| (&l.name, l.key)))
        .chain(penalties.iter().map(|p| (&p.name, p.key)))
        .chain(gauges.iter().map(|g| (&g.name, g.key)))
    {
        if let Some(other) = keys.insert(key, name.clone())
            && other != *name
        {
            ctx.err(
                0..0,
                format!("the names `{other}` and `{name}` hash to the same state key"),
                Some("rename one of them".into()),
            );
        }
    }
}

pub(super) fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s.to_ascii_lowercase().as_str() {
        "monday" | "mon" => Weekday::Monday,
        "tuesday" | "tue" => Weekday::Tuesday,
        "wednesday" | "wed" => Weekday::Wednesday,
        "thursday" | "thu" => Weekday::Thursday,
        "friday" | "fri" => Weekday::Friday,
        "saturday" | "sat" => Weekday::Saturday,
        "sunday" | "sun" => Weekday::Sunday,
        _ => return None,
    })
}
