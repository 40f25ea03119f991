//! RFC 9457 problem+json errors with stable machine codes (R38).
//!
//! Every refusal a client can see is one variant here, so the set of `code`s is
//! finite, documented in one place and never a free-form string.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::adapters::dynamo::StoreError;
use crate::adapters::dynamo::rate_limits::{Decision, RateLimiter};
use crate::adapters::s3::BlobError;
use crate::domain::policy::Limit;

/// R46: what a content refusal tells the person: its id (to appeal), the rule broken
/// (our categories) and where to appeal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statement {
    pub refusal_id: String,
    pub categories: Vec<String>,
    pub appeal_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON")]
    MalformedJson,
    #[error("{0}")]
    InvalidField(String),
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("a valid session token is required")]
    Unauthorized,
    #[error("the resource does not exist")]
    NotFound,
    #[error("this method is not allowed on this resource")]
    MethodNotAllowed,
    #[error("too many requests; retry after {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("the code is wrong, expired or used up; request a new one")]
    InvalidCode,
    #[error("mail cannot be delivered to this address; check it, or use another")]
    EmailUndeliverable,
    #[error("the webhook's signature is missing or wrong")]
    InvalidSignature,
    #[error("the Google ID token is not valid")]
    InvalidIdToken,
    #[error("creating an account needs the statement that you are 13 or older (over_13: true)")]
    AgeConfirmationRequired,
    #[error("Google has not verified this email address; sign in with an email code instead")]
    EmailNotVerified,
    #[error(
        "this address has an account, and Google does not vouch for the address: enter the code we emailed to it, to link your Google account"
    )]
    EmailCodeRequired,
    #[error("no Google identity is connected to this account")]
    IdentityNotLinked,
    #[error("this account is suspended")]
    AccountSuspended,
    #[error("not enough credits for this video")]
    InsufficientCredits,
    #[error("the prompt was refused by our content rules; you may appeal")]
    PromptRejected(Statement),
    #[error("the image was refused by our content rules ({}); you may appeal", .0.categories.join(", "))]
    ImageRejected(Statement),
    #[error(
        "the image seems to show someone under 18, and cannot be used for a video; you may appeal"
    )]
    MinorInImage(Statement),
    #[error(
        "the image shows a face: confirm that everyone shown agrees to appear in a video, or is you (likeness_confirmed: true)"
    )]
    LikenessStatementRequired,
    #[error("this refusal or video was appealed before")]
    AlreadyAppealed,
    #[error("the plan's paid period is over, so it cannot be resumed; buy it again")]
    PlanNotResumable,
    #[error("only a ready video can be shared")]
    NotReady,
    #[error("the prompt contains sensitive personal data ({}); remove it and try again", .0.join(", "))]
    SensitiveData(Vec<&'static str>),
    #[error("content moderation is unavailable; nothing was charged, try again shortly")]
    ModerationUnavailable,
    #[error("{0}")]
    InvalidUpload(String),
    #[error("{0}")]
    UnknownModel(String),
    #[error("{0}")]
    ModelUnsupported(String),
    #[error("the video made with this Idempotency-Key was deleted; send a new key")]
    IdempotencyKeySpent,
    #[error("this Idempotency-Key was used for a different request; send a new key")]
    IdempotencyKeyReused,
    #[error(
        "this address's account is linked to another Google account; sign in with that one or with an email code"
    )]
    IdentityConflict,
    #[error("this account is being deleted")]
    AccountBeingDeleted,
    #[error("this address cannot be used for a new account")]
    AccountBlocked,
    #[error("another account uses this address")]
    EmailTaken,
    #[error("changing the sign-in address needs a recent sign-in: sign in again, then retry")]
    RecentSignInRequired,
    #[error("policy_version must be the current policy's version, {0}")]
    UnknownPolicyVersion(&'static str),
    #[error("the link is not valid; use the newest link from the email")]
    InvalidToken,
    #[error("a service this request depends on is unavailable; try again shortly")]
    Unavailable,
    #[error("an unexpected error occurred")]
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson | Self::InvalidCode => StatusCode::BAD_REQUEST,
            Self::InvalidField(_)
            | Self::AgeConfirmationRequired
            | Self::EmailUndeliverable
            | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized | Self::InvalidIdToken | Self::InvalidSignature => {
                StatusCode::UNAUTHORIZED
            }
            Self::NotFound | Self::IdentityNotLinked => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::EmailNotVerified
            | Self::EmailCodeRequired
            | Self::IdempotencyKeySpent
            | Self::IdentityConflict
            | Self::EmailTaken
            | Self::AccountBeingDeleted
            | Self::AlreadyAppealed
            | Self::PlanNotResumable
            | Self::NotReady => StatusCode::CONFLICT,
            Self::AccountSuspended | Self::AccountBlocked | Self::RecentSignInRequired => {
                StatusCode::FORBIDDEN
            }
            Self::UnknownPolicyVersion(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::InvalidToken => StatusCode::BAD_REQUEST,
            Self::InsufficientCredits => StatusCode::PAYMENT_REQUIRED,
            Self::PromptRejected(_)
            | Self::ImageRejected(_)
            | Self::MinorInImage(_)
            | Self::LikenessStatementRequired
            | Self::SensitiveData(_)
            | Self::InvalidUpload(_)
            | Self::UnknownModel(_)
            | Self::ModelUnsupported(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable | Self::ModerationUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::InvalidField(_) => "invalid_request",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RateLimited { .. } => "rate_limited",
            Self::InvalidCode => "invalid_code",
            Self::InvalidIdToken => "invalid_id_token",
            Self::InvalidSignature => "invalid_signature",
            Self::EmailUndeliverable => "email_undeliverable",
            Self::AgeConfirmationRequired => "age_confirmation_required",
            Self::EmailNotVerified => "email_not_verified",
            Self::EmailCodeRequired => "email_code_required",
            Self::IdentityNotLinked => "identity_not_linked",
            Self::AccountSuspended => "account_suspended",
            Self::InsufficientCredits => "insufficient_credits",
            Self::PromptRejected(_) => "prompt_rejected",
            Self::ImageRejected(_) => "image_rejected",
            Self::MinorInImage(_) => "minor_in_image",
            Self::LikenessStatementRequired => "likeness_statement_required",
            Self::AlreadyAppealed => "already_appealed",
            Self::PlanNotResumable => "plan_not_resumable",
            Self::NotReady => "not_ready",
            Self::SensitiveData(_) => "sensitive_data_in_prompt",
            Self::ModerationUnavailable => "moderation_unavailable",
            Self::InvalidUpload(_) => "invalid_upload",
            Self::UnknownModel(_) => "unknown_model",
            Self::ModelUnsupported(_) => "model_unsupported",
            Self::IdempotencyKeySpent => "idempotency_key_spent",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::IdentityConflict => "identity_conflict",
            Self::AccountBeingDeleted => "account_being_deleted",
            Self::AccountBlocked => "account_blocked",
            Self::EmailTaken => "email_taken",
            Self::RecentSignInRequired => "recent_sign_in_required",
            Self::UnknownPolicyVersion(_) => "unknown_policy_version",
            Self::InvalidToken => "invalid_token",
            Self::Unavailable => "service_unavailable",
            Self::Internal => "internal_error",
        }
    }

    /// Every code [`ApiError::code`] can answer, in its order: the document declares
    /// `code` as this closed set, so a client learns of a new code from the schema.
    pub const CODES: &[&str] = &[
        "malformed_json",
        "invalid_request",
        "unsupported_media_type",
        "payload_too_large",
        "unauthorized",
        "not_found",
        "method_not_allowed",
        "rate_limited",
        "invalid_code",
        "invalid_id_token",
        "invalid_signature",
        "email_undeliverable",
        "age_confirmation_required",
        "email_not_verified",
        "email_code_required",
        "identity_not_linked",
        "account_suspended",
        "insufficient_credits",
        "prompt_rejected",
        "image_rejected",
        "minor_in_image",
        "likeness_statement_required",
        "already_appealed",
        "plan_not_resumable",
        "not_ready",
        "sensitive_data_in_prompt",
        "moderation_unavailable",
        "invalid_upload",
        "unknown_model",
        "model_unsupported",
        "idempotency_key_spent",
        "idempotency_key_reused",
        "identity_conflict",
        "account_being_deleted",
        "account_blocked",
        "email_taken",
        "recent_sign_in_required",
        "unknown_policy_version",
        "invalid_token",
        "service_unavailable",
        "internal_error",
    ];

    fn title(&self) -> &'static str {
        self.status().canonical_reason().unwrap_or("Error")
    }
}

