//! The ways to reach a company a page shows: e-mail addresses (`mailto:` links and addresses
//! in the text), phone numbers (`tel:` links and international numbers in the text) and the
//! company's profiles on the social networks.

/// The hosts whose profile links count as social links.
const SOCIAL_HOSTS: [&str; 9] = [
    "linkedin.com",
    "twitter.com",
    "x.com",
    "facebook.com",
    "instagram.com",
    "youtube.com",
    "tiktok.com",
    "github.com",
    "xing.com",
];

/// An address from a `mailto:` link (its query dropped), when it looks like one.
pub fn mailto_address(href: &str) -> Option<String> {
    let rest = strip_prefix_ignoring_case(href.trim(), "mailto:")?;
    let address = rest.split(['?', ',']).next().unwrap_or_default();
    let address = percent_decoded(address);
    plausible_address(&address).then(|| address.to_ascii_lowercase())
}

/// A number from a `tel:` link, as written there.
pub fn tel_number(href: &str) -> Option<String> {
    let rest = strip_prefix_ignoring_case(href.trim(), "tel:")?;
    let number = percent_decoded(rest).trim().to_owned();
    let digits = number.chars().filter(char::is_ascii_digit).count();
    let allowed = number
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    ((6..=15).contains(&digits) && allowed).then_some(number)
}

/// A social profile link: an absolute https or http URL on one of the networks' hosts
/// (a subdomain such as `www.` or `de.` included), fragment dropped.
pub fn social_link(href: &str) -> Option<String> {
    let parsed = url::Url::parse(href.trim()).ok()?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return None;
    }
    let host = parsed.host_str()?.to_ascii_lowercase();
    let social = SOCIAL_HOSTS
        .iter()
        .any(|s| host == *s || host.ends_with(&format!(".{s}")));
    // The network's home page is not the company's profile.
    let has_path = parsed.path().trim_matches('/').len() > 1;
    (social && has_path).then(|| {
        let mut link = parsed;
        link.set_fragment(None);
        link.to_string()
    })
}

/// Addresses written in the text (`name@domain.tld`).
pub fn addresses_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@') {
        let is_part = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_part(*c))
            .last()
            .map(|(i, _)| i)
            .unwrap_or(at);
        let end = text[at + 1..]
            .char_indices()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || ".-".contains(*c))
            .last()
            .map(|(i, c)| at + 1 + i + c.len_utf8())
            .unwrap_or(at + 1);
        let candidate = text[start..end].trim_matches('.');
        if plausible_address(candidate) {
            found.push(candidate.to_ascii_lowercase());
        }
    }
    found
}

/// International numbers written in the text: a `+`, then 8 to 15 digits with the spaces,
/// dashes, dots and brackets people write between them.
pub fn phone_numbers_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices('+') {
        let candidate: String = text[at..]
            .chars()
            .enumerate()
            .take_while(|(i, c)| *i == 0 || c.is_ascii_digit() || (*i > 1 && " -.()/".contains(*c)))
            .map(|(_, c)| c)
            .collect();
        let candidate = candidate.trim_end_matches(|c: char| !c.is_ascii_digit());
        let digits = candidate.chars().filter(char::is_ascii_digit).count();
        if (8..=15).contains(&digits) {
            found.push(candidate.to_owned());
        }
    }
    found
}

fn plausible_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let Some((name, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !name.is_empty()
        && domain.len() <= 253
        && !domain.contains('@')
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn strip_prefix_ignoring_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// `%40` → `@`; a broken escape stays as written.
fn percent_decoded(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailto_and_tel_links_give_addresses_and_numbers() {
        assert_eq!(
            mailto_address("MAILTO:Sales%40Acme.com?subject=Hi").as_deref(),
            Some("sales@acme.com")
        );
        assert_eq!(mailto_address("mailto:not-an-address"), None);
        assert_eq!(
            tel_number("tel:+49 30 1234567").as_deref(),
            Some("+49 30 1234567")
        );
        assert_eq!(tel_number("tel:javascript:alert(1)"), None);
    }

    #[test]
    fn social_links_are_profiles_on_the_networks() {
        assert_eq!(
            social_link("https://www.linkedin.com/company/acme#about").as_deref(),
            Some("https://www.linkedin.com/company/acme")
        );
        assert_eq!(social_link("https://linkedin.com/"), None);
        assert_eq!(social_link("https://notlinkedin.com/acme"), None);
        assert_eq!(social_link("javascript:alert(1)"), None);
    }

    #[test]
    fn addresses_and_numbers_are_found_in_text() {
        assert_eq!(
            addresses_in("Write to info@acme.de. Or a@b"),
            vec!["info@acme.de".to_owned()]
        );
        assert_eq!(
            phone_numbers_in("Call +1 (415) 555-0100 today; +12 is no number"),
            vec!["+1 (415) 555-0100".to_owned()]
        );
    }
}
