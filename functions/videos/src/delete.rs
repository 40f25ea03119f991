//! DELETE /v1/videos/{id} (R15): input and output are gone at once; a job still being
//! made is stopped and its cost given back (`app::removal`, shared with the operator).

use axum::extract::State;
use axum::http::StatusCode;
use shared::ApiError;
use shared::app::removal::Removed;
use shared::edge::http::{ApiPath, AuthUser};

use crate::state::VideosState;

use crate::view::owned_job;

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
    // Two tries: the job may move on (generating → ready) between read and write.
    for _ in 0..2 {
        let job = owned_job(&state, &user.account_id, &id).await?;
        match state.removal.remove(&job).await? {
            Removed::Now | Removed::Already => return Ok(StatusCode::NO_CONTENT),
            Removed::MovedOn => continue,
        }
    }
    Err(ApiError::Unavailable)
}
