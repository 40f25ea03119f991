//! `auth`: email-code and Google sign-in, sessions and sign-out (R01–R06).
//!
//! The routes form an axum `Router`: `main.rs` hands it to `lambda_http::run`, and the
//! local stack serves the very same router on its port.

mod email_code;
mod google;
pub mod google_token;
pub mod signin;
mod signout;
mod state;

pub use state::AuthState;

shared::http_routes!(AuthState {
    post "/v1/auth/email/start" => email_code::start,
    post "/v1/auth/email/verify" => email_code::verify,
    post "/v1/auth/google" => google::sign_in,
    post "/v1/auth/signout" => signout::sign_out,
});
