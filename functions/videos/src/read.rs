//! GET /v1/videos and GET /v1/videos/{id}.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shared::ApiError;
use shared::adapters::dynamo::videos::{Filter, PageKey};
use shared::domain::video::{JOB_ID_PREFIX, JobStatus, is_id};
use shared::edge::http::{ApiPath, ApiQuery, AuthUser, cursor};
use shared::edge::openapi::Problem;
use utoipa::{IntoParams, ToSchema};

use crate::state::VideosState;
use crate::view::{Video, Wait, complete, entity_tag, owned_job, video_state};

const PAGE_SIZE: i32 = 20;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `next_cursor` of the previous page; absent or empty for the first page.
    #[param(max_length = 512)]
    cursor: Option<String>,
    /// Only the videos in this status (a video deleted is never listed). A filtered
    /// list may lag a change by a moment: a video that changed status just now may
    /// still be listed as it was.
    #[param(inline)]
    status: Option<ListedStatus>,
    /// Only the videos made by this model (an `id` of `GET /v1/models`).
    #[param(max_length = 64)]
    model: Option<String>,
}

/// A status the library can be filtered by: every status a listed video can have.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum ListedStatus {
    Queued,
    Generating,
    Ready,
    Failed,
    Rejected,
    Expired,
}

impl From<ListedStatus> for JobStatus {
    fn from(s: ListedStatus) -> Self {
        match s {
            ListedStatus::Queued => Self::Queued,
            ListedStatus::Generating => Self::Generating,
            ListedStatus::Ready => Self::Ready,
            ListedStatus::Failed => Self::Failed,
            ListedStatus::Rejected => Self::Rejected,
            ListedStatus::Expired => Self::Expired,
        }
    }
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

/// The caller's videos, newest first, a page at a time, all of them or those a filter
/// names (each filter is a partition of its own index: a page costs the same whatever
/// else the person has stored). The cursor names a position only; the query is always
/// in the caller's own partition, so a cursor cannot reach another person's videos
/// (R36).
#[utoipa::path(
    get,
    operation_id = "list_videos",
    path = "/v1/videos",
    tag = "videos",
    params(ListQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The caller's videos, newest first", body = VideoList),
        (status = 422, description = "`invalid_request`: the cursor is not one this API gave out, or `status` is not a listed status; `unknown_model`: `model` is no model of the catalogue", body = Problem, content_type = "application/problem+json"),
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
    let filter = Filter {
        status: q.status.map(JobStatus::from),
        model: match q.model.as_deref() {
            Some(m) => Some(state.catalogue.get(Some(m))?.id.clone()),
            None => None,
        },
    };
    let page = state
        .videos
        .list(&user.account_id, &filter, after.as_ref(), PAGE_SIZE)
        .await?;
    let now = state.clock.epoch_secs();
    let mut items = Vec::with_capacity(page.jobs.len());
    for job in &page.jobs {
        let video = video_state(job, now, &state.catalogue);
        // A deleted video is gone (its record stays only until the purge). A ready
        // video past its retention reads expired before the purge makes it so: it is
        // not listed as ready. (A filter's index may lag a change by a moment; what it
        // lists is then the video as it was, whole.)
        let unwanted = filter.status.is_some_and(|s| s != video.status);
        if video.status == JobStatus::Deleted || unwanted {
            continue;
        }
        items.push(complete(&state, job, video, Wait::Shown).await?);
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
    params(
        ("id" = String, Path, description = "The video's id"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of a previous answer: 304 while the video has not changed"),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "The video", body = Video, headers(
            ("ETag" = String, description = "The video's state (its link aside)"),
            ("Retry-After" = Option<u32>, description = "While queued or generating: seconds until it is worth asking again"),
        )),
        (status = 304, description = "Not changed since the `ETag` given in `If-None-Match`; no body", headers(
            ("ETag" = String, description = "The video's state"),
            ("Retry-After" = Option<u32>, description = "While queued or generating"),
        )),
    )
)]
pub async fn get_one(
    State(state): State<VideosState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let job = owned_job(&state, &user.account_id, &id).await?;
    if job.status == JobStatus::Deleted {
        return Err(ApiError::NotFound);
    }
    let video = video_state(&job, state.clock.epoch_secs(), &state.catalogue);
    let tag = entity_tag(&video);
    let mut answer = HeaderMap::new();
    answer.insert(header::ETAG, header_value(&tag));
    // The link in the body is the owner's alone, and short-lived: kept by the
    // browser only to be revalidated, never by a shared cache.
    answer.insert(header::CACHE_CONTROL, header_value("private, no-cache"));
    if video.status.is_active() {
        let hint = state.policy.status_poll_hint.as_secs().to_string();
        answer.insert(header::RETRY_AFTER, header_value(&hint));
    }
    if matches_tag(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, answer).into_response());
    }
    let video = complete(&state, &job, video, Wait::Shown).await?;
    Ok((answer, Json(video)).into_response())
}

/// Whether `If-None-Match` names `tag` (a list, weak tags compared weakly, or `*`).
fn matches_tag(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag || t == "*")
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}
