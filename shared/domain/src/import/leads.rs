//! From a CSV record to a lead: header mapping (Apollo's and common CRM exports', case- and
//! punctuation-insensitive, overridable), normalisation (e-mails, phones, LinkedIn URLs,
//! names) and spreadsheet-formula neutralisation. Pure; the importer decides about
//! duplicates and limits.

use serde_json::{Map, Value, json};

use super::records::RawRecord;

/// Why a row was not imported (the codes of `skipped_rows` and of the rejected-rows CSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    InvalidEmail,
    DuplicateInFile,
    DuplicateExisting,
    MissingIdentity,
    PlanLimit,
    MalformedRow,
    /// A record over [`super::records::MAX_RECORD_BYTES`] or its field cap.
    RecordTooLarge,
}

impl SkipReason {
    pub fn code(self) -> &'static str {
        match self {
            SkipReason::InvalidEmail => "invalid_email",
            SkipReason::DuplicateInFile => "duplicate_in_file",
            SkipReason::DuplicateExisting => "duplicate_existing",
            SkipReason::MissingIdentity => "missing_identity",
            SkipReason::PlanLimit => "plan_limit",
            SkipReason::MalformedRow => "malformed_row",
            SkipReason::RecordTooLarge => "record_too_large",
        }
    }
}

/// Where one column of the file goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A text column of `leads`.
    Column(&'static str),
    /// One or more e-mail addresses (the first valid one becomes `primary_email`).
    Email,
    Phone,
    LinkedIn,
    /// City, state and country are joined into `location`.
    LocationPart,
    Custom(String),
    Ignore,
}

impl Target {
    pub fn describe(&self) -> String {
        match self {
            Target::Column(c) => (*c).to_owned(),
            Target::Email => "emails".into(),
            Target::Phone => "phones".into(),
            Target::LinkedIn => "linkedin_url".into(),
            Target::LocationPart => "location".into(),
            Target::Custom(key) => format!("custom_fields.{key}"),
            Target::Ignore => "ignore".into(),
        }
    }
}

/// Lowercase letters and digits only: "Person Linkedin Url" → "personlinkedinurl",
/// "# Employees" → "employees".
pub fn header_key(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The known headers: Apollo's export, Sales Navigator tools, HubSpot, Salesforce, generic.
fn known(key: &str) -> Option<Target> {
    let target = match key {
        "firstname" | "first" | "givenname" | "fname" => Target::Column("first_name"),
        "lastname" | "last" | "surname" | "familyname" | "lname" => Target::Column("last_name"),
        "name" | "fullname" | "contactname" | "contact" | "leadname" | "personname" => {
            Target::Column("name")
        }
        "email" | "emails" | "emailaddress" | "emailaddresses" | "workemail" | "businessemail"
        | "primaryemail" | "email1" | "email2" | "secondaryemail" | "tertiaryemail"
        | "personalemail" | "otheremail" | "contactemail" | "mail" => Target::Email,
        "title" | "jobtitle" | "position" | "role" | "headline" | "designation" => {
            Target::Column("title")
        }
        "company"
        | "companyname"
        | "companynameforemails"
        | "organization"
        | "organizationname"
        | "organisation"
        | "account"
        | "accountname"
        | "employer"
        | "currentcompany" => Target::Column("company"),
        "personlinkedinurl"
        | "linkedinurl"
        | "linkedin"
        | "linkedinprofile"
        | "linkedinprofileurl"
        | "profileurl"
        | "linkedinprofilelink"
        | "linkedinlink" => Target::LinkedIn,
        "phone" | "phones" | "phonenumber" | "mobile" | "mobilephone" | "mobilenumber"
        | "corporatephone" | "workdirectphone" | "directphone" | "workphone" | "homephone"
        | "otherphone" | "telephone" | "tel" | "cellphone" | "companyphone" => Target::Phone,
        "city" | "state" | "country" | "region" | "province" => Target::LocationPart,
        "location" | "personlocation" | "address" | "geography" => Target::Column("location"),
        "industry" | "companyindustry" | "sector" => Target::Column("industry"),
        "employees" | "numberofemployees" | "companysize" | "employeecount" | "headcount"
        | "size" | "employeesrange" => Target::Column("company_size"),
        "website" | "companywebsite" | "domain" | "companydomain" | "url" | "web" => {
            Target::Custom("website".into())
        }
        _ => return None,
    };
    Some(target)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("column_mapping names {header:?}, which is not a header of the file")]
    UnknownHeader { header: String },
    #[error("column_mapping maps {header:?} to {target:?}, which is not an importable lead field")]
    UnknownTarget { header: String, target: String },
}

