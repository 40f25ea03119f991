//! Mail through SES: service mail (sign-in codes, notices), plain; and marketing mail
//! (R24), only with consent, always with the one-click unsubscribe of RFC 8058.

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
    client: super::aws::OnDemand<Client>,
    from: String,
}

pub struct Email<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
}

/// A marketing email: its one-click unsubscribe URL (the API's) goes in the
/// `List-Unsubscribe` / `List-Unsubscribe-Post` headers (RFC 8058), so mail clients
/// offer one-click unsubscribe; the link in the text opens the website's unsubscribe
/// page, which a person can read before anything changes.
pub struct MarketingEmail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub unsubscribe_url: &'a str,
    pub unsubscribe_page_url: &'a str,
}

fn mail_error<E: ProvideErrorMetadata>(e: E) -> MailError {
    match e.code() {
        Some(code @ ("MessageRejected" | "BadRequestException")) => {
            MailError::Rejected(code.to_owned())
        }
        other => MailError::Send(other.unwrap_or("dispatch_failure").to_owned()),
    }
}

/// A header value with no line breaks (no header injection).
fn one_line(v: &str) -> String {
    v.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

impl Mailer {
    pub fn new(client: super::aws::OnDemand<Client>, from: impl Into<String>) -> Self {
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
            .map_err(mail_error)?;
        Ok(out.message_id.unwrap_or_default())
    }

    /// Sends a service email whose replies go to `reply_to` (support messages).
    pub async fn send_with_reply_to(
        &self,
        email: Email<'_>,
        reply_to: &str,
    ) -> Result<String, MailError> {
        let message = Message::builder()
            .subject(
                Content::builder()
                    .data(email.subject)
                    .charset("UTF-8")
                    .build()
                    .map_err(|_| MailError::Build)?,
            )
            .body(
                Body::builder()
                    .text(
                        Content::builder()
                            .data(email.text)
                            .charset("UTF-8")
                            .build()
                            .map_err(|_| MailError::Build)?,
                    )
                    .build(),
            )
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .reply_to_addresses(reply_to)
            .destination(Destination::builder().to_addresses(email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(mail_error)?;
        Ok(out.message_id.unwrap_or_default())
    }

    /// Sends a marketing email as a raw MIME message, since its headers are ours to set.
    pub async fn send_marketing(&self, email: MarketingEmail<'_>) -> Result<String, MailError> {
        let url = one_line(email.unsubscribe_url);
        let page = one_line(email.unsubscribe_page_url);
        let mime = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\
             List-Unsubscribe: <{url}>\r\n\
             List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n\
             {text}\r\n\r\nUnsubscribe: {page}\r\n",
            from = one_line(&self.from),
            to = one_line(email.to),
            subject = one_line(email.subject),
            text = email.text.replace("\r\n", "\n").replace('\n', "\r\n"),
        );
        let raw = aws_sdk_sesv2::types::RawMessage::builder()
            .data(aws_sdk_sesv2::primitives::Blob::new(mime.into_bytes()))
            .build()
            .map_err(|_| MailError::Build)?;
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(email.to).build())
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await
            .map_err(mail_error)?;
        Ok(out.message_id.unwrap_or_default())
    }
}
