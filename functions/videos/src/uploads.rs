//! POST /v1/uploads (R14): a presigned PUT straight to the private inputs bucket,
//! bound to the declared type and size.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use shared::ApiError;
use shared::adapters::dynamo::videos::Upload;
use shared::domain::clock::{from_epoch, rfc3339};
use shared::domain::policy::UPLOAD_CONTENT_TYPES;
use shared::domain::video::UPLOAD_ID_PREFIX;
use shared::edge::http::{ApiJson, AuthUser};
use shared::edge::problem::within_limit;

use crate::state::VideosState;

#[derive(Deserialize)]
pub struct UploadRequest {
    content_type: String,
    size: u64,
}

pub async fn create(
    State(state): State<VideosState>,
    user: AuthUser,
    ApiJson(req): ApiJson<UploadRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let content_type = req.content_type.trim().to_ascii_lowercase();
    if !UPLOAD_CONTENT_TYPES.contains(&content_type.as_str()) {
        return Err(ApiError::InvalidField(format!(
            "content_type must be one of {}",
            UPLOAD_CONTENT_TYPES.join(", ")
        )));
    }
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
        .presign_put(&state.inputs_bucket, &id, &content_type, req.size, ttl)
        .await?;
    let expires_epoch = now + ttl.as_secs() as i64;
    state
        .videos
        .put_upload(&Upload {
            id: id.clone(),
            owner: user.account_id.clone(),
            key: id.clone(),
            content_type: content_type.clone(),
            size: req.size,
            created_at: rfc3339(state.clock.now()),
            expires_epoch,
        })
        .await?;
    tracing::info!(event = "upload_created", account_id = %user.account_id, upload_id = %id, "upload link issued");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id,
            "upload_url": url,
            "method": "PUT",
            "headers": { "content-type": content_type, "content-length": req.size.to_string() },
            "expires_at": rfc3339(from_epoch(expires_epoch)),
        })),
    ))
}