/// Lead columns the caller may map to (besides `emails`, `phones`, `custom_fields.<key>`,
/// `ignore`).
pub const MAPPABLE: [&str; 10] = [
    "name",
    "first_name",
    "last_name",
    "company",
    "title",
    "linkedin_url",
    "location",
    "industry",
    "company_size",
    "email",
];

fn target_from_name(name: &str) -> Option<Target> {
    let name = name.trim();
    Some(match name {
        "ignore" | "" => Target::Ignore,
        "email" | "emails" | "primary_email" => Target::Email,
        "phone" | "phones" | "primary_phone" => Target::Phone,
        "linkedin_url" => Target::LinkedIn,
        other => match other.strip_prefix("custom_fields.") {
            Some(key) if !key.is_empty() => Target::Custom(key.to_owned()),
            _ => Target::Column(MAPPABLE.iter().find(|c| **c == other)?),
        },
    })
}

/// How each column of a file is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub headers: Vec<String>,
    pub targets: Vec<Target>,
}

impl Mapping {
    /// Auto-maps the headers; `overrides` (`{"Header": "lead_column" | "custom_fields.x" |
    /// "ignore"}`) win. A lead column mapped twice keeps the first; later ones go to
    /// `custom_fields` under their header.
    pub fn new(headers: &[String], overrides: &Map<String, Value>) -> Result<Self, MappingError> {
        let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
        for (header, _) in overrides {
            if !headers.iter().any(|h| h.trim() == header.trim())
                && !keys.contains(&header_key(header))
            {
                return Err(MappingError::UnknownHeader {
                    header: header.clone(),
                });
            }
        }
        let mut targets = Vec::with_capacity(headers.len());
        let mut taken: Vec<&'static str> = Vec::new();
        for (header, key) in headers.iter().zip(&keys) {
            let chosen = overrides
                .iter()
                .find(|(h, _)| h.trim() == header.trim() || header_key(h) == *key)
                .map(|(h, v)| {
                    let name = v.as_str().unwrap_or_default();
                    target_from_name(name).ok_or_else(|| MappingError::UnknownTarget {
                        header: h.clone(),
                        target: name.to_owned(),
                    })
                })
                .transpose()?;
            let target = match chosen.or_else(|| known(key)) {
                Some(Target::Column(column)) if taken.contains(&column) => {
                    Target::Custom(custom_key(header))
                }
                Some(Target::Column("email")) => Target::Email,
                Some(target) => target,
                None if key.is_empty() => Target::Ignore,
                None => Target::Custom(custom_key(header)),
            };
            if let Target::Column(column) = target {
                taken.push(column);
            }
            targets.push(target);
        }
        Ok(Self {
            headers: headers.to_vec(),
            targets,
        })
    }

    /// `{"Header": "target"}` as applied, for the batch's `column_mapping`.
    pub fn describe(&self) -> Map<String, Value> {
        self.headers
            .iter()
            .zip(&self.targets)
            .map(|(h, t)| (h.clone(), Value::String(t.describe())))
            .collect()
    }
}

fn custom_key(header: &str) -> String {
    let key: String = header
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let key = key.trim_matches('_').to_owned();
    if key.is_empty() { "column".into() } else { key }
}

