//! The shipped presets, compiled from the TOML files in the repository's `presets/` folder.

use crate::policy::Policy;
use crate::policy_file::PolicyError;

/// `(name, TOML source)` of every shipped preset.
pub const PRESETS: &[(&str, &str)] = &[
    ("linkedin", include_str!("../../../presets/linkedin.toml")),
    ("linkedin-classic", include_str!("../../../presets/linkedin-classic.toml")),
];

impl Policy {
    /// A shipped preset by name (`linkedin`, `linkedin-classic`); `None` if there is none.
    pub fn preset(name: &str) -> Option<Policy> {
        let (_, src) = PRESETS.iter().find(|(n, _)| *n == name)?;
        // Presets are checked by the test suite; a broken one is a build defect.
        Some(Policy::from_toml(&format!("presets/{name}.toml"), src).expect("shipped preset compiles"))
    }

    /// The TOML source of a preset.
    pub fn preset_source(name: &str) -> Option<&'static str> {
        PRESETS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
    }

    /// A preset name, or else a path to a policy file.
    pub fn load(name_or_path: &str) -> Result<Policy, LoadError> {
        if let Some(p) = Policy::preset(name_or_path) {
            return Ok(p);
        }
        let src = std::fs::read_to_string(name_or_path).map_err(|e| LoadError::Read {
            path: name_or_path.to_string(),
            presets: PRESETS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
            source: e,
        })?;
        Ok(Policy::from_toml(name_or_path, &src)?)
    }
}

/// A policy that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Neither a preset nor a readable file.
    #[error("`{path}` is not a preset ({presets}) and cannot be read as a file: {source}")]
    Read {
        /// What was given.
        path: String,
        /// The preset names.
        presets: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid policy.
    #[error(transparent)]
    Invalid(#[from] PolicyError),
}
