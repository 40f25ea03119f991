//! `account`: the signed-in person's own data and rights (`/v1/me*`, `/v1/support`,
//! `/v1/unsubscribe`).

mod codes;
mod consents;
mod identities;
mod me;
mod rights;
mod state;
mod support;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use consents::unsubscribe_url;
pub use state::AccountState;

/// The routes with their OpenAPI description.
fn api() -> OpenApiRouter<AccountState> {
    OpenApiRouter::new()
        .routes(routes!(me::get_me, me::patch_me, rights::erase))
        .routes(routes!(me::verify_email))
        .routes(routes!(identities::disconnect_google))
        .routes(routes!(consents::put_consents))
        .routes(routes!(consents::put_restriction))
        .routes(routes!(
            consents::unsubscribe_get,
            consents::unsubscribe_post
        ))
        .routes(routes!(rights::send_verification))
        .routes(routes!(rights::export))
        .routes(routes!(rights::list))
        .routes(routes!(rights::get))
        .routes(routes!(support::create))
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
