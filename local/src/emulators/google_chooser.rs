//! Google's account chooser, locally: the page "Sign in with Google" opens on `make
//! dev`. It hands the signed ID token back the way Google's OpenID Connect implicit
//! flow does (`response_type=id_token`): a redirect to the registered `redirect_uri`
//! with `#id_token=…&state=…` in the fragment, so the token never reaches a server log.
//!
//! - `GET  /_local/google/chooser?client_id&redirect_uri&state`: the page (an address
//!   and a name to sign in as).
//! - `POST /_local/google/chooser` (the page's form): the redirect with the token.
//!
//! Like Google, it refuses an unknown `client_id` and a `redirect_uri` that is not
//! registered: here, any page on this machine (loopback).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::google::GoogleEmulator;

struct Ask {
    client_id: String,
    redirect_uri: url::Url,
    state: String,
}

fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// What Google's page says when it refuses an authorization request.
fn refusal(why: &str) -> Response {
    (StatusCode::BAD_REQUEST, Html(shell(why))).into_response()
}

fn ask(g: &GoogleEmulator, pairs: &[(String, String)]) -> Result<Ask, &'static str> {
    let client_id = field(pairs, "client_id").unwrap_or_default();
    if client_id != g.client_id() {
        return Err("Error 401: invalid_client. The OAuth client was not found.");
    }
    let redirect_uri = field(pairs, "redirect_uri")
        .and_then(|u| url::Url::parse(u).ok())
        .filter(|u| {
            matches!(u.scheme(), "http" | "https")
                && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
        })
        .ok_or("Error 400: redirect_uri_mismatch.")?;
    Ok(Ask {
        client_id: client_id.to_owned(),
        redirect_uri,
        state: field(pairs, "state").unwrap_or_default().to_owned(),
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(super) async fn page(State(g): State<Arc<GoogleEmulator>>, RawQuery(q): RawQuery) -> Response {
    let pairs = pairs(q.unwrap_or_default().as_bytes());
    let ask = match ask(&g, &pairs) {
        Ok(a) => a,
        Err(why) => return refusal(why),
    };
    let hidden = |name: &str, value: &str| {
        format!(
            r#"<input type="hidden" name="{name}" value="{}">"#,
            escape(value)
        )
    };
    Html(shell(&format!(
        r#"<h1>Choose an account</h1><p>to continue to <strong>{site}</strong></p>
<form method="post" action="/_local/google/chooser">
{client}{redirect}{state}
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="email" required>
<label for="name">Name</label><input id="name" name="name" autocomplete="name">
<button type="submit">Continue</button></form>
<p class="note">Local Google emulator: the token it signs is accepted only by this machine's stack.</p>"#,
        site = escape(ask.redirect_uri.host_str().unwrap_or_default()),
        client = hidden("client_id", &ask.client_id),
        redirect = hidden("redirect_uri", ask.redirect_uri.as_str()),
        state = hidden("state", &ask.state),
    )))
    .into_response()
}

pub(super) async fn choose(State(g): State<Arc<GoogleEmulator>>, body: Bytes) -> Response {
    let pairs = pairs(&body);
    let ask = match ask(&g, &pairs) {
        Ok(a) => a,
        Err(why) => return refusal(why),
    };
    let email = field(&pairs, "email").unwrap_or_default().trim();
    if !email.contains('@') {
        return (
            StatusCode::BAD_REQUEST,
            Html(shell("Enter an email address.")),
        )
            .into_response();
    }
    let name = field(&pairs, "name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let token = match g.sign_for(email, name) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let fragment: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token", &token)
        .append_pair("state", &ask.state)
        .finish();
    let mut back = ask.redirect_uri;
    back.set_fragment(Some(&fragment));
    Redirect::to(back.as_str()).into_response()
}

fn shell(body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>Sign in – Google Accounts (local)</title>
<style>body{{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem;color:#202124}}
label{{display:block;margin-top:.8rem}}input{{width:100%;font-size:1rem;padding:.5rem;box-sizing:border-box}}
button{{margin-top:1rem;font-size:1rem;padding:.6rem 1.2rem;background:#1a73e8;color:#fff;border:0;border-radius:.3rem}}.note{{color:#5f6368;font-size:.85rem}}</style>
</head><body><main>{body}</main></body></html>"#
    )
}
