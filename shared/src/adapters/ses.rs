//! Service mail through SES (sign-in codes, notices). Never marketing: that needs
//! consent and an unsubscribe link, and goes elsewhere.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// SES will not send to this address (`MessageRejected`, `BadRequestException`):
    /// retrying cannot help.
    #[error("ses refused the message: {0}")]
    Rejected(String),
    /// Carries SES's error code only: SES messages can quote the recipient's address.
    #[error("ses: {0}")]
    Send(String),
    #[error("ses: could not build the message")]
    Build,
}

#[derive(Clone, Debug)]
pub struct Mailer {
    client: Client,
    from: String,
}

pub struct Email<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
}

impl Mailer {
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
        }
    }

    /// Sends a plain-text email; returns SES's message id.
    pub async fn send(&self, email: Email<'_>) -> Result<String, MailError> {
        let content = |text: &str| {
            Content::builder()
                .data(text)
                .charset("UTF-8")
                .build()
                .map_err(|_| MailError::Build)
        };
        let message = Message::builder()
            .subject(content(email.subject)?)
            .body(Body::builder().text(content(email.text)?).build())
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| match e.code() {
                Some(code @ ("MessageRejected" | "BadRequestException")) => {
                    MailError::Rejected(code.to_owned())
                }
                other => MailError::Send(other.unwrap_or("dispatch_failure").to_owned()),
            })?;
        Ok(out.message_id.unwrap_or_default())
    }
}
