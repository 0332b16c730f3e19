use proptest::prelude::*;

use super::*;

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Acme Robotics &amp; Co. | Warehouse automation</title>
<meta name="description" content="Robots that pick &amp; pack, for mid-size warehouses.">
<meta property="og:site_name" content="Acme">
<style>h1 { color: red } /* <h1>not a heading</h1> */</style>
<script>var x = "<h2>nor this</h2> sales@hidden.com";</script>
</head><body>
<nav><a href="/">Home</a><a href="https://www.linkedin.com/company/acme-robotics">LinkedIn</a>
<a href="https://twitter.com/acmerobots">Twitter</a><a href="https://twitter.com/">X home</a></nav>
<h1>Pick faster.<br>Ship <em>sooner</em>.</h1>
<p>Founded in 2015, Acme   builds autonomous picking robots.</p>
<h2>Customers</h2><p>Used by 200 warehouses in Europe.</p>
<footer>Contact: <a href="mailto:hello@acme-robotics.com?subject=Hi">write</a>,
info@acme-robotics.com, <a href="tel:+49 30 1234567">call</a> or +44 20 7946 0958.</footer>
</body></html>"#;

#[test]
fn a_company_page_yields_its_facts() {
    let facts = PageFacts::extract(PAGE);
    assert_eq!(
        facts.title.as_deref(),
        Some("Acme Robotics & Co. | Warehouse automation")
    );
    assert_eq!(
        facts.description.as_deref(),
        Some("Robots that pick & pack, for mid-size warehouses.")
    );
    assert_eq!(facts.site_name.as_deref(), Some("Acme"));
    assert_eq!(
        facts.headings,
        vec!["Pick faster. Ship sooner.", "Customers"]
    );
    assert_eq!(
        facts.emails,
        vec!["hello@acme-robotics.com", "info@acme-robotics.com"]
    );
    assert_eq!(facts.phones, vec!["+49 30 1234567", "+44 20 7946 0958"]);
    assert_eq!(
        facts.social_links,
        vec![
            "https://www.linkedin.com/company/acme-robotics",
            "https://twitter.com/acmerobots"
        ]
    );
    assert!(
        facts
            .text
            .contains("Founded in 2015, Acme builds autonomous picking robots."),
        "{}",
        facts.text
    );
    assert!(!facts.text.contains("nor this"));
    assert!(!facts.text.contains("color"));
    assert!(!facts.emails.iter().any(|e| e.contains("hidden")));
}

#[test]
fn plain_text_and_broken_pages_still_give_their_text() {
    let facts = PageFacts::extract("<title>Half a page <p>never closed");
    assert_eq!(facts.title.as_deref(), Some("Half a page <p>never closed"));
    let facts = PageFacts::extract("just text, info@acme.com");
    assert_eq!(facts.text, "just text, info@acme.com");
    assert_eq!(facts.emails, vec!["info@acme.com"]);
}

#[test]
fn a_huge_page_is_kept_to_the_bounds() {
    let mut page = String::new();
    for i in 0..500 {
        page.push_str(&format!(
            "<h1>Heading {i}</h1><p>Words words words {i} x{i}@acme.com +49 30 {i:07}</p>"
        ));
    }
    let facts = PageFacts::extract(&page);
    assert_eq!(facts.headings.len(), MAX_HEADINGS);
    assert_eq!(facts.emails.len(), MAX_CONTACTS);
    assert_eq!(facts.phones.len(), MAX_CONTACTS);
    assert!(facts.text.len() <= MAX_TEXT_BYTES);
}

/// Markup made of the pieces pages are made of, in any order and any nesting.
fn markup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z0-9 .,@+&;#-]{0,20}",
        Just("<p>".to_owned()),
        Just("</p>".to_owned()),
        Just("<h1>".to_owned()),
        Just("</h1>".to_owned()),
        Just("<title>".to_owned()),
        Just("</title>".to_owned()),
        Just("<script>".to_owned()),
        Just("</script>".to_owned()),
        Just("<!--".to_owned()),
        Just("-->".to_owned()),
        Just("<a href=\"mailto:".to_owned()),
        Just("\">".to_owned()),
        Just("<meta name=description content='".to_owned()),
        Just("'>".to_owned()),
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just("&#x".to_owned()),
    ];
    prop::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn any_markup_yields_bounded_facts(html in markup()) {
        let facts = PageFacts::extract(&html);
        prop_assert!(facts.headings.len() <= MAX_HEADINGS);
        prop_assert!(facts.emails.len() <= MAX_CONTACTS);
        prop_assert!(facts.text.len() <= MAX_TEXT_BYTES);
        prop_assert!(facts.emails.iter().all(|e| e.contains('@')));
        prop_assert!(!facts.text.contains("  "));
    }

    #[test]
    fn any_text_at_all_is_read_without_failing(bytes in prop::collection::vec(any::<u8>(), 0..2_000)) {
        let text = decode(&bytes, None);
        let _ = PageFacts::extract(&text);
    }

    #[test]
    fn words_in_paragraphs_all_reach_the_text(words in prop::collection::vec("[a-z]{1,12}", 1..40)) {
        let html: String = words.iter().map(|w| format!("<p class=x>{w}</p>")).collect();
        let facts = PageFacts::extract(&html);
        prop_assert_eq!(facts.text, words.join(" "));
    }
}
