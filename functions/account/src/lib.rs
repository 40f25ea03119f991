//! `account`: the signed-in person's own data (`/v1/me*`).

mod identities;
mod me;

use axum::Router;
use axum::routing::{delete, get};
use shared::AppState;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/v1/me", get(me::get_me))
        .route("/v1/me/identities/google", delete(identities::disconnect_google))
        .with_state(state);
    shared::http::finish_router(routes)
}
