//! The RFC 5322 form of an outgoing e-mail: multipart/alternative (text, then HTML), the
//! Message-ID on the sending domain, and the extra headers (List-Unsubscribe, …).

use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use scaliyo_store::{MailError, OutgoingEmail};

/// A header value as one line: CR, LF and other control characters (a lead named
/// "Eve\r\nBcc: …" merged into a subject or a display name) become spaces, so no value can
/// start a header of its own — and the header encoder never meets a line break it cannot fold.
pub fn one_line(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn mailbox(name: Option<&str>, email: &str) -> Result<Mailbox, MailError> {
    let address = email
        .parse()
        .map_err(|e| MailError::Rejected(format!("invalid address {email:?}: {e}")))?;
    Ok(Mailbox::new(
        name.filter(|n| !n.is_empty()).map(one_line),
        address,
    ))
}

pub fn build(email: &OutgoingEmail) -> Result<Message, MailError> {
    let mut builder = Message::builder()
        .message_id(Some(format!("<{}>", email.message_id)))
        .from(mailbox(Some(&email.from_name), &email.from_email)?)
        .to(mailbox(email.to_name.as_deref(), &email.to_email)?)
        .subject(one_line(&email.subject));
    for (name, value) in &email.headers {
        if let Ok(name) = HeaderName::new_from_ascii(name.clone()) {
            builder = builder.raw_header(HeaderValue::new(name, one_line(value)));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn email(subject: &str, to_name: &str) -> OutgoingEmail {
        OutgoingEmail {
            message_id: "m1@mail.example".into(),
            from_name: "Ada\r\nBcc: x@evil.example".into(),
            from_email: "ada@mail.example".into(),
            to_name: Some(to_name.into()),
            to_email: "grace@navy.example".into(),
            subject: subject.into(),
            text: "hi".into(),
            html: "<p>hi</p>".into(),
            headers: vec![(
                "List-Unsubscribe".into(),
                "<https://t.example/u/x>\r\nX-Evil: 1".into(),
            )],
            scaliyo_message_id: "m1".into(),
        }
    }

    #[test]
    fn line_breaks_in_values_never_start_a_header() {
        let bytes = to_bytes(&email(
            "Hello Eve\r\nBcc: victim@example.com",
            "Eve\nX-Evil: 1",
        ))
        .expect("a message");
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines() {
            let lower = line.to_ascii_lowercase();
            assert!(
                !lower.starts_with("bcc:") && !lower.starts_with("x-evil:"),
                "{line}"
            );
        }
    }
}
