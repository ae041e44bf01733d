//! Content rules: what in a request's note puts a member under a penalty (a link in an
//! invitation note, seed 003).

use super::*;

/// The penalty the content rules impose on this request, if any.
pub(super) fn content_penalty(ask: &Ask<'_>) -> Option<usize> {
    let note = ask.req.note.as_deref()?;
    if !contains_link(note) {
        return None;
    }
    ask.policy.content_rules.iter().find(|r| r.action == ask.action).map(|r| r.penalty)
}

/// True when a note carries something a reader could follow: a URL, `www.`, or a bare domain.
pub fn contains_link(note: &str) -> bool {
    const TLDS: [&str; 24] = [
        "com", "net", "org", "io", "co", "ly", "me", "info", "biz", "us", "uk", "de", "fr", "app", "dev", "ai", "gl",
        "gg", "xyz", "link", "site", "online", "ru", "cn",
    ];
    let lower = note.to_ascii_lowercase();
    if lower.contains("http://") || lower.contains("https://") || lower.contains("www.") {
        return true;
    }
    lower.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '<' || c == '>' || c == '"').any(|word| {
        let host = word.split('/').next().unwrap_or("").trim_end_matches(['.', ',', ';', ':', '!', '?']);
        match host.rsplit_once('.') {
            Some((name, tld)) => {
                !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                    && TLDS.contains(&tld)
            }
            None => false,
        }
    })
}
