//! The report of a bounce (RFC 3464 `message/delivery-status`): who did not get the message,
//! whether for good (`5.x.x`) or for now (`4.x.x`), and the original message's Message-ID
//! from the returned headers (`text/rfc822-headers` or `message/rfc822`).

use mailparse::{MailHeaderMap, ParsedMail};

use super::text::message_ids;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The address that did not get the message (`Final-Recipient`, or `X-Failed-Recipients`).
    pub recipient: Option<String>,
    /// The enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
    /// A hard bounce: the status is 5.x.x, or the action `failed` without a status.
    pub permanent: bool,
    pub diagnostic: Option<String>,
    /// The Message-ID of the message that bounced, from the returned headers.
    pub original_message_id: Option<String>,
}

/// The report in a parsed bounce, if it carries one.
pub(super) fn report_of(mail: &ParsedMail<'_>) -> Option<Bounce> {
    let mut bounce = Bounce {
        recipient: None,
        status: None,
        permanent: true,
        diagnostic: None,
        original_message_id: None,
    };
    let mut found = false;
    for part in mail.parts() {
        let mime = part.ctype.mimetype.to_ascii_lowercase();
        match mime.as_str() {
            "message/delivery-status" | "message/global-delivery-status" => {
                let body = part.get_body_raw().unwrap_or_default();
                read_status(&body, &mut bounce);
                found = true;
            }
            "text/rfc822-headers" | "message/rfc822" | "message/global-headers" => {
                let body = part.get_body_raw().unwrap_or_default();
                if let Ok((headers, _)) = mailparse::parse_headers(&body)
                    && let Some(id) = headers.get_first_value("Message-ID")
                {
                    bounce.original_message_id = message_ids(&id).into_iter().next();
                    found = true;
                }
            }
            _ => {}
        }
    }
    if bounce.recipient.is_none()
        && let Some(failed) = mail.headers.get_first_value("X-Failed-Recipients")
    {
        bounce.recipient = failed.split(',').next().map(|r| r.trim().to_lowercase());
        found = true;
    }
    found.then_some(bounce)
}

/// The per-message and per-recipient fields: blocks of header-like lines.
fn read_status(body: &[u8], bounce: &mut Bounce) {
    let text = String::from_utf8_lossy(body).replace("\r\n", "\n");
    for block in text.split("\n\n") {
        let Ok((fields, _)) = mailparse::parse_headers(block.as_bytes()) else {
            continue;
        };
        if let Some(recipient) = fields
            .get_first_value("Final-Recipient")
            .or_else(|| fields.get_first_value("Original-Recipient"))
        {
            // `rfc822; someone@example.com`
            let address = recipient
                .rsplit(';')
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches(['<', '>'])
                .to_lowercase();
            if bounce.recipient.is_none() && address.contains('@') {
                bounce.recipient = Some(address);
            }
        }
        let action = fields
            .get_first_value("Action")
            .map(|a| a.trim().to_ascii_lowercase());
        if let Some(status) = fields.get_first_value("Status") {
            let status = status
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            bounce.permanent = status.starts_with('5');
            bounce.status = Some(status);
        } else if let Some(action) = action {
            bounce.permanent = action == "failed";
        }
        if let Some(diagnostic) = fields.get_first_value("Diagnostic-Code") {
            bounce.diagnostic = Some(super::text::cap(&diagnostic));
        }
    }
}
