//! `account`: the signed-in person's own data (`/v1/me*`).

mod identities;
mod me;

use axum::Router;
use axum::routing::{delete, get};
use shared::AppState;

/// The whole function as Lambda serves it.
pub fn router(state: AppState) -> Router {
    shared::http::finish_router(routes(state))
}

/// The routes alone, for the local stack to merge with the other functions'.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/me", get(me::get_me))
        .route(
            "/v1/me/identities/google",
            delete(identities::disconnect_google),
        )
        .with_state(state)
}
