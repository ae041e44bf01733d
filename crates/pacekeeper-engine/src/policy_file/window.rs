//! Compiling a limit's window: its kind, period, granularity, burst, gauge, and calendar
//! boundaries in a time zone.

use super::*;

/// The default granularity of a sliding window: a sixtieth of its period, at least a second.
const DEFAULT_GRANULARITY_DIVISOR: Ms = 60;
const MIN_DEFAULT_GRANULARITY: Ms = 1000;
/// A rate limit's default burst: one request at a time.
const DEFAULT_BURST: u64 = 1;

pub(super) fn compile_window(ctx: &mut Ctx<'_>, w: &S<RawWindow>, gauges: &[Gauge], limit: &str) -> Option<Window> {
    let r = w.get_ref();
    let kind = r.kind.get_ref().as_str();
    let Some(allowed) = keys_of(kind) else {
        ctx.err(
            r.kind.span(),
            format!("unknown window kind `{kind}` in limit `{limit}`"),
            Some("use anchored, calendar, sliding, rate, cap or credits".into()),
        );
        return None;
    };
    let ok = misplaced_keys(ctx, r, kind, allowed);
    let window = match kind {
        "anchored" => Window::Anchored { period: period(ctx, w, kind)? },
        "sliding" => sliding(ctx, w)?,
        "rate" => rate(ctx, w)?,
        "cap" => cap(ctx, w, gauges)?,
        _ => {
            let cal = compile_calendar(ctx, w)?;
            if kind == "calendar" { Window::Calendar(cal) } else { Window::Credits(cal) }
        }
    };
    ok.then_some(window)
}

/// The keys each window kind accepts; `None` for an unknown kind.
fn keys_of(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "anchored" => &["period"],
        "calendar" | "credits" => &["every", "on", "day", "at", "zone"],
        "sliding" => &["period", "granularity"],
        "rate" => &["period", "burst"],
        "cap" => &["gauge"],
        _ => return None,
    })
}

/// Reports every key given that the kind does not take; false if there was one.
fn misplaced_keys(ctx: &mut Ctx<'_>, r: &RawWindow, kind: &str, allowed: &[&str]) -> bool {
    let present: [(&str, Option<Range<usize>>); 9] = [
        ("period", r.period.as_ref().map(|x| x.span())),
        ("granularity", r.granularity.as_ref().map(|x| x.span())),
        ("burst", r.burst.as_ref().map(|x| x.span())),
        ("every", r.every.as_ref().map(|x| x.span())),
        ("on", r.on.as_ref().map(|x| x.span())),
        ("day", r.day.as_ref().map(|x| x.span())),
        ("at", r.at.as_ref().map(|x| x.span())),
        ("zone", r.zone.as_ref().map(|x| x.span())),
        ("gauge", r.gauge.as_ref().map(|x| x.span())),
    ];
    let mut ok = true;
    for (k, span) in present {
        if let Some(span) = span
            && !allowed.contains(&k)
        {
            ctx.err(
                span,
                format!("`{k}` does not apply to a {kind} window"),
                Some(format!("a {kind} window takes: {}", allowed.join(", "))),
            );
            ok = false;
        }
    }
    ok
}

fn period(ctx: &mut Ctx<'_>, w: &S<RawWindow>, kind: &str) -> Option<Ms> {
    match &w.get_ref().period {
        Some(p) => ctx.duration(p, "period"),
        None => {
            ctx.err(w.span(), format!("a {kind} window needs `period`"), Some("e.g. `period = \"7d\"`".into()));
            None
        }
    }
}

fn sliding(ctx: &mut Ctx<'_>, w: &S<RawWindow>) -> Option<Window> {
    let r = w.get_ref();
    let period = period(ctx, w, "sliding")?;
    let granularity = match &r.granularity {
        Some(g) => ctx.duration(g, "granularity")?,
        None => (period / DEFAULT_GRANULARITY_DIVISOR).max(MIN_DEFAULT_GRANULARITY),
    };
    if granularity > period || period / granularity > 4096 {
        let span = r.granularity.as_ref().map(|g| g.span()).unwrap_or(w.span());
        ctx.err(
            span,
            "granularity must fit between 1 and 4096 times in the period",
            Some("e.g. period \"60m\" with granularity \"1m\"".into()),
        );
        return None;
    }
    Some(Window::Sliding { period, granularity })
}

