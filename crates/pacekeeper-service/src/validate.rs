//! Checks on what callers send before it reaches the engine or a store key: identifiers
//! without control or bidirectional-override characters and of bounded length, instants in a
//! sane range.

use jiff::Timestamp;
use pacekeeper_engine::{DecideRequest, Event, RequestError};

use crate::ServiceError;

/// The longest identifier (member, target, action, tier, channel, request id, event id), in
/// characters; within the store's key bound.
pub const MAX_ID_CHARS: usize = 256;
const _: () = assert!(4 * MAX_ID_CHARS <= pacekeeper_store::MAX_MEMBER_ID);

/// The longest invitation note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// The earliest `at` accepted.
pub const EARLIEST: &str = "1970-01-01T00:00:00Z";
/// The first instant past the latest `at` accepted.
pub const LATEST: &str = "2200-01-01T00:00:00Z";

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// The engine refused it (unknown action, tier, channel; bad cost…).
    #[error(transparent)]
    Request(#[from] RequestError),
    /// Empty.
    #[error("must not be empty")]
    Empty,
    /// Too long.
    #[error("is longer than {max} characters")]
    TooLong {
        /// The bound.
        max: usize,
    },
    /// A control character.
    #[error("contains the control character U+{0:04X}; send printable text")]
    Control(u32),
    /// A bidirectional override or isolate, which makes an id display as another.
    #[error("contains the bidirectional control character U+{0:04X}; remove it")]
    Bidi(u32),
    /// An instant out of range.
    #[error("must lie from {EARLIEST} up to (not including) {LATEST}")]
    OutOfRange,
    /// A number out of its range.
    #[error("must be between {min} and {max}")]
    Range {
        /// The least accepted.
        min: u64,
        /// The most accepted.
        max: u64,
    },
    /// A request of a batch names another member than the first.
    #[error("names another member than `{0}`; one call decides one member: send the others separately")]
    OtherMember(String),
    /// The body or a value does not parse; the front end's parser says why.
    #[error("{0}")]
    Syntax(String),
}

/// Checks an identifier: non-empty, at most [`MAX_ID_CHARS`], printable.
pub fn identifier(field: &str, value: &str) -> Result<(), ServiceError> {
    if value.is_empty() {
        return Err(ServiceError::bad(field, Invalid::Empty));
    }
    text(field, value, MAX_ID_CHARS)
}

/// Checks free text: at most `max` characters, no control or bidirectional-override
/// characters (a note may hold line breaks and tabs).
fn text(field: &str, value: &str, max: usize) -> Result<(), ServiceError> {
    if value.len() > max && value.chars().count() > max {
        return Err(ServiceError::bad(field, Invalid::TooLong { max }));
    }
    for c in value.chars() {
        let n = c as u32;
        if c.is_control() && !(field.ends_with("note") && matches!(c, '\n' | '\t')) {
            return Err(ServiceError::bad(field, Invalid::Control(n)));
        }
        if matches!(n, 0x202A..=0x202E | 0x2066..=0x2069) {
            return Err(ServiceError::bad(field, Invalid::Bidi(n)));
        }
    }
    Ok(())
}

/// Checks an instant sent by a caller.
pub fn instant(field: &str, at: Timestamp) -> Result<(), ServiceError> {
    // The bounds as instants, without parsing their text on every request.
    const LO: Timestamp = Timestamp::UNIX_EPOCH;
    const HI: Timestamp = Timestamp::constant(7_258_118_400, 0);
    if (LO..HI).contains(&at) { Ok(()) } else { Err(ServiceError::bad(field, Invalid::OutOfRange)) }
}

/// Checks every string of a decide request.
pub fn decide_request(r: &DecideRequest) -> Result<(), ServiceError> {
    identifier("member", &r.member)?;
    identifier("action", &r.action)?;
    let fields = [
        ("tier", &r.tier),
        ("target", &r.target),
        ("channel", &r.channel),
        ("request_id", &r.request_id),
        ("organisation", &r.organisation),
        ("challenge_passed", &r.challenge_passed),
    ];
    for (field, v) in fields {
        if let Some(v) = v {
            identifier(field, v)?;
        }
    }
    if let Some(n) = &r.note {
        text("note", n, MAX_NOTE_CHARS)?;
    }
    if let Some(at) = r.at {
        instant("at", at)?;
    }
    Ok(())
}

/// Checks every string of an event.
pub fn event(e: &Event) -> Result<(), ServiceError> {
    identifier("member", &e.member)?;
    for (field, v) in [("target", &e.target), ("id", &e.id)] {
        if let Some(v) = v {
            identifier(field, v)?;
        }
    }
    if let Some(at) = e.at {
        instant("at", at)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(r: Result<(), ServiceError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn identifiers_refuse_control_bidi_and_overlong_values_naming_the_field() {
        assert_eq!(
            problem(identifier("member", "ada\u{0}")),
            "member: contains the control character U+0000; send printable text"
        );
        assert!(problem(identifier("target", "bob\u{202E}evil")).starts_with("target: contains the bidirectional"));
        assert_eq!(problem(identifier("member", &"x".repeat(257))), "member: is longer than 256 characters");
        assert_eq!(problem(identifier("member", "")), "member: must not be empty");
        assert!(identifier("member", "Ada Lovelace — 日本").is_ok());
        assert!(identifier("member", &"日".repeat(256)).is_ok(), "256 characters, 768 bytes");
        assert!(instant("at", LATEST.parse().unwrap()).is_err());
    }

    #[test]
    fn instants_outside_the_sane_range_are_refused() {
        assert!(instant("at", EARLIEST.parse().unwrap()).is_ok());
        assert!(instant("at", "2026-11-23T09:00:00Z".parse().unwrap()).is_ok());
        assert_eq!(
            problem(instant("at", "1969-12-31T23:59:59Z".parse().unwrap())),
            format!("at: must lie from {EARLIEST} up to (not including) {LATEST}")
        );
        assert!(instant("at", "9999-01-01T00:00:00Z".parse().unwrap()).is_err());
    }

    #[test]
    fn a_note_may_hold_line_breaks_but_not_other_controls() {
        let r = DecideRequest {
            member: "ada".into(),
            action: "invite".into(),
            note: Some("Hi,\nAda".into()),
            ..Default::default()
        };
        assert!(decide_request(&r).is_ok());
        let r = DecideRequest { note: Some("Hi\u{7}".into()), ..r };
        assert!(problem(decide_request(&r)).starts_with("note: contains the control character U+0007"));
    }
}
