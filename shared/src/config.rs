//! Configuration from the environment, read once at start-up.
//!
//! In Lambda the template sets these variables; the local stack builds the same map
//! itself. A missing or malformed variable is an error that names it.

use std::collections::HashMap;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variable {0}")]
    Missing(&'static str),
    #[error("environment variable {var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

pub const GOOGLE_JWKS_URL_DEFAULT: &str = "https://www.googleapis.com/oauth2/v3/certs";

#[derive(Clone)]
pub struct Config {
    /// R40: every client is pinned to this one region.
    pub region: String,
    /// Set only for the local AWS endpoint.
    pub aws_endpoint_url: Option<String>,
    pub accounts_table: String,
    pub sessions_table: String,
    pub rate_limits_table: String,
    pub ledger_table: String,
    pub audit_table: String,
    /// The sender of service mail (sign-in codes, notices).
    pub mail_from: String,
    pub google_client_id: String,
    pub google_jwks_url: String,
    /// Key of the keyed hashes of sign-in codes, email lookups and rate-limit subjects.
    /// A secret: never logged (see the Debug impl).
    pub hash_secret: Vec<u8>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("region", &self.region)
            .field("aws_endpoint_url", &self.aws_endpoint_url)
            .field("accounts_table", &self.accounts_table)
            .field("sessions_table", &self.sessions_table)
            .field("rate_limits_table", &self.rate_limits_table)
            .field("ledger_table", &self.ledger_table)
            .field("google_jwks_url", &self.google_jwks_url)
            .field("hash_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_lookup(|k| map.get(k).cloned())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |var: &'static str| {
            get(var)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing(var))
        };
        let hash_secret = required("HASH_SECRET")?;
        if hash_secret.len() < 32 {
            return Err(ConfigError::Invalid {
                var: "HASH_SECRET",
                reason: "must be at least 32 characters".into(),
            });
        }
        let mail_from = required("MAIL_FROM")?;
        if !mail_from.contains('@') {
            return Err(ConfigError::Invalid {
                var: "MAIL_FROM",
                reason: "must be an email address".into(),
            });
        }
        Ok(Self {
            region: required("AWS_REGION")?,
            aws_endpoint_url: get("AWS_ENDPOINT_URL").filter(|v| !v.is_empty()),
            accounts_table: required("ACCOUNTS_TABLE")?,
            sessions_table: required("SESSIONS_TABLE")?,
            rate_limits_table: required("RATE_LIMITS_TABLE")?,
            ledger_table: required("LEDGER_TABLE")?,
            audit_table: required("AUDIT_TABLE")?,
            mail_from,
            google_client_id: required("GOOGLE_CLIENT_ID")?,
            google_jwks_url: get("GOOGLE_JWKS_URL")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| GOOGLE_JWKS_URL_DEFAULT.to_string()),
            hash_secret: hash_secret.into_bytes(),
        })
    }
}

fn required_in(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<String, ConfigError> {
    get(var)
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing(var))
}

fn optional_in(get: &impl Fn(&str) -> Option<String>, var: &str, default: &str) -> String {
    get(var)
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// What the video functions (`videos`, `generate`, `deliver`) need besides [`Config`].
#[derive(Clone)]
pub struct VideoConfig {
    pub videos_table: String,
    pub inputs_bucket: String,
    pub outputs_bucket: String,
    pub generate_queue_url: String,
    pub provider: ProviderConfig,
    pub moderation: ModerationConfig,
}

/// The video provider, chosen by `VIDEO_PROVIDER` (R13). Only `fal` is built; the
/// interface in `providers::video` is shaped to take Veo and Runway as new modules.
#[derive(Clone)]
pub struct ProviderConfig {
    pub name: String,
    /// `https://queue.fal.run` in production.
    pub fal_queue_url: String,
    /// `https://api.fal.ai/v1` in production (deleting a request's stored payloads).
    pub fal_api_url: String,
    pub fal_text_model: String,
    pub fal_image_model: String,
    /// A secret: only the functions that call the provider are given it.
    pub fal_key: Option<String>,
}

/// Creem's prompt moderation (R18).
#[derive(Clone)]
pub struct ModerationConfig {
    /// `https://api.creem.io` in production.
    pub creem_api_url: String,
    /// A secret: only the function that moderates is given it.
    pub creem_api_key: Option<String>,
}

pub const FAL_QUEUE_URL_DEFAULT: &str = "https://queue.fal.run";
pub const FAL_API_URL_DEFAULT: &str = "https://api.fal.ai/v1";
pub const FAL_TEXT_MODEL_DEFAULT: &str = "fal-ai/veo3.1";
pub const FAL_IMAGE_MODEL_DEFAULT: &str = "fal-ai/veo3.1/image-to-video";
pub const CREEM_API_URL_DEFAULT: &str = "https://api.creem.io";

impl std::fmt::Debug for VideoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoConfig")
            .field("videos_table", &self.videos_table)
            .field("inputs_bucket", &self.inputs_bucket)
            .field("outputs_bucket", &self.outputs_bucket)
            .field("provider", &self.provider.name)
            .finish_non_exhaustive()
    }
}

