//! `auth`: email-code and Google sign-in, sessions and sign-out (R01–R06).
//!
//! The routes form an axum `Router`: `main.rs` hands it to `lambda_http::run`, and the
//! local stack serves the very same router on its port.

mod email_code;
mod google;
pub mod google_token;
mod signin;
mod signout;
mod state;

use axum::Router;
use axum::routing::post;

pub use state::AuthState;

/// The whole function as Lambda serves it.
pub fn router(state: AuthState) -> Router {
    shared::edge::http::finish_router(routes(state))
}

/// The routes alone, for the local stack to merge with the other functions'.
pub fn routes(state: AuthState) -> Router {
    Router::new()
        .route("/v1/auth/email/start", post(email_code::start))
        .route("/v1/auth/email/verify", post(email_code::verify))
        .route("/v1/auth/google", post(google::sign_in))
        .route("/v1/auth/signout", post(signout::sign_out))
        .with_state(state)
}
