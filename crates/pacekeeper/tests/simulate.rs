//! `pacekeeper simulate` as a user runs it: the report's files, the same report for the same
//! seed, plots that parse with one series per population, and `--fail-if` as a CI gate.

use std::path::Path;
use std::process::{Command, Output};

fn simulate(out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pacekeeper"))
        .args(["simulate", "--members", "300", "--weeks", "2", "--seed", "5", "--against", "linkedin-classic", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn series(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).expect("the SVG parses");
    doc.descendants()
        .filter(|n| n.attribute("class").is_some_and(|c| c.split(' ').any(|c| c == "series")))
        .map(|n| n.attribute("data-series").unwrap().to_string())
        .collect()
}

#[test]
fn the_report_is_written_the_same_for_the_same_seed_and_its_plots_hold_every_population() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let out = simulate(&a, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("| honest friction (attempts denied) |"), "{stdout}");
    assert!(simulate(&b, &[]).status.success());
    let json = std::fs::read(a.join("report.json")).unwrap();
    assert_eq!(json, std::fs::read(b.join("report.json")).unwrap(), "the same seed, the same report.json");
    let report: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let pops: Vec<String> =
        report["populations"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
    assert_eq!(pops.len(), 8);
    let svg = |name: &str| std::fs::read_to_string(a.join("svg").join(name)).unwrap();
    assert_eq!(series(&svg("restrictions.svg")), pops);
    assert_eq!(series(&svg("weekly-amount.svg")), pops);
    let mut weekly = pops.clone();
    weekly.push("denied".into());
    assert_eq!(series(&svg("weekly.svg")), weekly);
    assert_eq!(series(&svg("tradeoff.svg")), ["linkedin", "linkedin-classic"]);
    let honest: Vec<&str> = ["honest-casual", "networker", "recruiter", "new-account", "paced", "naive-bot"].into();
    assert_eq!(series(&svg("honest-weekly-cdf.svg")), honest);
    let html = std::fs::read_to_string(a.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 5, "the five plots inline");
    assert!(!html.contains("<script"), "no script");
    assert!(std::fs::read_to_string(a.join("report.md")).unwrap().starts_with("# Policy simulation"));
}

#[test]
fn fail_if_gates_a_policy_change() {
    let dir = tempfile::tempdir().unwrap();
    let out = simulate(dir.path(), &["--fail-if", "honest.friction<=0 && spam.delivered_per_spammer_week<=1000"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--fail-if: `honest.friction<=0` does not hold for linkedin: the value is 0."), "{err}");
    assert!(!err.contains("spam.delivered_per_spammer_week<=1000` does not hold"), "{err}");
    let out = simulate(dir.path(), &["--fail-if", "spam.stopped_share>=0.5"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = simulate(dir.path(), &["--fail-if", "happiness>=1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`happiness` is not a metric"));
}

#[test]
fn a_sweep_adds_one_run_per_value_and_bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = simulate(dir.path(), &["--sweep", "limit.weekly_invitations.amount=60..100:40"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let labels: Vec<&str> = report["runs"].as_array().unwrap().iter().map(|r| r["label"].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        ["linkedin", "linkedin-classic", "weekly_invitations.amount=60", "weekly_invitations.amount=100"]
    );
    for (args, says) in [
        (&["--weeks", "0"][..], "--weeks: 0 is not between 1 and 104"),
        (&["--start", "2026-12-08"][..], "--start: 2026-12-08 is a Tuesday; give a Monday"),
        (&["--population", "nowhere.toml"][..], "populations `nowhere.toml`: no such preset"),
        (&["--sweep", "limit.nope.amount=1..2"][..], "the policy has no [[limit]] named `nope`"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_pacekeeper"))
            .args(["simulate", "--members", "50", "--out"])
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Recorded traffic: sam sends 45 invitations a minute apart; the first 40 are accepted, the
/// last five draw "I don't know". Hana sends three, all accepted.
fn recorded() -> String {
    let mut lines = Vec::new();
    for i in 0..45 {
        let at = format!("2026-12-07T09:{i:02}:00Z");
        lines.push(serde_json::json!({"member": "sam", "action": "invite", "target": format!("t{i}"), "at": at}));
    }
    for i in 0..3 {
        let at = format!("2026-12-07T10:0{i}:00Z");
        lines.push(serde_json::json!({"member": "hana", "action": "invite", "target": format!("h{i}"), "at": at}));
    }
    for i in 0..45 {
        let kind = if i < 40 { "invitation_accepted" } else { "invitation_reported_unknown" };
        lines.push(
            serde_json::json!({"member": "sam", "kind": kind, "target": format!("t{i}"), "at": "2026-12-08T12:00:00Z"}),
        );
    }
    for i in 0..3 {
        lines.push(serde_json::json!({"member": "hana", "kind": "invitation_accepted", "target": format!("h{i}"), "at": "2026-12-08T12:00:00Z"}));
    }
    lines.iter().map(|l| l.to_string() + "\n").collect()
}

#[test]
fn a_backtest_on_recorded_traffic_counts_what_each_policy_prevents() {
    let dir = tempfile::tempdir().unwrap();
    let traffic = dir.path().join("traffic.jsonl");
    std::fs::write(&traffic, recorded()).unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pacekeeper"))
            .args(["simulate", "--policy", "linkedin", "--against", "linkedin-classic", "--traffic"])
            .arg(&traffic)
            .arg("--out")
            .arg(dir.path().join("out"))
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["--fail-if", "backtest.prevented_unwanted>=5 && backtest.prevented_wanted<=0"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/report.json")).unwrap()).unwrap();
    let (linkedin, classic) = (&report["backtest"][0], &report["backtest"][1]);
    // The burst limit (40 an hour) denies sam's last five: their "I don't know"s never come.
    assert_eq!(linkedin["invitations_denied"], 5);
    assert_eq!(linkedin["prevented_unwanted"], 5);
    assert_eq!(linkedin["prevented_wanted"], 0);
    assert_eq!(linkedin["precision"], 1.0);
    assert_eq!(linkedin["delivered_wanted"], 43);
    assert_eq!(linkedin["members"], 2);
    // 300 a week lets all of them through; sam's decisions differ, hana's do not.
    assert_eq!(classic["delivered_unwanted"], 5);
    assert_eq!(classic["prevented_unwanted"], 0);
    assert_eq!(classic["diverged_members"], 1);
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(html.contains("id=\"backtest\"") && html.contains("<svg"));
    // A directory of days, as `serve --record` writes it, reads as one traffic in day order.
    let days = dir.path().join("days");
    std::fs::create_dir(&days).unwrap();
    let text = recorded();
    let (first, second) = text.split_at(text.match_indices('\n').nth(19).unwrap().0 + 1);
    std::fs::write(days.join("2026-12-07.jsonl"), first).unwrap();
    std::fs::write(days.join("2026-12-08.jsonl"), second).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pacekeeper"))
        .args(["simulate", "--policy", "linkedin", "--traffic"])
        .arg(&days)
        .arg("--out")
        .arg(dir.path().join("from-days"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let from_days: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("from-days/report.json")).unwrap()).unwrap();
    assert_eq!(from_days["backtest"][0]["prevented_unwanted"], 5);
    let out = run(&["--fail-if", "honest.friction<=0.1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`honest.friction` is not a metric of a back-test"));
    std::fs::write(&traffic, "{\"member\":\"sam\",\"action\":\"invite\"}\n").unwrap();
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("traffic.jsonl:1: `at`: a recorded line needs `at`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
