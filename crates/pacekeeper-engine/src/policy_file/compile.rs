//! Compiling the raw file into a [`Policy`]: tiers, actions, limits and their amounts,
//! gauges, penalties and their bands, escalation, cooldowns, content rules, reputation: one
//! builder per section of the file, each default a named constant, in the order the sections
//! refer to each other.

use super::*;

/// The most actions a policy may declare (their keys are bits of a 64-bit set).
const MAX_ACTIONS: usize = 64;
/// Warn at 80 % of a limit used.
const DEFAULT_WARNING_THRESHOLD: f64 = 0.8;
/// Reputation looks back 90 days …
const DEFAULT_REPUTATION_HORIZON: Ms = 90 * 86_400_000;
/// … in weekly buckets …
const DEFAULT_REPUTATION_BUCKET: Ms = 7 * 86_400_000;
/// … once 20 invitations have an outcome: half accepted is good, 15 % or fewer is poor.
const DEFAULT_MIN_RESOLVED: u32 = 20;
const DEFAULT_GOOD_ACCEPTANCE: f64 = 0.5;
const DEFAULT_POOR_ACCEPTANCE: f64 = 0.15;
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

/// Penalties: overage bands, escalation, verification, and what each blocks.
fn penalties(ctx: &mut Ctx<'_>, raw: &RawPolicy, actions: &[Action]) -> Vec<Penalty> {
    let mut seen = HashSet::new();
    let mut penalties = Vec::new();
    for p in &raw.penalty {
        dup_check(ctx, &mut seen, &p.name, "penalty");
        let blocks =
            p.blocks.as_ref().map(|b| b.iter().filter_map(|a| ctx.action(actions, a, "penalty blocks")).collect());
        let kind = match p.kind.get_ref().as_str() {
            "overage" => {
                let Some(bands) = &p.bands else {
                    ctx.err(p.kind.span(), "an overage penalty needs `bands`", Some("e.g. `bands = [{ from = 1, to = 249, duration = \"7d\" }, { from = 250, duration = \"14d\" }]`".into()));
                    continue;
                };
                PenaltyKind::Overage { bands: compile_bands(ctx, bands) }
            }
            "escalation" => PenaltyKind::Escalation,
            "verification" => PenaltyKind::Verification,
            "challenge" => {
                let Some(kind) = challenge(ctx, p) else { continue };
                kind
            }
            other => {
                ctx.err(
                    p.kind.span(),
                    format!("unknown penalty kind `{other}`"),
                    Some("use overage, escalation, verification or challenge".into()),
                );
                continue;
            }
        };
        for (field, name) in [(&p.proof, "proof"), (&p.duration, "duration")] {
            if let Some(f) = field
                && !matches!(kind, PenaltyKind::Challenge { .. })
            {
                ctx.err(
                    f.span(),
                    format!("`{name}` only applies to challenge penalties"),
                    Some("remove it, or set `kind = \"challenge\"`".into()),
                );
            }
        }
        if p.bands.is_some() && !matches!(kind, PenaltyKind::Overage { .. }) {
            let b = p.bands.as_ref().map(|b| b.span()).unwrap_or(0..0);
            ctx.err(
                b,
                "`bands` only applies to overage penalties",
                Some("remove it, or set `kind = \"overage\"`".into()),
            );
        }
        penalties.push(Penalty {
            name: Arc::from(p.name.get_ref().as_str()),
            key: name_key(p.name.get_ref()),
            kind,
            blocks,
        });
    }
    penalties
}

/// A challenge penalty: its proof and how long it lasts.
fn challenge(ctx: &mut Ctx<'_>, p: &RawPenalty) -> Option<PenaltyKind> {
    let names = || Proof::ALL.map(Proof::name).join(", ");
    let Some(proof) = &p.proof else {
        ctx.err(p.kind.span(), "a challenge penalty needs `proof`", Some(format!("one of: {}", names())));
        return None;
    };
    let Some(known) = Proof::ALL.into_iter().find(|k| k.name() == proof.get_ref().as_str()) else {
        ctx.err(proof.span(), format!("unknown proof `{}`", proof.get_ref()), Some(format!("use one of: {}", names())));
        return None;
    };
    let Some(duration) = &p.duration else {
        ctx.err(p.kind.span(), "a challenge penalty needs `duration`", Some("e.g. `duration = \"14d\"`".into()));
        return None;
    };
    let period = ctx.duration(duration, "challenge duration")?;
    Some(PenaltyKind::Challenge { proof: known, period })
}

