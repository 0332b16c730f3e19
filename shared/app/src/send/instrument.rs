//! Instrumenting a message before it is sent: the unsubscribe footer, tracked links, the
//! honeypot link and the open pixel. A pure function of the body and the options: it returns
//! the HTML and text to send and the rows and tokens to write, and touches no store, so the
//! whole of it is unit-tested here.

use scaliyo_domain::email;
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::signed_link::LinkKey;
use scaliyo_store::Item;
use serde::Serialize;

use super::token_key;

/// Which tracking a message gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackingOptions {
    pub opens: bool,
    pub clicks: bool,
    /// A hidden link only scanners follow (needs `clicks`).
    pub honeypot: bool,
}

/// Where tracking URLs point: the tracking host's base (no trailing slash), and the key that
/// signs links so the redirect needs no read (none: bare tokens, read on the first click).
#[derive(Debug, Clone, Copy)]
pub struct TrackingHost<'a> {
    pub base: &'a str,
    pub link_key: Option<&'a LinkKey>,
}

impl TrackingHost<'_> {
    /// A tracked link's URL: its token, signed with its destination when there is a key.
    fn click_url(&self, token: &str, destination: &str) -> String {
        let signed = self.link_key.and_then(|key| key.sign(token, destination));
        format!("{}/t/c/{}", self.base, signed.as_deref().unwrap_or(token))
    }
}

/// Whose message it is: carried by every token, so that a hit needs no other read.
#[derive(Debug, Clone, Copy)]
pub struct MessageRef<'a> {
    pub owner: OwnerId,
    pub message_id: &'a str,
    pub to_email: &'a str,
}

/// An `email_links` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkRow {
    pub id: String,
    pub message_id: String,
    pub destination_url: String,
    pub link_label: String,
    pub link_index: usize,
}

/// What to send, and what to write before sending it.
#[derive(Debug, Clone)]
pub struct Instrumented {
    pub html: String,
    /// The text part, made from the HTML before the hidden link and the pixel were added.
    pub text: String,
    pub unsubscribe_token: String,
    pub unsubscribe_url: String,
    /// `email_links` rows, one per tracked link.
    pub links: Vec<LinkRow>,
    /// Token items (unsubscribe, clicks, honeypot, open), without their send time.
    pub tokens: Vec<Item>,
}

