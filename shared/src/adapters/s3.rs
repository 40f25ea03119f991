//! S3: presigned links (R14, R17), existence checks, deletion, and streaming uploads
//! that never hold a whole file in memory.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

/// S3's smallest part but the last; parts are filled to this size, one at a time.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// S3's error code only.
    #[error("s3: {0}")]
    S3(String),
    #[error("reading the source failed: {0}")]
    Source(String),
    #[error("presigning failed")]
    Presign,
}

fn s3_err<E: ProvideErrorMetadata>(e: E) -> BlobError {
    BlobError::S3(e.code().unwrap_or("dispatch_failure").to_owned())
}

#[derive(Clone, Debug)]
pub struct Blobs {
    client: super::aws::OnDemand<Client>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub content_type: Option<String>,
    pub metadata: std::collections::HashMap<String, String>,
    /// When it was written (epoch seconds), if S3 said.
    pub written: Option<i64>,
}

/// What a stored video says about itself (R21).
pub struct ObjectMeta<'a> {
    pub content_type: &'a str,
    pub metadata: &'a [(&'a str, &'a str)],
}

impl Blobs {
    pub fn new(client: super::aws::OnDemand<Client>) -> Self {
        Self { client }
    }

    /// A PUT link that only accepts this content type and length (both are signed).
    pub async fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        size: u64,
        ttl: Duration,
    ) -> Result<String, BlobError> {
        let cfg = PresigningConfig::expires_in(ttl).map_err(|_| BlobError::Presign)?;
        let req = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .content_length(i64::try_from(size).unwrap_or(i64::MAX))
            .presigned(cfg)
            .await
            .map_err(|_| BlobError::Presign)?;
        Ok(req.uri().to_owned())
    }

    /// A GET link, optionally served as a download under `filename`.
    pub async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        ttl: Duration,
        filename: Option<&str>,
    ) -> Result<String, BlobError> {
        let cfg = PresigningConfig::expires_in(ttl).map_err(|_| BlobError::Presign)?;
        let mut get = self.client.get_object().bucket(bucket).key(key);
        if let Some(name) = filename {
            get = get.response_content_disposition(format!("attachment; filename=\"{name}\""));
        }
        let req = get.presigned(cfg).await.map_err(|_| BlobError::Presign)?;
        Ok(req.uri().to_owned())
    }

    /// Writes a small object whole (an export document), encrypted at rest.
    pub async fn put_bytes(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(aws_sdk_s3::primitives::ByteStream::from(body))
            .send()
            .await
            .map_err(s3_err)?;
        Ok(())
    }

    pub async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, BlobError> {
        match self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectInfo {
                size: u64::try_from(out.content_length().unwrap_or(0)).unwrap_or(0),
                content_type: out.content_type().map(str::to_owned),
                metadata: out.metadata().cloned().unwrap_or_default(),
                written: out.last_modified().map(|t| t.secs()),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(s3_err(e)),
        }
    }

    /// The first `n` bytes of an object (to check what a file really is).
    pub async fn first_bytes(&self, bucket: &str, key: &str, n: usize) -> Result<Bytes, BlobError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .range(format!("bytes=0-{}", n.saturating_sub(1)))
            .send()
            .await
            .map_err(s3_err)?;
        let data = out
            .body
            .collect()
            .await
            .map_err(|e| BlobError::Source(e.to_string()))?;
        Ok(data.into_bytes())
    }

    /// The keys of the objects of `bucket` last written before `before` (epoch
    /// seconds), at most `limit` of them. Lists the whole bucket: for buckets that hold
    /// only what is kept a day or three, so the cost grows with the work.
    pub async fn keys_older_than(
        &self,
        bucket: &str,
        before: i64,
        limit: usize,
    ) -> Result<Vec<String>, BlobError> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(s3_err)?;
            for object in page.contents() {
                let written = object.last_modified().map_or(i64::MAX, |t| t.secs());
                if written < before
                    && let Some(key) = object.key()
                {
                    keys.push(key.to_owned());
                    if keys.len() >= limit {
                        return Ok(keys);
                    }
                }
            }
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                return Ok(keys);
            }
        }
    }

    /// Streams an object into the file at `path` (created or truncated), one chunk at
    /// a time; `None` if there is no such object.
    pub async fn download_to(
        &self,
        bucket: &str,
        key: &str,
        path: &std::path::Path,
    ) -> Result<Option<ObjectInfo>, BlobError> {
        use std::io::Write;
        let out = match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(s3_err(e)),
        };
        let info = ObjectInfo {
            size: u64::try_from(out.content_length().unwrap_or(0)).unwrap_or(0),
            content_type: out.content_type().map(str::to_owned),
            metadata: out.metadata().cloned().unwrap_or_default(),
            written: out.last_modified().map(|t| t.secs()),
        };
        let local = |e: std::io::Error| BlobError::Source(e.kind().to_string());
        let mut file = std::fs::File::create(path).map_err(local)?;
        let mut body = out.body;
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| BlobError::Source(e.to_string()))?
        {
            file.write_all(&chunk).map_err(local)?;
        }
        file.sync_data().map_err(local)?;
        Ok(Some(info))
    }

    /// Uploads the file at `path` as [`Self::upload_stream`] does: a part in memory at
    /// a time.
    pub async fn upload_file(
        &self,
        bucket: &str,
        key: &str,
        meta: ObjectMeta<'_>,
        path: &std::path::Path,
    ) -> Result<u64, BlobError> {
        use std::io::Read;
        let file =
            std::fs::File::open(path).map_err(|e| BlobError::Source(e.kind().to_string()))?;
        let chunks = futures_util::stream::unfold(Some(file), |file| async move {
            let mut file = file?;
            let mut chunk = vec![0u8; 1024 * 1024];
            match file.read(&mut chunk) {
                Ok(0) => None,
                Ok(n) => {
                    chunk.truncate(n);
                    Some((Ok(Bytes::from(chunk)), Some(file)))
                }
                Err(e) => Some((Err(e), None)),
            }
        });
        self.upload_stream(bucket, key, meta, Box::pin(chunks))
            .await
    }

    /// Deletes an object; deleting one that is not there succeeds.
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), BlobError> {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(s3_err)?;
        Ok(())
    }

    /// Writes an object again in place (same bytes, type and metadata), so that S3
    /// announces it again (`ObjectCreated:Copy`) to whatever its events feed.
    pub async fn announce_again(
        &self,
        bucket: &str,
        key: &str,
        info: &ObjectInfo,
    ) -> Result<(), BlobError> {
        // S3 refuses a copy onto itself that changes nothing: the metadata is
        // "replaced" by the same metadata.
        let mut copy = self
            .client
            .copy_object()
            .bucket(bucket)
            .key(key)
            .copy_source(format!("{bucket}/{key}"))
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
            .set_content_type(info.content_type.clone());
        for (k, v) in &info.metadata {
            copy = copy.metadata(k, v);
        }
        copy.send().await.map_err(s3_err)?;
        Ok(())
    }

    /// Deletes several objects of one bucket at once (each may be absent).
    pub async fn delete_each(&self, bucket: &str, keys: &[String]) -> Result<(), BlobError> {
        futures_util::future::try_join_all(keys.iter().map(|key| self.delete(bucket, key)))
            .await
            .map(drop)
    }

    /// Streams `source` into `bucket/key`: one part of [`PART_SIZE`] in memory at a time
    /// (a single PUT when the whole source fits in one part). On failure the multipart
    /// upload is aborted, so no partial object or stray parts remain.
    pub async fn upload_stream<S, E>(
        &self,
        bucket: &str,
        key: &str,
        meta: ObjectMeta<'_>,
        mut source: S,
    ) -> Result<u64, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut buffer = BytesMut::with_capacity(PART_SIZE);
        let mut total = 0u64;
        // Fill the first part; a small file never starts a multipart upload.
        let mut ended = fill(&mut source, &mut buffer).await?;
        if ended {
            total += buffer.len() as u64;
            let mut put = self
                .client
                .put_object()
                .bucket(bucket)
                .key(key)
                .content_type(meta.content_type)
                .body(ByteStream::from(buffer.freeze()));
            for (k, v) in meta.metadata {
                put = put.metadata(*k, *v);
            }
            put.send().await.map_err(s3_err)?;
            return Ok(total);
        }
        let mut create = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type(meta.content_type);
        for (k, v) in meta.metadata {
            create = create.metadata(*k, *v);
        }
        let upload_id = create
            .send()
            .await
            .map_err(s3_err)?
            .upload_id
            .ok_or_else(|| BlobError::S3("no_upload_id".into()))?;
        let result: Result<Vec<CompletedPart>, BlobError> = async {
            let mut parts = Vec::new();
            loop {
                let number = i32::try_from(parts.len() + 1).unwrap_or(i32::MAX);
                let chunk =
                    std::mem::replace(&mut buffer, BytesMut::with_capacity(PART_SIZE)).freeze();
                total += chunk.len() as u64;
                let out = self
                    .client
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .body(ByteStream::from(chunk))
                    .send()
                    .await
                    .map_err(s3_err)?;
                parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(out.e_tag)
                        .build(),
                );
                if ended {
                    return Ok(parts);
                }
                ended = fill(&mut source, &mut buffer).await?;
                if buffer.is_empty() {
                    return Ok(parts);
                }
            }
        }
        .await;
        match result {
            Ok(parts) => {
                self.client
                    .complete_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(s3_err)?;
                Ok(total)
            }
            Err(e) => {
                let _ = self
                    .client
                    .abort_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                Err(e)
            }
        }
    }
}

/// Reads from `source` until `buffer` holds a whole part or the source ends; returns
/// whether it ended.
async fn fill<S, E>(source: &mut S, buffer: &mut BytesMut) -> Result<bool, BlobError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    while buffer.len() < PART_SIZE {
        match source.next().await {
            Some(Ok(chunk)) => buffer.extend_from_slice(&chunk),
            Some(Err(e)) => return Err(BlobError::Source(e.to_string())),
            None => return Ok(true),
        }
    }
    Ok(false)
}