/// The index of the penalty `name` refers to, or an error naming the declared ones.
fn penalty_ref(ctx: &mut Ctx<'_>, penalties: &[Penalty], raw: &RawPolicy, name: &S<String>) -> Option<usize> {
    let i = penalties.iter().position(|p| &*p.name == name.get_ref().as_str());
    if i.is_none() {
        let known: Vec<&str> = raw.penalty.iter().map(|p| p.name.get_ref().as_str()).collect();
        ctx.err(
            name.span(),
            format!("unknown penalty `{}`", name.get_ref()),
            Some(if known.is_empty() {
                "declare it in a [[penalty]] table".into()
            } else {
                format!("declare it in a [[penalty]] table, or use one of: {}", known.join(", "))
            }),
        );
    }
    i
}

/// What a limit may refer to: the sections compiled before the limits.
struct Known<'a> {
    tiers: &'a [String],
    actions: &'a [Action],
    gauges: &'a [Gauge],
    penalties: &'a [Penalty],
}

/// Limits, in file order.
fn limits(ctx: &mut Ctx<'_>, raw: &RawPolicy, known: &Known<'_>) -> Vec<Limit> {
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
fn limit(ctx: &mut Ctx<'_>, raw: &RawPolicy, l: &RawLimit, known: &Known<'_>) -> Option<Limit> {
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
fn condition(ctx: &mut Ctx<'_>, raw: &RawPolicy, l: &RawLimit) -> Condition {
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
fn amount_rule(ctx: &mut Ctx<'_>, raw: &RawPolicy, l: &RawLimit, tiers: &[String]) -> AmountRule {
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
fn enforce_percent(ctx: &mut Ctx<'_>, l: &RawLimit) -> u8 {
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

/// The escalation ladder, and whether an escalation penalty has one.
fn escalation(ctx: &mut Ctx<'_>, raw: &RawPolicy, penalties: &[Penalty]) -> Escalation {
    let escalation = match &raw.escalation {
        Some(e) => {
            let ladder: Vec<Ms> =
                e.ladder.get_ref().iter().filter_map(|s| ctx.duration(s, "escalation ladder step")).collect();
            if e.ladder.get_ref().is_empty() {
                ctx.err(
                    e.ladder.span(),
                    "the escalation ladder is empty",
                    Some("e.g. `ladder = [\"24h\", \"3d\", \"7d\", \"30d\"]`".into()),
                );
            }
            for w in e.ladder.get_ref().windows(2) {
                if let (Ok(a), Ok(b)) = (parse_duration(w[0].get_ref()), parse_duration(w[1].get_ref()))
                    && b < a
                {
                    ctx.err(
                        w[1].span(),
                        "escalation ladder steps must not get shorter",
                        Some("order the steps from shortest to longest".into()),
                    );
                }
            }
            Escalation { ladder, decay: ctx.duration(&e.decay, "escalation decay").unwrap_or(Ms::MAX) }
        }
        None => Escalation::default(),
    };
    let needs_escalation = penalties.iter().any(|p| matches!(p.kind, PenaltyKind::Escalation));
    if needs_escalation && escalation.ladder.is_empty() && raw.escalation.is_none() {
        let p = raw.penalty.iter().find(|p| p.kind.get_ref() == "escalation").map(|p| p.kind.span()).unwrap_or(0..0);
        ctx.err(
            p,
            "an escalation penalty needs an [escalation] section",
            Some("add `[escalation]` with `ladder` and `decay`".into()),
        );
    }

    escalation
}

/// Pair cooldowns: after an event, the same target waits.
fn cooldowns(ctx: &mut Ctx<'_>, raw: &RawPolicy, actions: &[Action]) -> Vec<Cooldown> {
    let mut cooldowns = Vec::new();
    for c in &raw.cooldown {
        let a = ctx.action(actions, &c.action, "cooldown");
        let e = ctx.event(&c.after);
        let p = ctx.duration(&c.period, "cooldown period");
        if let (Some(action), Some(after), Some(period)) = (a, e, p) {
            cooldowns.push(Cooldown { action, after, period });
        }
    }

    cooldowns
}

/// Content rules: a link in an invitation's note imposes a penalty.
fn content_rules(ctx: &mut Ctx<'_>, raw: &RawPolicy, actions: &[Action], penalties: &[Penalty]) -> Vec<ContentRule> {
    let mut content_rules = Vec::new();
    for c in &raw.content_rule {
        let a = ctx.action(actions, &c.action, "content_rule");
        let p = penalty_ref(ctx, penalties, raw, &c.penalty);
        if !*c.link_in_note.get_ref() {
            ctx.err(
                c.link_in_note.span(),
                "a content rule with `link_in_note = false` matches nothing",
                Some("set it to true or remove the rule".into()),
            );
        }
        if let (Some(action), Some(penalty)) = (a, p) {
            content_rules.push(ContentRule { action, penalty });
        }
    }

    content_rules
}

/// Reputation: how recipients' answers over a horizon set a member's level.
fn reputation(ctx: &mut Ctx<'_>, raw: &RawPolicy, actions: &[Action], penalties: &[Penalty]) -> Option<Reputation> {
    raw.reputation.as_ref().map(|r| {
        let horizon = ctx.duration(&r.horizon, "reputation horizon").unwrap_or(DEFAULT_REPUTATION_HORIZON);
        let bucket =
            r.bucket.as_ref().and_then(|b| ctx.duration(b, "reputation bucket")).unwrap_or(DEFAULT_REPUTATION_BUCKET);
        if let Some(b) = &r.bucket
            && (bucket > horizon || horizon / bucket > 64)
        {
            ctx.err(
                b.span(),
                "the reputation bucket must fit 1 to 64 times in the horizon",
                Some("e.g. horizon 90d with bucket 7d".into()),
            );
        }
        let frac = |ctx: &mut Ctx<'_>, v: &Option<S<f64>>, default: f64, name: &str| match v {
            Some(x) if !(0.0..=1.0).contains(x.get_ref()) => {
                ctx.err(x.span(), format!("{name} is a fraction between 0 and 1"), Some("e.g. 0.5 for half".into()));
                default
            }
            Some(x) => *x.get_ref(),
            None => default,
        };
        let good_acceptance = frac(ctx, &r.good_acceptance, DEFAULT_GOOD_ACCEPTANCE, "good_acceptance");
        let poor_acceptance = frac(ctx, &r.poor_acceptance, DEFAULT_POOR_ACCEPTANCE, "poor_acceptance");
        if poor_acceptance >= good_acceptance
            && let Some(x) = &r.poor_acceptance
        {
            ctx.err(x.span(), "poor_acceptance must be below good_acceptance", None);
        }
        let mut report_penalties = Vec::new();
        let triggers = [
            ("verify", &r.verify_reports, &r.verify_penalty, None),
            ("challenge", &r.challenge_reports, &r.challenge_penalty, Some(RestrictionKind::Challenge)),
        ];
        for (name, count, penalty, kind) in triggers {
            report_penalties.extend(report_trigger(ctx, raw, penalties, name, count, penalty, kind));
        }
        Reputation {
            action: r.action.as_ref().and_then(|a| ctx.action(actions, a, "reputation")),
            horizon,
            bucket,
            min_resolved: r.min_resolved.unwrap_or(DEFAULT_MIN_RESOLVED),
            good_acceptance,
            poor_acceptance,
            poor_reports: r.poor_reports.unwrap_or(u32::MAX),
            report_penalties,
        }
    })
}

/// Whom a limit counts. An organisation's limit has no penalty (members who did not exceed
/// anything of their own are not restricted) and no cap (gauges are each member's).
fn scope(ctx: &mut Ctx<'_>, l: &RawLimit, window: Option<&Window>) -> Scope {
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

/// `<name>_reports` and `<name>_penalty` of the reputation section: the penalty (of `kind`,
/// when given) imposed once that many reports are counted.
fn report_trigger(
    ctx: &mut Ctx<'_>,
    raw: &RawPolicy,
    penalties: &[Penalty],
    name: &str,
    count: &Option<S<i64>>,
    penalty: &Option<S<String>>,
    kind: Option<RestrictionKind>,
) -> Option<(u32, usize)> {
    match (count, penalty) {
        (Some(n), Some(p)) => {
            if !(1..=i64::from(u32::MAX)).contains(n.get_ref()) {
                ctx.err(n.span(), format!("{name}_reports must be at least 1"), None);
            }
            let pi = penalty_ref(ctx, penalties, raw, p)?;
            if let Some(kind) = kind
                && penalties[pi].kind.tag() != kind
            {
                ctx.err(p.span(), format!("{name}_penalty must name a penalty of kind {name}"), None);
            }
            Some(((*n.get_ref()).clamp(1, i64::from(u32::MAX)) as u32, pi))
        }
        (Some(n), None) => {
            ctx.err(
                n.span(),
                format!("{name}_reports needs {name}_penalty"),
                Some("name the penalty to impose".into()),
            );
            None
        }
        (None, Some(p)) => {
            ctx.err(p.span(), format!("{name}_penalty needs {name}_reports"), None);
            None
        }
        (None, None) => None,
    }
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

pub(super) fn compile_bands(ctx: &mut Ctx<'_>, bands: &S<Vec<S<RawBand>>>) -> Vec<Band> {
    let mut out: Vec<Band> = Vec::new();
    if bands.get_ref().is_empty() {
        ctx.err(bands.span(), "`bands` is empty", Some("e.g. `bands = [{ from = 1, duration = \"7d\" }]`".into()));
    }
    for b in bands.get_ref() {
        let raw = b.get_ref();
        let from = *raw.from.get_ref();
        if from < 1 {
            ctx.err(
                raw.from.span(),
                "a band starts at 1 extra attempt or more",
                Some("the first extra attempt is number 1".into()),
            );
            continue;
        }
        let to = raw.to.as_ref().map(|t| *t.get_ref());
        if let Some(t) = to
            && t < from
        {
            ctx.err(
                raw.to.as_ref().map(|t| t.span()).unwrap_or(0..0),
                format!("band ends ({t}) before it starts ({from})"),
                None,
            );
            continue;
        }
        if let Some(prev) = out.last() {
            match prev.to {
                None => {
                    ctx.err(
                        raw.from.span(),
                        format!("band from {from} overlaps the previous band, which has no end"),
                        Some("give the previous band a `to`, or remove this one".into()),
                    );
                    continue;
                }
                Some(pt) if i64::from(pt) >= from => {
                    ctx.err(
                        raw.from.span(),
                        format!("band from {from} overlaps the previous band, which ends at {pt}"),
                        Some(format!("start this band at {}", pt + 1)),
                    );
                    continue;
                }
                Some(pt) if i64::from(pt) + 1 != from => {
                    ctx.err(
                        raw.from.span(),
                        format!("bands leave a gap: the previous band ends at {pt} and this one starts at {from}"),
                        Some(format!("start this band at {}", pt + 1)),
                    );
                    continue;
                }
                _ => {}
            }
        } else if from != 1 {
            ctx.err(
                raw.from.span(),
                "the first band must start at 1",
                Some("the first extra attempt starts the restriction".into()),
            );
        }
        let Some(duration) = ctx.duration(&raw.duration, "band duration") else { continue };
        out.push(Band { from: from as u32, to: to.map(|t| t as u32), duration });
    }
    out
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
