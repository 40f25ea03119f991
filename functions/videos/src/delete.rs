//! DELETE /v1/videos/{id} (R15): input and output are gone at once; a job still being
//! made is stopped and its cost given back (`app::removal`, shared with the operator).

use axum::extract::State;
use axum::http::StatusCode;
use shared::ApiError;
use shared::app::removal::RemovedBy;
use shared::domain::ids::JobId;
use shared::edge::http::{ApiPath, AuthUser};

use crate::state::VideosState;

#[utoipa::path(
    delete,
    path = "/v1/videos/{id}",
    tag = "videos",
    params(("id" = String, Path, description = "The video's id")),
    security(("session" = [])),
    responses(
        (status = 204, description = "Deleted, with its input and output; again is fine"),
    )
)]
pub async fn delete(
    State(state): State<VideosState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = JobId::parse(&id).ok_or(ApiError::NotFound)?;
    state
        .removal
        .remove(&id, RemovedBy::Owner(&user.account_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
