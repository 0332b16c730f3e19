//! Which website a lead's company has: one named on the lead (`custom_fields.website` and
//! its usual spellings), else the domain of its business e-mail address — never a free-mail
//! provider's.

use serde_json::Value;

/// The custom fields imports and the frontend use for a company's website, in order.
const WEBSITE_FIELDS: [&str; 6] = [
    "website",
    "company_website",
    "companyWebsite",
    "domain",
    "company_domain",
    "url",
];

/// Mail providers anyone can have an address at: their domain says nothing of a company.
const FREE_MAIL_DOMAINS: [&str; 24] = [
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "ymail.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "gmx.de",
    "gmx.net",
    "gmx.com",
    "web.de",
    "t-online.de",
    "proton.me",
    "protonmail.com",
    "yandex.com",
    "mail.ru",
    "qq.com",
    "163.com",
    "zoho.com",
];

/// A website as an absolute http(s) URL: `acme.com` becomes `https://acme.com/`. None when it
/// is no web address (another scheme, credentials, a host without a dot).
pub fn website_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let absolute = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("https://{}", raw.trim_start_matches("//"))
    };
    let mut parsed = url::Url::parse(&absolute).ok()?;
    if !matches!(parsed.scheme(), "https" | "http")
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return None;
    }
    let host = parsed.host_str()?;
    if !host.contains('.') || host.ends_with('.') {
        return None;
    }
    parsed.set_fragment(None);
    Some(parsed.to_string())
}

/// The lead's company website, if the lead says or its address shows it.
pub fn website_of(lead: &Value) -> Option<String> {
    let named = lead.get("custom_fields").and_then(|custom| {
        WEBSITE_FIELDS
            .iter()
            .filter_map(|field| custom.get(field).and_then(Value::as_str))
            .find_map(website_url)
    });
    named.or_else(|| {
        ["primary_email", "email"]
            .iter()
            .filter_map(|field| lead.get(field).and_then(Value::as_str))
            .find_map(business_domain)
            .and_then(|domain| website_url(&domain))
    })
}

/// The domain of an address, unless anyone can have an address there.
fn business_domain(address: &str) -> Option<String> {
    let (_, domain) = address.trim().rsplit_once('@')?;
    let domain = domain.to_ascii_lowercase();
    let free = FREE_MAIL_DOMAINS.contains(&domain.as_str())
        || domain.starts_with("yahoo.")
        || domain.starts_with("hotmail.")
        || domain.starts_with("outlook.");
    (!free && domain.contains('.')).then_some(domain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_website_becomes_an_absolute_web_address() {
        assert_eq!(
            website_url("acme.com").as_deref(),
            Some("https://acme.com/")
        );
        assert_eq!(
            website_url("http://www.acme.com/about#team").as_deref(),
            Some("http://www.acme.com/about")
        );
        assert_eq!(website_url("ftp://acme.com"), None);
        assert_eq!(website_url("https://user:pw@acme.com"), None);
        assert_eq!(website_url("localhost"), None);
        assert_eq!(website_url("acme dot com"), None);
    }

    #[test]
    fn the_lead_names_its_website_or_its_business_address_shows_it() {
        let named = json!({"custom_fields": {"website": "www.acme.io"}, "email": "jo@other.com"});
        assert_eq!(website_of(&named).as_deref(), Some("https://www.acme.io/"));
        let by_address =
            json!({"custom_fields": {}, "email": "", "primary_email": "Jo@Acme.co.uk"});
        assert_eq!(
            website_of(&by_address).as_deref(),
            Some("https://acme.co.uk/")
        );
        let free_mail = json!({"email": "jo@gmail.com"});
        assert_eq!(website_of(&free_mail), None);
        let yahoo = json!({"email": "jo@yahoo.co.uk"});
        assert_eq!(website_of(&yahoo), None);
    }
}
