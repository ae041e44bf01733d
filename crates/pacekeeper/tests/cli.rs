//! The `pacekeeper` binary as a user runs it: replay, policy check, policy show.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

fn pacekeeper(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pacekeeper"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pacekeeper");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn replaying_the_example_week_gives_one_line_per_line_with_a_restriction() {
    let input = std::fs::read_to_string(repo("examples/week.jsonl")).unwrap();
    let (code, out, err) = pacekeeper(&["replay", "--policy", "linkedin"], &input);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), input.lines().count(), "exactly one line out per line in");
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["line"], i as u64 + 1);
        assert!(l.get("error").is_none(), "line {}: {l}", i + 1);
    }
    let reasons: Vec<&str> = lines.iter().filter_map(|l| l["reason"].as_str()).collect();
    for r in ["ok", "limit_exceeded", "restricted", "cooldown", "verification_required"] {
        assert!(reasons.contains(&r), "the week shows {r}");
    }
    assert!(lines.iter().any(|l| l["restriction"]["kind"] == "overage"), "a restriction appears");
    let denied_101st =
        lines.iter().find(|l| l["limit"] == "weekly_invitations" && l["reason"] == "limit_exceeded").unwrap();
    assert_eq!(denied_101st["status"], 429);
    assert_eq!(denied_101st["retry_after"], 604_800);
    assert!(err.contains("replayed 140 lines for 3 members"), "{err}");
}

#[test]
fn text_output_reads_as_one_line_per_request() {
    let input = std::fs::read_to_string(repo("examples/week.jsonl")).unwrap();
    let (code, out, _) = pacekeeper(&["replay", "--format", "text"], &input);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 140);
    assert!(
        out.contains("429 limit_exceeded         weekly_invitations allows 100 and 100 are used; retry in 7d"),
        "{out}"
    );
}

#[test]
fn bad_lines_get_an_error_naming_the_field_and_line_and_the_replay_goes_on() {
    let input = [
        r#"{"member":"ada","action":"invite","at":"2026-11-23T09:00:00Z"}"#,
        r#"{"member":"ada","action":"invite"}"#,
        r#"{"member":"ada","action":"invite","at":"2026-11-23T09:00:00Z","cost":"five"}"#,
        r#"{"member":"ada","action":"poke","at":"2026-11-23T09:00:00Z"}"#,
        r#"{"member":"ada","kind":"invitation_withdrawn","at":"2026-11-23T09:00:00Z"}"#,
        r#"{"member":"ada","kind":"invitation_lost","at":"2026-11-23T09:00:00Z"}"#,
        r#"{"member":"ada","action":"invite","at":"yesterday"}"#,
        r#"{"member":"ada","action":"invite","at":"2026-11-23T09:00:00Z","colour":"red"}"#,
        "not json",
        "",
        r#"{"member":"ada","action":"invite","at":"2026-11-23T09:01:00Z"}"#,
    ]
    .join("\n");
    let (code, out, _) = pacekeeper(&["replay"], &input);
    assert_eq!(code, 0);
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 11);
    let fields: Vec<(u64, &str)> =
        lines.iter().filter_map(|l| Some((l["line"].as_u64()?, l["error"]["field"].as_str()?))).collect();
    assert_eq!(
        fields,
        [
            (2, "at"),
            (3, "cost"),
            (4, "action"),
            (5, "target"),
            (6, "kind"),
            (7, "at"),
            (8, "colour"),
            (9, "(line)"),
            (10, "(line)")
        ]
    );
    assert_eq!(lines[10]["allowed"], true);
    let used =
        lines[10]["limits"].as_array().unwrap().iter().find(|l| l["name"] == "weekly_invitations").unwrap()["used"]
            .clone();
    assert_eq!(used, 2, "the bad lines charged nothing");
}

#[test]
fn policy_check_reports_file_line_column_and_fails() {
    let dir = std::env::temp_dir().join(format!("pk-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    let src =
        Command::new(env!("CARGO_BIN_EXE_pacekeeper")).args(["policy", "show", "linkedin"]).output().unwrap().stdout;
    let src = String::from_utf8(src).unwrap().replace("zone = \"America/Los_Angeles\"", "zone = \"Mars/Olympus\"");
    std::fs::write(&bad, src).unwrap();
    let (code, _, err) = pacekeeper(&["policy", "check", bad.to_str().unwrap()], "");
    assert_eq!(code, 1);
    assert!(err.contains("bad.toml:") && err.contains("error: unknown time zone `Mars/Olympus`"), "{err}");
    assert!(err.contains("1 error"), "{err}");
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        Command::new(env!("CARGO_BIN_EXE_pacekeeper"))
            .args(["policy", "show", "linkedin-classic"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let (code, out, _) = pacekeeper(&["policy", "check", good.to_str().unwrap()], "");
    assert_eq!(code, 0);
    assert!(out.contains("ok — policy `linkedin-classic`"), "{out}");
}

#[test]
fn policy_show_names_the_presets_when_asked_for_an_unknown_one() {
    let (code, out, _) = pacekeeper(&["policy", "show"], "");
    assert_eq!(code, 0);
    assert!(out.contains("name = \"linkedin\""));
    let (code, _, err) = pacekeeper(&["policy", "show", "myspace"], "");
    assert_eq!(code, 2);
    assert!(err.contains("the presets are: linkedin, linkedin-classic"), "{err}");
}
