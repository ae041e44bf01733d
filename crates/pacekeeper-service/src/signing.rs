//! Signed, expiring tokens: a member's read-only link to their own limits, and the
//! dashboard's session cookie. HMAC-SHA256 under a key of the server's: set it
//! (`PACEKEEPER_SIGNING_KEY`) to keep links and sessions valid across restarts and instances;
//! otherwise a random one is made at start, and a restart ends every link and session.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a signed token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature does not match: the token was altered or made with another key.
    #[error("the link's signature does not match; ask for a new link")]
    Altered,
    /// The token's time is over.
    #[error("the link has expired; ask for a new link")]
    Expired,
}

/// A signing key shorter than 32 bytes.
#[derive(Debug, Clone, thiserror::Error)]
#[error("PACEKEEPER_SIGNING_KEY (signing_key): a signing key must be at least 32 characters")]
pub struct ShortKey;

/// Signs and checks tokens of one purpose each.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    /// A signer with a random key (tokens die with the process).
    pub fn random() -> Signer {
        let mut key = vec![0u8; 32];
        // The operating system's generator cannot fail on the systems the server runs on;
        // if it did, a fixed key would make forgeable links, so refuse to go on.
        getrandom::fill(&mut key).expect("the operating system's random generator failed");
        Signer { key }
    }

    /// A signer with a configured key of at least 32 bytes.
    pub fn with_key(key: &str) -> Result<Signer, ShortKey> {
        if key.len() < 32 {
            return Err(ShortKey);
        }
        Ok(Signer { key: key.as_bytes().to_vec() })
    }

    fn mac(&self, purpose: &str, subject: &str, expires: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        for part in [purpose.as_bytes(), b"\0", subject.as_bytes(), b"\0", expires.to_string().as_bytes()] {
            mac.update(part);
        }
        mac
    }

    /// The signature (hex) of `subject` for `purpose`, valid until `expires` (seconds since
    /// the epoch).
    pub fn sign(&self, purpose: &str, subject: &str, expires: i64) -> String {
        hex::encode(self.mac(purpose, subject, expires).finalize().into_bytes())
    }

    /// Checks a signature in constant time, then the expiry against `now` (seconds).
    pub fn check(&self, purpose: &str, subject: &str, expires: i64, sig: &str, now: i64) -> Result<(), SignatureError> {
        let sig = hex::decode(sig).map_err(|_| SignatureError::Altered)?;
        self.mac(purpose, subject, expires).verify_slice(&sig).map_err(|_| SignatureError::Altered)?;
        if now >= expires {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_for_its_purpose_subject_and_time_only() {
        let s = Signer::random();
        let sig = s.sign("view", "ada", 1_000);
        assert_eq!(s.check("view", "ada", 1_000, &sig, 999), Ok(()));
        assert_eq!(s.check("view", "ada", 1_000, &sig, 1_000), Err(SignatureError::Expired));
        assert_eq!(s.check("view", "bob", 1_000, &sig, 0), Err(SignatureError::Altered));
        assert_eq!(s.check("view", "ada", 2_000, &sig, 0), Err(SignatureError::Altered));
        assert_eq!(s.check("session", "ada", 1_000, &sig, 0), Err(SignatureError::Altered));
        assert_eq!(s.check("view", "ada", 1_000, "zz", 0), Err(SignatureError::Altered));
        assert_eq!(Signer::random().check("view", "ada", 1_000, &sig, 0), Err(SignatureError::Altered));
        assert!(Signer::with_key("short").is_err());
    }
}
