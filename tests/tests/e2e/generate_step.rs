//! The `generate` step on its own, with a scripted provider in place of fal (AWS is
//! still the local endpoint): each branch of one look at a job — refused, busy with
//! `Retry-After`, pending past the deadline, completed, a download that breaks half way —
//! in seconds, without the queue consumers or the provider emulator.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use bytes::Bytes;
use e2e_tests::{TestStack, unique_email};
use generate::GenerateState;
use serde_json::json;
use shared::adapters::env::Env;
use shared::adapters::providers::video::{
    Answer, ByteStream, GenerationRequest, Output, Progress, ProviderError, Providers, SubmitError,
    VideoProvider,
};
use shared::adapters::s3::PART_SIZE;
use shared::domain::video::{JobStatus, staging_key};
use shared::edge::queue_batch::QueueStep;

/// What the scripted download does.
enum Download {
    /// The whole file.
    Whole(Vec<u8>),
    /// These bytes, then a broken connection.
    BreaksAfter(Vec<u8>),
    /// These bytes, then nothing more, ever.
    StallsAfter(Vec<u8>),
}

/// A provider that answers from a script and records what it was asked.
#[derive(Default)]
struct Scripted {
    submits: Mutex<VecDeque<Result<String, SubmitError>>>,
    progress: Mutex<VecDeque<Result<Progress, ProviderError>>>,
    downloads: Mutex<VecDeque<Download>>,
    calls: Mutex<Vec<String>>,
    /// Whether it calls our webhook when a request ends (else it is polled).
    calls_back: bool,
}

impl Scripted {
    fn will_submit(&self, answers: impl IntoIterator<Item = Result<String, SubmitError>>) {
        self.submits.lock().unwrap().extend(answers);
    }

    fn will_report(&self, answers: impl IntoIterator<Item = Result<Progress, ProviderError>>) {
        self.progress.lock().unwrap().extend(answers);
    }

    fn will_download(&self, downloads: impl IntoIterator<Item = Download>) {
        self.downloads.lock().unwrap().extend(downloads);
    }

    fn log(&self, call: &str) {
        self.calls.lock().unwrap().push(call.to_owned());
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn next<T>(queue: &Mutex<VecDeque<T>>, what: &str) -> T {
        queue
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| panic!("the script has no more {what}"))
    }
}

impl VideoProvider for Scripted {
    /// It stands in for fal, the first provider of the default model.
    fn name(&self) -> &'static str {
        "fal"
    }
    fn calls_back(&self) -> bool {
        self.calls_back
    }
    /// The handle is the request's id.
    fn request_id(&self, handle: &str) -> Option<String> {
        Some(handle.to_owned())
    }
    fn submit<'a>(
        &'a self,
        req: &'a GenerationRequest<'a>,
    ) -> Answer<'a, Result<String, SubmitError>> {
        self.log(&format!(
            "submit {}",
            req.input["prompt"].as_str().unwrap_or_default()
        ));
        Box::pin(async move { Self::next(&self.submits, "submits") })
    }
    fn progress<'a>(&'a self, _handle: &'a str) -> Answer<'a, Result<Progress, ProviderError>> {
        self.log("progress");
        Box::pin(async move { Self::next(&self.progress, "progress answers") })
    }
    fn output<'a>(&'a self, _handle: &'a str) -> Answer<'a, Result<Output, ProviderError>> {
        self.log("output");
        Box::pin(async move {
            Ok(Output {
                url: "https://provider.invalid/output.mp4".into(),
                content_type: Some("video/mp4".into()),
                size: None,
            })
        })
    }
    fn download<'a>(
        &'a self,
        _output: &'a Output,
    ) -> Answer<'a, Result<ByteStream, ProviderError>> {
        self.log("download");
        Box::pin(async move {
            use futures_util::StreamExt;
            let stream: ByteStream = match Self::next(&self.downloads, "downloads") {
                Download::Whole(bytes) => {
                    Box::pin(futures_util::stream::iter([Ok(Bytes::from(bytes))]))
                }
                Download::BreaksAfter(bytes) => Box::pin(futures_util::stream::iter([
                    Ok(Bytes::from(bytes)),
                    Err(ProviderError::Transient("connection reset".into())),
                ])),
                Download::StallsAfter(bytes) => Box::pin(
                    futures_util::stream::iter([Ok(Bytes::from(bytes))])
                        .chain(futures_util::stream::pending()),
                ),
            };
            Ok(stream)
        })
    }
    fn cancel<'a>(&'a self, handle: &'a str) -> Answer<'a, Result<(), ProviderError>> {
        self.log(&format!("cancel {handle}"));
        Box::pin(async { Ok(()) })
    }
    fn delete<'a>(&'a self, handle: &'a str) -> Answer<'a, Result<(), ProviderError>> {
        self.log(&format!("delete {handle}"));
        Box::pin(async { Ok(()) })
    }
}

