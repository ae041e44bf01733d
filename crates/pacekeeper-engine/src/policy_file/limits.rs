//! Compiling the `[[limit]]` tables: each limit's actions, window, condition, amounts by tier,
//! reputation level and account age, penalty, enforced share and scope (member or
//! organisation).

use super::*;

/// What a limit may refer to: the sections compiled before the limits.
pub(super) struct Known<'a> {
    pub(super) tiers: &'a [String],
    pub(super) actions: &'a [Action],
    pub(super) gauges: &'a [Gauge],
    pub(super) penalties: &'a [Penalty],
}

/// Limits, in file order.
pub(super) fn limits(ctx: &mut Ctx<'_>, raw: &RawPolicy, known: &Known<'_>) -> Vec<Limit> {
    let mut seen = HashSet::new();
    let mut limits = Vec::new();
    for l in &raw.limit {
        dup_check(ctx, &mut seen, &l.name, "limit");
        if let Some(limit) = limit(ctx, raw, l, known) {
            limits.push(limit);
        }
    }
    limits
}

/// One limit: its actions, window, condition, amounts, penalty and enforced share.
pub(super) fn limit(ctx: &mut Ctx<'_>, raw: &RawPolicy, l: &RawLimit, known: &Known<'_>) -> Option<Limit> {
    if l.actions.get_ref().is_empty() {
        ctx.err(
            l.actions.span(),
            format!("limit `{}` counts no action", l.name.get_ref()),
            Some("list the actions it counts, e.g. `actions = [\"invite\"]`".into()),
        );
    }
    let acts: Vec<usize> = l
        .actions
        .get_ref()
        .iter()
        .filter_map(|a| ctx.action(known.actions, a, &format!("limit `{}`", l.name.get_ref())))
        .collect();
    let window = compile_window(ctx, &l.window, known.gauges, l.name.get_ref());
    let condition = condition(ctx, raw, l);
    let amount = amount_rule(ctx, raw, l, known.tiers);
    let penalty = l.penalty.as_ref().and_then(|p| penalty_ref(ctx, known.penalties, raw, p));
    if let (Some(p), Some(Window::Cap { .. })) = (&l.penalty, &window) {
        ctx.err(
            p.span(),
            "a cap limit cannot have a penalty: reaching a cap is not an overage",
            Some("remove `penalty` from this limit".into()),
        );
    }
    if let Some(Window::Rate { burst, .. }) = &window
        && amount.base != UNLIMITED
        && amount.base == 0
    {
        ctx.err(
            l.amount.span(),
            "a rate limit needs an amount of at least 1",
            Some(format!("burst is {burst}; amount is the number of requests per period")),
        );
    }
    let enforce_percent = enforce_percent(ctx, l);
    let scope = scope(ctx, l, window.as_ref());
    Some(Limit {
        name: Arc::from(l.name.get_ref().as_str()),
        key: name_key(l.name.get_ref()),
        actions: acts,
        condition,
        window: window?,
        amount,
        penalty,
        scope,
        enforce_percent,
    })
}

/// When a limit applies: requests with a note, from some channels.
pub(super) fn condition(ctx: &mut Ctx<'_>, raw: &RawPolicy, l: &RawLimit) -> Condition {
    match &l.when {
        Some(c) => Condition {
            note: c.note,
            channels: c.channels.as_ref().map(|ch| {
                if let Some(known) = &raw.channels {
                    for x in ch.get_ref() {
                        if !known.contains(x) {
                            ctx.err(
                                ch.span(),
                                format!("unknown channel `{x}`"),
                                Some(format!("use one of: {}", known.join(", "))),
                            );
                        }
                    }
                }
                ch.get_ref().clone()
            }),
        },
        None => Condition::default(),
    }
}

/// A limit's amounts: the base, per tier, per reputation level, for young accounts.
pub(super) fn amount_rule(ctx: &mut Ctx<'_>, raw: &RawPolicy, l: &RawLimit, tiers: &[String]) -> AmountRule {
    let base = ctx.amount(&l.amount, "amount").unwrap_or(0);
    let mut tier_amounts = vec![None; tiers.len()];
    if let Some(t) = &l.tiers {
        for (name, v) in t.get_ref() {
            match tiers.iter().position(|x| x == name) {
                Some(i) => tier_amounts[i] = ctx.amount(v, &format!("tiers.{name}")),
                None => ctx.err(
                    v.span(),
                    format!("unknown tier `{name}` in limit `{}`", l.name.get_ref()),
                    Some(format!("use one of: {}", tiers.join(", "))),
                ),
            }
        }
    }
    let mut rep = [None; 3];
    if let Some(r) = &l.reputation {
        if raw.reputation.is_none() {
            ctx.err(
                r.span(),
                "reputation amounts need a [reputation] section",
                Some("add [reputation] with at least `horizon`".into()),
            );
        }
        for (name, v) in r.get_ref() {
            match Level::from_name(name) {
                Some(level) => rep[level as usize] = ctx.amount(v, &format!("reputation.{name}")),
                None => ctx.err(
                    v.span(),
                    format!("unknown reputation level `{name}`"),
                    Some("use poor, basic or good".into()),
                ),
            }
        }
    }
    let young = l.young_accounts.as_ref().and_then(|y| {
        let y = y.get_ref();
        let d = ctx.duration(&y.younger_than, "young_accounts.younger_than")?;
        let a = ctx.amount(&y.amount, "young_accounts.amount")?;
        Some((d, a))
    });
    AmountRule { base, tiers: tier_amounts, reputation: rep, young }
}

/// The share of members a limit denies (`enforce_percent`, 100 when absent).
pub(super) fn enforce_percent(ctx: &mut Ctx<'_>, l: &RawLimit) -> u8 {
    match &l.enforce_percent {
        None => 100,
        Some(p) if (0..=100).contains(p.get_ref()) => *p.get_ref() as u8,
        Some(p) => {
            ctx.err(
                p.span(),
                format!("enforce_percent {} is not between 0 and 100", p.get_ref()),
                Some("write the share of members the limit denies: 0 counts only, 100 enforces for all".into()),
            );
            100
        }
    }
}

/// Whom a limit counts. An organisation's limit has no penalty (members who did not exceed
/// anything of their own are not restricted) and no cap (gauges are each member's).
pub(super) fn scope(ctx: &mut Ctx<'_>, l: &RawLimit, window: Option<&Window>) -> Scope {
    let Some(raw) = &l.scope else { return Scope::Member };
    let scope = match raw.get_ref().as_str() {
        "member" => return Scope::Member,
        "organisation" | "organization" => Scope::Organisation,
        other => {
            ctx.err(raw.span(), format!("unknown scope `{other}`"), Some("use member or organisation".into()));
            return Scope::Member;
        }
    };
    if let Some(p) = &l.penalty {
        ctx.err(
            p.span(),
            "an organisation's limit cannot have a penalty: its members did not exceed anything of their own",
            Some("remove `penalty`, or count per member".into()),
        );
    }
    if matches!(window, Some(Window::Cap { .. })) {
        ctx.err(raw.span(), "a cap counts each member's gauge; it cannot count per organisation", None);
    }
    scope
}
