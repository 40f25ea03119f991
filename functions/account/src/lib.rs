//! `account`: the signed-in person's own data and rights (`/v1/me*`, `/v1/support`,
//! `/v1/unsubscribe`).

mod consents;
mod identities;
mod me;
mod rights;
mod state;
mod support;

pub use consents::{unsubscribe_page_url, unsubscribe_url};
pub use state::AccountState;

shared::http_routes!(AccountState {
    get "/v1/me" => me::get_me,
    patch "/v1/me" => me::patch_me,
    delete "/v1/me" => rights::erase,
    post "/v1/me/email/verify" => me::verify_email,
    delete "/v1/me/identities/google" => identities::disconnect_google,
    put "/v1/me/consents" => consents::put_consents,
    put "/v1/me/restriction" => consents::put_restriction,
    get "/v1/unsubscribe" => consents::unsubscribe_get,
    post "/v1/unsubscribe" => consents::unsubscribe_post,
    post "/v1/me/verification" => rights::send_verification,
    post "/v1/me/export" => rights::export,
    get "/v1/me/requests" => rights::list,
    get "/v1/me/requests/{id}" => rights::get,
    post "/v1/support" => support::create,
});
