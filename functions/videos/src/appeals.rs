//! POST /v1/appeals and GET /v1/appeals (R46): a person contests a refusal or a removal
//! of their content; an operator decides (`operator decide-appeal`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::ApiError;
use shared::domain::clock::{DateTime, Utc};
use shared::domain::moderation::{APPEAL_MESSAGE_MAX, Appeal, REFUSAL_ID_PREFIX, refusal_id};
use shared::domain::video::{JOB_ID_PREFIX, is_id};
use shared::edge::http::{ApiJson, AuthUser};
use shared::edge::openapi::Problem;
use utoipa::ToSchema;

use crate::state::VideosState;

/// What is appealed, a refusal (its id, from its answer or its email) or a video
/// refused or removed later (its id), and why, in the person's words.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AppealRequest {
    Refusal {
        #[schema(max_length = 36)]
        refusal_id: String,
        #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
        message: String,
    },
    Video {
        #[schema(max_length = 36)]
        video_id: String,
        #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
        message: String,
    },
}

enum Named<'a> {
    Refusal(&'a str),
    Video(&'a str),
}

#[derive(Serialize, ToSchema)]
pub struct AppealView {
    id: String,
    /// `open`, `upheld` or `rejected`.
    #[schema(pattern = "^(open|upheld|rejected)$")]
    status: &'static str,
    /// The refusal appealed.
    refusal_id: String,
    /// The operator's reason, once decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(with = "shared::domain::clock::secs")]
    #[schema(value_type = String, format = DateTime)]
    created_at: DateTime<Utc>,
    /// An operator answers by then (R46).
    #[serde(with = "shared::domain::clock::secs")]
    #[schema(value_type = String, format = DateTime)]
    due_by: DateTime<Utc>,
    #[serde(
        with = "shared::domain::clock::opt_secs",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    decided_at: Option<DateTime<Utc>>,
}

impl From<Appeal> for AppealView {
    fn from(a: Appeal) -> Self {
        Self {
            id: a.id,
            status: a.status.as_str(),
            refusal_id: a.refusal_id,
            reason: a.reason,
            created_at: a.created_at,
            due_by: a.due_by,
            decided_at: a.decided_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AppealList {
    /// Newest first.
    items: Vec<AppealView>,
}

#[utoipa::path(
    post,
    path = "/v1/appeals",
    tag = "videos",
    request_body(content = AppealRequest, content_type = "application/json"),
    security(("session" = [])),
    responses(
        (status = 201, description = "Filed (or, sent again with the same message, the appeal filed before)", body = AppealView),
        (status = 404, description = "`not_found`: no refusal or removal of the caller's has this id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_appealed`: this refusal's appeal was filed before, with another message", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_request`: neither `refusal_id` nor `video_id`, or no message", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn file(
    State(state): State<VideosState>,
    user: AuthUser,
    ApiJson(req): ApiJson<AppealRequest>,
) -> Result<(StatusCode, Json<AppealView>), ApiError> {
    let (named, message) = match &req {
        AppealRequest::Refusal {
            refusal_id,
            message,
        } => (Named::Refusal(refusal_id), message.trim()),
        AppealRequest::Video { video_id, message } => (Named::Video(video_id), message.trim()),
    };
    if message.is_empty() || message.chars().count() > APPEAL_MESSAGE_MAX {
        return Err(ApiError::InvalidField(format!(
            "message must be 1 to {APPEAL_MESSAGE_MAX} characters"
        )));
    }
    // A video's refusal is named by the video; either way the id is looked up in the
    // caller's own records, so another person's answers as none (R36).
    let id = match named {
        Named::Refusal(r) if is_id(REFUSAL_ID_PREFIX, r) => r.to_owned(),
        Named::Video(v) if is_id(JOB_ID_PREFIX, v) => refusal_id(v),
        _ => return Err(ApiError::NotFound),
    };
    let refusal = state
        .refusals
        .moderation
        .refusal(&user.account_id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let (appeal, new) = state.appeals.file(&refusal, message).await?;
    if !new && appeal.message != message {
        return Err(ApiError::AlreadyAppealed);
    }
    Ok((StatusCode::CREATED, Json(appeal.into())))
}

#[utoipa::path(
    get,
    path = "/v1/appeals",
    tag = "videos",
    security(("session" = [])),
    responses(
        (status = 200, description = "The caller's appeals, newest first, with their outcome", body = AppealList),
    )
)]
pub async fn list(
    State(state): State<VideosState>,
    user: AuthUser,
) -> Result<Json<AppealList>, ApiError> {
    let items = state.appeals.of(&user.account_id).await?;
    Ok(Json(AppealList {
        items: items.into_iter().map(AppealView::from).collect(),
    }))
}
