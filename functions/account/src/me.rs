//! The account as its owner sees it (GET /v1/me), and rectification (R07, R27):
//! PATCH /v1/me sets the display name, or starts an email change that a code sent to
//! the new address confirms (POST /v1/me/email/verify); the old address is told and
//! every other session ends. Starting a change needs a recent sign-in (R27).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shared::ApiError;
use shared::adapters::dynamo::billing::Plan;
use shared::adapters::ses::Email;
use shared::domain::account::{Account, clean_display_name};
use shared::domain::clock::rfc3339;
use shared::domain::email::EmailAddress;
use shared::domain::policy::POLICY_VERSION_CURRENT;
use shared::edge::http::{ApiJson, AuthUser};
use shared::edge::openapi::{Problem, optional_email_schema};
use utoipa::ToSchema;

use crate::state::{AccountState, Services};
use shared::adapters::dynamo::codes::Confirmation;
use shared::app::emailed_codes::Purpose;

#[derive(Serialize, ToSchema)]
pub struct Me {
    id: String,
    email: String,
    display_name: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    credits: i64,
    /// The current plan; null until one is bought.
    plan: Option<Plan>,
    identities: Vec<Identity>,
    consents: Consents,
    /// R29: processing restricted (no analytics, no marketing).
    restricted: bool,
    policy_version_accepted: String,
    policy_version_current: &'static str,
    /// R34: tells the client to show the newer policy.
    policy_update_available: bool,
    /// After PATCH with a new `email`: the address a confirmation code was sent to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pending_email: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct Identity {
    /// `email` or `google`.
    provider: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    linked_at: Option<String>,
}

/// R23: the current choices (their history is in the export).
#[derive(Serialize, ToSchema)]
pub struct Consents {
    /// Analytics cookies and use of usage data for analytics.
    pub analytics: bool,
    /// Marketing cookies on the website.
    pub marketing_cookies: bool,
    /// Marketing email.
    pub marketing_email: bool,
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
}

impl Consents {
    pub fn of(a: &Account) -> Self {
        Self {
            analytics: a.consents.analytics,
            marketing_cookies: a.consents.marketing_cookies,
            marketing_email: a.consents.marketing_email,
            updated_at: a.consents_updated_at.map(rfc3339),
        }
    }
}

impl Me {
    fn new(a: Account, credits: i64, plan: Option<Plan>) -> Self {
        let mut identities = vec![Identity {
            provider: "email",
            linked_at: Some(rfc3339(a.created_at)),
        }];
        if a.google_sub.is_some() {
            identities.push(Identity {
                provider: "google",
                linked_at: a.google_linked_at.map(rfc3339),
            });
        }
        Self {
            policy_update_available: a.policy_version_accepted.as_str() < POLICY_VERSION_CURRENT,
            consents: Consents::of(&a),
            restricted: a.restricted,
            id: a.id.into(),
            email: a.email,
            display_name: a.display_name,
            created_at: rfc3339(a.created_at),
            credits,
            plan,
            identities,
            policy_version_accepted: a.policy_version_accepted,
            policy_version_current: POLICY_VERSION_CURRENT,
            pending_email: None,
        }
    }
}

async fn me_of(state: &Services, account: Account) -> Result<Me, ApiError> {
    // Independent reads: one round trip.
    let (credits, plan) = tokio::join!(
        state.ledger.balance(&account.id),
        state.billing.plan(&account.id)
    );
    let (credits, plan) = (credits?, plan?);
    Ok(Me::new(account, credits, plan))
}

