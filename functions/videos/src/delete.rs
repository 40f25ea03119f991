//! DELETE /v1/videos/{id} (R15): input and output are gone at once; a job still being
//! made is stopped and its cost given back.

use axum::extract::State;
use axum::http::StatusCode;
use shared::ApiError;
use shared::adapters::sqs::GenerateMessage;
use shared::domain::video::JobStatus;
use shared::domain::video::output_key;
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
        if job.status == JobStatus::Deleted {
            return Ok(StatusCode::NO_CONTENT);
        }
        if let Some(input) = &job.input_key {
            state
                .blobs
                .delete(&state.inputs_bucket, input)
                .await
                .map_err(ApiError::from)?;
        }
        // The output's key is known even before it exists; a file that lands after
        // this is removed by `deliver`, which finds the job deleted.
        state
            .blobs
            .delete(&state.outputs_bucket, &output_key(&job.id))
            .await
            .map_err(ApiError::from)?;
        if state.jobs.end(&job, JobStatus::Deleted, None).await? {
            if job.status == JobStatus::Generating {
                stop_at_the_provider(&state, &job.id).await;
            }
            return Ok(StatusCode::NO_CONTENT);
        }
    }
    Err(ApiError::Unavailable)
}

/// Asks `generate` to look at the job now: it finds it deleted, stops the provider's
/// request and drops its copy (R16). A provider that calls back is not polled, so
/// nothing else would look soon; if this send fails, `purge-expired` deletes the
/// provider's copy on its next run.
async fn stop_at_the_provider(state: &VideosState, job_id: &str) {
    let message = GenerateMessage {
        job_id: job_id.to_owned(),
        token: None,
        completed: None,
        stop: false,
    };
    if let Err(e) = state
        .queue
        .send_generate(&message, std::time::Duration::ZERO)
        .await
    {
        tracing::warn!(job_id, error = %e, "could not ask generate to stop the provider");
    }
}