struct Bench {
    t: TestStack,
    provider: Arc<Scripted>,
    state: GenerateState,
    account: String,
}

impl Bench {
    async fn new() -> Self {
        Self::with(Scripted::default()).await
    }

    async fn with(provider: Scripted) -> Self {
        let t = TestStack::start_opts(|o| {
            o.consumers = false;
            o.policy.provider_download_deadline = Duration::from_secs(1);
        })
        .await;
        let provider = Arc::new(provider);
        let env = Env::from_map(t.stack.envs["generate"].clone());
        let state = GenerateState::new(
            generate::Services::with_providers(
                &t.stack.base,
                &env,
                Providers::of_list(vec![provider.clone()]),
            )
            .expect("generate's own environment builds it"),
        );
        let (_, account) = t.signed_in(&unique_email("step")).await;
        let b = Self {
            t,
            provider,
            state,
            account,
        };
        b.drain_queue().await;
        b
    }

    /// A new job as `videos` makes it (charged, queued), with its message taken out of
    /// the queue: the test hands the step its messages itself.
    async fn job(&self) -> String {
        let token = self.token().await;
        let r = self
            .t
            .submit_video(
                &token,
                json!({ "prompt": "a lighthouse in a storm", "seconds": 4 }),
                None,
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        self.drain_queue().await;
        r.body["id"].as_str().unwrap().to_owned()
    }

    async fn token(&self) -> String {
        // A fresh session of the same account.
        let email = self
            .t
            .stack
            .functions
            .account
            .accounts
            .get(&self.account)
            .await
            .unwrap()
            .unwrap()
            .email;
        self.t.signed_in(&email).await.0
    }

    /// One step with the message of the job's current polling chain.
    async fn step(&self, job_id: &str) -> Result<(), shared::edge::queue_batch::StepError> {
        let token = self
            .state
            .videos
            .get(job_id)
            .await
            .unwrap()
            .unwrap()
            .poll_token;
        let mut message = SqsMessage::default();
        message.message_id = Some(format!("m-{}", uuid::Uuid::new_v4()));
        message.body = Some(json!({ "job_id": job_id, "token": token }).to_string());
        self.state.step(&message).await
    }

    /// One step with a completion call's message about `request_id`.
    async fn completed(
        &self,
        job_id: &str,
        request_id: &str,
    ) -> Result<(), shared::edge::queue_batch::StepError> {
        let mut message = SqsMessage::default();
        message.message_id = Some(format!("m-{}", uuid::Uuid::new_v4()));
        message.body = Some(json!({ "job_id": job_id, "completed": request_id }).to_string());
        self.state.step(&message).await
    }

    async fn status(&self, job_id: &str) -> (JobStatus, Option<String>, u32) {
        let j = self.state.videos.get(job_id).await.unwrap().unwrap();
        (j.status, j.error, j.submits)
    }

    /// (visible, delayed) messages of the generate queue.
    async fn queued(&self) -> (u64, u64) {
        self.t.queue_counts("GenerateQueue").await
    }

    async fn drain_queue(&self) {
        let _ = self
            .t
            .stack
            .aws
            .sqs()
            .purge_queue()
            .queue_url(self.t.table("GenerateQueue"))
            .send()
            .await;
    }

    /// Whether generate has stored the job's file (at its staging key, for `stamp`).
    async fn output_exists(&self, job_id: &str) -> bool {
        self.t
            .object_exists("OutputsBucket", &staging_key(job_id))
            .await
    }

    /// The file generate stored for the job.
    async fn staged(&self, job_id: &str) -> aws_sdk_s3::operation::head_object::HeadObjectOutput {
        self.t
            .stack
            .aws
            .s3()
            .head_object()
            .bucket(self.t.bucket("OutputsBucket"))
            .key(staging_key(job_id))
            .send()
            .await
            .expect("the file is staged")
    }

    async fn multipart_uploads_in_progress(&self) -> usize {
        self.t
            .stack
            .aws
            .s3()
            .list_multipart_uploads()
            .bucket(self.t.bucket("OutputsBucket"))
            .send()
            .await
            .unwrap()
            .uploads()
            .len()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_r11_a_submission_the_provider_refuses_rejects_the_job_with_one_refund() {
    let b = Bench::new().await;
    let id = b.job().await;
    b.provider.will_submit([Err(SubmitError::Refused)]);
    b.step(&id).await.unwrap();
    let (status, error, _) = b.status(&id).await;
    assert_eq!(status, JobStatus::Rejected);
    assert_eq!(error.as_deref(), Some("provider_refused"));
    assert_eq!(b.t.entries_for(&b.account, "refund", &id).await, 1);
    assert_eq!(b.queued().await, (0, 0), "nothing more to do");
    // The same message again changes nothing.
    b.step(&id).await.unwrap();
    assert_eq!(b.t.entries_for(&b.account, "refund", &id).await, 1);
    assert_eq!(b.provider.calls(), ["submit a lighthouse in a storm"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_a_busy_provider_is_asked_again_no_sooner_than_its_retry_after() {
    let b = Bench::new().await;
    let id = b.job().await;
    b.provider.will_submit([Err(SubmitError::Throttled {
        after: Some(Duration::from_secs(120)),
    })]);
    b.step(&id).await.unwrap();
    let (status, _, submits) = b.status(&id).await;
    assert_eq!((status, submits), (JobStatus::Queued, 1));
    // One new message, held back (SQS delays it; it is not visible yet).
    assert_eq!(b.queued().await, (0, 1));
    let received =
        b.t.stack
            .aws
            .sqs()
            .receive_message()
            .queue_url(b.t.table("GenerateQueue"))
            .send()
            .await
            .unwrap();
    assert!(received.messages().is_empty(), "not before Retry-After");
    assert_eq!(b.t.entries_for(&b.account, "refund", &id).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_r11_a_job_pending_past_the_deadline_fails_is_cancelled_and_refunded_once() {
    let b = Bench::new().await;
    let id = b.job().await;
    b.provider.will_submit([Ok("handle-1".into())]);
    b.provider
        .will_report([Ok(Progress::Pending), Ok(Progress::Pending)]);
    b.step(&id).await.unwrap();
    assert_eq!(b.status(&id).await.0, JobStatus::Generating);
    b.step(&id).await.unwrap();
    b.step(&id).await.unwrap();
    assert_eq!(
        b.status(&id).await.0,
        JobStatus::Generating,
        "still pending"
    );
    b.t.clock
        .advance(b.t.stack.base.policy.generation_deadline + Duration::from_secs(1));
    b.step(&id).await.unwrap();
    let (status, error, _) = b.status(&id).await;
    assert_eq!(
        (status, error.as_deref()),
        (JobStatus::Failed, Some("timed_out"))
    );
    assert_eq!(b.t.entries_for(&b.account, "refund", &id).await, 1);
    assert!(b.provider.calls().contains(&"cancel handle-1".to_owned()));
    // A late copy of the message: no second refund, no provider call.
    let calls = b.provider.calls().len();
    b.step(&id).await.unwrap();
    assert_eq!(b.t.entries_for(&b.account, "refund", &id).await, 1);
    assert_eq!(b.provider.calls().len(), calls);
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_r21_a_completed_video_is_stored_marked_ai_generated() {
    let b = Bench::new().await;
    let id = b.job().await;
    b.provider.will_submit([Ok("handle-2".into())]);
    b.provider.will_report([Ok(Progress::Completed)]);
    b.provider.will_download([Download::Whole(vec![7u8; 4096])]);
    b.step(&id).await.unwrap();
    b.step(&id).await.unwrap();
    let head = b.staged(&id).await;
    assert_eq!(head.content_length(), Some(4096));
    let meta = head.metadata().unwrap();
    assert_eq!(meta["ai-generated"], "true");
    assert_eq!(meta["generator"], "fal");
    assert_eq!(meta["model"], "fal-ai/veo3.1");
    assert_eq!(meta["job-id"], id);
    // `stamp` and `deliver` (fed by the bucket's events) make it ready; generate
    // leaves it be.
    assert_eq!(b.status(&id).await.0, JobStatus::Generating);
    assert_eq!(b.t.entries_for(&b.account, "refund", &id).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_a_download_that_breaks_half_way_leaves_no_partial_file_and_is_retried() {
    let b = Bench::new().await;
    let id = b.job().await;
    b.provider.will_submit([Ok("handle-3".into())]);
    b.provider
        .will_report([Ok(Progress::Completed), Ok(Progress::Completed)]);
    // More than one part, so the break comes in the middle of a multipart upload.
    b.provider.will_download([
        Download::BreaksAfter(vec![1u8; PART_SIZE + 1024]),
        Download::Whole(vec![2u8; 2048]),
    ]);
    b.step(&id).await.unwrap();
    b.drain_queue().await;
    b.step(&id).await.unwrap();
    assert!(!b.output_exists(&id).await, "no partial output");
    assert_eq!(b.multipart_uploads_in_progress().await, 0, "aborted");
    assert_eq!(b.status(&id).await.0, JobStatus::Generating);
    let (visible, delayed) = b.queued().await;
    assert_eq!(visible + delayed, 1, "looked at again later");
    // The next look stores the whole file.
    b.step(&id).await.unwrap();
    assert_eq!(b.staged(&id).await.content_length(), Some(2048));
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_a_stalled_download_ends_at_its_deadline_not_at_the_functions_timeout() {
    let b = Bench::new().await;
    let id = b.job().await;
    b.provider.will_submit([Ok("handle-4".into())]);
    b.provider.will_report([Ok(Progress::Completed)]);
    b.provider
        .will_download([Download::StallsAfter(vec![3u8; PART_SIZE + 10])]);
    b.step(&id).await.unwrap();
    b.drain_queue().await;
    let started = std::time::Instant::now();
    b.step(&id).await.unwrap();
    let took = started.elapsed();
    let deadline = b.t.stack.base.policy.provider_download_deadline;
    assert!(
        took >= deadline && took < deadline + Duration::from_secs(5),
        "{took:?}"
    );
    assert!(!b.output_exists(&id).await);
    assert_eq!(b.multipart_uploads_in_progress().await, 0, "aborted");
    assert_eq!(b.status(&id).await.0, JobStatus::Generating);
    let (visible, delayed) = b.queued().await;
    assert_eq!(visible + delayed, 1, "looked at again later");
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_a_provider_that_calls_back_is_not_polled_and_each_call_looks_once() {
    let b = Bench::with(Scripted {
        calls_back: true,
        ..Scripted::default()
    })
    .await;
    let id = b.job().await;
    b.provider.will_submit([Ok("req-1".into())]);
    b.step(&id).await.unwrap();
    assert_eq!(b.status(&id).await.0, JobStatus::Generating);
    // No polling chain: the provider will call (and `sweep` is the fallback).
    assert_eq!(b.queued().await, (0, 0));
    // A look from the sweep while it is still pending: nothing more is queued either.
    b.provider.will_report([Ok(Progress::Pending)]);
    b.step(&id).await.unwrap();
    assert_eq!(b.queued().await, (0, 0));

    // A call about another request (someone else's, or forged): no provider call.
    b.completed(&id, "req-other").await.unwrap();
    assert_eq!(
        b.provider.calls(),
        ["submit a lighthouse in a storm", "progress"]
    );

    // Called while the status still says pending (it lags the call): the call's message
    // comes back; nothing else is queued.
    b.provider.will_report([Ok(Progress::Pending)]);
    assert!(matches!(
        b.completed(&id, "req-1").await,
        Err(shared::edge::queue_batch::StepError::Retry(_))
    ));
    assert_eq!(b.queued().await, (0, 0), "no chain");

    // A passing failure sends the call's message back rather than starting a chain.
    b.provider
        .will_report([Err(ProviderError::Transient("503".into()))]);
    assert!(matches!(
        b.completed(&id, "req-1").await,
        Err(shared::edge::queue_batch::StepError::Retry(_))
    ));
    assert_eq!(b.queued().await, (0, 0));

    // Done: the output is stored at once, and a repeated call changes nothing.
    b.provider
        .will_report([Ok(Progress::Completed), Ok(Progress::Completed)]);
    b.provider
        .will_download([Download::Whole(b"video".to_vec())]);
    b.completed(&id, "req-1").await.unwrap();
    assert!(b.output_exists(&id).await);
    b.completed(&id, "req-1").await.unwrap();
    let downloads = b
        .provider
        .calls()
        .iter()
        .filter(|c| *c == "download")
        .count();
    assert_eq!(downloads, 1);
    assert_eq!(b.queued().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_a_message_that_comes_before_its_job_is_looked_at_again_and_an_orphan_is_dropped() {
    let b = Bench::new().await;
    let now = b.t.clock.epoch_secs();
    let step = |job_id: &str, sent: i64| {
        let mut message = SqsMessage::default();
        message.message_id = Some(format!("m-{}", uuid::Uuid::new_v4()));
        message.body =
            Some(json!({ "job_id": job_id, "token": "t-1", "sent_epoch": sent }).to_string());
        message
    };
    // The submission's message, before its job's commit: sent again, a second later.
    let id = shared::domain::video::job_id("acc_x", None);
    b.state.step(&step(&id, now)).await.unwrap();
    assert_eq!(b.queued().await, (0, 1), "looked at again, delayed");
    b.drain_queue().await;
    // Older than `requeue_after`: its job was never committed; dropped.
    let old = now - b.t.stack.base.policy.requeue_after.as_secs() as i64;
    b.state.step(&step(&id, old)).await.unwrap();
    assert_eq!(b.queued().await, (0, 0), "dropped");
    assert!(b.provider.calls().is_empty(), "no provider was asked");
    // Once the job is there, the same kind of message is a look at it.
    let real = b.job().await;
    b.provider.will_submit([Ok("handle-early".into())]);
    b.step(&real).await.unwrap();
    assert_eq!(b.status(&real).await.0, JobStatus::Generating);
}
