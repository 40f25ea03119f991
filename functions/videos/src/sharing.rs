//! Share links (R49): `POST` and `DELETE /v1/videos/{id}/share` (the owner only; another
//! person's video answers 404), and `GET /v1/shared/{token}` without sign-in, limited per
//! IP, answering the video with a short-lived download link and nothing of its owner.
//! A viewer leaves nothing of themselves but the per-IP limit's counter.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shared::ApiError;
use shared::domain::clock::rfc3339;
use shared::domain::ids::JobId;
use shared::domain::sharing::{ShareState, is_token, new_nonce, token, token_hash};
use shared::domain::video::{Job, JobStatus};
use shared::edge::http::{ApiJson, ApiPath, AuthUser, ClientIp};
use shared::edge::openapi::Problem;
use shared::edge::problem::within_limit;
use utoipa::ToSchema;

use crate::state::VideosState;
use crate::view::{owned_job, visible_status};

#[derive(Deserialize, ToSchema, Default)]
pub struct ShareRequest {
    /// Whether the shared page shows the prompt (off by default).
    #[serde(default)]
    show_prompt: bool,
}

/// A live link.
#[derive(Serialize, ToSchema, Clone, Debug, PartialEq, Eq)]
pub struct ShareLink {
    /// The website's page of the link.
    pub url: String,
    /// It ends with the video.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// The link of a shared video, derived again from its nonce with the service's secret.
pub fn link_of(state: &crate::state::Services, job: &Job) -> Option<ShareLink> {
    let share = job.share.as_ref()?;
    let token = token(state.hash_secret.expose().as_bytes(), &job.id, &share.nonce);
    Some(ShareLink {
        url: format!("{}/s/{token}", state.refusals.site_url),
        expires_at: job.expires_at.map(rfc3339),
    })
}

#[utoipa::path(
    post,
    path = "/v1/videos/{id}/share",
    tag = "videos",
    params(("id" = String, Path, description = "The video's id")),
    request_body(content = ShareRequest, content_type = "application/json"),
    security(("session" = [])),
    responses(
        (status = 201, description = "An unlisted link to the ready video, ending with it (R49); again is the same link", body = ShareLink),
        (status = 404, description = "`not_found`: no video of the caller's has this id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_ready`: only a ready video can be shared", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn share(
    State(state): State<VideosState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ShareRequest>,
) -> Result<(StatusCode, Json<ShareLink>), ApiError> {
    let job = owned_job(&state, &user.account_id, &id).await?;
    if visible_status(&job, state.clock.epoch_secs()) != JobStatus::Ready {
        return Err(ApiError::NotReady);
    }
    if let Some(link) = link_of(&state, &job) {
        return Ok((StatusCode::CREATED, Json(link)));
    }
    let nonce = new_nonce();
    let t = token(state.hash_secret.expose().as_bytes(), &job.id, &nonce);
    let share = ShareState {
        hash: token_hash(&t),
        nonce,
        show_prompt: req.show_prompt,
    };
    let mut tx = state.transactions.begin();
    tx.add_all("share", state.videos.share_writes(&job, &share)?);
    match tx.commit().await {
        Ok(()) => {}
        // Shared meanwhile by another request, or no longer ready: read it again.
        Err(e) if e.is_condition_failure() => {
            let now = owned_job(&state, &user.account_id, &id).await?;
            return link_of(&state, &now)
                .map(|l| (StatusCode::CREATED, Json(l)))
                .ok_or(ApiError::NotReady);
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(event = "video_shared", job_id = %job.id, "video shared");
    let shared = Job {
        share: Some(share),
        ..job
    };
    let link = link_of(&state, &shared).ok_or(ApiError::Internal)?;
    Ok((StatusCode::CREATED, Json(link)))
}

#[utoipa::path(
    delete,
    path = "/v1/videos/{id}/share",
    tag = "videos",
    params(("id" = String, Path, description = "The video's id")),
    security(("session" = [])),
    responses(
        (status = 204, description = "The link answers 404 from now on; again is fine"),
        (status = 404, description = "`not_found`: no video of the caller's has this id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unshare(
    State(state): State<VideosState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let job = owned_job(&state, &user.account_id, &id).await?;
    if let Some(share) = &job.share {
        let mut tx = state.transactions.begin();
        tx.add_all("unshare", state.videos.unshare_writes(&job, &share.hash)?);
        match tx.commit().await {
            Ok(()) => {
                tracing::info!(event = "video_unshared", job_id = %job.id, "share link revoked")
            }
            // Revoked meanwhile by another request.
            Err(e) if e.is_condition_failure() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// What a shared link shows: the video, never its owner.
#[derive(Serialize, ToSchema)]
pub struct SharedVideo {
    model: String,
    seconds: u32,
    aspect_ratio: String,
    audio: bool,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    /// Always true (R21).
    ai_generated: bool,
    /// A link valid for 15 minutes.
    download_url: String,
    /// Only when the owner chose to show it.
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/shared/{token}",
    tag = "videos",
    params(("token" = String, Path, description = "The link's token", min_length = 32, max_length = 32, pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "The shared video, without sign-in; nothing of its owner (R49)", body = SharedVideo,
            headers(("Referrer-Policy" = String, description = "no-referrer"), ("X-Robots-Tag" = String, description = "noindex"))),
        (status = 404, description = "`not_found`: no such link, or revoked, or its video deleted or expired", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many links opened from this address", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit resets"))),
    )
)]
pub async fn shared(
    State(state): State<VideosState>,
    ip: ClientIp,
    ApiPath(t): ApiPath<String>,
) -> Result<Response, ApiError> {
    let now = state.clock.epoch_secs();
    within_limit(
        &state.limits,
        "shared_ip",
        &ip.limit_subject(),
        state.policy.shared_views_per_ip,
        now,
    )
    .await?;
    if !is_token(&t) {
        return Err(ApiError::NotFound);
    }
    let hash = token_hash(&t);
    let record = state
        .videos
        .shared(&hash)
        .await?
        .ok_or(ApiError::NotFound)?;
    let id = JobId::parse(&record.video_id).ok_or(ApiError::NotFound)?;
    let job = state
        .videos
        .get(&id)
        .await?
        // The link is this video's live one, and the video is still there to see.
        .filter(|j| j.share.as_ref().is_some_and(|s| s.hash == hash))
        .filter(|j| visible_status(j, now) == JobStatus::Ready)
        .ok_or(ApiError::NotFound)?;
    let key = job.output_key.as_deref().ok_or(ApiError::NotFound)?;
    // Saved under a plain name: nothing of the owner's in it.
    let download_url = state
        .blobs
        .presign_get(
            &state.outputs_bucket,
            key,
            state.policy.download_link_ttl,
            Some("sora2-video.mp4"),
        )
        .await?;
    let body = SharedVideo {
        model: job
            .model
            .clone()
            .unwrap_or_else(|| state.catalogue.default_model().id.clone()),
        seconds: job.settings.seconds,
        aspect_ratio: job.settings.aspect_ratio.clone(),
        audio: job.settings.audio,
        created_at: rfc3339(job.created_at),
        expires_at: job.expires_at.map(rfc3339),
        ai_generated: true,
        download_url,
        prompt: record.show_prompt.then(|| job.prompt.clone()).flatten(),
    };
    let mut res = Json(body).into_response();
    let headers = res.headers_mut();
    // The page's address is the link itself: it is sent to no one, and not indexed.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
