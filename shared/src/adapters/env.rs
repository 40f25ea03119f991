//! The process environment, read once at start-up by each function for what it uses.
//!
//! In Lambda the template sets the variables, per function; the local stack gives each
//! function the same map from the template. Every read is recorded, so a test can prove
//! that what a function's code reads is exactly what the template gives it. A missing
//! or malformed variable is an error that names it; values are never printed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variable {0}")]
    Missing(&'static str),
    #[error("environment variable {var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
    /// A secret's parameter could not be read from Parameter Store.
    #[error("parameter {name} (for {var}) could not be read: {reason}")]
    Parameter {
        var: String,
        name: String,
        reason: String,
    },
}

impl ConfigError {
    /// Whether Parameter Store failed for now (throttling, its own errors, the
    /// network): the same start may succeed later. Anything else is a wrong
    /// configuration that no retry mends.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Parameter { reason, .. } => matches!(
                reason.as_str(),
                "ThrottlingException"
                    | "TooManyRequestsException"
                    | "InternalServerError"
                    | "InternalServerErrorException"
                    | "ServiceUnavailable"
                    | "unreachable"
            ),
            _ => false,
        }
    }
}

/// How long a start waits for a throttled or failing Parameter Store before it gives
/// up for this invocation (Lambda's init phase is limited to 10 s).
pub const PARAMETERS_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

/// A variable `X_PARAMETER` names the Parameter Store parameter (a SecureString) that
/// holds the secret `X`: secrets are never plain environment variables in a deployment.
pub const PARAMETER_SUFFIX: &str = "_PARAMETER";

/// A source of configuration variables that remembers which names were asked for.
pub struct Env {
    values: Source,
    /// Secrets read from Parameter Store at start, by the variable they stand for.
    secrets: BTreeMap<String, String>,
    read: Mutex<BTreeSet<&'static str>>,
    secrets_read: Mutex<BTreeSet<&'static str>>,
}

enum Source {
    Process,
    Map(BTreeMap<String, String>),
}

impl Env {
    /// The real process environment (a Lambda `main`).
    pub fn process() -> Self {
        Self::with(Source::Process)
    }

    /// A fixed map (the local stack, tests).
    pub fn from_map(map: BTreeMap<String, String>) -> Self {
        Self::with(Source::Map(map))
    }

    fn with(values: Source) -> Self {
        Self {
            values,
            secrets: BTreeMap::new(),
            read: Mutex::new(BTreeSet::new()),
            secrets_read: Mutex::new(BTreeSet::new()),
        }
    }

    /// Every variable `X_PARAMETER` and the parameter name it gives.
    pub fn parameter_refs(&self) -> Vec<(String, String)> {
        let all: Vec<(String, String)> = match &self.values {
            Source::Process => std::env::vars().collect(),
            Source::Map(m) => m.clone().into_iter().collect(),
        };
        all.into_iter()
            .filter_map(|(k, v)| Some((k.strip_suffix(PARAMETER_SUFFIX)?.to_owned(), v)))
            .filter(|(_, v)| !v.trim().is_empty())
            .collect()
    }

    /// Reads, in one call per ten, the secrets that `X_PARAMETER` variables name, so
    /// that [`Env::secret`] gives them. Done once, at start.
    pub async fn with_parameters(mut self, ssm: &aws_sdk_ssm::Client) -> Result<Self, ConfigError> {
        self.load_parameters(ssm).await?;
        Ok(self)
    }

