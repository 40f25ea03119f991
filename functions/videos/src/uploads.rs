//! POST /v1/uploads (R14): a presigned PUT straight to the private inputs bucket,
//! bound to the declared type and size.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::ApiError;
use shared::domain::clock::{from_epoch, rfc3339};
#[cfg(test)]
use shared::domain::policy::UPLOAD_CONTENT_TYPES;
use shared::domain::video::UPLOAD_ID_PREFIX;
use shared::domain::video::Upload;
use shared::edge::http::json::whole;
use shared::edge::http::{ApiJson, AuthUser};
use shared::edge::openapi::Problem;
use shared::edge::problem::within_limit;
use utoipa::ToSchema;

use crate::state::VideosState;

/// The image types of [`UPLOAD_CONTENT_TYPES`] (R14).
#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ImageType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/webp")]
    Webp,
}

impl ImageType {
    #[cfg(test)]
    pub const ALL: [Self; 3] = [Self::Jpeg, Self::Png, Self::Webp];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct UploadRequest {
    content_type: ImageType,
    /// Bytes; the upload link accepts exactly this size.
    #[serde(deserialize_with = "whole")]
    #[schema(minimum = 1, maximum = 10485760)]
    size: u64,
}

/// A new upload (its schema is named `Upload`: the resource a video's `upload_id` names).
#[derive(Serialize, ToSchema)]
#[schema(as = Upload)]
pub struct UploadCreated {
    id: String,
    /// A presigned link to PUT the file to, valid for 15 minutes.
    upload_url: String,
    /// Always `PUT`.
    method: &'static str,
    /// The headers the PUT must carry.
    headers: UploadHeaders,
    #[schema(format = DateTime)]
    expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct UploadHeaders {
    #[serde(rename = "content-type")]
    content_type: &'static str,
    #[serde(rename = "content-length")]
    content_length: String,
}

#[utoipa::path(
    post,
    operation_id = "create_upload",
    path = "/v1/uploads",
    tag = "videos",
    request_body(content = UploadRequest, content_type = "application/json"),
    security(("session" = [])),
    responses(
        (status = 201, description = "An upload link", body = UploadCreated),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit resets"))),
    )
)]
pub async fn create(
    State(state): State<VideosState>,
    user: AuthUser,
    ApiJson(req): ApiJson<UploadRequest>,
) -> Result<(StatusCode, Json<UploadCreated>), ApiError> {
    let content_type = req.content_type.as_str();
    let max = state.policy.upload_max_bytes;
    if req.size == 0 || req.size > max {
        return Err(ApiError::InvalidField(format!(
            "size must be between 1 and {max} bytes"
        )));
    }
    let now = state.clock.epoch_secs();
    within_limit(
        &state.limits,
        "uploads_account",
        &user.account_id,
        state.policy.uploads_per_account,
        now,
    )
    .await?;

    let id = format!("{UPLOAD_ID_PREFIX}{}", uuid::Uuid::new_v4().simple());
    let ttl = state.policy.upload_link_ttl;
    let url = state
        .blobs
        .presign_put(&state.inputs_bucket, &id, content_type, req.size, ttl)
        .await?;
    let expires_epoch = now + ttl.as_secs() as i64;
    state
        .videos
        .put_upload(&Upload {
            id: id.clone(),
            owner: user.account_id.to_string(),
            key: id.clone(),
            content_type: content_type.to_owned(),
            size: req.size,
            created_at: rfc3339(state.clock.now()),
            expires_epoch,
            retained_until: now + state.policy.input_retention.as_secs() as i64,
            released: false,
        })
        .await?;
    tracing::info!(event = "upload_created", account_id = %user.account_id, upload_id = %id, "upload link issued");
    Ok((
        StatusCode::CREATED,
        Json(UploadCreated {
            id,
            upload_url: url,
            method: "PUT",
            headers: UploadHeaders {
                content_type,
                content_length: req.size.to_string(),
            },
            expires_at: rfc3339(from_epoch(expires_epoch)),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r14_the_accepted_types_are_the_policys() {
        let ours: Vec<&str> = ImageType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(ours, UPLOAD_CONTENT_TYPES);
    }
}
