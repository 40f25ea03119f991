//! Choices about non-essential processing: consents with their history and the policy
//! version (R23, R24, R34), restriction (R29), and the one-click unsubscribe that works
//! without a session (R24, RFC 8058).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shared::ApiError;
use shared::adapters::ses::{MailError, MarketingEmail};
use shared::domain::account::Account;
use shared::domain::clock::rfc3339;
use shared::domain::crypto::constant_time_eq;
use shared::domain::policy::POLICY_VERSION_CURRENT;
use shared::domain::privacy::Consents;
use shared::edge::http::{ApiJson, ApiQuery, AuthUser};
use shared::edge::openapi::Problem;
use utoipa::{IntoParams, ToSchema};

use crate::me;
use crate::state::{AccountState, Services};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutConsents {
    /// Analytics cookies and use of usage data for analytics.
    analytics: Option<bool>,
    /// Marketing cookies on the website (never email).
    marketing_cookies: Option<bool>,
    /// Marketing email.
    marketing_email: Option<bool>,
    /// The old name of `marketing_email`, still accepted.
    #[schema(deprecated)]
    marketing: Option<bool>,
    /// The policy version the person has just accepted; it must be the current one.
    #[schema(schema_with = current_policy_version)]
    policy_version: Option<String>,
}

/// The one policy version that can be accepted: the current one (or null).
fn current_policy_version() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some([Some(POLICY_VERSION_CURRENT), None]))
        .build()
}