    /// Reads the secrets from Parameter Store. A throttled or failing Parameter Store is
    /// asked again with jittered waits, within [`PARAMETERS_DEADLINE`]; past it, the
    /// error says whether it is worth trying again later ([`ConfigError::is_transient`]).
    pub async fn load_parameters(&mut self, ssm: &aws_sdk_ssm::Client) -> Result<(), ConfigError> {
        use aws_sdk_ssm::error::ProvideErrorMetadata;
        let deadline = tokio::time::Instant::now() + PARAMETERS_DEADLINE;
        let refs = self.parameter_refs();
        for chunk in refs.chunks(10) {
            let mut attempt = 0u32;
            let out = loop {
                let result = ssm
                    .get_parameters()
                    .set_names(Some(chunk.iter().map(|(_, name)| name.clone()).collect()))
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| ConfigError::Parameter {
                        var: chunk[0].0.clone(),
                        name: chunk[0].1.clone(),
                        reason: e.code().unwrap_or("unreachable").to_owned(),
                    });
                match result {
                    Ok(out) => break out,
                    Err(e) if e.is_transient() => {
                        attempt += 1;
                        let wait = {
                            use rand::Rng;
                            let cap_ms = 50u64 << attempt.min(5);
                            std::time::Duration::from_millis(rand::rng().random_range(1..=cap_ms))
                        };
                        if tokio::time::Instant::now() + wait >= deadline {
                            return Err(e);
                        }
                        tokio::time::sleep(wait).await;
                    }
                    Err(e) => return Err(e),
                }
            };
            for (var, name) in chunk {
                let value = out
                    .parameters()
                    .iter()
                    .find(|p| p.name() == Some(name.as_str()))
                    .and_then(|p| p.value())
                    .ok_or_else(|| ConfigError::Parameter {
                        var: var.clone(),
                        name: name.clone(),
                        reason: "no such parameter".into(),
                    })?;
                self.secrets.insert(var.clone(), value.to_owned());
            }
        }
        Ok(())
    }

    fn get(&self, var: &'static str) -> Option<String> {
        if let Ok(mut read) = self.read.lock() {
            read.insert(var);
        }
        let value = match &self.values {
            Source::Process => std::env::var(var).ok(),
            Source::Map(m) => m.get(var).cloned(),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    pub fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.get(var).ok_or(ConfigError::Missing(var))
    }

    /// A variable that may be absent (the local AWS endpoint, the log filter).
    pub fn optional(&self, var: &'static str) -> Option<String> {
        self.get(var)
    }

    /// A secret: from Parameter Store when `X_PARAMETER` names it (a deployment), else
    /// the variable itself (a developer's shell); required, at least `min_len` long.
    pub fn secret(
        &self,
        var: &'static str,
        min_len: usize,
    ) -> Result<crate::domain::secret::Secret, ConfigError> {
        if let Ok(mut read) = self.secrets_read.lock() {
            read.insert(var);
        }
        let value = match self.secrets.get(var) {
            Some(v) => v.clone(),
            None => self.required(var)?,
        };
        if value.len() < min_len {
            return Err(ConfigError::Invalid {
                var,
                reason: format!("must be at least {min_len} characters"),
            });
        }
        Ok(crate::domain::secret::Secret::new(value))
    }

    /// An email address (the sender of service mail).
    pub fn email(&self, var: &'static str) -> Result<String, ConfigError> {
        let value = self.required(var)?;
        if !value.contains('@') {
            return Err(ConfigError::Invalid {
                var,
                reason: "must be an email address".into(),
            });
        }
        Ok(value)
    }

    /// An http(s) base URL, without its trailing slash.
    pub fn url(&self, var: &'static str) -> Result<String, ConfigError> {
        let value = self.required(var)?;
        if !(value.starts_with("https://") || value.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                var,
                reason: "must be an http(s) URL".into(),
            });
        }
        Ok(value.trim_end_matches('/').to_owned())
    }

    /// Every secret asked for so far.
    pub fn secrets_read(&self) -> BTreeSet<&'static str> {
        self.secrets_read
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Every variable asked for so far, present or not.
    pub fn read_vars(&self) -> BTreeSet<&'static str> {
        self.read.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_missing_variable_is_named() {
        let e = env(&[("SESSIONS_TABLE", "  ")]);
        let err = e.required("SESSIONS_TABLE").unwrap_err();
        assert_eq!(err, ConfigError::Missing("SESSIONS_TABLE"));
        assert!(err.to_string().contains("SESSIONS_TABLE"));
    }

    #[test]
    fn a_short_secret_is_refused_and_never_printed() {
        let e = env(&[("HASH_SECRET", "short-secret-value")]);
        let err = e.secret("HASH_SECRET", 32).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                var: "HASH_SECRET",
                ..
            }
        ));
        assert!(!err.to_string().contains("short-secret-value"));
    }

    #[test]
    fn every_read_is_recorded_present_or_not() {
        let e = env(&[("A", "1"), ("URL", "https://x.example/")]);
        assert_eq!(e.optional("A").as_deref(), Some("1"));
        assert_eq!(e.optional("B"), None);
        assert_eq!(e.url("URL").unwrap(), "https://x.example");
        assert_eq!(
            e.read_vars().into_iter().collect::<Vec<_>>(),
            ["A", "B", "URL"]
        );
    }
}
