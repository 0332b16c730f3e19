use proptest::prelude::*;

use super::*;

const REPLY: &str = "From: Ada Lovelace <Ada@Example.com>\r\n\
To: sales@acme.test\r\n\
Subject: Re: Quick question\r\n\
Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n\
Message-ID: <CAB123@mail.example.com>\r\n\
In-Reply-To: <0b8f5a3e-0000-4000-8000-000000000001@acme.test>\r\n\
References: <older@acme.test>\r\n <0b8f5a3e-0000-4000-8000-000000000001@acme.test>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Sounds good, let's talk Thursday.\r\n\
\r\n\
On Mon, 30 Nov 2026 at 09:00, Sales <sales@acme.test> wrote:\r\n\
> Hi Ada, quick question about your stack\r\n";

#[test]
fn a_reply_names_the_message_it_answers() {
    let message = from_raw(REPLY.as_bytes()).expect("parses");
    assert_eq!(message.kind, ReplyKind::Reply);
    assert_eq!(
        message.message_id.as_deref(),
        Some("CAB123@mail.example.com")
    );
    assert_eq!(message.from_email.as_deref(), Some("ada@example.com"));
    assert_eq!(message.from_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(message.snippet, "Sounds good, let's talk Thursday.");
    assert_eq!(
        message.answered_ids(),
        vec![
            "0b8f5a3e-0000-4000-8000-000000000001@acme.test".to_owned(),
            "older@acme.test".to_owned()
        ]
    );
    assert_eq!(
        our_message_uuid(&message.answered_ids()[0]).map(|u| u.to_string()),
        Some("0b8f5a3e-0000-4000-8000-000000000001".into())
    );
    assert!(our_message_uuid("older@acme.test").is_none());
}

#[test]
fn out_of_office_notes_are_auto_replies_in_four_languages() {
    for (header, subject) in [
        ("Auto-Submitted: auto-replied\r\n", "Re: Quick question"),
        ("X-Autoreply: yes\r\n", "Re: Quick question"),
        ("X-Autorespond: yes\r\n", "Re: Quick question"),
        ("Precedence: auto_reply\r\n", "Re: Quick question"),
        ("Precedence: bulk\r\n", "Re: Quick question"),
        ("", "Out of Office: Quick question"),
        ("", "Automatic reply: Quick question"),
        ("", "Abwesenheitsnotiz: Quick question"),
        ("", "Automatische Antwort: Quick question"),
        ("", "Réponse automatique : Quick question"),
        ("", "Respuesta automática: Quick question"),
        ("", "Fuera de la oficina"),
    ] {
        let raw = format!(
            "From: ada@example.com\r\nSubject: {subject}\r\n{header}Message-ID: <a@b>\r\n\r\nI am away.\r\n"
        );
        let message = from_raw(raw.as_bytes()).expect("parses");
        assert_eq!(message.kind, ReplyKind::AutoReply, "{header} {subject}");
    }
    let human = "From: ada@example.com\r\nSubject: Re: x\r\nAuto-Submitted: no\r\n\r\nhi\r\n";
    assert_eq!(from_raw(human.as_bytes()).unwrap().kind, ReplyKind::Reply);
}

#[test]
fn a_delivery_status_notification_is_a_bounce_with_its_report() {
    let raw = "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
Message-ID: <dsn1@mx.example.com>\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain\r\n\
\r\n\
I'm sorry to have to inform you that your message could not be delivered.\r\n\
--b1\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.example.com\r\n\
\r\n\
Final-Recipient: rfc822; nobody@example.com\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\
\r\n\
--b1\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
From: sales@acme.test\r\n\
To: nobody@example.com\r\n\
Message-ID: <0b8f5a3e-0000-4000-8000-000000000002@acme.test>\r\n\
Subject: Quick question\r\n\
\r\n\
--b1--\r\n";
    let message = from_raw(raw.as_bytes()).expect("parses");
    assert_eq!(message.kind, ReplyKind::Bounce);
    let bounce = message.bounce.clone().expect("a report");
    assert_eq!(bounce.recipient.as_deref(), Some("nobody@example.com"));
    assert_eq!(bounce.status.as_deref(), Some("5.1.1"));
    assert!(bounce.permanent);
    assert_eq!(
        message.answered_ids(),
        vec!["0b8f5a3e-0000-4000-8000-000000000002@acme.test".to_owned()]
    );
}

#[test]
fn html_only_replies_give_a_text_snippet() {
    let raw = "From: ada@example.com\r\nSubject: Re: x\r\nContent-Type: text/html\r\n\r\n\
<html><head><style>p{color:red}</style><script>alert(1)</script></head>\
<body><p>Yes &amp; <b>thanks</b></p><blockquote>old text</blockquote></body></html>\r\n";
    let message = from_raw(raw.as_bytes()).expect("parses");
    assert_eq!(message.snippet, "Yes & thanks");
}

#[test]
fn subjects_are_compared_without_reply_prefixes() {
    assert_eq!(
        normalized_subject("Re: AW: Fwd:  Quick   Question"),
        "quick question"
    );
    assert_eq!(
        normalized_subject("RE[2]: Quick question"),
        "quick question"
    );
    assert_eq!(normalized_subject("Réf : Quick question"), "quick question");
    assert_eq!(normalized_subject("Meeting: Thursday"), "meeting: thursday");
}

#[test]
fn snippets_are_capped() {
    let long = "word ".repeat(500);
    let snippet = snippet_of_text(&long);
    assert_eq!(snippet.chars().count(), SNIPPET_CHARS);
    assert!(snippet.ends_with('…'));
}

#[test]
fn header_lists_parse_like_raw_messages() {
    let headers = vec![
        ("From".to_owned(), "Ada <ada@example.com>".to_owned()),
        ("Subject".to_owned(), "Re: Quick question".to_owned()),
        ("Message-Id".to_owned(), "<g1@mail.gmail.com>".to_owned()),
        ("In-Reply-To".to_owned(), "<x@acme.test>".to_owned()),
    ];
    let message = from_headers(&headers, "Sounds good");
    assert_eq!(message.kind, ReplyKind::Reply);
    assert_eq!(message.in_reply_to, vec!["x@acme.test".to_owned()]);
    assert_eq!(message.snippet, "Sounds good");
}

proptest! {
    /// Hostile bytes never panic the parser; whatever parses has a capped snippet.
    #[test]
    fn any_bytes_parse_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(message) = from_raw(&bytes) {
            prop_assert!(message.snippet.chars().count() <= SNIPPET_CHARS);
        }
    }

    #[test]
    fn message_headers_with_any_text_never_panic(subject in ".{0,200}", refs in ".{0,200}", body in ".{0,400}") {
        let raw = format!("From: a@b\r\nSubject: {subject}\r\nReferences: {refs}\r\nContent-Type: text/html\r\n\r\n{body}");
        let _ = from_raw(raw.as_bytes());
        let _ = normalized_subject(&subject);
        let _ = message_ids(&refs);
        let _ = text_of_html(&body);
    }
}
