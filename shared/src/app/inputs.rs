//! A job's input image, deleted once nothing needs it: the job that is done with it
//! (deleted, ready, failed) lets its upload go, and the image is deleted unless another
//! job made from the same upload (a video made again) is still being made; that job's
//! own end deletes it then (R15).

use crate::adapters::dynamo::StoreError;
use crate::adapters::dynamo::videos::VideoStore;
use crate::adapters::s3::{BlobError, Blobs};
use crate::domain::video::Job;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

/// Deletes `job`'s input unless another job still uses it; whether it was deleted.
/// Safe to run again: a job lets its upload go once, whatever the number of runs.
pub async fn drop_input(
    videos: &VideoStore,
    blobs: &Blobs,
    bucket: &str,
    job: &Job,
) -> Result<bool, InputError> {
    let Some(input) = &job.input_key else {
        return Ok(false);
    };
    if let Some(upload) = &job.upload_id
        && !videos.release_upload(upload, Some(job.id.as_str())).await?
    {
        return Ok(false);
    }
    blobs.delete(bucket, input).await?;
    Ok(true)
}
