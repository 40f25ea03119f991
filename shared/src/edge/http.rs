//! HTTP plumbing shared by every API function: JSON bodies with limits, the caller's
//! IP and session, request logs, and problem+json for everything the router refuses.

pub mod client_ip;
pub mod cursor;
pub mod json;
pub mod request_log;
pub mod session;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::edge::problem::ApiError;

pub use client_ip::ClientIp;
pub use json::ApiJson;
pub use session::AuthUser;

/// Declares an HTTP function's routes, once, and everything made from them: `ROUTES`,
/// the method and path of each route; `routes(state)`, the axum routes themselves (the
/// local stack merges them); `router(state)`, the whole function as Lambda serves it;
/// and `openapi()`, its part of the document, from each handler's `#[utoipa::path]`.
/// The description is built for the document only, never at a cold start, so its code
/// is not in the function's binary; the contract tests hold `ROUTES` to the document
/// and to the template's routes.
///
/// ```ignore
/// shared::http_routes!(AuthState {
///     post "/v1/auth/email/start" => email_code::start,
/// });
/// ```
#[macro_export]
macro_rules! http_routes {
    ($state:ty { $($method:ident $path:literal => $($handler:ident)::+,)+ }) => {
        /// Method and path of every route this function serves.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path),)+];

        /// The routes alone, for the local stack to merge with the other functions'.
        pub fn routes(state: $state) -> ::axum::Router {
            ::axum::Router::new()
                $(.route($path, ::axum::routing::$method($($handler)::+)))+
                .with_state(state)
        }

        /// The whole function as Lambda serves it.
        pub fn router(state: $state) -> ::axum::Router {
            $crate::edge::http::finish_router(routes(state))
        }

        /// This function's part of the OpenAPI document: each route's handler
        /// describes itself (`#[utoipa::path]`).
        pub fn openapi() -> ::utoipa::openapi::OpenApi {
            $crate::__utoipa_axum::router::OpenApiRouter::<$state>::new()
                $(.routes($crate::__utoipa_axum::routes!($($handler)::+)))+
                .into_openapi()
        }
    };
}

/// Adds the behaviour every API router shares: problem+json for unknown routes and
/// wrong methods, and one log line per request.
pub fn finish_router(router: Router) -> Router {
    router
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn(session::await_usage))
        .layer(axum::middleware::from_fn(request_log::log_request))
}

/// A path parameter, with a problem+json refusal when it does not parse.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Self(v))
            .map_err(|_| ApiError::NotFound)
    }
}

/// Query parameters, with a problem+json refusal when they do not parse.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Self(v))
            .map_err(|e: QueryRejection| ApiError::InvalidField(e.body_text()))
    }
}
