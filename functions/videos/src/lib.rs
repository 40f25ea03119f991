//! `videos`: presigned uploads, prompt checks, the credit debit and job creation
//! (R11, R13–R21, R36), image screening (R45) and appeals (R46). The background steps are `generate` and `deliver`.

mod appeals;
mod delete;
mod models;
mod moderation;
mod read;
mod sharing;
mod state;
mod submit;
mod uploads;
mod view;

pub use state::VideosState;

shared::http_routes!(VideosState {
    get "/v1/models" => models::list,
    post "/v1/uploads" => uploads::create,
    post "/v1/videos" => submit::submit,
    get "/v1/videos" => read::list,
    get "/v1/videos/{id}" => read::get_one,
    delete "/v1/videos/{id}" => delete::delete,
    post "/v1/videos/{id}/share" => sharing::share,
    delete "/v1/videos/{id}/share" => sharing::unshare,
    get "/v1/shared/{token}" => sharing::shared,
    post "/v1/appeals" => appeals::file,
    get "/v1/appeals" => appeals::list,
});
