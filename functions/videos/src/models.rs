//! GET /v1/models: the catalogue of video models (R42), for anyone (no sign-in), so
//! the site can show models and prices before sign-up. Which providers serve a model
//! is ours to know, not the client's.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use shared::domain::video::Mode;
use utoipa::ToSchema;

use crate::state::VideosState;

#[derive(Serialize, ToSchema)]
pub struct ModelView {
    /// What `POST /v1/videos` takes as `model`.
    id: String,
    name: String,
    /// `text` (text-to-video) and/or `image` (image-to-video, with an `upload_id`).
    modes: Vec<Mode>,
    /// Clip lengths in seconds, shortest first; the longest is the default.
    seconds: Vec<u32>,
    /// Aspect ratios; the first is the default.
    aspect_ratios: Vec<String>,
    /// Whether it makes synchronized audio.
    audio: bool,
    /// Price in credits for each length, keyed by the seconds.
    cost: BTreeMap<String, i64>,
    /// The model used when `POST /v1/videos` names none.
    default: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Models {
    items: Vec<ModelView>,
}

#[utoipa::path(
    get,
    operation_id = "list_models",
    path = "/v1/models",
    tag = "videos",
    responses((status = 200, description = "The video models, their lengths, aspect ratios and prices; no sign-in needed", body = Models))
)]
pub async fn list(State(state): State<VideosState>) -> Json<Models> {
    Json(Models {
        items: state
            .catalogue
            .models()
            .iter()
            .map(|m| ModelView {
                id: m.id.clone(),
                name: m.name.clone(),
                modes: m.modes.clone(),
                seconds: m.seconds.clone(),
                aspect_ratios: m.aspect_ratios.clone(),
                audio: m.audio,
                cost: m.cost.clone(),
                default: m.default,
            })
            .collect(),
    })
}
