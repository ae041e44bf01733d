//! Compiling `[reputation]`: the horizon and buckets outcomes are counted in, the levels, and
//! the penalties reports impose (verification, challenges).

use super::*;

/// Reputation looks back 90 days …
const DEFAULT_REPUTATION_HORIZON: Ms = 90 * 86_400_000;

/// … in weekly buckets …
const DEFAULT_REPUTATION_BUCKET: Ms = 7 * 86_400_000;

/// … once 20 invitations have an outcome: half accepted is good, 15 % or fewer is poor.
const DEFAULT_MIN_RESOLVED: u32 = 20;
const DEFAULT_GOOD_ACCEPTANCE: f64 = 0.5;
const DEFAULT_POOR_ACCEPTANCE: f64 = 0.15;

/// Reputation: how recipients' answers over a horizon set a member's level.
pub(super) fn reputation(
    ctx: &mut Ctx<'_>,
    raw: &RawPolicy,
    actions: &[Action],
    penalties: &[Penalty],
) -> Option<Reputation> {
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

/// `<name>_reports` and `<name>_penalty` of the reputation section: the penalty (of `kind`,
/// when given) imposed once that many reports are counted.
pub(super) fn report_trigger(
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
