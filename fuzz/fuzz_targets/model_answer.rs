//! Any text as a model's answer: read as a research brief and as a sequence's e-mails —
//! never a panic; what is read back is bounded and carries no merge tag.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scaliyo_domain::ai::research::{self, Brief};
use scaliyo_domain::ai::sequence::WrittenEmail;
use scaliyo_domain::web_page::PageFacts;

fuzz_target!(|text: &str| {
    if let Ok(brief) = Brief::parse(text) {
        assert!(brief.talking_points.len() <= 7);
        let lead = serde_json::json!({});
        let _ = research::knowledge_base(&lead, &brief, "https://acme.com/", &PageFacts::default(), chrono::Utc::now());
    }
    for steps in 1..4 {
        if let Ok(emails) = WrittenEmail::parse_all(text, steps) {
            assert_eq!(emails.len(), steps);
            for email in emails {
                assert!(!email.subject.contains("{{") && !email.subject.contains('\n'));
                let html = email.html_body();
                assert!(!html.contains("{{") && !html.contains("}}"));
            }
        }
    }
});
