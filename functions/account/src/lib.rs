//! `account`: the signed-in person's own data (`/v1/me*`).

mod identities;
mod me;
mod state;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::AccountState;

/// The routes with their OpenAPI description.
fn api() -> OpenApiRouter<AccountState> {
    OpenApiRouter::new()
        .routes(routes!(me::get_me))
        .routes(routes!(identities::disconnect_google))
}

/// The whole function as Lambda serves it.
pub fn router(state: AccountState) -> Router {
    shared::edge::http::finish_router(routes(state))
}

/// The routes alone, for the local stack to merge with the other functions'.
pub fn routes(state: AccountState) -> Router {
    api().with_state(state).split_for_parts().0
}

/// This function's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().into_openapi()
}