impl From<crate::domain::models::ModelError> for ApiError {
    fn from(e: crate::domain::models::ModelError) -> Self {
        match e {
            crate::domain::models::ModelError::Unknown(_) => Self::UnknownModel(e.to_string()),
            crate::domain::models::ModelError::Unsupported { .. } => {
                Self::ModelUnsupported(e.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = json!({
            "type": format!("https://www.sora2ai.info/problems/{}", self.code()),
            "title": self.title(),
            "status": status.as_u16(),
            "detail": self.to_string(),
            "code": self.code(),
        });
        if let Self::SensitiveData(kinds) = &self {
            // The kinds found, never the data itself (R19).
            body["kinds"] = json!(kinds);
        }
        if let Self::PromptRejected(s) | Self::ImageRejected(s) | Self::MinorInImage(s) = &self {
            // R46: the statement of reasons: the rule broken, never the detector's
            // scores or labels, and where to appeal.
            body["refusal_id"] = json!(s.refusal_id);
            body["categories"] = json!(s.categories);
            body["appeal_url"] = json!(s.appeal_url);
        }
        let mut res = (status, body.to_string()).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match self {
            Self::RateLimited { retry_after_secs } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs.max(1)),
                );
            }
            // A dependency that failed past the SDK's own retries: worth another try soon.
            Self::Unavailable | Self::ModerationUnavailable => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS),
                );
            }
            _ => {}
        }
        res
    }
}

