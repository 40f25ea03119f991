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
    pub account_id: crate::domain::ids::AccountId,
    /// Identifies the session for sign-out; a hash, never the token.
    pub session_hash: String,
    /// The account as read for this request (active, at the session's epoch).
    pub account: Account,
    /// When the session was made (epoch seconds): how recent the sign-in is.
    pub signed_in_at: i64,
    /// The request's usage write, when it runs beside the route's work.
    usage: Option<UsageSlot>,
}

/// Writes whose usage row is written beside their checks: each awaits
/// [`AuthUser::usage_recorded`] before it changes anything.
const BESIDE_THE_CHECKS: &[(&str, &str)] = &[("POST", "/v1/videos")];

impl AuthUser {
    /// Waits for this request's usage row (R22) to be stored. A write that lets it run
    /// beside its checks calls this before its first change, so nothing is changed by
    /// a request whose usage could not be recorded.
    pub async fn usage_recorded(&self) -> Result<(), ApiError> {
        match self.usage.as_ref().and_then(UsageSlot::take) {
            Some(write) => write.await.map_err(|_| ApiError::Unavailable)?,
            None => Ok(()),
        }
    }
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
        let now = check.clock.epoch_secs();
        // A token that names its account has the session and the account read at once
        // (one round trip); an older one, the session first. Either way the account
        // must be the session's own, active, at the session's epoch (R05).
        let (session, account) = match crate::domain::crypto::account_of_token(token) {
            Some(named) => {
                let (session, account) = tokio::join!(
                    check.sessions.get_live(&session_hash, now),
                    check.accounts.get(named)
                );
                (session?, account?)
            }
            None => {
                let session = check.sessions.get_live(&session_hash, now).await?;
                let account = match &session {
                    Some(s) => check.accounts.get(&s.account_id).await?,
                    None => None,
                };
                (session, account)
            }
        };
        let session = session.ok_or(ApiError::Unauthorized)?;
        let account = account
            .filter(|a| {
                a.id == session.account_id
                    && a.status == AccountStatus::Active
                    && a.session_epoch == session.epoch
            })
            .ok_or(ApiError::Unauthorized)?;
        let write = usage_write(check, parts, &account).await?;
        let route = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        let beside = parts.method == axum::http::Method::GET
            || BESIDE_THE_CHECKS
                .iter()
                .any(|(m, r)| parts.method.as_str() == *m && route == *r);
        let usage = match parts.extensions.get::<UsageSlot>() {
            // A read changes nothing: its usage row is written while the route works,
            // and the answer waits for it (see `await_usage`). So does a write that
            // awaits it before its first change (`AuthUser::usage_recorded`).
            Some(slot) if beside => {
                slot.hold(write);
                Some(slot.clone())
            }
            // Any other write is done only once its usage is recorded.
            _ => {
                write.await?;
                None
            }
        };
        Ok(Self {
            account_id: crate::domain::ids::AccountId::new(session.account_id),
            session_hash,
            account,
            signed_in_at: session.created_at,
            usage,
        })
    }
}

/// Where a signed-in read's usage write waits while the route works: put in the
/// request by [`await_usage`], filled by the extractor.
#[derive(Clone, Default)]
pub struct UsageSlot(std::sync::Arc<std::sync::Mutex<Option<UsageWrite>>>);

type UsageWrite = tokio::task::JoinHandle<Result<(), ApiError>>;

impl std::fmt::Debug for UsageSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UsageSlot")
    }
}

impl UsageSlot {
    fn hold(
        &self,
        write: impl std::future::Future<Output = Result<(), ApiError>> + Send + 'static,
    ) {
        use tracing::Instrument;
        // The write stays the request's: its span (for the logs) and, on the local
        // stack, the function it is recorded for (the policy test's call log).
        let write = write.instrument(tracing::Span::current());
        let handle = match crate::adapters::aws_calls::CALLER.try_with(|c| *c) {
            Ok(caller) => tokio::spawn(crate::adapters::aws_calls::CALLER.scope(caller, write)),
            Err(_) => tokio::spawn(write),
        };
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(handle);
        }
    }

    fn take(&self) -> Option<UsageWrite> {
        self.0.lock().ok().and_then(|mut s| s.take())
    }
}

/// Middleware: a signed-in read's usage row (R22) is written beside the route's own
/// reads, not before them, and the answer is sent only once it is stored (a Lambda is
/// frozen after it answers, so nothing may be left running). If it could not be
/// stored, the read is refused as unavailable, as it was before the route ran: the
/// record of a request is never lost silently.
pub async fn await_usage(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let slot = UsageSlot::default();
    req.extensions_mut().insert(slot.clone());
    let res = next.run(req).await;
    match slot.take() {
        None => res,
        Some(write) => match write.await {
            Ok(Ok(())) => res,
            Ok(Err(e)) => e.into_response(),
            Err(_) => ApiError::Unavailable.into_response(),
        },
    }
}

/// R22: the usage data of a signed-in request: IP, user agent, route, action, time,
/// referrer, flagged when the account is restricted or has not consented to analytics.
/// Read from the request now; the write it returns may run later.
async fn usage_write(
    check: &SessionCheck,
    parts: &mut Parts,
    account: &Account,
) -> Result<impl std::future::Future<Output = Result<(), ApiError>> + Send + 'static, ApiError> {
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
        .filter(|id| crate::domain::video::is_id(crate::domain::video::JOB_ID_PREFIX, id))
        .map(str::to_owned);
    let (user_agent, referrer) = (header(header::USER_AGENT), header(header::REFERER));
    let ip = ip.0.to_string();
    let method = parts.method.as_str().to_owned();
    let privacy = check.privacy.clone();
    let account_id = account.id.clone();
    let (restricted, analytics) = (
        account.restricted,
        account.consents.analytics && !account.restricted,
    );
    let expires = check.clock.epoch_secs() + check.usage_retention_secs;
    Ok(async move {
        privacy
            .record_usage(
                &account_id,
                &Usage {
                    ip: &ip,
                    user_agent: user_agent.as_deref(),
                    method: &method,
                    route: &route,
                    referrer: referrer.as_deref(),
                    at: &at,
                    restricted,
                    analytics,
                    polled: polled.as_deref(),
                },
                expires,
            )
            .await?;
        Ok(())
    })
}
