//! Creem's subscriptions API: `POST {CREEM_API_URL}/v1/subscriptions/{id}/cancel`
//! with `x-api-key`, and `GET /v1/subscriptions?subscription_id=…` (docs.creem.io API
//! reference, read 2026-12-07). An erasure cancels the person's subscriptions through
//! it before anything is deleted, so Creem charges nothing after (R28); the person
//! cancels at the period's end, resumes, and opens Creem's portal through it (R47).

use std::time::Duration;

use serde::Deserialize;

use super::env::{ConfigError, Env};
use super::outbound::LazyClient;

pub struct CreemSubscriptions {
    http: LazyClient,
    url: String,
    key: crate::domain::secret::Secret,
}

/// What Creem said of a cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    /// Creem answered the subscription, cancelled.
    Now,
    /// Creem refused to cancel it, and the subscription as Creem shows it is not active
    /// (cancelled or expired), or Creem does not know it: nothing of it is charged.
    NotActive,
}

#[derive(Debug, thiserror::Error)]
#[error("creem subscription cancel: {0}")]
pub struct CreemUnavailable(pub String);

#[derive(Deserialize)]
struct SubscriptionAnswer {
    status: String,
}

impl CreemSubscriptions {
    /// `CREEM_API_URL`, `CREEM_API_KEY` (a secret).
    pub fn from_env(env: &Env, http: LazyClient) -> Result<Self, ConfigError> {
        Ok(Self {
            http,
            url: env.url("CREEM_API_URL")?,
            key: env.secret("CREEM_API_KEY", 8)?,
        })
    }

    /// Cancels `subscription_id` at once. An error means Creem has not confirmed it:
    /// the caller tries again.
    pub async fn cancel(&self, subscription_id: &str) -> Result<Cancelled, CreemUnavailable> {
        let res = self
            .http
            .get()
            .post(format!(
                "{}/v1/subscriptions/{subscription_id}/cancel",
                self.url
            ))
            .header("x-api-key", self.key.expose())
            .timeout(Duration::from_secs(8))
            .json(&serde_json::json!({ "mode": "immediate" }))
            .send()
            .await
            .map_err(|e| CreemUnavailable(e.without_url().to_string()))?;
        let status = res.status();
        // Creem documents no words for a refusal: what the subscription is decides.
        if matches!(status.as_u16(), 400 | 404 | 409) {
            return self.state_of(subscription_id).await;
        }
        if !status.is_success() {
            return Err(CreemUnavailable(format!("answered {status}")));
        }
        let answer: SubscriptionAnswer = res
            .json()
            .await
            .map_err(|_| CreemUnavailable("answer is not a subscription".into()))?;
        match answer.status.as_str() {
            "canceled" | "cancelled" | "expired" => Ok(Cancelled::Now),
            other => Err(CreemUnavailable(format!("still {other}"))),
        }
    }

    /// After a refused cancellation: the subscription as Creem shows it. Not active
    /// (cancelled or expired), or unknown to Creem: nothing is charged. Anything else
    /// (still active, past due, paused): not cancelled yet, tried again.
    async fn state_of(&self, subscription_id: &str) -> Result<Cancelled, CreemUnavailable> {
        let res = self
            .http
            .get()
            .get(format!("{}/v1/subscriptions", self.url))
            .query(&[("subscription_id", subscription_id)])
            .header("x-api-key", self.key.expose())
            .timeout(Duration::from_secs(8))
            .send()
            .await
            .map_err(|e| CreemUnavailable(e.without_url().to_string()))?;
        if res.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(Cancelled::NotActive);
        }
        if !res.status().is_success() {
            return Err(CreemUnavailable(format!(
                "cancel refused, subscription answered {}",
                res.status()
            )));
        }
        let answer: SubscriptionAnswer = res
            .json()
            .await
            .map_err(|_| CreemUnavailable("answer is not a subscription".into()))?;
        match answer.status.as_str() {
            "canceled" | "cancelled" | "expired" => Ok(Cancelled::NotActive),
            other => Err(CreemUnavailable(format!("cancel refused, still {other}"))),
        }
    }
}

/// A subscription as Creem's API answers it, as far as the plan needs it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct SubscriptionState {
    pub status: String,
    #[serde(default)]
    pub current_period_end_date: Option<String>,
    #[serde(default)]
    pub canceled_at: Option<serde_json::Value>,
}

/// What Creem said of a plan change the person asked for.
#[derive(Debug, thiserror::Error)]
pub enum PlanChangeError {
    /// Creem refused: the subscription cannot change so (already ended, not scheduled
    /// to cancel). Its words are not documented; the status is what counts.
    #[error("creem refused the change ({0})")]
    Refused(u16),
    #[error(transparent)]
    Unavailable(#[from] CreemUnavailable),
}

#[derive(Deserialize)]
struct PortalAnswer {
    customer_portal_link: String,
}

impl CreemSubscriptions {
    /// R47: cancels at the end of the paid period (`mode: scheduled`): Creem charges
    /// nothing more and ends it then. Answers the subscription as Creem now shows it.
    pub async fn cancel_at_period_end(
        &self,
        subscription_id: &str,
    ) -> Result<SubscriptionState, PlanChangeError> {
        self.change(
            &format!("v1/subscriptions/{subscription_id}/cancel"),
            Some(serde_json::json!({ "mode": "scheduled" })),
        )
        .await
    }

    /// R47: takes back a scheduled cancellation (`POST /v1/subscriptions/{id}/resume`,
    /// for a subscription in `scheduled_cancel` or `paused`; npm `creem` 1.13.0,
    /// `subscriptions.resume`, read 2026-12-07).
    pub async fn resume(
        &self,
        subscription_id: &str,
    ) -> Result<SubscriptionState, PlanChangeError> {
        self.change(&format!("v1/subscriptions/{subscription_id}/resume"), None)
            .await
    }

    async fn change(
        &self,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<SubscriptionState, PlanChangeError> {
        self.post(path, body, "answer is not a subscription").await
    }

    /// R47: Creem's customer portal for `customer_id` (`POST /v1/customers/billing`,
    /// answering `customer_portal_link`; npm `creem` 1.13.0,
    /// `customers.generateBillingLinks`, read 2026-12-07).
    pub async fn portal_link(&self, customer_id: &str) -> Result<String, PlanChangeError> {
        let answer: PortalAnswer = self
            .post(
                "v1/customers/billing",
                Some(serde_json::json!({ "customer_id": customer_id })),
                "answer has no portal link",
            )
            .await?;
        Ok(answer.customer_portal_link)
    }

    /// A POST to Creem's API: its answer read as `T`; a 4xx is Creem's refusal, any
    /// other failure Creem being unavailable (`unreadable` names an answer that is not
    /// what was asked for).
    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: Option<serde_json::Value>,
        unreadable: &str,
    ) -> Result<T, PlanChangeError> {
        let mut req = self
            .http
            .get()
            .post(format!("{}/{path}", self.url))
            .header("x-api-key", self.key.expose())
            .timeout(Duration::from_secs(8));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req
            .send()
            .await
            .map_err(|e| CreemUnavailable(e.without_url().to_string()))?;
        let status = res.status();
        if status.is_client_error() {
            return Err(PlanChangeError::Refused(status.as_u16()));
        }
        if !status.is_success() {
            return Err(CreemUnavailable(format!("answered {status}")).into());
        }
        Ok(res
            .json()
            .await
            .map_err(|_| CreemUnavailable(unreadable.to_owned()))?)
    }
}
