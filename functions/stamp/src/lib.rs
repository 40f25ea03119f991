//! `stamp` (SQS, fed by the outputs bucket's ObjectCreated events under `staging/`):
//! signs content credentials into each finished video (R41) — a C2PA manifest saying
//! it was made by a trained algorithm, signed with a KMS key — and writes the result as
//! the job's output, whose own event feeds `deliver`.
//!
//! At-least-once: the output is written only by this step and the staging file
//! deleted after it, so a copy of the event finds the output there (and only tidies
//! up) or the staging file gone (and does nothing). A file that cannot be stamped ends
//! its job with one refund; a KMS outage is retried through the queue, within the
//! job's deadline that `sweep` enforces.

mod embed;
pub mod manifest;
pub mod signer;
mod state;

use aws_lambda_events::event::sqs::SqsMessage;
use shared::adapters::s3::ObjectMeta;
use shared::domain::video::{JobStatus, job_id_of_staging, output_key};
use shared::edge::queue_batch::{QueueStep, StepError};
use shared::edge::s3_events::{ObjectCreated, for_each_object};

pub use embed::{EmbedError, embed};
pub use state::StampState;

/// The error a job shows when its file could not be stamped.
pub const UNSTAMPABLE: &str = "output_refused";

impl QueueStep for crate::state::Services {
    const FUNCTION: &'static str = "stamp";

    async fn step(&self, message: &SqsMessage) -> Result<(), StepError> {
        for_each_object(
            message.body.as_deref(),
            job_id_of_staging,
            |object| async move { stamp(self, &object).await },
        )
        .await
    }
}

pub async fn stamp(
    state: &crate::state::Services,
    object: &ObjectCreated,
) -> Result<(), StepError> {
    let bucket = &state.outputs_bucket;
    if object.bucket != *bucket {
        return Ok(());
    }
    let Some(job_id) = job_id_of_staging(&object.key) else {
        tracing::warn!("staged object that is no job's file ignored");
        return Ok(());
    };
    let output = output_key(job_id);
    let (job, stamped) = tokio::join!(state.videos.get(job_id), state.blobs.head(bucket, &output));
    let job = job.map_err(StepError::retry)?;
    let discard = || async {
        state
            .blobs
            .delete(bucket, &object.key)
            .await
            .map_err(StepError::retry)
    };
    // Stamped by an earlier copy of this event: only the staging file is left.
    if stamped.map_err(StepError::retry)?.is_some() {
        return discard().await;
    }
    // No job, or one that ended (deleted, failed by `sweep`) while the file was
    // coming: the file must not outlive it.
    let job = match job {
        Some(j) if j.status.is_active() => j,
        other => {
            tracing::info!(
                status = other.as_ref().map_or("none", |j| j.status.as_str()),
                "staged file of an ended job removed"
            );
            return discard().await;
        }
    };
    let scratch = embed::Scratch::new(&state.scratch, job_id);
    let Some(staged) = state
        .blobs
        .download_to(bucket, &object.key, &scratch.input)
        .await
        .map_err(StepError::retry)?
    else {
        // Gone: another copy of this event stamped it and removed it.
        return Ok(());
    };
    let said = |k: &str| staged.metadata.get(k).cloned().unwrap_or_default();
    let facts = manifest::Facts {
        provider: said("generator"),
        model: said("model"),
        created: state.clock.now(),
    };
    let started = std::time::Instant::now();
    let signer = signer::KmsSigner::new(&state.key, &state.certs);
    if let Err(e) = embed(&signer, &facts, &scratch.input, &scratch.output).await {
        if let Some(kms) = signer.failure() {
            return Err(StepError::Retry(format!("signing unavailable: {kms}")));
        }
        if let EmbedError::Scratch(reason) = &e {
            return Err(StepError::Retry(format!("scratch space: {reason}")));
        }
        tracing::warn!(event = "stamp_refused", job_id = %job.id, reason = %e, "file cannot be stamped");
        state
            .jobs
            .end(&job, JobStatus::Failed, Some(UNSTAMPABLE))
            .await?;
        return discard().await;
    }
    let meta = ObjectMeta {
        content_type: "video/mp4",
        metadata: &[
            ("ai-generated", "true"),
            ("content-credentials", "c2pa"),
            ("job-id", &job.id),
            ("generator", &facts.provider),
            ("model", &facts.model),
        ],
    };
    let bytes = state
        .blobs
        .upload_file(bucket, &output, meta, &scratch.output)
        .await
        .map_err(StepError::retry)?;
    let ms = started.elapsed().as_millis() as u64;
    tracing::info!(
        event = "video_stamped",
        job_id = %job.id,
        bytes,
        ms,
        "content credentials signed"
    );
    shared::adapters::metrics::emit(
        shared::adapters::metrics::Metric::StampingTime,
        ms as f64,
        &[],
    );
    discard().await
}
