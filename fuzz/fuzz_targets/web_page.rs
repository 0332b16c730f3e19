//! Any bytes as a company page: decoded, read for facts, turned into a research prompt —
//! never a panic, always within the bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scaliyo_domain::ai::research;
use scaliyo_domain::web_page::{self, PageFacts};

fuzz_target!(|data: &[u8]| {
    let (content_type, page) = match data.split_first() {
        Some((0, rest)) => (Some("text/html; charset=windows-1252"), rest),
        Some((1, rest)) => (Some("text/html; charset=shift_jis"), rest),
        _ => (None, data),
    };
    let text = web_page::decode(page, content_type);
    let facts = PageFacts::extract(&text);
    assert!(facts.headings.len() <= web_page::MAX_HEADINGS);
    assert!(facts.emails.len() <= web_page::MAX_CONTACTS);
    assert!(facts.text.len() <= web_page::MAX_TEXT_BYTES);
    let lead = serde_json::json!({"name": text, "custom_fields": {"website": text}});
    let _ = web_page::website_of(&lead);
    let prompt = research::prompt(&lead, &text, &facts);
    assert!(prompt.len() <= research::MAX_PROMPT_BYTES);
});
