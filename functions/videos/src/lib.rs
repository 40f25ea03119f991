//! `videos`: presigned uploads, prompt checks, the credit debit and job creation
//! (R11, R13–R21, R36). The background steps are `generate` and `deliver`.

mod delete;
mod moderation;
mod read;
mod state;
mod submit;
mod uploads;
mod view;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::VideosState;

/// The routes with their OpenAPI description, for the document.
fn api() -> OpenApiRouter<VideosState> {
    OpenApiRouter::new()
        .routes(routes!(uploads::create))
        .routes(routes!(submit::submit, read::list))
        .routes(routes!(read::get_one, delete::delete))
}

shared::http_routes!(VideosState {
    post "/v1/uploads" => uploads::create,
    post "/v1/videos" => submit::submit,
    get "/v1/videos" => read::list,
    get "/v1/videos/{id}" => read::get_one,
    delete "/v1/videos/{id}" => delete::delete,
});
