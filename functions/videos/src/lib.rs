//! `videos`: presigned uploads, prompt checks, the credit debit and job creation
//! (R11, R13–R21, R36). The background steps are `generate` and `deliver`.

mod delete;
mod moderation;
mod read;
mod state;
mod submit;
mod uploads;
mod view;

use axum::Router;
use axum::routing::{get, post};

pub use state::VideosState;

/// The whole function as Lambda serves it.
pub fn router(state: VideosState) -> Router {
    shared::edge::http::finish_router(routes(state))
}

/// The routes alone, for the local stack to merge with the other functions'.
pub fn routes(state: VideosState) -> Router {
    Router::new()
        .route("/v1/uploads", post(uploads::create))
        .route("/v1/videos", post(submit::submit).get(read::list))
        .route("/v1/videos/{id}", get(read::get_one).delete(delete::delete))
        .with_state(state)
}
