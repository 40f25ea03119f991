//! Local emulators of third parties, served under `/_local/*` on the stack's port.

pub mod creem;
pub mod creem_checkout;
pub mod creem_page;
pub mod creem_portal;
pub mod fal;
pub mod google;
pub mod google_chooser;
pub mod mailbox;
pub mod outage;
pub mod replicate;
pub mod vendor_schema;

/// Failures a provider emulator serves on request: a word in the prompt asks for one,
/// up to a number of times per prompt (then the prompt goes through).
#[derive(Debug, Default)]
pub(crate) struct Refusals(std::sync::Mutex<std::collections::HashMap<String, u32>>);

impl Refusals {
    /// Whether to refuse `prompt` for `word` now: at most `times` times per prompt.
    pub(crate) fn refuse(&self, prompt: &str, word: &str, times: u32) -> bool {
        if !prompt.contains(word) {
            return false;
        }
        let mut served = self.0.lock().expect("refusal counts");
        let n = served.entry(prompt.to_owned()).or_default();
        if *n < times {
            *n += 1;
            true
        } else {
            false
        }
    }
}

/// POSTs a provider's completion call to `url`, signed anew on each attempt by
/// `headers`, and again after a wait (from `first_wait`, doubling) while the answer
/// is not 2xx, as the providers do (up to `attempts` times). Each attempt's status (0:
/// no answer) goes to `record`.
pub(crate) async fn call_until_ok(
    http: &reqwest::Client,
    url: &str,
    body: &str,
    (attempts, first_wait): (u32, std::time::Duration),
    headers: impl Fn() -> Vec<(String, String)>,
    record: impl Fn(u16),
) -> bool {
    let mut wait = first_wait;
    for _ in 0..attempts {
        let mut req = http
            .post(url)
            .header(axum::http::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers() {
            req = req.header(name, value);
        }
        let status = match req
            .body(body.to_owned())
            .timeout(std::time::Duration::from_secs(15))
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        record(status);
        if (200..300).contains(&status) {
            return true;
        }
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
    false
}
