//! A tolerant reader of HTML markup: it walks the text once and yields tags and text, never
//! failing — a page is whatever a browser would make of it, and a broken page still has a
//! title. Not a full HTML5 parser: it keeps what lead research reads (elements, attributes,
//! text) and drops the rest (comments, doctypes, processing instructions, CDATA).

/// One piece of markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'a> {
    /// An opening tag, its name lower-cased, its attributes as written (names lower-cased,
    /// values with their entities decoded).
    Open {
        name: String,
        attributes: Vec<(String, String)>,
    },
    /// A closing tag, its name lower-cased.
    Close { name: String },
    /// Text between tags, entities not yet decoded.
    Text(&'a str),
}

/// Elements whose content is not text a visitor reads: skipped whole.
pub const RAW_TEXT_ELEMENTS: [&str; 6] =
    ["script", "style", "noscript", "template", "svg", "iframe"];

/// The tokens of `html`.
pub fn tokens(html: &str) -> Tokens<'_> {
    Tokens { rest: html }
}

pub struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    /// The content of a raw-text element (`<script>`, `<title>`…) up to its closing tag,
    /// matched without regard to case, and the reader moved past that tag; the rest of the
    /// page when it never closes, as in a browser.
    pub fn raw_text(&mut self, name: &str) -> &'a str {
        let closing = format!("</{name}");
        match find_ignoring_ascii_case(self.rest, &closing) {
            Some(at) => {
                let content = &self.rest[..at];
                let after = &self.rest[at + closing.len()..];
                self.rest = match after.find('>') {
                    Some(end) => &after[end + 1..],
                    None => "",
                };
                content
            }
            None => std::mem::take(&mut self.rest),
        }
    }
}

fn find_ignoring_ascii_case(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

/// The end (exclusive) of a tag that starts at `<`, honouring quoted attribute values.
fn tag_end(tag: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (at, c) in tag.char_indices().skip(1) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '>' => return Some(at + 1),
            None => {}
        }
    }
    None
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let Some(start) = self.rest.find('<') else {
                let text = self.rest;
                self.rest = "";
                return Some(Token::Text(text));
            };
            if start > 0 {
                let text = &self.rest[..start];
                self.rest = &self.rest[start..];
                return Some(Token::Text(text));
            }
            let markup = self.rest;
            if let Some(comment) = markup.strip_prefix("<!--") {
                self.rest = match comment.find("-->") {
                    Some(end) => &comment[end + 3..],
                    None => "",
                };
                continue;
            }
            let second = markup[1..].chars().next();
            match second {
                // `<!doctype>`, `<![CDATA[`, `<?xml ?>`: declarations, dropped.
                Some('!') | Some('?') => {
                    self.rest = match markup.find('>') {
                        Some(end) => &markup[end + 1..],
                        None => "",
                    };
                    continue;
                }
                Some(c) if c == '/' || c.is_ascii_alphabetic() => {}
                // A lone `<` (as in `a < b`) is text.
                _ => {
                    self.rest = &markup[1..];
                    return Some(Token::Text(&markup[..1]));
                }
            }
            let Some(end) = tag_end(markup) else {
                // An unclosed tag runs to the end of the page, as in a browser.
                self.rest = "";
                return None;
            };
            self.rest = &markup[end..];
            let inner = markup[1..end - 1].trim_end_matches('/');
            if let Some(closing) = inner.strip_prefix('/') {
                let name = element_name(closing);
                if name.is_empty() {
                    continue;
                }
                return Some(Token::Close { name });
            }
            let name = element_name(inner);
            let attributes = attributes(&inner[name.len().min(inner.len())..]);
            return Some(Token::Open { name, attributes });
        }
    }
}

fn element_name(inner: &str) -> String {
    inner
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '/' && *c != '>')
        .collect::<String>()
        .to_ascii_lowercase()
}

/// `name="value" name='value' name=value name`, as a browser reads them.
fn attributes(mut rest: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return found;
        }
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (raw, remaining) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after[1..];
                    match body.find(q) {
                        Some(end) => (&body[..end], &body[end + 1..]),
                        None => (body, ""),
                    }
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            value = super::entities::decode(raw);
            rest = remaining;
        }
        if !name.is_empty() {
            found.push((name, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(name: &str, attributes: &[(&str, &str)]) -> Token<'static> {
        Token::Open {
            name: name.into(),
            attributes: attributes
                .iter()
                .map(|(n, v)| ((*n).into(), (*v).into()))
                .collect(),
        }
    }

    #[test]
    fn tags_attributes_and_text_are_read_as_a_browser_would() {
        let html = r#"<!doctype html><!-- a > b --><A HREF='x>y' data-x=1 hidden>Hi &amp; bye</a><br/>a < b"#;
        let read: Vec<Token> = tokens(html).collect();
        assert_eq!(
            read,
            vec![
                open("a", &[("href", "x>y"), ("data-x", "1"), ("hidden", "")]),
                Token::Text("Hi &amp; bye"),
                Token::Close { name: "a".into() },
                open("br", &[]),
                Token::Text("a "),
                Token::Text("<"),
                Token::Text(" b"),
            ]
        );
    }

    #[test]
    fn an_unclosed_tag_or_comment_ends_the_page() {
        assert_eq!(tokens("text<!-- never closed").count(), 1);
        assert_eq!(tokens("text<div class=\"never").count(), 1);
    }
}
