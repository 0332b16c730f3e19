//! Text helpers: message-id lists, subjects without reply prefixes, snippets.

use super::SNIPPET_CHARS;

/// The ids of a `Message-ID`/`In-Reply-To`/`References` value, without angle brackets, in
/// the order written. Ids are `<…>`; a value without any is taken as space-separated ids.
pub fn message_ids(value: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else { break };
        let id = after[..end].trim();
        if !id.is_empty() && id.len() <= 998 && !id.contains(char::is_whitespace) {
            ids.push(id.to_owned());
        }
        rest = &after[end + 1..];
    }
    if ids.is_empty() {
        ids = value
            .split_whitespace()
            .filter(|id| id.contains('@') && id.len() <= 998)
            .map(str::to_owned)
            .collect();
    }
    ids
}

/// Reply and forward prefixes in the languages the product serves: `Re:`, `Fwd:`, `AW:`,
/// `WG:`, `TR:`, `RE :`, `Réf :`, `RV:`, `Antw:`, numbered `Re[2]:`.
const PREFIXES: &[&str] = &[
    "re", "fw", "fwd", "aw", "wg", "tr", "rv", "ref", "réf", "antw", "sv", "vs",
];

/// A subject compared for matching: reply/forward prefixes removed (repeatedly), whitespace
/// collapsed, lowercased.
pub fn normalized_subject(subject: &str) -> String {
    let mut rest = subject.trim();
    while let Some(colon) = rest.find(':') {
        let head = rest[..colon].trim().to_lowercase();
        // `Re[2]` / `Re(2)` count as `Re`.
        let word = head
            .split(['[', '('])
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        if head.len() <= 8 && PREFIXES.contains(&word.as_str()) {
            rest = rest[colon + 1..].trim_start();
        } else {
            break;
        }
    }
    rest.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The snippet of a plain-text body: the new text only (quoted lines and the quoted history
/// after an "On … wrote:" line are cut), whitespace collapsed, capped.
pub fn snippet_of_text(body: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in body.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('>') {
            continue;
        }
        if is_quote_header(trimmed) {
            break;
        }
        kept.push(trimmed);
    }
    cap(&kept.join(" "))
}

/// The lines mail clients put above quoted history.
fn is_quote_header(line: &str) -> bool {
    let lower = line.to_lowercase();
    (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || (lower.starts_with("am ") && lower.ends_with("schrieb:"))
        || (lower.starts_with("le ") && lower.ends_with("a écrit :"))
        || (lower.starts_with("le ") && lower.ends_with("a écrit:"))
        || (lower.starts_with("el ") && lower.ends_with("escribió:"))
        || lower.starts_with("-----original message-----")
        || lower.starts_with("-----ursprüngliche nachricht-----")
}

/// The text of an HTML body, for a snippet: tags, scripts and styles dropped, the common
/// entities decoded. Never rendered; the result is text.
pub fn text_of_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len().min(64 * 1024));
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let lower: String = after.chars().take(12).collect::<String>().to_lowercase();
        let skip_to = if lower.starts_with("<script") {
            Some("</script>")
        } else if lower.starts_with("<style") {
            Some("</style>")
        } else if lower.starts_with("<blockquote") {
            Some("</blockquote>")
        } else {
            None
        };
        let end = match skip_to {
            Some(closing) => find_ci(after, closing).map(|i| i + closing.len()),
            None => after.find('>').map(|i| i + 1),
        };
        match end {
            Some(end) => {
                let tag = &after[..end];
                if tag.starts_with("<br") || tag.starts_with("<p") || tag.starts_with("<div") {
                    out.push('\n');
                } else {
                    out.push(' ');
                }
                rest = &after[end..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack.to_ascii_lowercase().find(needle)
}

/// Collapsed whitespace, at most [`SNIPPET_CHARS`] characters, no control characters.
pub fn cap(text: &str) -> String {
    let collapsed = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>();
    if collapsed.chars().count() <= SNIPPET_CHARS {
        return collapsed;
    }
    let mut capped: String = collapsed.chars().take(SNIPPET_CHARS - 1).collect();
    capped.push('…');
    capped
}