#[utoipa::path(
    put,
    path = "/v1/me/consents",
    tag = "account",
    security(("session" = [])),
    request_body(content = PutConsents, content_type = "application/json"),
    responses(
        (status = 200, description = "The choices now in force; the change is in the history", body = me::Consents),
        (status = 422, description = "`unknown_policy_version` or `invalid_request`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_consents(
    State(state): State<AccountState>,
    user: AuthUser,
    ApiJson(req): ApiJson<PutConsents>,
) -> Result<Json<me::Consents>, ApiError> {
    if let Some(v) = &req.policy_version
        && v != POLICY_VERSION_CURRENT
    {
        return Err(ApiError::UnknownPolicyVersion(POLICY_VERSION_CURRENT));
    }
    let mut account = user.account;
    let before = account.consents;
    let after = Consents {
        analytics: req.analytics.unwrap_or(before.analytics),
        marketing_cookies: req.marketing_cookies.unwrap_or(before.marketing_cookies),
        marketing_email: req
            .marketing_email
            .or(req.marketing)
            .unwrap_or(before.marketing_email),
    };
    let at = state.now();
    let version = req
        .policy_version
        .as_deref()
        .unwrap_or(&account.policy_version_accepted)
        .to_owned();
    state
        .transactions
        .begin()
        .add(
            "account",
            state
                .accounts
                .consents_write(&account.id, after, req.policy_version.as_deref(), at)?,
        )
        .add(
            "history",
            state
                .privacy
                .consent_write(&account.id, after, &version, "settings", &rfc3339(at))?,
        )
        .commit()
        .await
        .map_err(stopped_is_unauthorized)?;
    tracing::info!(event = "consents_changed", account_id = %account.id, analytics = after.analytics, marketing_cookies = after.marketing_cookies, marketing_email = after.marketing_email, "consents recorded");
    account.consents = after;
    account.consents_updated_at = Some(at);
    if after.marketing_email && !before.marketing_email && !account.restricted {
        confirm_marketing(&state, &account).await?;
    }
    Ok(Json(me::Consents::of(&account)))
}

/// A profile write whose condition failed: the account stopped being active meanwhile
/// (suspended, being deleted), so the session no longer stands.
fn stopped_is_unauthorized(e: shared::adapters::dynamo::StoreError) -> ApiError {
    if e.is_condition_failure() {
        ApiError::Unauthorized
    } else {
        e.into()
    }
}

/// R24: the opt-in's confirmation, already a marketing mail: it carries the
/// unsubscribe link and headers, as every later one will.
async fn confirm_marketing(state: &Services, account: &Account) -> Result<(), ApiError> {
    let url = unsubscribe_url(state, &account.id);
    let page = unsubscribe_page_url(state, &account.id);
    let text = "You chose to receive news and offers from Sora2 AI by email.\n\n\
                You can stop them at any time with one click on the link below, \
                without signing in.";
    match state
        .mailer
        .send_marketing(MarketingEmail {
            to: &account.email,
            subject: "You are subscribed to Sora2 AI news",
            text,
            unsubscribe_url: &url,
            unsubscribe_page_url: &page,
        })
        .await
    {
        Ok(_) => Ok(()),
        // The choice is recorded either way; a refused address just gets no mail.
        Err(MailError::Rejected(code)) => {
            tracing::warn!(code, "marketing confirmation refused by the mail service");
            Ok(())
        }
        Err(e) => Err(shared::edge::problem::unavailable("ses", e)),
    }
}

/// The signed link that ends marketing mail for an account (R24).
pub fn unsubscribe_url(state: &Services, account_id: &str) -> String {
    format!(
        "{}/v1/unsubscribe?token={}",
        state.public_url,
        unsubscribe_token(state, account_id)
    )
}

/// The website's page for the same link (the link in the mail's text): it shows what
/// the link does and ends the mail with the API's POST.
pub fn unsubscribe_page_url(state: &Services, account_id: &str) -> String {
    format!(
        "{}/unsubscribe?token={}",
        state.site_url,
        unsubscribe_token(state, account_id)
    )
}

fn signature(state: &Services, account_id: &str) -> String {
    state.keyed_hash("unsubscribe", account_id)[..32].to_owned()
}

fn unsubscribe_token(state: &Services, account_id: &str) -> String {
    format!("{account_id}.{}", signature(state, account_id))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnsubscribeQuery {
    /// The token of the link in the email.
    #[param(min_length = 1, max_length = 200)]
    token: String,
}

#[derive(Serialize, ToSchema)]
pub struct Unsubscribed {
    /// Always false: no more marketing email.
    marketing: bool,
}

#[utoipa::path(
    get,
    path = "/v1/unsubscribe",
    tag = "account",
    params(UnsubscribeQuery),
    responses(
        (status = 200, description = "No more marketing email (the same answer every time)", body = Unsubscribed),
        (status = 400, description = "`invalid_token`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unsubscribe_get(
    State(state): State<AccountState>,
    ApiQuery(q): ApiQuery<UnsubscribeQuery>,
) -> Result<Json<Unsubscribed>, ApiError> {
    unsubscribe(&state, &q.token).await
}

/// RFC 8058's one-click POST (`List-Unsubscribe=One-Click` in the body, ignored).
#[utoipa::path(
    post,
    path = "/v1/unsubscribe",
    tag = "account",
    params(UnsubscribeQuery),
    responses(
        (status = 200, description = "No more marketing email (the same answer every time)", body = Unsubscribed),
        (status = 400, description = "`invalid_token`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unsubscribe_post(
    State(state): State<AccountState>,
    ApiQuery(q): ApiQuery<UnsubscribeQuery>,
) -> Result<Json<Unsubscribed>, ApiError> {
    unsubscribe(&state, &q.token).await
}

async fn unsubscribe(state: &Services, token: &str) -> Result<Json<Unsubscribed>, ApiError> {
    let (account_id, sig) = token.split_once('.').ok_or(ApiError::InvalidToken)?;
    if !constant_time_eq(sig.as_bytes(), signature(state, account_id).as_bytes()) {
        return Err(ApiError::InvalidToken);
    }
    // A valid link of an account since deleted has nothing left to stop.
    if let Some(account) = state.accounts.get(account_id).await?
        && account.consents.marketing_email
    {
        let after = Consents {
            marketing_email: false,
            ..account.consents
        };
        let at = state.now();
        let res = state
            .transactions
            .begin()
            .add(
                "account",
                state.accounts.consents_write(account_id, after, None, at)?,
            )
            .add(
                "history",
                state.privacy.consent_write(
                    account_id,
                    after,
                    &account.policy_version_accepted,
                    "unsubscribe_link",
                    &rfc3339(at),
                )?,
            )
            .commit()
            .await;
        match res {
            Ok(()) => {
                tracing::info!(event = "unsubscribed", account_id, "marketing mail stopped");
            }
            // Not active any more (being deleted, suspended): no mail goes out anyway.
            Err(e) if e.is_condition_failure() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Json(Unsubscribed { marketing: false }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutRestriction {
    /// True restricts processing to what the person asks for (R29).
    restricted: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Restriction {
    restricted: bool,
    #[schema(format = DateTime)]
    updated_at: String,
}

#[utoipa::path(
    put,
    path = "/v1/me/restriction",
    tag = "account",
    security(("session" = [])),
    request_body(content = PutRestriction, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded: a restricted account is left out of analytics and marketing", body = Restriction),
    )
)]
pub async fn put_restriction(
    State(state): State<AccountState>,
    user: AuthUser,
    ApiJson(req): ApiJson<PutRestriction>,
) -> Result<Json<Restriction>, ApiError> {
    let at = state.now();
    let event = if req.restricted {
        "processing_restricted"
    } else {
        "restriction_lifted"
    };
    state
        .transactions
        .begin()
        .add(
            "account",
            state
                .accounts
                .restriction_write(&user.account_id, req.restricted, &rfc3339(at))?,
        )
        .add(
            "security_event",
            state.privacy.security_write(
                &user.account_id,
                event,
                at,
                state.policy.security_event_retention,
            )?,
        )
        .commit()
        .await
        .map_err(stopped_is_unauthorized)?;
    tracing::info!(event, account_id = %user.account_id, "restriction recorded");
    Ok(Json(Restriction {
        restricted: req.restricted,
        updated_at: rfc3339(at),
    }))
}
