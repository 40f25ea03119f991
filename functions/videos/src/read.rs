//! GET /v1/videos and GET /v1/videos/{id}.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shared::ApiError;
use shared::adapters::dynamo::videos::PageKey;
use shared::domain::video::{JOB_ID_PREFIX, JobStatus, is_id};
use shared::edge::http::{ApiPath, ApiQuery, AuthUser, cursor};
use shared::edge::openapi::Problem;
use utoipa::{IntoParams, ToSchema};

use crate::state::VideosState;
use crate::view::{Video, owned_job, video_view};

const PAGE_SIZE: i32 = 20;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `next_cursor` of the previous page; absent or empty for the first page.
    #[param(max_length = 512)]
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct VideoList {
    /// Newest first.
    items: Vec<Video>,
    /// Absent or null on the last page.
    next_cursor: Option<String>,
}

fn encode_cursor(k: &PageKey) -> String {
    cursor::encode(&k.job_id, &k.created_at)
}

fn decode_cursor(c: &str) -> Result<PageKey, ApiError> {
    let (job_id, created_at) = cursor::decode(c)?;
    if !is_id(JOB_ID_PREFIX, &job_id) || chrono::DateTime::parse_from_rfc3339(&created_at).is_err()
    {
        return Err(cursor::not_ours());
    }
    Ok(PageKey { job_id, created_at })
}

/// The caller's videos, newest first, a page at a time. The cursor names a position
/// only; the query is always the caller's own partition, so a cursor cannot reach
/// another person's videos (R36).
#[utoipa::path(
    get,
    path = "/v1/videos",
    tag = "videos",
    params(ListQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The caller's videos, newest first", body = VideoList),
        (status = 422, description = "`invalid_request`: the cursor is not one this API gave out", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<VideosState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<VideoList>, ApiError> {
    let after = q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()?;
    let page = state
        .videos
        .list(&user.account_id, after.as_ref(), PAGE_SIZE)
        .await?;
    let mut items = Vec::with_capacity(page.jobs.len());
    // A deleted video is gone; its record stays only until the purge.
    for job in page.jobs.iter().filter(|j| j.status != JobStatus::Deleted) {
        items.push(video_view(&state, job).await?);
    }
    Ok(Json(VideoList {
        items,
        next_cursor: page.next.as_ref().map(encode_cursor),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/videos/{id}",
    tag = "videos",
    params(("id" = String, Path, description = "The video's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The video", body = Video),
    )
)]
pub async fn get_one(
    State(state): State<VideosState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Video>, ApiError> {
    let job = owned_job(&state, &user.account_id, &id).await?;
    if job.status == JobStatus::Deleted {
        return Err(ApiError::NotFound);
    }
    Ok(Json(video_view(&state, &job).await?))
}