impl VideoConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_lookup(|k| map.get(k).cloned())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let provider = ProviderConfig {
            name: optional_in(&get, "VIDEO_PROVIDER", "fal"),
            fal_queue_url: optional_in(&get, "FAL_QUEUE_URL", FAL_QUEUE_URL_DEFAULT),
            fal_api_url: optional_in(&get, "FAL_API_URL", FAL_API_URL_DEFAULT),
            fal_text_model: optional_in(&get, "FAL_TEXT_MODEL", FAL_TEXT_MODEL_DEFAULT),
            fal_image_model: optional_in(&get, "FAL_IMAGE_MODEL", FAL_IMAGE_MODEL_DEFAULT),
            fal_key: get("FAL_KEY").filter(|v| !v.trim().is_empty()),
        };
        if provider.name != "fal" {
            return Err(ConfigError::Invalid {
                var: "VIDEO_PROVIDER",
                reason: format!("unknown provider {:?} (known: fal)", provider.name),
            });
        }
        Ok(Self {
            videos_table: required_in(&get, "VIDEOS_TABLE")?,
            inputs_bucket: required_in(&get, "INPUTS_BUCKET")?,
            outputs_bucket: required_in(&get, "OUTPUTS_BUCKET")?,
            generate_queue_url: required_in(&get, "GENERATE_QUEUE_URL")?,
            provider,
            moderation: ModerationConfig {
                creem_api_url: optional_in(&get, "CREEM_API_URL", CREEM_API_URL_DEFAULT),
                creem_api_key: get("CREEM_API_KEY").filter(|v| !v.trim().is_empty()),
            },
        })
    }

    /// For the functions that call the provider: its key must be set.
    pub fn require_provider_key(&self) -> Result<(), ConfigError> {
        self.provider
            .fal_key
            .as_ref()
            .map(|_| ())
            .ok_or(ConfigError::Missing("FAL_KEY"))
    }

    /// For the function that moderates: Creem's key must be set.
    pub fn require_moderation_key(&self) -> Result<(), ConfigError> {
        self.moderation
            .creem_api_key
            .as_ref()
            .map(|_| ())
            .ok_or(ConfigError::Missing("CREEM_API_KEY"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> HashMap<String, String> {
        [
            ("AWS_REGION", "eu-west-1"),
            ("ACCOUNTS_TABLE", "a"),
            ("SESSIONS_TABLE", "s"),
            ("RATE_LIMITS_TABLE", "r"),
            ("LEDGER_TABLE", "l"),
            ("AUDIT_TABLE", "au"),
            ("MAIL_FROM", "no-reply@sora2ai.info"),
            ("GOOGLE_CLIENT_ID", "client"),
            ("HASH_SECRET", "0123456789abcdef0123456789abcdef"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn a_missing_variable_is_named() {
        let mut m = full();
        m.remove("SESSIONS_TABLE");
        assert_eq!(
            Config::from_map(&m).unwrap_err(),
            ConfigError::Missing("SESSIONS_TABLE")
        );
        assert!(
            Config::from_map(&m)
                .unwrap_err()
                .to_string()
                .contains("SESSIONS_TABLE")
        );
    }

    #[test]
    fn a_short_secret_is_refused_and_never_printed() {
        let mut m = full();
        m.insert("HASH_SECRET".into(), "short".into());
        assert!(matches!(
            Config::from_map(&m),
            Err(ConfigError::Invalid {
                var: "HASH_SECRET",
                ..
            })
        ));
        let c = Config::from_map(&full()).unwrap();
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
        assert_eq!(c.google_jwks_url, GOOGLE_JWKS_URL_DEFAULT);
    }
}
