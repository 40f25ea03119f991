//! Embedding and signing the manifest into an MP4. C2PA reads and writes seekable
//! files, so the video goes through two scratch files (Lambda's `/tmp`), never whole
//! into memory.

use std::fs::{File, OpenOptions};
use std::io::Seek;
use std::path::{Path, PathBuf};

use c2pa::{Builder, Context, Reader};

use crate::manifest::{Facts, definition, provider_ingredient};
use crate::signer::KmsSigner;

const FORMAT: &str = "video/mp4";

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The scratch files could not be written or read.
    #[error("scratch file: {0}")]
    Scratch(String),
    /// C2PA refused: not an MP4, a corrupt one, or the signer failed.
    #[error("c2pa: {0}")]
    C2pa(#[from] c2pa::Error),
}

impl From<std::io::Error> for EmbedError {
    fn from(e: std::io::Error) -> Self {
        Self::Scratch(e.kind().to_string())
    }
}

/// Signs `facts` into the video at `source`, writing the stamped video to `dest`.
pub async fn embed(
    signer: &KmsSigner<'_>,
    facts: &Facts,
    source: &Path,
    dest: &Path,
) -> Result<(), EmbedError> {
    let mut builder = Builder::from_context(context()?).with_definition(definition(facts))?;
    let mut input = File::open(source)?;
    // The provider's own credentials, when its file has them, are kept as an
    // ingredient of ours (R21 keeps the provider's marks).
    if Reader::from_context(context()?)
        .with_stream(FORMAT, &mut input)
        .is_ok()
    {
        input.rewind()?;
        builder.add_ingredient_from_stream(
            provider_ingredient(facts).to_string(),
            FORMAT,
            &mut input,
        )?;
    }
    input.rewind()?;
    let mut output = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dest)?;
    builder
        .sign_async(signer, FORMAT, &mut input, &mut output)
        .await?;
    Ok(())
}

/// No check of our own signature after signing (C2PA verifies the COSE signature as
/// it makes it; an independent reader checks the whole file in the tests), and no
/// fetching of anything remote.
fn context() -> Result<Context, EmbedError> {
    Ok(Context::new().with_settings(
        r#"{"verify": {"verify_after_sign": false, "verify_trust": false, "ocsp_fetch": false, "remote_manifest_fetch": false}}"#,
    )?)
}

/// The two scratch files of one stamp, removed when it ends however it ends.
pub struct Scratch {
    pub input: PathBuf,
    pub output: PathBuf,
}

impl Scratch {
    pub fn new(dir: &Path, job_id: &str) -> Self {
        // A process stamps one job at a time per id; the random part keeps two copies
        // of one event (in one process) apart.
        let tag = format!("{job_id}-{:016x}", rand_tag());
        Self {
            input: dir.join(format!("{tag}.in.mp4")),
            output: dir.join(format!("{tag}.out.mp4")),
        }
    }
}

fn rand_tag() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.input);
        let _ = std::fs::remove_file(&self.output);
    }
}