fn rate(ctx: &mut Ctx<'_>, w: &S<RawWindow>) -> Option<Window> {
    let period = period(ctx, w, "rate")?;
    let burst = match &w.get_ref().burst {
        Some(b) if *b.get_ref() < 1 => {
            ctx.err(b.span(), "burst must be at least 1", Some("burst is how many requests may go at once".into()));
            return None;
        }
        Some(b) => *b.get_ref() as u64,
        None => DEFAULT_BURST,
    };
    Some(Window::Rate { period, burst })
}

fn cap(ctx: &mut Ctx<'_>, w: &S<RawWindow>, gauges: &[Gauge]) -> Option<Window> {
    let Some(g) = &w.get_ref().gauge else {
        ctx.err(
            w.span(),
            "a cap window needs `gauge`",
            Some("name a [[gauge]], e.g. `gauge = \"connections\"`".into()),
        );
        return None;
    };
    let Some(gi) = gauges.iter().position(|x| &*x.name == g.get_ref().as_str()) else {
        ctx.err(g.span(), format!("unknown gauge `{}`", g.get_ref()), Some("declare it in a [[gauge]] table".into()));
        return None;
    };
    Some(Window::Cap { gauge: gi })
}

pub(super) fn compile_calendar(ctx: &mut Ctx<'_>, w: &S<RawWindow>) -> Option<Calendar> {
    let r = w.get_ref();
    let Some(every) = &r.every else {
        ctx.err(
            w.span(),
            "a calendar window needs `every`",
            Some("use `every = \"day\"`, `\"week\"` or `\"month\"`".into()),
        );
        return None;
    };
    let every = match every.get_ref().as_str() {
        "day" => Every::Day,
        "week" => {
            let Some(on) = &r.on else {
                ctx.err(every.span(), "a weekly window needs `on`", Some("e.g. `on = \"monday\"`".into()));
                return None;
            };
            let Some(wd) = parse_weekday(on.get_ref()) else {
                ctx.err(
                    on.span(),
                    format!("`{}` is not a day of the week", on.get_ref()),
                    Some("use monday … sunday".into()),
                );
                return None;
            };
            Every::Week(wd)
        }
        "month" => {
            let day = r.day.as_ref().map_or(1, |d| *d.get_ref());
            if !(1..=31).contains(&day) {
                ctx.err(
                    r.day.as_ref().map(|d| d.span()).unwrap_or(w.span()),
                    format!("day {day} is not a day of the month"),
                    Some("use 1 to 31; short months use their last day".into()),
                );
                return None;
            }
            Every::Month(day as i8)
        }
        other => {
            ctx.err(every.span(), format!("unknown calendar period `{other}`"), Some("use day, week or month".into()));
            return None;
        }
    };
    let at = match &r.at {
        Some(a) => match a.get_ref().parse::<Time>() {
            Ok(t) => t,
            Err(_) => {
                ctx.err(
                    a.span(),
                    format!("`{}` is not a time of day", a.get_ref()),
                    Some("write HH:MM, e.g. \"00:01\"".into()),
                );
                return None;
            }
        },
        None => Time::midnight(),
    };
    let zone = match &r.zone {
        Some(z) => match TimeZone::get(z.get_ref()) {
            Ok(tz) => tz,
            Err(_) => {
                ctx.err(
                    z.span(),
                    format!("unknown time zone `{}`", z.get_ref()),
                    Some("use an IANA name such as \"America/Los_Angeles\" or \"UTC\"".into()),
                );
                return None;
            }
        },
        None => {
            ctx.err(
                w.span(),
                "a calendar window needs `zone`",
                Some("e.g. `zone = \"America/Los_Angeles\"` or `zone = \"UTC\"`".into()),
            );
            return None;
        }
    };
    Some(Calendar { every, at, zone })
}
