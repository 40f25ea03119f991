//! The signed-in caller, from `Authorization: Bearer <session token>` (R05).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::adapters::dynamo::accounts::AccountStore;
use crate::adapters::dynamo::privacy::{PrivacyStore, Usage};
use crate::adapters::dynamo::sessions::SessionStore;
use crate::domain::account::{Account, AccountStatus};
use crate::domain::clock::Clock;
use crate::domain::crypto::sha256_hex;
use crate::edge::problem::ApiError;

/// What checking a session needs. Every signed-in function holds one and lends it to
/// the extractor through `AsRef`.
///
/// A session is valid while its item is live *and* its account is active at the
/// session's epoch: suspension and "sign out everywhere" move the epoch on, so they end
/// every session at once, even one an eventually consistent index did not list.
#[derive(Clone, Debug)]
pub struct SessionCheck {
    pub sessions: SessionStore,
    pub accounts: AccountStore,
    pub clock: Clock,
    /// Where each signed-in request's usage data goes (R22).
    pub privacy: PrivacyStore,
    /// How long usage data is kept (`policy.usage_retention`).
    pub usage_retention_secs: i64,
}

#[derive(Debug, Clone)]
pub struct AuthUser {
    pub account_id: String,
    /// Identifies the session for sign-out; a hash, never the token.
    pub session_hash: String,
    /// The account as read for this request (active, at the session's epoch).
    pub account: Account,
    /// When the session was made (epoch seconds): how recent the sign-in is.
    pub signed_in_at: i64,
}

impl<S: AsRef<SessionCheck> + Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or(ApiError::Unauthorized)?;
        let session_hash = sha256_hex(token);
        let check = state.as_ref();
        let session = check
            .sessions
            .get_live(&session_hash, check.clock.epoch_secs())
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let account = check
            .accounts
            .get(&session.account_id)
            .await?
            .filter(|a| a.status == AccountStatus::Active && a.session_epoch == session.epoch)
            .ok_or(ApiError::Unauthorized)?;
        record_usage(check, parts, &account).await?;
        Ok(Self {
            account_id: session.account_id,
            session_hash,
            account,
            signed_in_at: session.created_at,
        })
    }
}

/// R22: the usage data of a signed-in request: IP, user agent, route, action, time,
/// referrer, flagged when the account is restricted or has not consented to analytics.
async fn record_usage(
    check: &SessionCheck,
    parts: &mut Parts,
    account: &Account,
) -> Result<(), ApiError> {
    let ip = super::ClientIp::from_request_parts(parts, &()).await?;
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(512).collect::<String>())
    };
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| parts.uri.path().to_owned(), |m| m.as_str().to_owned());
    let at = crate::domain::clock::rfc3339(check.clock.now());
    // A video's status polled by a page: its polls of a minute are counted together.
    let polled = (parts.method == axum::http::Method::GET && route == "/v1/videos/{id}")
        .then(|| parts.uri.path().rsplit('/').next())
        .flatten()
        .filter(|id| crate::domain::video::is_id(crate::domain::video::JOB_ID_PREFIX, id));
    let (user_agent, referrer) = (header(header::USER_AGENT), header(header::REFERER));
    let ip = ip.0.to_string();
    check
        .privacy
        .record_usage(
            &account.id,
            &Usage {
                ip: &ip,
                user_agent: user_agent.as_deref(),
                method: parts.method.as_str(),
                route: &route,
                referrer: referrer.as_deref(),
                at: &at,
                restricted: account.restricted,
                analytics: account.consents.analytics && !account.restricted,
                polled,
            },
            check.clock.epoch_secs() + check.usage_retention_secs,
        )
        .await?;
    Ok(())
}
