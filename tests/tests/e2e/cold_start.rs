//! A cold start through a throttled Parameter Store (R38): the start asks again with
//! jittered waits within a bound, then, still refused, an HTTP function answers 503
//! problem+json with `Retry-After` (never a bare 500 or 502) and builds itself at the
//! next request; a queue function fails its batch so SQS delivers it again.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use e2e_tests::TestStack;
use e2e_tests::local_stack::faults::{FaultProxy, FaultSettings};
use shared::adapters::env::Env;
use shared::edge::lambda::{Ready, serve_batch, serve_http};
use shared::edge::wiring::Base;

async fn through(t: &TestStack, proxy: &FaultProxy) -> Base {
    let aws = shared::adapters::aws::AwsClients::load_local(
        e2e_tests::local_stack::stack::LOCAL_REGION,
        &proxy.endpoint,
    )
    .await;
    Base::new(aws, t.stack.base.clock.clone(), t.stack.base.policy.clone())
}

fn products() -> http::Request<axum::body::Body> {
    http::Request::get("/v1/billing/products")
        .body(axum::body::Body::empty())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn r38_a_cold_start_through_a_throttled_parameter_store_answers_503_then_recovers() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let proxy = FaultProxy::start(
        &t.stack.aws_endpoint,
        FaultSettings {
            throttle_ssm: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let base = through(&t, &proxy).await;

    let env = Env::from_map(t.stack.envs["billing"].clone());
    let ready = Ready::new(base.clone(), env, |b, e| {
        billing::BillingState::build(b, e).map(billing::router)
    });
    let started = Instant::now();
    let err = ready.get().await.map(|_| ()).unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded: {:?}",
        started.elapsed()
    );
    assert!(
        proxy.counts.snapshot().1 > 1,
        "Parameter Store was asked again"
    );

    let res = serve_http(&ready, products()).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.headers().get("retry-after").is_some());
    let body = axum::body::to_bytes(res.into_body(), 1 << 16)
        .await
        .unwrap();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["code"], "service_unavailable");

    // A queue function fails the batch: SQS delivers it again.
    let env = Env::from_map(t.stack.envs["generate"].clone());
    let queue = Ready::new(base, env, generate::GenerateState::build);
    let mut message = SqsMessage::default();
    message.message_id = Some("m-1".into());
    message.body = Some("{}".into());
    let mut batch = SqsEvent::default();
    batch.records = vec![message];
    assert!(serve_batch(&queue, batch).await.is_err());

    // Parameter Store recovers: the next request builds the function and is served.
    proxy.ssm_throttled.store(false, Ordering::Relaxed);
    let res = serve_http(&ready, products()).await;
    assert_eq!(res.status(), 200);
    assert!(ready.get().await.is_ok());
}
