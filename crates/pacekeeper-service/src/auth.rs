//! Bearer tokens and their scopes: one check for every front end (HTTP's `Authorization`
//! header, gRPC's `authorization` metadata).

use std::fmt;

use serde::Deserialize;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Decisions, events, reading members.
    Decide,
    /// Everything, including the admin operations.
    Admin,
}

impl Scope {
    /// The scope's name in configuration and messages.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Decide => "decide",
            Scope::Admin => "admin",
        }
    }
}

/// Why a caller is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No bearer token was presented.
    #[error("send `Authorization: Bearer <token>`")]
    Missing,
    /// The token presented is not configured.
    #[error("unknown token")]
    Unknown,
    /// The token lacks the scope.
    #[error("this token lacks the `{}` scope", .0.name())]
    LacksScope(Scope),
    /// No tokens are configured, so admin operations are closed.
    #[error(
        "admin endpoints need an admin token; start the server with PACEKEEPER_ADMIN_TOKEN set (16+ characters) or a [[token]] with scope admin"
    )]
    AdminClosed,
}

impl AuthError {
    /// True when the caller is not identified at all (HTTP 401, gRPC UNAUTHENTICATED), false
    /// when it is identified but not allowed (403, PERMISSION_DENIED).
    pub fn unauthenticated(&self) -> bool {
        matches!(self, AuthError::Missing | AuthError::Unknown)
    }
}

/// A token that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token `{name}`: a token must be at least 16 characters")]
pub struct ShortToken {
    /// The token's name.
    pub name: String,
}

/// A bearer token. Its secret is never printed.
#[derive(Clone)]
pub struct Token {
    name: String,
    secret: Vec<u8>,
    scopes: Vec<Scope>,
}

impl Token {
    /// A token of at least 16 characters.
    pub fn new(name: &str, secret: String, scopes: Vec<Scope>) -> Result<Token, ShortToken> {
        if secret.len() < 16 {
            return Err(ShortToken { name: name.into() });
        }
        Ok(Token { name: name.into(), secret: secret.into_bytes(), scopes })
    }
}

/// The configured tokens.
#[derive(Clone, Default)]
pub struct Tokens(Vec<Token>);

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter().map(|t| (&t.name, &t.scopes))).finish()
    }
}

impl FromIterator<Token> for Tokens {
    fn from_iter<I: IntoIterator<Item = Token>>(iter: I) -> Tokens {
        Tokens(iter.into_iter().collect())
    }
}

impl Tokens {
    /// No tokens: the server then binds only loopback, and admin operations stay closed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Adds a token (tests and embedding).
    pub fn with(mut self, name: &str, secret: &str, scopes: &[Scope]) -> Tokens {
        self.0.push(Token { name: name.into(), secret: secret.as_bytes().to_vec(), scopes: scopes.to_vec() });
        self
    }

    /// The scopes of the token presented, if it is known. Compares in constant time.
    pub fn scopes_of(&self, presented: &[u8]) -> Option<&[Scope]> {
        self.0.iter().find(|t| constant_time_eq(&t.secret, presented)).map(|t| &t.scopes[..])
    }

    /// Checks an `Authorization` value (`Bearer <token>`) for `scope`. With no tokens
    /// configured the server binds only loopback: the decide scope is open there, and admin
    /// stays closed.
    pub fn authorize(&self, authorization: Option<&str>, scope: Scope) -> Result<(), AuthError> {
        self.identify(authorization, scope).map(|_| ())
    }

    /// Like [`Tokens::authorize`], answering the name of the token presented (`anonymous`
    /// for the open decide scope of a server with no tokens).
    pub fn identify(&self, authorization: Option<&str>, scope: Scope) -> Result<&str, AuthError> {
        let presented =
            authorization.and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer "))).map(str::trim);
        self.identify_secret(presented, scope)
    }

    /// Checks a bare token (a dashboard login) for `scope`; answers its name.
    pub fn identify_secret(&self, presented: Option<&str>, scope: Scope) -> Result<&str, AuthError> {
        if self.is_empty() {
            return match scope {
                Scope::Decide => Ok("anonymous"),
                Scope::Admin => Err(AuthError::AdminClosed),
            };
        }
        let presented = presented.ok_or(AuthError::Missing)?;
        let token =
            self.0.iter().find(|t| constant_time_eq(&t.secret, presented.as_bytes())).ok_or(AuthError::Unknown)?;
        if token.scopes.contains(&scope) || token.scopes.contains(&Scope::Admin) {
            Ok(&token.name)
        } else {
            Err(AuthError::LacksScope(scope))
        }
    }

    /// Whether a token of this name with the admin scope is still configured (a dashboard
    /// session names its token; removing the token ends its sessions at the next reload).
    pub fn admin_named(&self, name: &str) -> bool {
        self.0.iter().any(|t| t.name == name && t.scopes.contains(&Scope::Admin))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: &str = "admin-token-0123456789";
    const APP: &str = "decide-token-0123456789";

    #[test]
    fn scopes_are_checked_and_admin_implies_decide() {
        let t = Tokens::default().with("ops", ADMIN, &[Scope::Admin]).with("app", APP, &[Scope::Decide]);
        assert_eq!(t.authorize(Some(&format!("Bearer {ADMIN}")), Scope::Decide), Ok(()));
        assert_eq!(t.authorize(Some(&format!("bearer {APP}")), Scope::Decide), Ok(()));
        assert_eq!(t.authorize(Some(&format!("Bearer {APP}")), Scope::Admin), Err(AuthError::LacksScope(Scope::Admin)));
        assert_eq!(t.authorize(Some("Bearer nope-nope-nope-nope"), Scope::Decide), Err(AuthError::Unknown));
        assert_eq!(t.authorize(Some(APP), Scope::Decide), Err(AuthError::Missing));
        assert_eq!(t.authorize(None, Scope::Decide), Err(AuthError::Missing));
    }

    #[test]
    fn without_tokens_decide_is_open_and_admin_closed() {
        let t = Tokens::default();
        assert_eq!(t.authorize(None, Scope::Decide), Ok(()));
        assert_eq!(t.authorize(Some("Bearer whatever-whatever"), Scope::Admin), Err(AuthError::AdminClosed));
    }

    #[test]
    fn short_tokens_are_refused_by_name() {
        let e = Token::new("ci", "short".into(), vec![Scope::Decide]).err().unwrap();
        assert_eq!(e.to_string(), "token `ci`: a token must be at least 16 characters");
    }
}
