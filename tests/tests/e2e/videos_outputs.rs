//! Where an output is fetched from (R13, R38): only over https from the provider's own
//! output hosts (or the configured local emulator), never from an address its answer
//! makes up, and never through a redirect to another host. A refused output fails the
//! job with one refund, and nothing is fetched.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use e2e_tests::{TestStack, unique_email};
use serde_json::json;

/// A local listener that counts the connections made to it: it must see none.
async fn trap() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    (format!("http://{addr}/x.mp4"), hits)
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_r38_an_output_elsewhere_fails_the_job_with_one_refund_and_is_never_fetched() {
    let t = TestStack::start().await;
    let (token, account) = t.signed_in(&unique_email("outputs")).await;
    t.grant(&account, 20).await;
    let (trap_url, hits) = trap().await;
    let fal = &t.stack.fal;
    let cases: [(&str, Option<String>, Option<String>); 3] = [
        ("a loopback address", Some(trap_url.clone()), None),
        (
            "another host",
            Some("https://outputs.example.invalid/v.mp4".into()),
            None,
        ),
        ("a redirect elsewhere", None, Some(trap_url.clone())),
    ];
    for (what, at, redirect) in cases {
        *fal.output_at.lock().unwrap() = at;
        *fal.output_redirects_to.lock().unwrap() = redirect;
        let r = t
            .submit_video(
                &token,
                json!({ "prompt": format!("a paper boat, {what}"), "seconds": 4 }),
                None,
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_owned();
        let v = t.wait_status(&token, &id, "failed", 30).await;
        assert_eq!(
            t.entries_for(&account, "refund", &id).await,
            1,
            "{what}: {v}"
        );
        assert!(
            !t.object_exists("OutputsBucket", &shared::domain::video::output_key(&id))
                .await,
            "{what}: nothing stored"
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing was fetched");
    // The emulator's own address still works.
    *fal.output_at.lock().unwrap() = None;
    *fal.output_redirects_to.lock().unwrap() = None;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a paper boat", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "ready", 30).await;
}
