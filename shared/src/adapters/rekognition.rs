//! Image screening with Amazon Rekognition (R45): moderation labels and faces' apparent
//! ages, for an upload in the inputs bucket. Rekognition reads the image from S3 itself
//! (an `S3Object`), so the image never passes through the function; both questions are
//! asked at once, one round trip.

use aws_sdk_rekognition::error::ProvideErrorMetadata;
use aws_sdk_rekognition::types::{Attribute, Image, S3Object};

use super::aws::OnDemand;
use crate::domain::moderation::{AgeRange, Findings, Label};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScreeningError {
    /// Rekognition cannot be reached, throttles or fails: the image is refused for now
    /// (503), never let through unscreened.
    #[error("image screening unavailable: {0}")]
    Unavailable(String),
    /// Rekognition cannot read this image (its format, size or dimensions): it cannot
    /// be screened, so it cannot be used.
    #[error("the image cannot be screened: {0}")]
    Unreadable(String),
}

#[derive(Clone, Debug)]
pub struct ImageScreening {
    client: OnDemand<aws_sdk_rekognition::Client>,
    bucket: String,
    min_confidence: f32,
}

/// Rekognition's answers that say the image itself is the problem, not the service.
/// Source: Amazon Rekognition API Reference, DetectModerationLabels and DetectFaces,
/// "Errors"; read 2026-12-07.
const IMAGE_ERRORS: &[&str] = &[
    "InvalidImageFormatException",
    "ImageTooLargeException",
    "InvalidS3ObjectException",
    "InvalidParameterException",
];

fn failure<E: ProvideErrorMetadata>(
    e: aws_sdk_rekognition::error::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> ScreeningError {
    match e.as_service_error().and_then(|s| s.code()) {
        Some(code) if IMAGE_ERRORS.contains(&code) => ScreeningError::Unreadable(code.to_owned()),
        Some(code) => ScreeningError::Unavailable(code.to_owned()),
        None => ScreeningError::Unavailable(super::dynamo::sdk_failure_kind(&e).to_owned()),
    }
}

impl ImageScreening {
    /// `min_confidence`: the policy's, in percent; labels below it are not asked for.
    pub fn new(
        client: OnDemand<aws_sdk_rekognition::Client>,
        bucket: impl Into<String>,
        min_confidence: u32,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            min_confidence: min_confidence as f32,
        }
    }

    /// What Rekognition finds in the upload at `key`.
    pub async fn screen(&self, key: &str) -> Result<Findings, ScreeningError> {
        let image = Image::builder()
            .s3_object(S3Object::builder().bucket(&self.bucket).name(key).build())
            .build();
        let (labels, faces) = tokio::join!(
            self.client
                .detect_moderation_labels()
                .image(image.clone())
                .min_confidence(self.min_confidence)
                .send(),
            self.client
                .detect_faces()
                .image(image)
                .attributes(Attribute::AgeRange)
                .send()
        );
        let labels = labels.map_err(failure)?;
        let faces = faces.map_err(failure)?;
        Ok(Findings {
            labels: labels
                .moderation_labels()
                .iter()
                .map(|l| Label {
                    name: l.name().unwrap_or_default().to_owned(),
                    parent: l.parent_name().unwrap_or_default().to_owned(),
                    confidence: l.confidence().unwrap_or_default(),
                })
                .collect(),
            faces: faces
                .face_details()
                .iter()
                .map(|f| {
                    let range = f.age_range();
                    AgeRange {
                        low: range.and_then(|r| r.low()).unwrap_or(0).max(0) as u32,
                        high: range.and_then(|r| r.high()).unwrap_or(0).max(0) as u32,
                    }
                })
                .collect(),
        })
    }
}
