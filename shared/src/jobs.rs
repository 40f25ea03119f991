//! Ending a job, shared by every step that can: the status change and, when the job
//! was still active, the refund of its cost, in one transaction (R11). A job ends once;
//! a second attempt fails its condition and changes nothing.

use crate::clock::rfc3339;
use crate::domain::ledger::EntryKind;
use crate::domain::video::{JOB_ID_PREFIX, JobStatus, is_id};
use crate::state::VideoState;
use crate::store::videos::Job;
use crate::store::{StoreError, transact};

/// Key of a job's output in the outputs bucket; the `deliver` step reads the job id
/// back from it.
pub fn output_key(job_id: &str) -> String {
    format!("videos/{job_id}.mp4")
}

/// The job id an output key names, if it is one.
pub fn job_id_of_output(key: &str) -> Option<&str> {
    key.strip_prefix("videos/")?
        .strip_suffix(".mp4")
        .filter(|id| is_id(JOB_ID_PREFIX, id))
}

/// Ends `job` (as read) in `to`. `Ok(false)` if it had already moved on.
pub async fn end(
    state: &VideoState,
    job: &Job,
    to: JobStatus,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let at = rfc3339(state.core.clock.now());
    let mut writes = vec![state.videos.end_write(job, to, error, &at)?];
    let refund = to.refunds() && job.status.is_active();
    if refund {
        writes.extend(state.core.ledger.effect_writes(
            &job.account_id,
            EntryKind::Refund,
            job.cost,
            &job.id,
            &at,
        )?);
    }
    match transact(&state.core.dynamodb, writes).await {
        Ok(()) => {
            tracing::info!(
                event = "job_ended",
                job_id = %job.id,
                account_id = %job.account_id,
                status = to.as_str(),
                reason = error.unwrap_or(""),
                refunded = refund,
                "job ended"
            );
            Ok(true)
        }
        Err(e) if e.is_condition_failure() => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keys_name_their_job() {
        let id = "vid_0123456789abcdef0123456789abcdef";
        assert_eq!(job_id_of_output(&output_key(id)), Some(id));
        assert_eq!(job_id_of_output("videos/vid_abc123.mp4"), None);
        assert_eq!(job_id_of_output("videos/../x.mp4"), None);
        assert_eq!(job_id_of_output("other/vid_1.mp4"), None);
    }
}
