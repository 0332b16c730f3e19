//! An inbound message from its raw bytes or from a header list.

use chrono::{DateTime, Utc};
use mailparse::{MailHeaderMap, ParsedMail};

use super::classify::classify;
use super::dsn::{Bounce, report_of};
use super::text::{cap, message_ids, snippet_of_text, text_of_html};
use super::{InboundMessage, ReplyKind};

/// The most of a message parsed: a bounded prefix is enough for the headers, the snippet and
/// a bounce's report.
pub const MAX_PARSED_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the message has no header section")]
    NoHeaders,
}

/// A message from its raw bytes (possibly only a prefix of them: an IMAP partial fetch).
pub fn from_raw(raw: &[u8]) -> Result<InboundMessage, ParseError> {
    let raw = &raw[..raw.len().min(MAX_PARSED_BYTES)];
    let mail = mailparse::parse_mail(raw).map_err(|_| ParseError::NoHeaders)?;
    if mail.headers.is_empty() {
        return Err(ParseError::NoHeaders);
    }
    let headers: Vec<(String, String)> = mail
        .headers
        .iter()
        .map(|h| (h.get_key(), h.get_value()))
        .collect();
    let snippet = body_snippet(&mail);
    let bounce = report_of(&mail);
    Ok(build(&headers, snippet, bounce))
}

/// A message from its header list and a snippet the source made (Gmail's metadata format,
/// Mandrill's parsed `headers`).
pub fn from_headers(headers: &[(String, String)], snippet: &str) -> InboundMessage {
    let snippet = cap(&snippet_of_text(snippet));
    let bounce = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-failed-recipients"))
        .map(|(_, v)| Bounce {
            recipient: v.split(',').next().map(|r| r.trim().to_lowercase()),
            status: None,
            permanent: true,
            diagnostic: None,
            original_message_id: None,
        });
    build(headers, snippet, bounce)
}

fn build(headers: &[(String, String)], snippet: String, bounce: Option<Bounce>) -> InboundMessage {
    let first = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let (from_email, from_name) = first("from").map(sender_of).unwrap_or_default();
    let subject = cap(first("subject").unwrap_or_default());
    let mut references = first("references").map(message_ids).unwrap_or_default();
    references.reverse();
    let kind = classify(headers, &subject, from_email.as_deref());
    InboundMessage {
        message_id: first("message-id").and_then(|v| message_ids(v).into_iter().next()),
        in_reply_to: first("in-reply-to").map(message_ids).unwrap_or_default(),
        references,
        from_email,
        from_name,
        subject,
        date: first("date").and_then(date_of),
        snippet,
        kind,
        // A report only means something on a bounce.
        bounce: bounce.filter(|_| kind == ReplyKind::Bounce),
    }
}

fn sender_of(value: &str) -> (Option<String>, Option<String>) {
    match mailparse::addrparse(value) {
        Ok(list) => match list.iter().next() {
            Some(mailparse::MailAddr::Single(single)) => (
                Some(single.addr.trim().to_lowercase()),
                single.display_name.clone().map(|n| cap(&n)),
            ),
            Some(mailparse::MailAddr::Group(group)) => (
                group.addrs.first().map(|a| a.addr.trim().to_lowercase()),
                None,
            ),
            None => (None, None),
        },
        Err(_) => (None, None),
    }
}

fn date_of(value: &str) -> Option<DateTime<Utc>> {
    mailparse::dateparse(value)
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
}

/// The snippet of the first text part (plain preferred, else HTML as text).
fn body_snippet(mail: &ParsedMail<'_>) -> String {
    let mut html = None;
    for part in mail.parts() {
        let mime = part.ctype.mimetype.to_ascii_lowercase();
        let attachment = part
            .get_headers()
            .get_first_value("Content-Disposition")
            .is_some_and(|d| d.to_ascii_lowercase().starts_with("attachment"));
        if attachment {
            continue;
        }
        if mime == "text/plain" {
            if let Ok(body) = part.get_body() {
                return snippet_of_text(&body);
            }
        } else if mime == "text/html" && html.is_none() {
            html = part.get_body().ok();
        }
    }
    html.map(|h| snippet_of_text(&text_of_html(&h)))
        .unwrap_or_default()
}
