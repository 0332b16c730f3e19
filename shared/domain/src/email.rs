//! Outreach e-mail rules, pure: merge-tag rendering, link rewriting and the open pixel, the
//! plain-text part, and the sender caps (daily, warm-up ramp).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Values merge tags can name: `first_name`, `custom_fields.industry`, request variables…
pub type MergeValues = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("unknown merge tag(s): {}", .0.join(", "))]
    UnknownTags(Vec<String>),
    #[error("a merge tag is not closed (missing `}}}}`)")]
    Unclosed,
}

/// A value for a mail header (a rendered subject, a display name) as one line: control
/// characters, CR and LF among them, become spaces, so merged lead data cannot add headers.
pub fn header_line(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Replaces `{{tag}}` and `{{tag|fallback}}` with values (HTML-escaped when `html`). Every
/// unknown tag is reported at once, before anything is sent.
pub fn render(template: &str, values: &MergeValues, html: bool) -> Result<String, RenderError> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut unknown = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(RenderError::Unclosed)?;
        let inner = after[..end].trim();
        let (name, fallback) = match inner.split_once('|') {
            Some((name, fallback)) => (name.trim(), Some(fallback.trim())),
            None => (inner, None),
        };
        let value = values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty());
        match (value, fallback) {
            (Some(value), _) => out.push_str(&if html {
                escape_html(value)
            } else {
                value.to_owned()
            }),
            (None, Some(fallback)) => out.push_str(&if html {
                escape_html(fallback)
            } else {
                fallback.to_owned()
            }),
            // A known field that is empty renders as nothing; an unknown name is an error.
            (None, None) if values.contains_key(name) => {}
            (None, None) => {
                if !unknown.iter().any(|u| u == name) {
                    unknown.push(name.to_owned());
                }
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    if unknown.is_empty() {
        Ok(out)
    } else {
        Err(RenderError::UnknownTags(unknown))
    }
}

/// A link found in the body and rewritten to its tracking URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedLink {
    pub index: usize,
    pub destination: String,
    pub label: String,
    pub token: String,
}

