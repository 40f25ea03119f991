//! Sign-in with Google (R03, R06): the ID token is verified here, its `sub` is the
//! link, and only the address and name are taken from it.

use crate::google_token::{GoogleIdentity, IdTokenError};
use crate::state::AuthState;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use shared::ApiError;
use shared::adapters::dynamo::Tx;
use shared::app::emailed_codes::Purpose;
use shared::domain::account::{Account, clean_display_name};
use shared::domain::email::EmailAddress;
use shared::edge::http::{ApiJson, ClientIp};
use shared::edge::openapi::Problem;
use shared::edge::problem::unavailable;
use shared::edge::problem::within_limit;
use utoipa::ToSchema;

use crate::signin::{
    SignInError, SignInResponse, add_account_creation, commit_with_session, ensure_active,
    new_account,
};

#[derive(Deserialize, ToSchema)]
pub struct GoogleRequest {
    /// The ID token from Google Identity Services.
    #[schema(min_length = 1, max_length = 8192)]
    id_token: String,
    /// The statement that the person is 13 or older; needed to create an account.
    over_13: Option<bool>,
    /// The code emailed to the address after a 409 `email_code_required`: it proves
    /// the address, and the Google account is then linked to its account (R03).
    #[schema(pattern = "^[0-9]{6}$")]
    code: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/auth/google",
    tag = "auth",
    request_body(content = GoogleRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = SignInResponse),
        (status = 401, description = "`invalid_id_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`account_suspended`; `account_blocked`: the address's account was terminated for abuse", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "`invalid_code`: the emailed code is wrong, expired or used up", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_not_verified`: Google has not verified the address; `email_code_required`: the address has an account and Google is not authoritative for it (neither a Gmail address nor the token's `hd` domain): a code was emailed to it, and the same request with `code` links the Google account; `identity_conflict`: the address's account is linked to another Google account; `account_being_deleted`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`age_confirmation_required` or `invalid_request`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit resets"))),
    )
)]
pub async fn sign_in(
    State(state): State<AuthState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<GoogleRequest>,
) -> Result<Json<SignInResponse>, ApiError> {
    check_token_size(&req.id_token)?;
    let now = state.clock.epoch_secs();
    within_limit(
        &state.limits,
        "google_ip",
        &ip.limit_subject(),
        state.policy.google_signins_per_ip,
        now,
    )
    .await?;
    let identity = state
        .google
        .verify(&req.id_token)
        .await
        .map_err(token_refusal)?;

    for _ in 0..2 {
        // Known Google identity: sign in.
        if let Some(account) = state.accounts.find_by_google_sub(&identity.sub).await? {
            ensure_active(&account)?;
            match commit(&state, state.transactions.begin(), &account, false, false).await {
                Err(Retry) => continue,
                Ok(res) => return res,
            }
        }
        let email = verified_email(&identity)?;
        let linked_at = state.clock.now_secs();
        let result = match state.accounts.find_by_email(email.as_str()).await? {
            // A verified address that matches an account links to it where Google is
            // authoritative for it; elsewhere only once the address is proven by an
            // emailed code (R03).
            Some(account) => {
                ensure_active(&account)?;
                if linked_to_another(&account, &identity.sub) {
                    // Another Google account is linked already; linking a second one
                    // would silently replace it.
                    return Err(ApiError::IdentityConflict);
                }
                let mut tx = state.transactions.begin();
                let ip = ip.limit_subject();
                let purpose = Purpose::SignIn {
                    email: email.as_str(),
                    ip: &ip,
                };
                if !authoritative(&identity, &email) {
                    let Some(code) = req.code.as_deref() else {
                        state
                            .emailed_codes
                            .send(purpose, email.as_str(), None)
                            .await?;
                        tracing::info!(
                            event = "google_link_code_sent",
                            "Google not authoritative for the address: code sent"
                        );
                        return Err(ApiError::EmailCodeRequired);
                    };
                    tx.add(
                        "code",
                        state.emailed_codes.check(purpose, code).await?.consume,
                    );
                }
                tx.add_all(
                    "link",
                    state
                        .accounts
                        .link_google_writes(&account, &identity.sub, linked_at)?,
                );
                commit(&state, tx, &account, false, true).await
            }
            None if req.over_13 == Some(true) => {
                crate::signin::ensure_not_blocked(&state, email.as_str()).await?;
                let name = identity.name.as_deref().and_then(clean_display_name);
                let mut account = new_account(&state, email.as_str(), name);
                account.google_sub = Some(identity.sub.clone());
                account.google_linked_at = Some(linked_at);
                let mut tx = state.transactions.begin();
                add_account_creation(&state, &mut tx, &account)?;
                commit(&state, tx, &account, true, true).await
            }
            None => return Err(ApiError::AgeConfirmationRequired),
        };
        match result {
            Err(Retry) => continue,
            Ok(res) => return res,
        }
    }
    Err(ApiError::Unavailable)
}

/// The ID token's size, checked before anything is spent on it: present, and within
/// the schema's 8192 bytes.
fn check_token_size(id_token: &str) -> Result<(), ApiError> {
    if id_token.is_empty() || id_token.len() > 8192 {
        return Err(ApiError::InvalidField(
            "id_token is missing or too long".into(),
        ));
    }
    Ok(())
}

/// A refused token is the client's (401), except when Google's keys could not be
/// fetched: then the token may be fine and the answer is 503 (R03).
fn token_refusal(e: IdTokenError) -> ApiError {
    match e {
        IdTokenError::KeysUnavailable => unavailable("google_jwks", e),
        other => {
            tracing::info!(event = "google_token_refused", reason = %other, "Google ID token refused");
            ApiError::InvalidIdToken
        }
    }
}

/// The address a Google identity may sign in or link with (R03): one that parses,
/// and only once Google has verified it.
fn verified_email(identity: &GoogleIdentity) -> Result<EmailAddress, ApiError> {
    let email = identity
        .email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok())
        .ok_or(ApiError::InvalidIdToken)?;
    if !identity.email_verified {
        return Err(ApiError::EmailNotVerified);
    }
    Ok(email)
}

/// Whether Google is authoritative for the address (R03): Google says so only for a
/// Gmail address, or for an address in the Google Workspace domain the token names
/// (`hd`); any other address may have changed hands since the Google account claimed
/// it ("Authenticate with a backend server", developers.google.com/identity, updated
/// 2025-06-06, read 2026-12-07). `googlemail.com` is Gmail's other domain.
fn authoritative(identity: &GoogleIdentity, email: &EmailAddress) -> bool {
    let domain = email.as_str().rsplit('@').next().unwrap_or_default();
    identity.email_verified
        && (matches!(domain, "gmail.com" | "googlemail.com")
            || identity
                .hosted_domain
                .as_deref()
                .is_some_and(|hd| hd.eq_ignore_ascii_case(domain)))
}

/// Whether the account is linked to a Google account other than `sub`: linking would
/// silently replace it, so the sign-in is refused (R03).
fn linked_to_another(account: &Account, sub: &str) -> bool {
    account.google_sub.as_ref().is_some_and(|s| *s != sub)
}

/// A lost race with a concurrent sign-in of the same person: look again.
struct Retry;

async fn commit(
    state: &crate::state::Services,
    tx: Tx,
    account: &Account,
    is_new: bool,
    writes_guard_account: bool,
) -> Result<Result<Json<SignInResponse>, ApiError>, Retry> {
    match commit_with_session(state, tx, account, is_new, writes_guard_account, "google").await {
        Ok(res) => Ok(Ok(res)),
        Err(SignInError::Conflict(_)) => Err(Retry),
        Err(SignInError::Store(e)) => Ok(Err(e.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::account::AccountStatus;

    fn identity(email: Option<&str>, verified: bool) -> GoogleIdentity {
        GoogleIdentity {
            sub: "sub-1".into(),
            email: email.map(str::to_owned),
            email_verified: verified,
            name: Some("Kim".into()),
            hosted_domain: None,
        }
    }

    #[test]
    fn r03_google_is_authoritative_for_gmail_and_its_workspace_domain_only() {
        let email = |e: &str| EmailAddress::parse(e).unwrap();
        let mut id = identity(Some("kim@gmail.com"), true);
        assert!(authoritative(&id, &email("kim@gmail.com")));
        assert!(authoritative(&id, &email("kim@googlemail.com")));
        // Verified, but any other address may have changed hands since.
        assert!(!authoritative(&id, &email("kim@example.com")));
        id.hosted_domain = Some("Example.com".into());
        assert!(authoritative(&id, &email("kim@example.com")));
        // The Workspace domain must be the address's own.
        assert!(!authoritative(&id, &email("kim@example.org")));
        assert!(!authoritative(&id, &email("kim@sub.example.com")));
        id.email_verified = false;
        assert!(!authoritative(&id, &email("kim@example.com")));
        assert!(!authoritative(&id, &email("kim@gmail.com")));
    }

    #[test]
    fn an_id_token_must_be_present_and_at_most_8192_bytes() {
        assert_eq!(check_token_size("").unwrap_err().code(), "invalid_request");
        assert!(check_token_size(&"a".repeat(8192)).is_ok());
        assert_eq!(
            check_token_size(&"a".repeat(8193)).unwrap_err().code(),
            "invalid_request"
        );
    }

    #[test]
    fn r03_a_refused_token_is_401_but_unreachable_keys_are_503() {
        for e in [
            IdTokenError::Malformed,
            IdTokenError::UnknownKey,
            IdTokenError::Invalid,
            IdTokenError::Expired,
        ] {
            let what = format!("{e:?}");
            let api = token_refusal(e);
            assert_eq!(
                (api.code(), api.status().as_u16()),
                ("invalid_id_token", 401),
                "{what}"
            );
        }
        let api = token_refusal(IdTokenError::KeysUnavailable);
        assert_eq!(api.status().as_u16(), 503);
    }

    #[test]
    fn r03_only_an_address_google_verified_signs_in() {
        let email = verified_email(&identity(Some(" Kim@Example.com"), true)).unwrap();
        assert_eq!(email.as_str(), "kim@example.com");
        assert_eq!(
            verified_email(&identity(Some("kim@example.com"), false))
                .unwrap_err()
                .code(),
            "email_not_verified"
        );
        // No usable address at all is a bad token, whatever it says about verification.
        for missing in [None, Some(""), Some("not an address")] {
            assert_eq!(
                verified_email(&identity(missing, true)).unwrap_err().code(),
                "invalid_id_token",
                "{missing:?}"
            );
        }
    }

    #[test]
    fn r03_an_account_linked_to_another_google_account_is_not_relinked() {
        let mut account = Account {
            id: shared::domain::ids::AccountId::new("acc_1"),
            email: "kim@example.com".into(),
            display_name: None,
            created_at: shared::domain::clock::parse_time("2026-12-01T00:00:00Z").unwrap(),
            status: AccountStatus::Active,
            google_sub: None,
            google_linked_at: None,
            policy_version_accepted: String::new(),
            age_confirmed_at: shared::domain::clock::parse_time("2026-12-01T00:00:00Z").unwrap(),
            session_epoch: 0,
            consents: Default::default(),
            consents_updated_at: None,
            restricted: false,
        };
        assert!(!linked_to_another(&account, "sub-1"), "not linked yet");
        account.google_sub = Some("sub-1".into());
        assert!(!linked_to_another(&account, "sub-1"), "the same one");
        assert!(linked_to_another(&account, "sub-2"));
    }
}
