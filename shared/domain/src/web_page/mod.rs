//! What lead research reads on a company's website (docs/ai.md): the page's title and
//! description, its headings, the e-mail addresses, phone numbers and social profiles it
//! shows, and an excerpt of its visible text — all bounded, whatever the page holds.

mod charset;
mod contacts;
mod entities;
pub mod markup;
mod website;

use serde::{Deserialize, Serialize};

pub use charset::decode;
pub use website::{website_of, website_url};

use markup::{RAW_TEXT_ELEMENTS, Token};

/// Headings kept, and the longest one.
pub const MAX_HEADINGS: usize = 20;
const MAX_HEADING_CHARS: usize = 200;
/// Addresses, numbers and profiles kept (each).
pub const MAX_CONTACTS: usize = 10;
/// The visible text kept for the model, in bytes.
pub const MAX_TEXT_BYTES: usize = 4_096;
const MAX_TITLE_CHARS: usize = 300;
const MAX_DESCRIPTION_CHARS: usize = 600;

/// Elements that end a line of text: their words are not run into the next element's.
const BLOCK_ELEMENTS: [&str; 24] = [
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "nav",
    "p",
    "section",
    "tr",
];

/// The facts of one page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageFacts {
    pub title: Option<String>,
    pub description: Option<String>,
    pub site_name: Option<String>,
    pub headings: Vec<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub social_links: Vec<String>,
    /// Visible text, whitespace collapsed, at most `MAX_TEXT_BYTES`.
    pub text: String,
}

/// Text with its runs of whitespace collapsed to one space, kept to a bound.
#[derive(Default)]
struct Collapsed {
    text: String,
    full: bool,
}

impl Collapsed {
    fn push(&mut self, piece: &str, max_bytes: usize) {
        for c in piece.chars() {
            if self.full {
                return;
            }
            let c = if c.is_whitespace() || c.is_control() {
                ' '
            } else {
                c
            };
            if c == ' ' && (self.text.is_empty() || self.text.ends_with(' ')) {
                continue;
            }
            if self.text.len() + c.len_utf8() > max_bytes {
                self.full = true;
                return;
            }
            self.text.push(c);
        }
    }

    fn finish(self) -> String {
        self.text.trim_end().to_owned()
    }
}

fn bounded(text: &str, max_chars: usize) -> Option<String> {
    let mut collapsed = Collapsed::default();
    collapsed.push(text, max_chars * 4);
    let text: String = collapsed.finish().chars().take(max_chars).collect();
    (!text.is_empty()).then_some(text)
}

fn add_unique(list: &mut Vec<String>, value: String) {
    if list.len() < MAX_CONTACTS && !list.contains(&value) {
        list.push(value);
    }
}

fn attribute<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

impl PageFacts {
    /// Reads the facts of a page; never fails (a page that is not HTML yields its text).
    pub fn extract(html: &str) -> Self {
        let mut facts = PageFacts::default();
        let mut heading: Option<Collapsed> = None;
        let mut text = Collapsed::default();
        let mut tokens = markup::tokens(html);
        while let Some(token) = tokens.next() {
            match token {
                Token::Open { name, attributes } => {
                    if RAW_TEXT_ELEMENTS.contains(&name.as_str()) {
                        tokens.raw_text(&name);
                        continue;
                    }
                    match name.as_str() {
                        // Its content is text, tags and all, as a browser's tab shows it.
                        "title" => {
                            let content = entities::decode(tokens.raw_text("title"));
                            if facts.title.is_none() {
                                facts.title = bounded(&content, MAX_TITLE_CHARS);
                            }
                            continue;
                        }
                        "meta" => facts.read_meta(&attributes),
                        "h1" | "h2" | "h3" => heading = Some(Collapsed::default()),
                        "a" => facts.read_link(&attributes),
                        _ => {}
                    }
                    if BLOCK_ELEMENTS.contains(&name.as_str()) {
                        text.push(" ", MAX_TEXT_BYTES);
                        if let Some(heading) = heading.as_mut() {
                            heading.push(" ", MAX_HEADING_CHARS * 4);
                        }
                    }
                }
                Token::Close { name } => {
                    if matches!(name.as_str(), "h1" | "h2" | "h3")
                        && let Some(done) = heading.take()
                        && facts.headings.len() < MAX_HEADINGS
                        && let Some(done) = bounded(&done.finish(), MAX_HEADING_CHARS)
                    {
                        facts.headings.push(done);
                    }
                    if BLOCK_ELEMENTS.contains(&name.as_str()) {
                        text.push(" ", MAX_TEXT_BYTES);
                    }
                }
                Token::Text(raw) => {
                    let decoded = entities::decode(raw);
                    if let Some(heading) = heading.as_mut() {
                        heading.push(&decoded, MAX_HEADING_CHARS * 4);
                    }
                    for address in contacts::addresses_in(&decoded) {
                        add_unique(&mut facts.emails, address);
                    }
                    for number in contacts::phone_numbers_in(&decoded) {
                        add_unique(&mut facts.phones, number);
                    }
                    text.push(&decoded, MAX_TEXT_BYTES);
                }
            }
        }
        facts.text = text.finish();
        facts
    }

    fn read_meta(&mut self, attributes: &[(String, String)]) {
        let Some(content) = attribute(attributes, "content") else {
            return;
        };
        let name = attribute(attributes, "name")
            .or_else(|| attribute(attributes, "property"))
            .unwrap_or_default()
            .to_ascii_lowercase();
        match name.as_str() {
            "description" => self.description = bounded(content, MAX_DESCRIPTION_CHARS),
            "og:description" | "twitter:description" if self.description.is_none() => {
                self.description = bounded(content, MAX_DESCRIPTION_CHARS)
            }
            "og:site_name" => self.site_name = bounded(content, MAX_TITLE_CHARS),
            "og:title" if self.title.is_none() => self.title = bounded(content, MAX_TITLE_CHARS),
            _ => {}
        }
    }

    fn read_link(&mut self, attributes: &[(String, String)]) {
        let Some(href) = attribute(attributes, "href") else {
            return;
        };
        if let Some(address) = contacts::mailto_address(href) {
            add_unique(&mut self.emails, address);
        } else if let Some(number) = contacts::tel_number(href) {
            add_unique(&mut self.phones, number);
        } else if let Some(link) = contacts::social_link(href) {
            add_unique(&mut self.social_links, link);
        }
    }
}

#[cfg(test)]
mod tests;
