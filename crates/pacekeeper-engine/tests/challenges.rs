//! Challenges (seed 001: "enter a captcha or an email of the person that you want to invite
//! to verify that you know them"): for a period, each invitation needs a proof.

mod common;
use common::*;
use pacekeeper_engine::*;

fn reports(ada: &mut Member, n: usize, at: jiff::Timestamp) -> Vec<EventAck> {
    (0..n).map(|i| ada.event(EventKind::InvitationReportedUnknown, Some(&format!("p{i}")), at)).collect()
}

fn with_proof(proof: &str) -> DecideRequest {
    DecideRequest { challenge_passed: Some(proof.into()), ..req("invite") }
}

#[test]
fn too_many_i_dont_know_reports_ask_for_the_recipients_email_on_each_invitation() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    let acks = reports(&mut ada, 7, at);
    assert!(acks[6].effects.iter().any(|e| e.contains("restriction imposed: recipient_email_challenge")), "{acks:?}");
    let used = ada.used("weekly_invitations", at);
    let d = ada.decide(&req("invite"), at);
    assert_eq!(
        (d.allowed, d.reason, d.challenge.as_deref(), d.retry_after, d.denial()),
        (false, Reason::ChallengeRequired, Some("recipient_email"), None, Some(DenialKind::TimeDoesNot)),
        "without proof: denied, and waiting does not cure it"
    );
    assert_eq!(d.restriction.as_ref().map(|r| r.kind), Some(RestrictionKind::Challenge));
    assert!(d.message.contains("recipient_email"), "{}", d.message);
    assert_eq!(ada.used("weekly_invitations", at), used, "a challenged attempt counts nothing");
    // Another proof is not the one asked for.
    assert_eq!(ada.decide(&with_proof("captcha"), at).reason, Reason::ChallengeRequired);
    let d = ada.decide(&with_proof("recipient_email"), at);
    assert!(d.allowed, "{d:?}");
    assert_eq!(ada.used("weekly_invitations", at), used + 1, "with proof the invitation counts as usual");
    assert!(ada.dry(&req("message"), at).allowed, "messages are not challenged");
}

#[test]
fn a_challenge_ends_on_time_and_is_no_offence() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    reports(&mut ada, 7, at);
    assert_eq!(ada.dry(&req("invite"), plus(at, 14 * 86_400 - 1)).reason, Reason::ChallengeRequired);
    assert!(ada.dry(&req("invite"), plus(at, 14 * 86_400)).allowed, "two weeks later no proof is needed");
    let view = member_view(&ada.policy, &ada.state, plus(at, 14 * 86_400));
    assert_eq!(view.offences, 0, "a challenge asks for proof; it is not on the escalation ladder");
    assert_eq!(view.history.last().map(|h| (h.kind, h.ending)), Some((RestrictionKind::Challenge, Ending::Expired)));
}

#[test]
fn verification_outranks_a_challenge() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    reports(&mut ada, 10, at);
    let d = ada.dry(&with_proof("recipient_email"), at);
    assert_eq!((d.reason, d.challenge), (Reason::VerificationRequired, None));
}

#[test]
fn a_challenge_penalty_names_a_known_proof_and_a_duration() {
    let policy = |penalty: &str| {
        let src = format!(
            "name = \"x\"\ntiers = [\"free\"]\ndefault_tier = \"free\"\nactions = [\"invite\"]\n[[penalty]]\nname = \"c\"\nkind = \"challenge\"\n{penalty}\n[reputation]\naction = \"invite\"\nhorizon = \"90d\"\nchallenge_reports = 3\nchallenge_penalty = \"c\"\n"
        );
        Policy::from_toml("x.toml", &src).map_err(|e| e.to_string())
    };
    assert!(policy("proof = \"captcha\"\nduration = \"1d\"").is_ok());
    let e = policy("proof = \"sms\"\nduration = \"1d\"").unwrap_err();
    assert!(e.contains("unknown proof `sms`") && e.contains("recipient_email, captcha"), "{e}");
    let e = policy("proof = \"captcha\"").unwrap_err();
    assert!(e.contains("needs `duration`"), "{e}");
    let e = policy("duration = \"1d\"").unwrap_err();
    assert!(e.contains("needs `proof`"), "{e}");
}