/// Instruments `body` for sending through the tracking host.
/// `new_token` and `new_id` make the unguessable tokens and the link rows' ids.
pub fn instrument(
    body: &str,
    host: TrackingHost<'_>,
    message: MessageRef<'_>,
    options: TrackingOptions,
    mut new_token: impl FnMut() -> String,
    mut new_id: impl FnMut() -> String,
) -> Instrumented {
    let MessageRef {
        owner,
        message_id,
        to_email,
    } = message;
    let base = host.base;
    let token_item = |token: &str, kind: &str| {
        Item::new(&token_key(token))
            .with("kind", kind)
            .with("owner", owner.to_string())
            .with("message_id", message_id)
    };
    let unsubscribe_token = new_token();
    let unsubscribe_url = format!("{base}/u/{unsubscribe_token}");
    let mut tokens =
        vec![token_item(&unsubscribe_token, "unsubscribe").with("email", to_email.to_lowercase())];
    let html = email::add_unsubscribe_footer(body, &unsubscribe_url);
    let (html, tracked) = if options.clicks {
        email::rewrite_links(
            &html,
            &unsubscribe_url,
            &mut new_token,
            |token, destination| host.click_url(token, destination),
        )
    } else {
        (html, Vec::new())
    };
    let text = email::html_to_text(&html);
    // After the text part: the hidden link exists in the HTML only.
    let html = if options.clicks && options.honeypot {
        let honeypot_token = new_token();
        let destination = format!("{base}/");
        tokens.push(
            token_item(&honeypot_token, "click")
                .with("honeypot", true)
                // A bare host page: a known link always redirects, and this one leads nowhere
                // that matters.
                .with("destination", destination.clone()),
        );
        email::add_honeypot_link(&html, &host.click_url(&honeypot_token, &destination))
    } else {
        html
    };
    let html = if options.opens {
        let open_token = new_token();
        tokens.push(token_item(&open_token, "open"));
        email::add_open_pixel(&html, &format!("{base}/t/o/{open_token}.gif"))
    } else {
        html
    };
    let mut links = Vec::with_capacity(tracked.len());
    for link in tracked {
        let link_id = new_id();
        links.push(LinkRow {
            id: link_id.clone(),
            message_id: message_id.to_owned(),
            destination_url: link.destination.clone(),
            link_label: link.label,
            link_index: link.index,
        });
        tokens.push(
            token_item(&link.token, "click")
                .with("link_id", link_id)
                .with("destination", link.destination),
        );
    }
    Instrumented {
        html,
        text,
        unsubscribe_token,
        unsubscribe_url,
        links,
        tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(prefix: &'static str) -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("{prefix}{n}")
        }
    }

    const OWNER: &str = "6f1c1a52-7a38-4c11-9b8e-2f0d7f3b9a10";

    fn run(body: &str, options: TrackingOptions) -> Instrumented {
        let message = MessageRef {
            owner: OWNER.parse().unwrap(),
            message_id: "msg-1",
            to_email: "Ada@Example.com",
        };
        instrument(
            body,
            TrackingHost {
                base: "https://t.example",
                link_key: None,
            },
            message,
            options,
            counter("tok"),
            counter("link"),
        )
    }

    fn kinds(out: &Instrumented) -> Vec<String> {
        out.tokens
            .iter()
            .map(|t| t.str("kind").unwrap_or_default().to_owned())
            .collect()
    }

    const ALL: TrackingOptions = TrackingOptions {
        opens: true,
        clicks: true,
        honeypot: true,
    };

    #[test]
    fn every_link_is_tracked_with_a_row_and_a_click_token() {
        let out = run(
            r#"<p>Hi <a href="https://a.example/x">A</a> and <a href="https://b.example">B</a></p>"#,
            ALL,
        );
        assert_eq!(out.links.len(), 2);
        assert_eq!(out.links[0].destination_url, "https://a.example/x");
        assert_eq!(out.links[1].link_index, 1);
        assert!(out.html.contains("https://t.example/t/c/"));
        assert!(!out.html.contains("href=\"https://a.example/x\""));
        // unsubscribe, honeypot, open, then one click token per link with its row's id.
        assert_eq!(
            kinds(&out),
            ["unsubscribe", "click", "open", "click", "click"]
        );
        let link_tokens: Vec<_> = out
            .tokens
            .iter()
            .filter(|t| t.str("link_id").is_some())
            .collect();
        assert_eq!(
            link_tokens[0].str("link_id"),
            Some(out.links[0].id.as_str())
        );
        assert_eq!(
            link_tokens[0].str("destination"),
            Some("https://a.example/x")
        );
        for token in &out.tokens {
            assert_eq!(token.str("owner"), Some(OWNER));
            assert_eq!(token.str("message_id"), Some("msg-1"));
        }
    }

    #[test]
    fn the_unsubscribe_link_is_never_rewritten_and_its_address_is_lowercased() {
        let out = run("<p>Hello</p>", ALL);
        assert_eq!(out.unsubscribe_url, "https://t.example/u/tok1");
        assert!(out.html.contains("https://t.example/u/tok1"));
        assert_eq!(out.tokens[0].str("email"), Some("ada@example.com"));
        assert!(out.links.is_empty());
    }

    #[test]
    fn the_text_part_has_neither_the_hidden_link_nor_the_pixel() {
        let out = run(r#"<a href="https://a.example">A</a>"#, ALL);
        assert!(out.html.contains("/t/o/"), "{}", out.html);
        assert!(!out.text.contains("/t/o/"));
        let honeypot = out
            .tokens
            .iter()
            .find(|t| t.get("honeypot").is_some())
            .and_then(|t| t.str("destination"));
        assert_eq!(honeypot, Some("https://t.example/"));
        let honeypot_url = "https://t.example/t/c/tok3";
        assert!(out.html.contains(honeypot_url));
        assert!(!out.text.contains(honeypot_url));
    }

    #[test]
    fn without_tracking_only_the_unsubscribe_footer_is_added() {
        let none = TrackingOptions {
            opens: false,
            clicks: false,
            honeypot: true,
        };
        let out = run(r#"<a href="https://a.example">A</a>"#, none);
        assert!(out.html.contains(r#"href="https://a.example""#));
        assert!(!out.html.contains("/t/"));
        assert_eq!(kinds(&out), ["unsubscribe"]);
        assert!(out.links.is_empty());
    }

    #[test]
    fn with_a_key_each_link_and_the_honeypot_carry_their_destination_signed() {
        let key = LinkKey::new(b"the deployment's link key");
        let out = instrument(
            r#"<p><a href="https://a.example/x?y=1">A</a></p>"#,
            TrackingHost {
                base: "https://t.example",
                link_key: Some(&key),
            },
            MessageRef {
                owner: OWNER.parse().unwrap(),
                message_id: "msg-1",
                to_email: "ada@example.com",
            },
            ALL,
            counter("tok"),
            counter("link"),
        );
        let segments: Vec<&str> = out
            .html
            .match_indices("https://t.example/t/c/")
            .map(|(at, prefix)| {
                let rest = &out.html[at + prefix.len()..];
                &rest[..rest.find('"').unwrap_or(rest.len())]
            })
            .collect();
        let opened: Vec<_> = segments.iter().map(|s| key.open(s).unwrap()).collect();
        assert_eq!(opened.len(), 2, "the link and the honeypot");
        assert_eq!(opened[0].destination, "https://a.example/x?y=1");
        assert_eq!(opened[1].destination, "https://t.example/");
        // Every signed token is one of the message's click tokens.
        for link in &opened {
            assert!(out.tokens.iter().any(|t| t.str("kind") == Some("click")
                && t.key().unwrap().pk == format!("TRK#{}", link.token)));
        }
    }
}
