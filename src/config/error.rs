//! What can be wrong with a configuration: each problem names its file, its key and what
//! is wrong, so that `filmd check-config` and a refused start say where to look.

use crate::film::annotation::AnnotationFileError;
use std::path::PathBuf;

/// A configuration problem: the key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub key: String,
    pub problem: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.problem)
    }
}

/// Reading or validating the configuration failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {} problem(s):\n{}", .issues.len(), .issues.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        path: PathBuf,
        issues: Vec<ConfigIssue>,
    },
    /// The annotation formats or fonts beside the configuration.
    #[error(transparent)]
    Annotations(#[from] AnnotationSetupError),
}

/// The annotation formats or fonts beside the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AnnotationSetupError {
    #[error("{key} = {path:?}: {problem}")]
    Directory {
        key: &'static str,
        path: PathBuf,
        problem: String,
    },
    #[error("{path}: {problem}")]
    File { path: PathBuf, problem: String },
    #[error(transparent)]
    Formats(#[from] AnnotationFileError),
}
