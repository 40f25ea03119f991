//! Creem's prompt moderation (R18): every prompt is screened before any credit is spent
//! or any provider called. `flag` counts as `deny`; if Creem cannot be reached the
//! prompt is refused, never let through.

use std::time::Duration;

use serde::Deserialize;

use serde_json::json;
use shared::adapters::env::{ConfigError, Env};
use shared::adapters::outbound::LazyClient;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// `deny` or `flag`.
    Deny,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("moderation unavailable: {0}")]
pub struct ModerationUnavailable(pub String);

pub struct Moderation {
    http: LazyClient,
    url: String,
    key: shared::domain::secret::Secret,
}

impl Moderation {
    /// `CREEM_API_URL` (`https://api.creem.io`) and `CREEM_API_KEY`, a secret.
    pub fn from_env(env: &Env, http: LazyClient) -> Result<Self, ConfigError> {
        Ok(Self {
            http,
            url: format!("{}/v1/moderation/prompt", env.url("CREEM_API_URL")?),
            key: env.secret("CREEM_API_KEY", 8)?,
        })
    }

    /// Screens a prompt. `external_id` is our job id: nothing that names the person.
    pub async fn screen(
        &self,
        prompt: &str,
        external_id: &str,
    ) -> Result<Verdict, ModerationUnavailable> {
        #[derive(Deserialize)]
        struct Answer {
            decision: String,
        }
        let res = self
            .http
            .get()
            .post(&self.url)
            .header("x-api-key", self.key.expose())
            .timeout(Duration::from_secs(5))
            .json(&json!({ "prompt": prompt, "external_id": external_id }))
            .send()
            .await
            .map_err(|e| ModerationUnavailable(e.without_url().to_string()))?;
        if !res.status().is_success() {
            return Err(ModerationUnavailable(format!("answered {}", res.status())));
        }
        let answer: Answer = res
            .json()
            .await
            .map_err(|_| ModerationUnavailable("answer has no decision".into()))?;
        match answer.decision.as_str() {
            "allow" => Ok(Verdict::Allow),
            "deny" | "flag" => Ok(Verdict::Deny),
            // A decision we do not know is neither an allow nor a violation to count
            // against the person (three of those would suspend them): refuse for now.
            other => Err(ModerationUnavailable(format!(
                "unknown decision {:?}",
                other.chars().take(32).collect::<String>()
            ))),
        }
    }
}
