//! Policy files: the presets compile, and every kind of mistake gets file:line:column, what is
//! wrong and how to fix it.

use pacekeeper_engine::*;

fn errors(src: &str) -> String {
    Policy::from_toml("bad.toml", src).expect_err("the policy should be refused").to_string()
}

const BASE: &str = r#"name = "t"
tiers = ["free", "paid"]
default_tier = "free"
actions = ["invite", "message"]
"#;

#[test]
fn the_shipped_presets_compile() {
    for (name, _) in PRESETS {
        let p = Policy::preset(name).unwrap();
        assert_eq!(&p.name, name);
        assert!(p.limit_names().count() >= 2);
    }
    assert!(Policy::preset("nope").is_none());
}

#[test]
fn the_benchmark_policy_compiles_with_its_two_anchored_limits() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/two-limits.toml");
    let p = Policy::load(path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.limit_names().collect::<Vec<_>>(), ["weekly", "hourly"]);
}

#[test]
fn every_number_in_the_presets_cites_its_seed() {
    // A paragraph (lines up to a blank line or a table header) that holds a number must carry a
    // comment naming the seed it comes from, or marking it as an operational choice.
    for (name, src) in PRESETS {
        let mut cited = false;
        for (i, line) in src.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('[') {
                cited = false;
                continue;
            }
            if let Some(comment) = t.strip_prefix('#') {
                cited |= comment.contains("seed 00") || comment.contains("(operational)");
                continue;
            }
            let value = t.split_once('=').map_or(t, |(_, v)| v);
            let has_number = value.chars().any(|c| c.is_ascii_digit());
            if has_number && !t.starts_with("name") && !t.starts_with("description") {
                assert!(cited || t.contains("seed 00"), "{name}:{}: `{t}` has no seed comment above it", i + 1);
            }
        }
    }
}

#[test]
fn an_unknown_action_in_a_limit_is_named_with_its_line_and_column() {
    let src = format!(
        "{BASE}\n[[limit]]\nname = \"weekly\"\nactions = [\"invitee\"]\nwindow = {{ kind = \"anchored\", period = \"7d\" }}\namount = 100\n"
    );
    let e = errors(&src);
    assert!(e.starts_with("bad.toml:8:12: error: unknown action `invitee` in limit `weekly`"), "{e}");
    assert!(e.contains("help: declare it in `actions`"), "{e}");
    assert!(e.contains("invite, message"), "{e}");
}

#[test]
fn overlapping_ladder_bands_are_refused() {
    let src = format!(
        "{BASE}\n[[penalty]]\nname = \"o\"\nkind = \"overage\"\nbands = [\n  {{ from = 1, to = 250, duration = \"7d\" }},\n  {{ from = 250, duration = \"14d\" }},\n]\n"
    );
    let e = errors(&src);
    assert!(e.contains("bad.toml:11:12: error: band from 250 overlaps the previous band, which ends at 250"), "{e}");
    assert!(e.contains("help: start this band at 251"), "{e}");
}

#[test]
fn an_unknown_time_zone_is_refused() {
    let src = format!(
        "{BASE}\n[[limit]]\nname = \"daily\"\nactions = [\"message\"]\nwindow = {{ kind = \"calendar\", every = \"day\", zone = \"America/Los_Angles\" }}\namount = 1\n"
    );
    let e = errors(&src);
    assert!(e.contains("bad.toml:9:53: error: unknown time zone `America/Los_Angles`"), "{e}");
    assert!(e.contains("IANA"), "{e}");
}

#[test]
fn a_zero_period_is_refused() {
    let src = format!(
        "{BASE}\n[[limit]]\nname = \"w\"\nactions = [\"invite\"]\nwindow = {{ kind = \"anchored\", period = \"0d\" }}\namount = 1\n"
    );
    let e = errors(&src);
    assert!(e.contains("bad.toml:9:40: error: period: `0d` is zero or negative"), "{e}");
}

#[test]
fn syntax_and_type_errors_point_at_the_value() {
    let e = errors(&format!("{BASE}warning_threshold = \"high\"\n"));
    assert!(e.starts_with("bad.toml:5:21: error:"), "{e}");
    let e = errors(&format!("{BASE}colour = 1\n"));
    assert!(e.contains("unknown field `colour`"), "{e}");
    assert!(errors("name = [").starts_with("bad.toml:1:"), "a parse error has a position");
}