/// A row ready to become a lead, with its identities for matching.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadDraft {
    /// Lead columns (`name`, `email`, `emails`, `primary_email`, `phones`, …, `custom_fields`).
    pub fields: Map<String, Value>,
    /// `lower(primary_email)`.
    pub email_key: Option<String>,
    /// The canonical LinkedIn profile URL.
    pub linkedin_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RowOutcome {
    Lead(LeadDraft),
    Skipped { reason: SkipReason, detail: String },
}

/// Maps one data record.
pub fn map_row(mapping: &Mapping, record: &RawRecord) -> RowOutcome {
    let expected = mapping.headers.len();
    if record.oversized {
        return RowOutcome::Skipped {
            reason: SkipReason::RecordTooLarge,
            detail: format!(
                "the record is longer than {} bytes or {} fields",
                super::records::MAX_RECORD_BYTES,
                super::records::MAX_RECORD_FIELDS
            ),
        };
    }
    if record.fields.len() != expected {
        return RowOutcome::Skipped {
            reason: SkipReason::MalformedRow,
            detail: format!("expected {expected} fields, found {}", record.fields.len()),
        };
    }
    // Room for every mapped column and the few derived ones (name, emails, phones…).
    let mut fields = Map::with_capacity(expected + 8);
    let mut custom = Map::new();
    let mut emails: Vec<String> = Vec::new();
    let mut invalid_emails: Vec<String> = Vec::new();
    let mut phones: Vec<String> = Vec::new();
    let mut location: Vec<String> = Vec::new();
    let mut linkedin: Option<String> = None;
    let mut bad_linkedin: Option<String> = None;
    for (target, raw) in mapping.targets.iter().zip(&record.fields) {
        let value = raw.trim();
        if value.is_empty() {
            continue;
        }
        match target {
            Target::Ignore => {}
            Target::Column(column) => {
                fields
                    .entry((*column).to_owned())
                    .or_insert_with(|| json!(neutralise(value)));
            }
            Target::Email => {
                for candidate in split_list(value) {
                    match normalise_email(candidate) {
                        Some(email) if !emails.contains(&email) => emails.push(email),
                        Some(_) => {}
                        None => invalid_emails.push(candidate.to_owned()),
                    }
                }
            }
            Target::Phone => {
                for candidate in split_list(value) {
                    if let Some(phone) = normalise_phone(candidate)
                        && !phones.contains(&phone)
                    {
                        phones.push(phone);
                    }
                }
            }
            Target::LinkedIn => match canonical_linkedin(value) {
                Some(url) => {
                    linkedin.get_or_insert(url);
                }
                None => bad_linkedin = Some(value.to_owned()),
            },
            Target::LocationPart => location.push(neutralise(value)),
            Target::Custom(key) => {
                custom
                    .entry(key.clone())
                    .or_insert_with(|| json!(neutralise(value)));
            }
        }
    }
    if emails.is_empty() && linkedin.is_none() {
        return RowOutcome::Skipped {
            reason: if invalid_emails.is_empty() {
                SkipReason::MissingIdentity
            } else {
                SkipReason::InvalidEmail
            },
            detail: match invalid_emails.first() {
                Some(bad) => format!("{bad:?} is not a valid e-mail address"),
                None => "no e-mail address and no LinkedIn URL".into(),
            },
        };
    }
    if let Some(bad) = bad_linkedin {
        custom.insert("linkedin_unrecognised".into(), json!(neutralise(&bad)));
    }
    if !invalid_emails.is_empty() {
        custom.insert(
            "invalid_emails".into(),
            json!(
                invalid_emails
                    .iter()
                    .map(|e| neutralise(e))
                    .collect::<Vec<_>>()
            ),
        );
    }
    if !location.is_empty() && !fields.contains_key("location") {
        fields.insert("location".into(), json!(location.join(", ")));
    }
    let first = fields
        .get("first_name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let last = fields
        .get("last_name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !fields.contains_key("name") {
        let full = format!("{first} {last}").trim().to_owned();
        let name = if !full.is_empty() {
            full
        } else if let Some(email) = emails.first() {
            email.clone()
        } else {
            linkedin.clone().unwrap_or_default()
        };
        fields.insert("name".into(), json!(name));
    }
    if let Some(primary) = emails.first() {
        fields.insert("email".into(), json!(primary));
        fields.insert("primary_email".into(), json!(primary));
    }
    fields.insert("emails".into(), json!(emails));
    if let Some(primary) = phones.first() {
        fields.insert("primary_phone".into(), json!(primary));
    }
    fields.insert("phones".into(), json!(phones));
    if let Some(url) = &linkedin {
        fields.insert("linkedin_url".into(), json!(url));
    }
    fields.insert("custom_fields".into(), Value::Object(custom));
    RowOutcome::Lead(LeadDraft {
        email_key: emails.first().cloned(),
        linkedin_key: linkedin,
        fields,
    })
}

/// Cells with several values: "a@x.com; b@y.com", "+1 555 0100 / +1 555 0101".
fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split([',', ';', '|', '\n', '/'])
        .flat_map(|part| part.split(" or "))
        .map(str::trim)
        .filter(|p| !p.is_empty())
}

