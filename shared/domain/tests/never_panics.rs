//! Every parser and renderer of untrusted input, fed arbitrary input: none may panic. Inputs
//! are biased towards the characters each one treats specially (`<`, `>`, `{{`, quotes,
//! delimiters, multi-byte UTF-8), where slicing bugs live. Run by `scripts/test` (nextest);
//! `PROPTEST_CASES` raises the count for a longer hunt.

use proptest::prelude::*;
use scaliyo_domain::ai;
use scaliyo_domain::email;
use scaliyo_domain::import::{self, Mapping, RawRecord, RecordSplitter};
use scaliyo_domain::provider_events;
use scaliyo_domain::schedule;
use scaliyo_domain::social;
use scaliyo_domain::web_page;
use scaliyo_domain::webhooks;
use serde_json::{Map, Value};

/// Text made of the pieces markup parsers trip over, in any order.
fn markup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just("</".to_owned()),
        Just("<a href=".to_owned()),
        Just("<a href=\"".to_owned()),
        Just("</a>".to_owned()),
        Just("<script".to_owned()),
        Just("</body>".to_owned()),
        Just("{{".to_owned()),
        Just("}}".to_owned()),
        Just("|".to_owned()),
        Just("&amp;".to_owned()),
        Just("&#".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("é".to_owned()),
        Just("🦀".to_owned()),
        "[a-z =/:.#]{0,6}",
        any::<String>(),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|parts| parts.concat())
}

fn merge_values() -> email::MergeValues {
    [("first_name", "Grace"), ("company", "Navy")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn html_rendering_and_rewriting_never_panic(html in markup()) {
        let _ = email::html_to_text(&html);
        let _ = email::render(&html, &merge_values(), true);
        let _ = email::render(&html, &merge_values(), false);
        let mut n = 0;
        let _ = email::rewrite_links(
            &html,
            "https://t.example/u/x",
            || { n += 1; format!("tok{n}") },
            |token, _| format!("https://t.example/t/c/{token}"),
        );
        let _ = email::add_open_pixel(&html, "https://t.example/t/o/x");
        let _ = email::add_honeypot_link(&html, "https://t.example/t/c/h");
        let _ = email::add_unsubscribe_footer(&html, "https://t.example/u/x");
        let _ = email::escape_html(&html);
    }

    #[test]
    fn url_and_signature_checks_never_panic(text in markup(), body in proptest::collection::vec(any::<u8>(), 0..256), now in any::<i64>()) {
        let _ = webhooks::check_url(&text, false, false);
        let _ = webhooks::check_url(&format!("https://{text}"), true, true);
        let _ = webhooks::verify(b"secret", &text, &body, now, 300);
        let _ = provider_events::sendgrid_signature_valid(&text, &text, &text, &body);
        let _ = provider_events::mandrill_signature_valid(&text, &text, &[(text.clone(), text.clone())], &text);
        let _ = provider_events::sendgrid_events(&body);
        let _ = provider_events::sendgrid_events(text.as_bytes());
        let _ = provider_events::mandrill_events(&text);
    }

    #[test]
    fn csv_splitting_decoding_and_mapping_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        chunk in 1usize..64,
        headers in proptest::collection::vec("[A-Za-z #_-]{0,12}", 0..8),
        cells in proptest::collection::vec(markup(), 0..8),
    ) {
        let _ = import::sniff_encoding(&bytes, true);
        let _ = import::sniff_encoding(&bytes, false);
        if let Ok(encoding) = import::sniff_encoding(&bytes, true) {
            let mut decoder = import::TextDecoder::new(encoding);
            let mut text = String::new();
            for part in bytes.chunks(chunk) {
                decoder.decode(part, false, &mut text);
            }
            decoder.decode(&[], true, &mut text);
            let _ = import::sniff_delimiter(&text);
        }
        for delimiter in import::records::DELIMITERS {
            let mut splitter = RecordSplitter::new(delimiter);
            let mut out = Vec::new();
            for part in bytes.chunks(chunk) {
                splitter.push(part, &mut out);
            }
            splitter.finish(&mut out);
        }
        if let Ok(mapping) = Mapping::new(&headers, &Map::new()) {
            let record = RawRecord { number: 2, fields: cells.clone(), oversized: false };
            let _ = import::map_row(&mapping, &record);
        }
        for cell in &cells {
            let _ = import::leads::normalise_email(cell);
            let _ = import::leads::normalise_phone(cell);
            let _ = import::leads::canonical_linkedin(cell);
            let _ = import::leads::neutralise(cell);
            let _ = import::leads::header_key(cell);
        }
        let mut overrides = Map::new();
        for (header, cell) in headers.iter().zip(&cells) {
            overrides.insert(header.clone(), Value::String(cell.clone()));
        }
        let _ = Mapping::new(&headers, &overrides);
    }

    #[test]
    fn provider_answers_and_schedules_never_panic(text in markup(), status in any::<u16>(), chars in 0usize..10_000) {
        let _ = social::read_graph_error(status, &text);
        let _ = social::read_linkedin_error(status, &text, None);
        let _ = social::parse_retry_after(&text);
        let _ = social::read_meta_usage(Some(&text), Some(&text));
        let _ = social::plausible_slug(&text);
        let _ = social::escape_little_text(&text);
        for channel in ["facebook", "instagram", "linkedin"].iter().filter_map(|c| social::Channel::parse(c)) {
            let _ = social::compose(channel, &text, Some(&text), true);
            let _ = social::check_post(&text, &[], &[channel], chars);
        }
        let _ = schedule::parse_zone(&text);
        let _ = schedule::SendWindow::parse(std::slice::from_ref(&text), &text, &text, &text);
    }

    #[test]
    fn web_pages_and_model_answers_never_panic(text in markup(), bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let page = web_page::decode(&bytes, Some(&text));
        let facts = web_page::PageFacts::extract(&page);
        let facts = web_page::PageFacts { text: web_page::PageFacts::extract(&text).text, ..facts };
        let _ = web_page::website_url(&text);
        let lead = serde_json::json!({"name": text, "email": text, "custom_fields": {"website": text}, "knowledgeBase": {"aiResearchBrief": text}});
        let _ = web_page::website_of(&lead);
        let _ = ai::research::prompt(&lead, &text, &facts);
        if let Ok(brief) = ai::research::Brief::parse(&text) {
            let _ = ai::research::knowledge_base(&lead, &brief, &text, &facts, chrono::Utc::now());
        }
        for steps in 0..3 {
            for email in ai::sequence::WrittenEmail::parse_all(&text, steps).unwrap_or_default() {
                let _ = email.html_body();
            }
        }
        let _ = ai::sequence::prompt(&ai::sequence::WritingConfig::default(), &[], &lead);
    }
}
