//! Compiling the penalty sections: `[[penalty]]` (overage bands, escalation, verification,
//! challenges), `[escalation]`, `[[cooldown]]` and `[[content_rule]]`.

use super::*;

/// Penalties: overage bands, escalation, verification, and what each blocks.
pub(super) fn penalties(ctx: &mut Ctx<'_>, raw: &RawPolicy, actions: &[Action]) -> Vec<Penalty> {
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
pub(super) fn challenge(ctx: &mut Ctx<'_>, p: &RawPenalty) -> Option<PenaltyKind> {
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
pub(super) fn penalty_ref(
    ctx: &mut Ctx<'_>,
    penalties: &[Penalty],
    raw: &RawPolicy,
    name: &S<String>,
) -> Option<usize> {
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

/// The escalation ladder, and whether an escalation penalty has one.
pub(super) fn escalation(ctx: &mut Ctx<'_>, raw: &RawPolicy, penalties: &[Penalty]) -> Escalation {
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
pub(super) fn cooldowns(ctx: &mut Ctx<'_>, raw: &RawPolicy, actions: &[Action]) -> Vec<Cooldown> {
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
pub(super) fn content_rules(
    ctx: &mut Ctx<'_>,
    raw: &RawPolicy,
    actions: &[Action],
    penalties: &[Penalty],
) -> Vec<ContentRule> {
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