/// What a 503 tells the client to wait before trying again.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

/// Failures of our own dependencies (DynamoDB, SES, Google's key endpoint): logged by
/// kind only, answered as a retryable 503 rather than a 500.
pub fn unavailable(what: &'static str, err: impl std::fmt::Display) -> ApiError {
    tracing::error!(dependency = what, error = %err, "dependency failed");
    ApiError::Unavailable
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        unavailable("dynamodb", e)
    }
}

impl From<crate::app::emailed_codes::CodeError> for ApiError {
    fn from(e: crate::app::emailed_codes::CodeError) -> Self {
        use crate::adapters::ses::MailError;
        use crate::app::emailed_codes::CodeError;
        match e {
            CodeError::Malformed => ApiError::InvalidField("code must be 6 digits".into()),
            CodeError::RateLimited { retry_after_secs } => {
                ApiError::RateLimited { retry_after_secs }
            }
            CodeError::Invalid => ApiError::InvalidCode,
            // An address SES will not send to: an earlier code stays valid.
            CodeError::Mail(MailError::Rejected(_)) => ApiError::EmailUndeliverable,
            CodeError::Mail(other) => unavailable("ses", other),
            CodeError::Store(e) => e.into(),
        }
    }
}

impl From<crate::app::removal::RemovalError> for ApiError {
    fn from(e: crate::app::removal::RemovalError) -> Self {
        match e {
            crate::app::removal::RemovalError::NotFound => ApiError::NotFound,
            // Moved on twice between reads: asked again, it will settle.
            crate::app::removal::RemovalError::Busy => ApiError::Unavailable,
            crate::app::removal::RemovalError::Store(e) => e.into(),
            crate::app::removal::RemovalError::Blob(e) => e.into(),
        }
    }
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        unavailable("s3", e)
    }
}

/// A rate limiter's decision as the API answers it: 429 with `Retry-After` (R39).
pub async fn within_limit(
    limiter: &RateLimiter,
    scope: &str,
    subject: &str,
    limit: Limit,
    now: i64,
) -> Result<(), ApiError> {
    refuse_if_limited(scope, limiter.hit(scope, subject, limit, now).await?)
}

/// A limit already used up, answered as [`within_limit`] does, without counting this
/// request (the count is kept by what it limits, such as wrong codes).
pub async fn not_used_up(
    limiter: &RateLimiter,
    scope: &str,
    subject: &str,
    limit: Limit,
    now: i64,
) -> Result<(), ApiError> {
    refuse_if_limited(scope, limiter.peek(scope, subject, limit, now).await?)
}

