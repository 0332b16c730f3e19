//! The RFC 5322 form of an outgoing e-mail: multipart/alternative (text, then HTML), the
//! Message-ID on the sending domain, and the extra headers (List-Unsubscribe, …).

use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use scaliyo_store::{MailError, OutgoingEmail};

fn mailbox(name: Option<&str>, email: &str) -> Result<Mailbox, MailError> {
    let address = email
        .parse()
        .map_err(|e| MailError::Rejected(format!("invalid address {email:?}: {e}")))?;
    Ok(Mailbox::new(
        name.filter(|n| !n.is_empty()).map(str::to_owned),
        address,
    ))
}

pub fn build(email: &OutgoingEmail) -> Result<Message, MailError> {
    let mut builder = Message::builder()
        .message_id(Some(format!("<{}>", email.message_id)))
        .from(mailbox(Some(&email.from_name), &email.from_email)?)
        .to(mailbox(email.to_name.as_deref(), &email.to_email)?)
        .subject(email.subject.clone());
    for (name, value) in &email.headers {
        if let Ok(name) = HeaderName::new_from_ascii(name.clone()) {
            builder = builder.raw_header(HeaderValue::new(name, value.clone()));
        }
    }
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(email.text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(email.html.clone()),
        );
    builder
        .multipart(body)
        .map_err(|e| MailError::Rejected(format!("cannot build the message: {e}")))
}

/// The message as bytes (for the Gmail API's `raw` and the outbox's .eml files).
pub fn to_bytes(email: &OutgoingEmail) -> Result<Vec<u8>, MailError> {
    Ok(build(email)?.formatted())
}