fn find_ci(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (from..=haystack.len() - needle.len())
        .find(|&i| haystack[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// Decodes the entities a URL in an attribute may carry (`&amp;` above all).
fn decode_attribute(value: &str) -> String {
    value
        .replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// Visible text of an anchor's inner HTML, whitespace collapsed.
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    decode_text(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn decode_text(text: &str) -> String {
    text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Rewrites every `http(s)` link of `<a href>` tags to `click_url(token, destination)`; `mailto:`, `tel:`,
/// `#anchors`, links marked `data-scaliyo-untracked` and the unsubscribe URL stay as they
/// are. One pass over the bytes, no backtracking: large bodies stay fast.
pub fn rewrite_links(
    html: &str,
    unsubscribe_url: &str,
    mut new_token: impl FnMut() -> String,
    click_url: impl Fn(&str, &str) -> String,
) -> (String, Vec<TrackedLink>) {
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    let mut links = Vec::new();
    let mut copied = 0;
    let mut cursor = 0;
    while let Some(open) = find_ci(bytes, b"<a", cursor) {
        // `<a` must be the whole tag name (not `<abbr>`).
        let next = bytes.get(open + 2).copied().unwrap_or(b'>');
        if !(next.is_ascii_whitespace() || next == b'>') {
            cursor = open + 2;
            continue;
        }
        let Some(tag_end) = bytes[open..]
            .iter()
            .position(|b| *b == b'>')
            .map(|p| open + p)
        else {
            break;
        };
        let tag = &html[open..tag_end];
        let close = find_ci(bytes, b"</a", tag_end)
            .unwrap_or(tag_end + 1)
            .min(bytes.len());
        cursor = tag_end + 1;
        let Some(href_at) = find_ci(tag.as_bytes(), b"href", 0) else {
            continue;
        };
        let after_href = tag[href_at + 4..].trim_start();
        let Some(after_eq) = after_href.strip_prefix('=') else {
            continue;
        };
        let after_eq = after_eq.trim_start();
        let (value, quote) = match after_eq.chars().next() {
            Some(q @ ('"' | '\'')) => match after_eq[1..].find(q) {
                Some(end) => (&after_eq[1..1 + end], Some(q)),
                None => continue,
            },
            _ => (
                after_eq
                    .split(|c: char| c.is_whitespace() || c == '>')
                    .next()
                    .unwrap_or(""),
                None,
            ),
        };
        let destination = decode_attribute(value.trim());
        let lower = destination.to_ascii_lowercase();
        let trackable = (lower.starts_with("http://") || lower.starts_with("https://"))
            && destination != unsubscribe_url
            && find_ci(tag.as_bytes(), b"data-scaliyo-untracked", 0).is_none();
        if !trackable {
            continue;
        }
        // Offsets of the href value within the whole document.
        let value_start = value.as_ptr() as usize - html.as_ptr() as usize;
        let value_end = value_start + value.len();
        let token = new_token();
        out.push_str(&html[copied..value_start]);
        let url = click_url(&token, &destination);
        match quote {
            Some(_) => out.push_str(&escape_html(&url)),
            None => {
                let _ = write!(out, "\"{}\"", escape_html(&url));
            }
        }
        copied = value_end;
        let label_html = if close > tag_end {
            &html[tag_end + 1..close]
        } else {
            ""
        };
        links.push(TrackedLink {
            index: links.len(),
            destination,
            label: strip_tags(label_html),
            token,
        });
    }
    out.push_str(&html[copied..]);
    (out, links)
}

/// Appends the 1×1 open pixel just before `</body>` (or at the end when there is none).
pub fn add_open_pixel(html: &str, pixel_url: &str) -> String {
    let pixel = format!(
        "<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none;width:1px;height:1px;border:0\">",
        escape_html(pixel_url)
    );
    match find_ci(html.as_bytes(), b"</body", 0) {
        Some(at) => format!("{}{pixel}{}", &html[..at], &html[at..]),
        None => format!("{html}{pixel}"),
    }
}

/// Appends a link no reader sees or reaches with the keyboard or a screen reader, just
/// before `</body>`: only software that follows every link in a message follows it.
pub fn add_honeypot_link(html: &str, url: &str) -> String {
    let link = format!(
        "<a href=\"{}\" style=\"display:none;font-size:0;line-height:0;max-height:0;overflow:hidden\" aria-hidden=\"true\" tabindex=\"-1\"></a>",
        escape_html(url)
    );
    match find_ci(html.as_bytes(), b"</body", 0) {
        Some(at) => format!("{}{link}{}", &html[..at], &html[at..]),
        None => format!("{html}{link}"),
    }
}

/// Appends the visible unsubscribe footer (always present, tracking or not).
pub fn add_unsubscribe_footer(html: &str, unsubscribe_url: &str) -> String {
    let footer = format!(
        "<p style=\"font-size:12px;color:#888\">Don't want these e-mails? <a href=\"{}\">Unsubscribe</a>.</p>",
        escape_html(unsubscribe_url)
    );
    match find_ci(html.as_bytes(), b"</body", 0) {
        Some(at) => format!("{}{footer}{}", &html[..at], &html[at..]),
        None => format!("{html}{footer}"),
    }
}

/// The plain-text part: paragraphs and breaks become newlines, links become `text (url)`,
/// scripts and styles vanish, entities are decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    let mut pending_href: Option<String> = None;
    let mut anchor_text_start = 0;
    while i < html.len() {
        if html.as_bytes()[i] == b'<' {
            // An unterminated tag runs to the end of the text (`"<"` last is an empty tag).
            let end = html[i..].find('>').map(|p| i + p).unwrap_or(html.len());
            let tag = &lower[i + 1..end];
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let closing = tag.starts_with('/');
            match name.as_str() {
                "script" | "style" if !closing => {
                    let close = format!("</{name}");
                    i = lower[end..]
                        .find(&close)
                        .map(|p| end + p)
                        .unwrap_or(html.len());
                    i = html[i..].find('>').map(|p| i + p + 1).unwrap_or(html.len());
                    continue;
                }
                "br" => out.push('\n'),
                "p" | "div" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "li" | "table" => {
                    if !out.ends_with("\n\n") && !out.is_empty() {
                        out.push('\n');
                    }
                    if name == "li" && !closing {
                        out.push_str("- ");
                    }
                }
                "a" if !closing => {
                    let original = &html[i + 1..end];
                    pending_href = find_ci(original.as_bytes(), b"href", 0).and_then(|at| {
                        let rest = original[at + 4..]
                            .trim_start()
                            .strip_prefix('=')?
                            .trim_start();
                        let quote = rest.chars().next()?;
                        let value = if quote == '"' || quote == '\'' {
                            rest[1..].split(quote).next()?
                        } else {
                            rest.split_whitespace().next()?
                        };
                        Some(decode_attribute(value))
                    });
                    anchor_text_start = out.len();
                }
                "a" if closing => {
                    if let Some(href) = pending_href.take() {
                        let text = out[anchor_text_start..].trim().to_owned();
                        if !href.starts_with('#') && text != href {
                            let _ = write!(out, " ({href})");
                        }
                    }
                }
                _ => {}
            }
            i = end + 1;
        } else {
            let next = html[i..].find('<').map(|p| i + p).unwrap_or(html.len());
            let text = decode_text(&html[i..next]);
            let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if !collapsed.is_empty() {
                if text.starts_with(char::is_whitespace)
                    && !out.ends_with(['\n', ' '])
                    && !out.is_empty()
                {
                    out.push(' ');
                }
                out.push_str(&collapsed);
                if text.ends_with(char::is_whitespace) {
                    out.push(' ');
                }
            }
            i = next;
        }
    }
    out.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// A sender's daily cap when its metadata names none: what each provider allows a new
/// account comfortably (Gmail's consumer limit is 500/day).
pub fn default_daily_cap(provider: &str) -> i64 {
    match provider {
        "gmail" => 500,
        "smtp" => 300,
        _ => 2_000,
    }
}

/// The warm-up ramp: 20 e-mails on the first day, +25 % a day (rounded down), never above the
/// daily cap — 20, 25, 31, 39, 48, … reaching 500 on day 16.
pub fn warmup_cap(day: i64, daily_cap: i64) -> i64 {
    let day = day.max(1);
    let ramp = 20.0 * 1.25f64.powi((day - 1).min(60) as i32);
    (ramp.floor() as i64).min(daily_cap)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn values() -> MergeValues {
        MergeValues::from([
            ("first_name".into(), "Ada".into()),
            ("last_name".into(), "".into()),
            ("company".into(), "<Analytical & Co>".into()),
            ("custom_fields.industry".into(), "Computing".into()),
        ])
    }

    #[test]
    fn merge_tags_render_with_fallbacks_and_escaping() {
        let html = render(
            "Hi {{first_name}} {{ last_name | }} of {{company}} ({{custom_fields.industry}})",
            &values(),
            true,
        )
        .unwrap();
        assert_eq!(html, "Hi Ada  of &lt;Analytical &amp; Co&gt; (Computing)");
        assert_eq!(
            render("Hi {{last_name|there}}", &values(), true).unwrap(),
            "Hi there"
        );
        assert_eq!(
            render("{{company}}", &values(), false).unwrap(),
            "<Analytical & Co>"
        );
    }

    #[test]
    fn unknown_tags_are_all_reported() {
        let error = render(
            "{{first_name}} {{nickname}} {{custom_fields.x}} {{nickname}}",
            &values(),
            true,
        )
        .unwrap_err();
        assert_eq!(
            error,
            RenderError::UnknownTags(vec!["nickname".into(), "custom_fields.x".into()])
        );
        assert_eq!(
            render("{{first_name", &values(), true).unwrap_err(),
            RenderError::Unclosed
        );
    }

    #[test]
    fn http_links_are_rewritten_and_others_left_alone() {
        let html = r##"<p>See <a href="https://example.com/a?x=1&amp;y=2">our <b>site</b></a>,
            <A HREF='http://b.example'>B</A>, <a href="mailto:a@b.c">mail</a>, <a href="tel:+1">call</a>,
            <a href="#top">top</a>, <a href="https://u.example/unsub">unsubscribe</a>, <abbr>x</abbr>
            <a href=https://c.example/path>bare</a></p>"##;
        let mut n = 0;
        let (out, links) = rewrite_links(
            html,
            "https://u.example/unsub",
            || {
                n += 1;
                format!("t{n}")
            },
            |t, _| format!("https://trk.example/c/{t}"),
        );
        assert_eq!(links.len(), 3);
        assert_eq!(links[0].destination, "https://example.com/a?x=1&y=2");
        assert_eq!(links[0].label, "our site");
        assert_eq!(links[1].destination, "http://b.example");
        assert_eq!(links[2].destination, "https://c.example/path");
        assert!(out.contains(r#"href="https://trk.example/c/t1""#));
        assert!(out.contains("HREF='https://trk.example/c/t2'"));
        assert!(out.contains(r#"href="https://trk.example/c/t3">bare"#));
        for kept in [
            "mailto:a@b.c",
            "tel:+1",
            "#top",
            "https://u.example/unsub",
            "<abbr>x</abbr>",
        ] {
            assert!(out.contains(kept), "{kept}");
        }
    }

    #[test]
    fn the_pixel_goes_before_the_end_of_the_body() {
        let out = add_open_pixel(
            "<html><body><p>Hi</p></BODY></html>",
            "https://t.example/o/tok.gif",
        );
        assert!(out.contains(r#"<img src="https://t.example/o/tok.gif" width="1""#));
        assert!(out.find("<img").unwrap() < out.find("</BODY>").unwrap());
        assert!(
            add_open_pixel("<p>Hi</p>", "u")
                .ends_with("style=\"display:none;width:1px;height:1px;border:0\">")
        );
    }

    #[test]
    fn the_text_part_keeps_paragraphs_links_and_lists() {
        let text = html_to_text(
            "<html><head><style>p{color:red}</style></head><body><p>Hello&nbsp;Ada,</p><p>Read <a href=\"https://x.example/a\">the post</a>.<br>Thanks</p><ul><li>one</li><li>two</li></ul><script>alert(1)</script></body></html>",
        );
        assert_eq!(
            text,
            "Hello Ada,\n\nRead the post (https://x.example/a).\nThanks\n\n- one\n\n- two"
        );
    }

    #[test]
    fn the_warmup_ramp_starts_at_20_and_never_passes_the_cap() {
        assert_eq!(
            (1..=5).map(|d| warmup_cap(d, 500)).collect::<Vec<_>>(),
            vec![20, 25, 31, 39, 48]
        );
        assert_eq!(warmup_cap(16, 500), 500);
        assert_eq!(warmup_cap(40, 300), 300);
        assert_eq!(warmup_cap(0, 500), 20);
    }

    proptest! {
        #[test]
        fn rewriting_keeps_everything_but_the_tracked_hrefs(
            texts in proptest::collection::vec("[a-zA-Z0-9 .,<>&;=/:\"'-]{0,40}", 1..8),
            urls in proptest::collection::vec("(https?://[a-z]{1,8}\\.example/[a-z0-9]{0,8}|mailto:x@y.z|#frag)", 1..8),
        ) {
            let mut html = String::new();
            for (i, url) in urls.iter().enumerate() {
                html.push_str(texts.get(i).map(String::as_str).unwrap_or(""));
                html.push_str(&format!("<a href=\"{url}\">link {i}</a>"));
            }
            let mut n = 0;
            let (out, links) = rewrite_links(&html, "https://unsub.example/x", || { n += 1; format!("tok{n}") }, |t, _| format!("https://trk.example/c/{t}"));
            let expected: Vec<&String> = urls.iter().filter(|u| u.starts_with("http")).collect();
            prop_assert_eq!(links.len(), expected.len());
            for (link, url) in links.iter().zip(expected) {
                prop_assert_eq!(&link.destination, url);
            }
            // Undo the rewrite: the rest of the document is byte-for-byte the original.
            let mut restored = out.clone();
            for link in &links {
                restored = restored.replacen(&format!("https://trk.example/c/{}", link.token), &link.destination, 1);
            }
            prop_assert_eq!(restored, html);
        }

        #[test]
        fn rendering_never_panics_and_escapes_values(template in ".{0,200}", value in ".{0,40}") {
            let values = MergeValues::from([("first_name".to_owned(), value.clone())]);
            if let Ok(out) = render(&template, &values, true)
                && template.contains("{{first_name}}")
                && !value.trim().is_empty()
            {
                prop_assert!(out.contains(&escape_html(&value)));
            }
        }
    }
}