fn refuse_if_limited(scope: &str, decision: Decision) -> Result<(), ApiError> {
    decision
        .checked(scope)
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashSet};

    /// One value of every variant. The match names each variant without a wildcard, so
    /// a new variant does not compile until it is named there, next to this list.
    fn one_of_each() -> Vec<ApiError> {
        let all = vec![
            ApiError::MalformedJson,
            ApiError::InvalidField(String::new()),
            ApiError::UnsupportedMediaType,
            ApiError::PayloadTooLarge(0),
            ApiError::Unauthorized,
            ApiError::NotFound,
            ApiError::MethodNotAllowed,
            ApiError::RateLimited {
                retry_after_secs: 1,
            },
            ApiError::InvalidCode,
            ApiError::EmailUndeliverable,
            ApiError::InvalidSignature,
            ApiError::InvalidIdToken,
            ApiError::AgeConfirmationRequired,
            ApiError::EmailNotVerified,
            ApiError::EmailCodeRequired,
            ApiError::IdentityNotLinked,
            ApiError::AccountSuspended,
            ApiError::InsufficientCredits,
            ApiError::PromptRejected(Statement::default()),
            ApiError::ImageRejected(Statement::default()),
            ApiError::MinorInImage(Statement::default()),
            ApiError::LikenessStatementRequired,
            ApiError::AlreadyAppealed,
            ApiError::PlanNotResumable,
            ApiError::NotReady,
            ApiError::SensitiveData(vec![]),
            ApiError::ModerationUnavailable,
            ApiError::InvalidUpload(String::new()),
            ApiError::UnknownModel(String::new()),
            ApiError::ModelUnsupported(String::new()),
            ApiError::IdempotencyKeySpent,
            ApiError::IdempotencyKeyReused,
            ApiError::IdentityConflict,
            ApiError::AccountBeingDeleted,
            ApiError::AccountBlocked,
            ApiError::EmailTaken,
            ApiError::RecentSignInRequired,
            ApiError::UnknownPolicyVersion(""),
            ApiError::InvalidToken,
            ApiError::Unavailable,
            ApiError::Internal,
        ];
        for e in &all {
            match e {
                ApiError::MalformedJson
                | ApiError::InvalidField(_)
                | ApiError::UnsupportedMediaType
                | ApiError::PayloadTooLarge(_)
                | ApiError::Unauthorized
                | ApiError::NotFound
                | ApiError::MethodNotAllowed
                | ApiError::RateLimited { .. }
                | ApiError::InvalidCode
                | ApiError::EmailUndeliverable
                | ApiError::InvalidSignature
                | ApiError::InvalidIdToken
                | ApiError::AgeConfirmationRequired
                | ApiError::EmailNotVerified
                | ApiError::EmailCodeRequired
                | ApiError::IdentityNotLinked
                | ApiError::AccountSuspended
                | ApiError::InsufficientCredits
                | ApiError::PromptRejected(_)
                | ApiError::ImageRejected(_)
                | ApiError::MinorInImage(_)
                | ApiError::LikenessStatementRequired
                | ApiError::AlreadyAppealed
                | ApiError::PlanNotResumable
                | ApiError::NotReady
                | ApiError::SensitiveData(_)
                | ApiError::ModerationUnavailable
                | ApiError::InvalidUpload(_)
                | ApiError::UnknownModel(_)
                | ApiError::ModelUnsupported(_)
                | ApiError::IdempotencyKeySpent
                | ApiError::IdempotencyKeyReused
                | ApiError::IdentityConflict
                | ApiError::AccountBeingDeleted
                | ApiError::AccountBlocked
                | ApiError::EmailTaken
                | ApiError::RecentSignInRequired
                | ApiError::UnknownPolicyVersion(_)
                | ApiError::InvalidToken
                | ApiError::Unavailable
                | ApiError::Internal => {}
            }
        }
        all
    }

    #[test]
    fn r38_codes_lists_exactly_the_codes_of_every_variant() {
        let all = one_of_each();
        let variants: HashSet<_> = all.iter().map(std::mem::discriminant).collect();
        assert_eq!(variants.len(), all.len(), "a variant is listed twice");
        let listed: BTreeSet<&str> = ApiError::CODES.iter().copied().collect();
        assert_eq!(
            listed.len(),
            ApiError::CODES.len(),
            "a code is listed twice"
        );
        let answered: BTreeSet<&str> = all.iter().map(ApiError::code).collect();
        assert_eq!(answered, listed);
    }
}
