//! `account`: the signed-in person's own data (`/v1/me*`).

mod identities;
mod me;
mod state;

use axum::Router;
use axum::routing::{delete, get};

pub use state::AccountState;

/// The whole function as Lambda serves it.
pub fn router(state: AccountState) -> Router {
    shared::edge::http::finish_router(routes(state))
}

/// The routes alone, for the local stack to merge with the other functions'.
pub fn routes(state: AccountState) -> Router {
    Router::new()
        .route("/v1/me", get(me::get_me))
        .route(
            "/v1/me/identities/google",
            delete(identities::disconnect_google),
        )
        .with_state(state)
}
