//! Removing a video, one way for whoever removes it: its owner (`DELETE
//! /v1/videos/{id}`, R15) or an operator (`operator remove-video`, R20). The input and
//! the output go at once; the job ends `deleted`, with its cost given back if it was
//! still being made (R11); a request still at the provider is stopped and the
//! provider's copy dropped (R16).

use crate::adapters::dynamo::StoreError;
use crate::adapters::s3::{BlobError, Blobs};
use crate::adapters::sqs::{GenerateMessage, Queue};
use crate::app::jobs::Jobs;
use crate::domain::ids::{AccountId, JobId};
use crate::domain::video::Job;
use crate::domain::video::{JobStatus, outputs_of};

impl From<crate::app::inputs::InputError> for RemovalError {
    fn from(e: crate::app::inputs::InputError) -> Self {
        match e {
            crate::app::inputs::InputError::Store(e) => Self::Store(e),
            crate::app::inputs::InputError::Blob(e) => Self::Blob(e),
        }
    }
}

/// What removing a video needs, held by the functions and tools that remove them.
#[derive(Clone, Debug)]
pub struct VideoRemoval {
    pub jobs: Jobs,
    pub blobs: Blobs,
    pub inputs_bucket: String,
    pub outputs_bucket: String,
    /// `generate`'s queue: it is asked to look at a removed job that was still being
    /// made, and stops the provider's request.
    pub generate_queue: Queue,
}

#[derive(Debug, thiserror::Error)]
pub enum RemovalError {
    /// No such video, or (for its owner's removal) not theirs: the same answer, so
    /// another person's video is not told apart from none (R36).
    #[error("no such video")]
    NotFound,
    /// The job kept moving on (generating → ready → …) between reads: try again.
    #[error("the video kept changing")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

/// Who removes a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovedBy<'a> {
    /// Its owner (the account), who may remove only their own.
    Owner(&'a AccountId),
    /// An operator, who may remove any (and records why, R20).
    Operator,
}

/// A video removed, now or before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// Whose it was.
    pub account_id: String,
    /// Removed by this call (false: it had been removed before).
    pub now: bool,
}

/// How one attempt on a job as read went.
enum Attempt {
    Now,
    Already,
    /// The job moved on (say generating → ready) between the read and the write.
    MovedOn,
}

impl VideoRemoval {
    /// Removes the video `id`: read, removed, and read again if it moved on meanwhile
    /// (twice at most, then `Busy`). A removal done before answers as done.
    pub async fn remove(&self, id: &JobId, by: RemovedBy<'_>) -> Result<Removed, RemovalError> {
        for _ in 0..2 {
            let job = self
                .jobs
                .videos
                .get(id)
                .await?
                .filter(|j| match by {
                    RemovedBy::Owner(account) => j.account_id == *account,
                    RemovedBy::Operator => true,
                })
                .ok_or(RemovalError::NotFound)?;
            let now = match self.remove_as_read(&job).await? {
                Attempt::Now => true,
                Attempt::Already => false,
                Attempt::MovedOn => continue,
            };
            return Ok(Removed {
                account_id: job.account_id.into(),
                now,
            });
        }
        Err(RemovalError::Busy)
    }

    /// Removes `job`, as read. The files go first: a crash after them leaves a job
    /// that a retry removes, never a deleted job whose files are still kept.
    async fn remove_as_read(&self, job: &Job) -> Result<Attempt, RemovalError> {
        if job.status == JobStatus::Deleted {
            return Ok(Attempt::Already);
        }
        crate::app::inputs::drop_input(&self.jobs.videos, &self.blobs, &self.inputs_bucket, job)
            .await?;
        // The output's keys are known even before they exist; a file that lands after
        // this is removed by `stamp` or `deliver`, which find the job deleted.
        self.blobs
            .delete_each(&self.outputs_bucket, &outputs_of(&job.id))
            .await?;
        // R49: its share link ends with it.
        if let Some(share) = &job.share {
            self.jobs.videos.delete_share(&share.hash).await?;
        }
        if !self.jobs.end(job, JobStatus::Deleted, None).await? {
            return Ok(Attempt::MovedOn);
        }
        if job.status == JobStatus::Generating {
            self.stop_at_the_provider(&job.id).await;
        }
        Ok(Attempt::Now)
    }

    /// Asks `generate` to look at the job now: it finds it deleted, stops the
    /// provider's request and drops its copy (R16). A provider that calls back is not
    /// polled, so nothing else would look soon; if this send fails, `purge-expired`
    /// deletes the provider's copy on its next run.
    async fn stop_at_the_provider(&self, job_id: &str) {
        let message = GenerateMessage {
            job_id: job_id.to_owned(),
            token: None,
            completed: None,
            stop: false,
            sent_epoch: None,
        };
        if let Err(e) = self
            .generate_queue
            .send_generate(&message, std::time::Duration::ZERO)
            .await
        {
            tracing::warn!(job_id, error = %e, "could not ask generate to stop the provider");
        }
    }
}
