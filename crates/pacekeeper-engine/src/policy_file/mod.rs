//! Reading a policy file: TOML in, a validated [`Policy`] or precise diagnostics out.
//!
//! Every diagnostic names the line and column of the offending value, what is wrong and how
//! to fix it. Validation collects every problem it can find instead of stopping at the first.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use serde::Deserialize;
use toml::Spanned;

use crate::policy::*;
use crate::time::{Ms, parse_duration};

mod compile;
mod limits;
mod penalties;
mod raw;
mod reputation;
mod window;

use compile::*;
use limits::*;
use penalties::*;
use raw::*;
use reputation::*;
use window::*;

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

/// A policy file that could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    /// The file's name as given (or `<preset name>`).
    pub file: String,
    /// Every problem found, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: error: {}", self.file, d.line, d.column, d.message)?;
            if let Some(h) = &d.help {
                write!(f, "\n  help: {h}")?;
            }
        }
        Ok(())
    }
}

/// Collects diagnostics against one source text.
struct Ctx<'a> {
    src: &'a str,
    diags: Vec<(usize, Diagnostic)>,
}

impl<'a> Ctx<'a> {
    fn err(&mut self, span: Range<usize>, message: impl Into<String>, help: impl Into<Option<String>>) {
        let (line, column) = line_col(self.src, span.start);
        self.diags.push((span.start, Diagnostic { line, column, message: message.into(), help: help.into() }));
    }

    fn duration(&mut self, s: &S<String>, what: &str) -> Option<Ms> {
        match parse_duration(s.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.err(s.span(), format!("{what}: {e}"), None);
                None
            }
        }
    }

    fn action(&mut self, actions: &[Action], name: &S<String>, field: &str) -> Option<usize> {
        let found = actions.iter().position(|a| &*a.name == name.get_ref().as_str());
        if found.is_none() {
            let known: Vec<&str> = actions.iter().map(|a| &*a.name).collect();
            self.err(
                name.span(),
                format!("unknown action `{}` in {field}", name.get_ref()),
                Some(format!("declare it in `actions` at the top of the file, or use one of: {}", known.join(", "))),
            );
        }
        found
    }

    fn amount(&mut self, v: &S<toml::Value>, field: &str) -> Option<u64> {
        match v.get_ref() {
            toml::Value::Integer(n) if *n >= 0 => Some(*n as u64),
            toml::Value::String(s) if s == "unlimited" => Some(UNLIMITED),
            _ => {
                self.err(
                    v.span(),
                    format!("{field} must be a whole number of zero or more, or \"unlimited\""),
                    Some("e.g. `amount = 100`".to_string()),
                );
                None
            }
        }
    }

    fn event(&mut self, name: &S<String>) -> Option<EventKind> {
        let k = EventKind::from_name(name.get_ref());
        if k.is_none() {
            let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
            self.err(
                name.span(),
                format!("unknown event kind `{}`", name.get_ref()),
                Some(format!("use one of: {}", known.join(", "))),
            );
        }
        k
    }
}

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn dup_check(ctx: &mut Ctx<'_>, seen: &mut HashSet<String>, name: &S<String>, what: &str) {
    if name.get_ref().is_empty() {
        ctx.err(
            name.span(),
            format!("{what} name is empty"),
            Some("give it a name such as `weekly_invitations`".into()),
        );
    } else if !seen.insert(name.get_ref().clone()) {
        ctx.err(
            name.span(),
            format!("duplicate {what} name `{}`", name.get_ref()),
            Some("names must be unique".into()),
        );
    }
}

impl Policy {
    /// Compiles a policy from TOML. `file` names the source in diagnostics.
    ///
    /// ```
    /// let p = pacekeeper_engine::Policy::preset("linkedin").unwrap();
    /// assert_eq!(p.default_tier(), "free");
    /// let err = pacekeeper_engine::Policy::from_toml("x.toml", "name = 1").unwrap_err();
    /// assert!(err.to_string().starts_with("x.toml:1:8: error:"));
    /// ```
    pub fn from_toml(file: &str, src: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = toml::from_str(src).map_err(|e| {
            let (line, column) = line_col(src, e.span().map_or(0, |s| s.start));
            PolicyError {
                file: file.to_string(),
                diagnostics: vec![Diagnostic {
                    line,
                    column,
                    message: e.message().trim().to_string(),
                    help: Some("see presets/linkedin.toml for a complete, commented example".into()),
                }],
            }
        })?;
        let mut ctx = Ctx { src, diags: Vec::new() };
        let policy = compile(&mut ctx, raw, src);
        if ctx.diags.is_empty() {
            Ok(policy)
        } else {
            ctx.diags.sort_by_key(|(o, _)| *o);
            Err(PolicyError { file: file.to_string(), diagnostics: ctx.diags.into_iter().map(|(_, d)| d).collect() })
        }
    }
}
