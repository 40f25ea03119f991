//! Videos: submitting, following, pumping the queue functions by hand, uploading.

use serde_json::{Value, json};

use crate::{Reply, TestStack};

impl TestStack {
    /// Sets a video provider's emulator `down`, `slow` or `up` (`/_local/providers/…/outage`).
    pub async fn outage(&self, provider: &str, mode: &str) {
        let r = self
            .post(
                &format!("/_local/providers/{provider}/outage"),
                json!({ "mode": mode }),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    pub async fn submit_video(&self, token: &str, body: Value, key: Option<&str>) -> Reply {
        let mut req = self
            .http
            .post(self.url("/v1/videos"))
            .bearer_auth(token)
            .json(&body);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        self.send(req).await
    }

    /// A video that the provider will never finish, submitted and handed to the
    /// provider (status `generating`); for a stack whose consumers are off.
    pub async fn generating_video(&self, token: &str) -> String {
        let r = self
            .submit_video(
                token,
                json!({ "prompt": "emulator-hang", "seconds": 4 }),
                None,
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_owned();
        self.pump("generate").await;
        id
    }

    /// Polls GET /v1/videos/{id} until its status is `want` (or fails after `secs`).
    pub async fn wait_status(&self, token: &str, id: &str, want: &str, secs: u64) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let r = self.get(&format!("/v1/videos/{id}"), Some(token)).await;
            assert_eq!(r.status, 200, "{}", r.body);
            if r.body["status"] == want {
                return r.body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "video {id} is {} after {secs}s, not {want}",
                r.body["status"]
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// With consumers off: polls a function's queue once, as the event source would.
    pub async fn pump(&self, function: &str) -> local_stack::consumers::PollOutcome {
        self.stack.consumer(function).poll_once(true, None, 0).await
    }

    /// Pumps `generate`, `stamp` and `deliver` until the video has the status or time
    /// runs out.
    pub async fn pump_until(&self, token: &str, id: &str, want: &str, secs: u64) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            self.pump("generate").await;
            self.pump("stamp").await;
            self.pump("deliver").await;
            let r = self.get(&format!("/v1/videos/{id}"), Some(token)).await;
            if r.body["status"] == want {
                return r.body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "video {id} is {}",
                r.body["status"]
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// With consumers off: pumps `functions`, in order, round after round, until the
    /// outputs bucket holds `key` (at most `rounds` rounds, 100 ms apart).
    pub async fn pump_until_stored(&self, functions: &[&str], key: &str, rounds: usize) {
        for _ in 0..rounds {
            for f in functions {
                self.pump(f).await;
            }
            if self.object_exists("OutputsBucket", key).await {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{key} was never stored");
    }

    /// Creates an upload and PUTs `bytes` to its presigned URL; returns the upload id.
    pub async fn upload(&self, token: &str, content_type: &str, bytes: Vec<u8>) -> String {
        let r = self
            .post(
                "/v1/uploads",
                serde_json::json!({ "content_type": content_type, "size": bytes.len() }),
                Some(token),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let put = self
            .http
            .put(r.body["upload_url"].as_str().unwrap())
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success(), "PUT {}", put.status());
        r.body["id"].as_str().unwrap().to_owned()
    }
}