#[test]
fn misplaced_window_keys_and_missing_ones_are_named() {
    let src = format!(
        "{BASE}\n[[limit]]\nname = \"w\"\nactions = [\"invite\"]\nwindow = {{ kind = \"anchored\", period = \"7d\", zone = \"UTC\" }}\namount = 1\n"
    );
    assert!(errors(&src).contains("`zone` does not apply to a anchored window"));
    let src = format!(
        "{BASE}\n[[limit]]\nname = \"w\"\nactions = [\"invite\"]\nwindow = {{ kind = \"weekly\" }}\namount = 1\n"
    );
    assert!(errors(&src).contains("unknown window kind `weekly`"));
}

#[test]
fn all_problems_are_reported_at_once_in_file_order() {
    let src = format!(
        "{BASE}\n[[limit]]\nname = \"a\"\nactions = [\"nope\"]\nwindow = {{ kind = \"anchored\", period = \"7x\" }}\namount = -1\ntiers = {{ gold = 5 }}\npenalty = \"ghost\"\n"
    );
    let e = Policy::from_toml("bad.toml", &src).unwrap_err();
    let lines: Vec<usize> = e.diagnostics.iter().map(|d| d.line).collect();
    assert_eq!(lines.len(), 5, "{e}");
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
    let text = e.to_string();
    for needle in [
        "unknown action `nope`",
        "`7x` is not a duration",
        "amount must be",
        "unknown tier `gold`",
        "unknown penalty `ghost`",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }
}

#[test]
fn a_cap_cannot_carry_a_penalty_and_a_default_tier_must_exist() {
    let src = r#"name = "t"
tiers = ["free"]
default_tier = "gold"
actions = ["invite"]

[[gauge]]
name = "g"

[[penalty]]
name = "p"
kind = "escalation"

[escalation]
ladder = ["1h"]
decay = "1d"

[[limit]]
name = "c"
actions = ["invite"]
window = { kind = "cap", gauge = "g" }
amount = 5
penalty = "p"
"#;
    let e = errors(src);
    assert!(e.contains("default_tier `gold` is not one of the tiers"), "{e}");
    assert!(e.contains("a cap limit cannot have a penalty"), "{e}");
}

#[test]
fn load_accepts_a_preset_name_or_a_file_and_says_which_failed() {
    assert_eq!(Policy::load("linkedin-classic").unwrap().name, "linkedin-classic");
    let e = Policy::load("/nonexistent/policy.toml").unwrap_err().to_string();
    assert!(e.contains("not a preset (linkedin, linkedin-classic)"), "{e}");
}

#[test]
fn a_limit_enforced_for_a_share_of_members_denies_the_same_members_every_time() {
    let src = format!(
        "{BASE}\n[[limit]]\nname = \"daily\"\nactions = [\"invite\"]\nwindow = {{ kind = \"anchored\", period = \"1d\" }}\namount = 2\nenforce_percent = 30\n"
    );
    let p = Policy::from_toml("share.toml", &src).unwrap();
    let now: jiff::Timestamp = "2026-12-07T09:00:00Z".parse().unwrap();
    let third_allowed = |member: &str| {
        let mut st = MemberState::default();
        let req = DecideRequest { member: member.into(), action: "invite".into(), ..Default::default() };
        let ds: Vec<Decision> = (0..3).map(|_| decide(&p, &mut st, &req, now).unwrap()).collect();
        assert!(ds[0].allowed && ds[1].allowed);
        let daily = ds[2].limits.iter().find(|l| &*l.name == "daily").unwrap();
        assert_eq!(daily.remaining, 0, "counted either way");
        ds[2].allowed
    };
    let enforced = (0..1000).filter(|i| !third_allowed(&format!("m{i}"))).count();
    assert!((250..350).contains(&enforced), "about 30 % of members are held to the limit: {enforced}");
    for i in 0..50 {
        let m = format!("m{i}");
        assert_eq!(third_allowed(&m), third_allowed(&m), "{m} gets the same answer every time");
    }
    let bad = src.replace("enforce_percent = 30", "enforce_percent = 150");
    let e = errors(&bad);
    assert!(e.contains("enforce_percent 150 is not between 0 and 100"), "{e}");
}