#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "account",
    security(("session" = [])),
    responses(
        (status = 200, description = "The caller's account", body = Me),
    )
)]
pub async fn get_me(
    State(state): State<AccountState>,
    user: AuthUser,
) -> Result<Json<Me>, ApiError> {
    Ok(Json(me_of(&state, user.account).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMe {
    /// The name shown in the product; an empty string removes it. Absent: unchanged.
    #[schema(max_length = 200)]
    display_name: Option<String>,
    /// A new address: a code is sent to it, and POST /v1/me/email/verify confirms it.
    #[schema(schema_with = optional_email_schema)]
    email: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/v1/me",
    tag = "account",
    security(("session" = [])),
    request_body(content = PatchMe, content_type = "application/json"),
    responses(
        (status = 200, description = "The account after the change", body = Me),
        (status = 403, description = "`recent_sign_in_required`: a new `email` needs a sign-in within the last 10 minutes", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_request` or `email_undeliverable`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit resets"))),
    )
)]
pub async fn patch_me(
    State(state): State<AccountState>,
    user: AuthUser,
    ApiJson(req): ApiJson<PatchMe>,
) -> Result<Json<Me>, ApiError> {
    let new_email = match &req.email {
        Some(raw) => Some(
            EmailAddress::parse(raw)
                .map_err(|_| ApiError::InvalidField("email is not a valid email address".into()))?,
        ),
        None => None,
    };
    let name = match &req.display_name {
        Some(raw) if raw.chars().count() > 200 => {
            return Err(ApiError::InvalidField(
                "display_name is longer than 200 characters".into(),
            ));
        }
        Some(raw) => Some(clean_display_name(raw)),
        None => None,
    };
    let mut account = user.account;
    let mut pending = None;
    if let Some(email) = new_email.filter(|e| e.as_str() != account.email) {
        // Proof of the current address too: a sign-in (by a code to it, or Google)
        // within the last minutes, not only a session token that may be stolen.
        let recent = state.policy.email_change_recent_sign_in.as_secs() as i64;
        if state.clock.epoch_secs() - user.signed_in_at > recent {
            return Err(ApiError::RecentSignInRequired);
        }
        if state
            .accounts
            .find_by_email(email.as_str())
            .await?
            .is_some()
        {
            return Err(ApiError::EmailTaken);
        }
        state
            .emailed_codes
            .send(
                Purpose::Confirm {
                    confirmation: Confirmation::EmailChange,
                    account_id: &account.id,
                },
                email.as_str(),
                Some(email.as_str().to_owned()),
            )
            .await?;
        pending = Some(email.as_str().to_owned());
    }
    // The name's write and the reads of the answer's credits and plan are
    // independent: one round trip for the three.
    let (named, credits, plan) = tokio::join!(
        async {
            match &name {
                Some(name) => state
                    .accounts
                    .set_display_name(&account.id, name.as_deref())
                    .await
                    .map(Some),
                None => Ok(None),
            }
        },
        state.ledger.balance(&account.id),
        state.billing.plan(&account.id)
    );
    if let Some(changed) = named? {
        account = changed;
        tracing::info!(event = "display_name_changed", account_id = %account.id, "display name changed");
    }
    let mut me = Me::new(account, credits?, plan?);
    me.pending_email = pending;
    Ok(Json(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// The six digits from the email.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

#[utoipa::path(
    post,
    path = "/v1/me/email/verify",
    tag = "account",
    security(("session" = [])),
    request_body(content = CodeBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The address is changed, the old one told, and every other session ended", body = Me),
        (status = 400, description = "`invalid_code`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit resets"))),
    )
)]
pub async fn verify_email(
    State(state): State<AccountState>,
    user: AuthUser,
    ApiJson(req): ApiJson<CodeBody>,
) -> Result<Json<Me>, ApiError> {
    let account = user.account;
    let confirmed = state
        .emailed_codes
        .check(
            Purpose::Confirm {
                confirmation: Confirmation::EmailChange,
                account_id: &account.id,
            },
            &req.code,
        )
        .await?;
    let new_email = confirmed.payload.ok_or(ApiError::InvalidCode)?;
    let at = state.now();
    let mut tx = state.transactions.begin();
    tx.add("code", confirmed.consume);
    state
        .accounts
        .add_change_email(&mut tx, &account, &new_email)?;
    // R05: the other sessions end with the change; this one is carried over.
    tx.add(
        "this_session",
        state.session.sessions.carry_write(
            &user.session_hash,
            account.session_epoch,
            account.session_epoch + 1,
        )?,
    );
    tx.add(
        "security_event",
        state.privacy.security_write(
            &account.id,
            "email_changed",
            at,
            state.policy.security_event_retention,
        )?,
    );
    match tx.commit().await {
        Ok(()) => {}
        // Another account took the new address meanwhile.
        Err(e) if e.failed("new_address") => return Err(ApiError::EmailTaken),
        Err(e) if e.is_condition_failure() => return Err(ApiError::InvalidCode),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(event = "email_changed", account_id = %account.id, "sign-in address changed");
    // The old address learns of it, in case it was not its owner who asked.
    let notice = format!(
        "The sign-in address of your Sora2 AI account was changed to {}.\n\n\
         If you did not do this, write to support@sora2ai.info at once.\n",
        mask(&new_email)
    );
    if let Err(e) = state
        .mailer
        .send(Email {
            to: &account.email,
            subject: "Your Sora2 AI sign-in address was changed",
            text: &notice,
        })
        .await
    {
        tracing::warn!(error = %e, "the old address could not be told of the change");
    }
    let account = state
        .accounts
        .get(&account.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Json(me_of(&state, account).await?))
}

/// `a***@example.com`: enough for the owner to recognise, not to give it away.
fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn masking_keeps_the_first_letter_and_the_domain() {
        assert_eq!(super::mask("alice@example.com"), "a***@example.com");
    }
}