/// Trimmed, without `mailto:` and angle brackets, lowercased; `None` unless it looks like a
/// deliverable address (one `@`, a dotted domain of letters, digits and hyphens).
pub fn normalise_email(value: &str) -> Option<String> {
    let value = value
        .trim()
        .trim_matches(|c| c == '<' || c == '>' || c == '"' || c == '\'');
    let lowered = value.to_lowercase();
    let value = lowered.strip_prefix("mailto:").unwrap_or(&lowered).trim();
    let (local, domain) = value.split_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(char::is_alphabetic));
    (local_ok && domain_ok).then(|| value.to_owned())
}

/// Digits with an optional leading `+` and the separators people type; at least 7 digits.
pub fn normalise_phone(value: &str) -> Option<String> {
    let value = value.trim().trim_start_matches('\'');
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value.chars().all(|c| {
        c.is_ascii_digit()
            || " +-().x".contains(c)
            || c.is_ascii_alphabetic() && "ext".contains(c.to_ascii_lowercase())
    });
    (allowed && (7..=20).contains(&digits))
        .then(|| value.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// `https://www.linkedin.com/in/<slug>` (or `/company/…`, `/pub/…`, `/sales/…`) whatever
/// the scheme, host variant (`linkedin.com`, `uk.linkedin.com`, `m.linkedin.com`), case,
/// trailing slash, query or fragment.
pub fn canonical_linkedin(value: &str) -> Option<String> {
    let value = value.trim();
    let without_scheme = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .unwrap_or(value);
    let (host, path) = without_scheme.split_once('/')?;
    let host = host.to_ascii_lowercase();
    if host != "linkedin.com" && !host.ends_with(".linkedin.com") {
        return None;
    }
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode_lower)
        .collect();
    match segments.first().map(String::as_str) {
        Some("in" | "company" | "pub" | "school" | "sales" | "showcase") if segments.len() >= 2 => {
        }
        _ => return None,
    }
    Some(format!("https://www.linkedin.com/{}", segments.join("/")))
}

fn percent_decode_lower(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_lowercase()
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a leading tab/CR) is
/// stored with a leading apostrophe, so exporting the leads again cannot execute it.
pub fn neutralise(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn apollo_headers_map_to_lead_columns() {
        let apollo = headers(&[
            "First Name",
            "Last Name",
            "Title",
            "Company",
            "Company Name for Emails",
            "Email",
            "Email Status",
            "Person Linkedin Url",
            "Corporate Phone",
            "Mobile Phone",
            "Work Direct Phone",
            "City",
            "State",
            "Country",
            "Industry",
            "# Employees",
            "Website",
        ]);
        let mapping = Mapping::new(&apollo, &Map::new()).unwrap();
        let described = mapping.describe();
        assert_eq!(described["First Name"], "first_name");
        assert_eq!(described["Company"], "company");
        assert_eq!(
            described["Company Name for Emails"],
            "custom_fields.company_name_for_emails"
        );
        assert_eq!(described["Email"], "emails");
        assert_eq!(described["Email Status"], "custom_fields.email_status");
        assert_eq!(described["Person Linkedin Url"], "linkedin_url");
        assert_eq!(described["Mobile Phone"], "phones");
        assert_eq!(described["State"], "location");
        assert_eq!(described["# Employees"], "company_size");
        assert_eq!(described["Website"], "custom_fields.website");
    }

    #[test]
    fn the_callers_mapping_wins_and_bad_mappings_are_refused() {
        let file = headers(&["E-Mail", "Firma", "Notes"]);
        let overrides: Map<String, Value> =
            serde_json::from_value(json!({ "Firma": "company", "Notes": "ignore" })).unwrap();
        let mapping = Mapping::new(&file, &overrides).unwrap();
        assert_eq!(
            mapping.targets,
            vec![Target::Email, Target::Column("company"), Target::Ignore]
        );
        let unknown: Map<String, Value> =
            serde_json::from_value(json!({ "Nope": "company" })).unwrap();
        assert!(matches!(
            Mapping::new(&file, &unknown),
            Err(MappingError::UnknownHeader { .. })
        ));
        let bad: Map<String, Value> =
            serde_json::from_value(json!({ "Firma": "client_id" })).unwrap();
        assert!(matches!(
            Mapping::new(&file, &bad),
            Err(MappingError::UnknownTarget { .. })
        ));
    }

    #[test]
    fn a_row_is_normalised() {
        let mapping = Mapping::new(
            &headers(&[
                "First Name",
                "Last Name",
                "Email",
                "Phone",
                "LinkedIn",
                "City",
                "Country",
                "Company",
                "Score",
            ]),
            &Map::new(),
        )
        .unwrap();
        let record = RawRecord {
            number: 2,
            fields: headers(&[
                " Grace ",
                "Hopper",
                "Grace@Navy.MIL; g.hopper@example.com, not-an-email",
                "+1 (555) 010-0100 / +1 555 0101",
                "http://uk.linkedin.com/in/GraceHopper/?trk=x",
                "Arlington",
                "USA",
                "=HYPERLINK(\"http://evil\")",
                "-5",
            ]),
            oversized: false,
        };
        let RowOutcome::Lead(lead) = map_row(&mapping, &record) else {
            panic!("a lead")
        };
        assert_eq!(lead.fields["name"], "Grace Hopper");
        assert_eq!(lead.fields["primary_email"], "grace@navy.mil");
        assert_eq!(
            lead.fields["emails"],
            json!(["grace@navy.mil", "g.hopper@example.com"])
        );
        assert_eq!(
            lead.fields["phones"],
            json!(["+1 (555) 010-0100", "+1 555 0101"])
        );
        assert_eq!(lead.fields["primary_phone"], "+1 (555) 010-0100");
        assert_eq!(
            lead.fields["linkedin_url"],
            "https://www.linkedin.com/in/gracehopper"
        );
        assert_eq!(lead.fields["location"], "Arlington, USA");
        assert_eq!(lead.fields["company"], "'=HYPERLINK(\"http://evil\")");
        assert_eq!(lead.fields["custom_fields"]["score"], "'-5");
        assert_eq!(
            lead.fields["custom_fields"]["invalid_emails"],
            json!(["not-an-email"])
        );
        assert_eq!(lead.email_key.as_deref(), Some("grace@navy.mil"));
    }

    #[test]
    fn rows_without_identity_or_with_the_wrong_shape_are_skipped_with_a_reason() {
        let mapping = Mapping::new(&headers(&["Name", "Email"]), &Map::new()).unwrap();
        let skip = |fields: &[&str]| match map_row(
            &mapping,
            &RawRecord {
                number: 9,
                fields: headers(fields),
                oversized: false,
            },
        ) {
            RowOutcome::Skipped { reason, .. } => Some(reason),
            RowOutcome::Lead(_) => None,
        };
        assert_eq!(skip(&["Ada", "ada@"]), Some(SkipReason::InvalidEmail));
        assert_eq!(skip(&["Ada", ""]), Some(SkipReason::MissingIdentity));
        assert_eq!(skip(&["Ada"]), Some(SkipReason::MalformedRow));
        assert_eq!(
            skip(&["Ada", "a@b.co", "extra"]),
            Some(SkipReason::MalformedRow)
        );
        assert_eq!(skip(&["Ada", "ada@example.com"]), None);
    }

    #[test]
    fn linkedin_variants_share_one_canonical_form() {
        for variant in [
            "https://www.linkedin.com/in/ada-lovelace",
            "http://linkedin.com/in/Ada-Lovelace/",
            "linkedin.com/in/ada-lovelace?originalSubdomain=uk",
            "https://m.linkedin.com/in/ada-lovelace#top",
            "https://uk.linkedin.com/in/ada%2Dlovelace",
        ] {
            assert_eq!(
                canonical_linkedin(variant).as_deref(),
                Some("https://www.linkedin.com/in/ada-lovelace"),
                "{variant}"
            );
        }
        assert_eq!(canonical_linkedin("https://example.com/in/ada"), None);
        // A stray `%` before a multi-byte character is kept, not split.
        assert_eq!(
            canonical_linkedin("https://www.linkedin.com/in/%aé").as_deref(),
            Some("https://www.linkedin.com/in/%aé")
        );
        assert_eq!(canonical_linkedin("https://www.linkedin.com/feed/"), None);
    }

    #[test]
    fn emails_are_checked() {
        assert_eq!(
            normalise_email(" <MAILTO:Ada@Example.COM> ").as_deref(),
            Some("ada@example.com")
        );
        for bad in [
            "ada",
            "ada@",
            "@x.com",
            "ada@x",
            "ada@@x.com",
            "a b@x.com",
            "ada@x.c0m",
            "ada..b@x.com",
            "ada@-x.com",
        ] {
            assert_eq!(normalise_email(bad), None, "{bad}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Normalisation never panics, whatever a cell holds.
        #[test]
        fn normalising_any_cell_never_panics(cell in "\\PC{0,80}") {
            let _ = normalise_email(&cell);
            let _ = normalise_phone(&cell);
            let _ = canonical_linkedin(&cell);
            let _ = canonical_linkedin(&format!("https://www.linkedin.com/in/{cell}"));
            prop_assert!(!neutralise(&cell).starts_with(['=', '+', '-', '@']) || neutralise(&cell).starts_with('\''));
        }

        /// A normalised address is its own normal form, lowercase, with one `@`.
        #[test]
        fn normalised_emails_are_stable(local in "[a-zA-Z0-9._%+-]{1,20}", domain in "[a-z0-9-]{1,10}\\.[a-z]{2,6}") {
            if let Some(email) = normalise_email(&format!(" {local}@{domain} ")) {
                prop_assert_eq!(normalise_email(&email), Some(email.clone()));
                prop_assert_eq!(email.matches('@').count(), 1);
                prop_assert_eq!(email.to_lowercase(), email);
            }
        }

        /// Any row of any header maps without panicking.
        #[test]
        fn any_row_maps(headers in prop::collection::vec("\\PC{0,16}", 1..6), cells in prop::collection::vec("\\PC{0,24}", 0..8)) {
            if let Ok(mapping) = Mapping::new(&headers, &Map::new()) {
                let _ = map_row(&mapping, &RawRecord { number: 2, fields: cells, oversized: false });
            }
        }
    }
}
