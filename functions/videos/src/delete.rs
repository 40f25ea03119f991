//! DELETE /v1/videos/{id} (R15): input and output are gone at once; a job still being
//! made is stopped and its cost given back.

use axum::extract::State;
use axum::http::StatusCode;
use shared::domain::video::JobStatus;
use shared::http::{ApiPath, AuthUser};
use shared::jobs::output_key;
use shared::{ApiError, VideoState};

use crate::view::owned_job;

pub async fn delete(
    State(state): State<VideoState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let s3_down = |e| shared::problem::unavailable("s3", e);
    // Two tries: the job may move on (generating → ready) between read and write.
    for _ in 0..2 {
        let job = owned_job(&state, &user.account_id, &id).await?;
        if job.status == JobStatus::Deleted {
            return Ok(StatusCode::NO_CONTENT);
        }
        if let Some(input) = &job.input_key {
            state
                .blobs
                .delete(&state.config.inputs_bucket, input)
                .await
                .map_err(s3_down)?;
        }
        // The output's key is known even before it exists; a file that lands after
        // this is removed by `deliver`, which finds the job deleted.
        state
            .blobs
            .delete(&state.config.outputs_bucket, &output_key(&job.id))
            .await
            .map_err(s3_down)?;
        if shared::jobs::end(&state, &job, JobStatus::Deleted, None).await? {
            return Ok(StatusCode::NO_CONTENT);
        }
    }
    Err(ApiError::Unavailable)
}
