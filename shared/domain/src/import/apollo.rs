//! Apollo contacts (the `people` / `contacts` objects of Apollo's API, as the frontend's
//! `apollo-import` function receives them) written as the CSV of an Apollo export, so they
//! go through the one import pipeline: the same header mapping, normalising, dedupe, quotas
//! and per-row reasons as an uploaded file.

use serde_json::Value;

/// The most contacts one call imports (Apollo's API pages hold 100; a larger list is a file).
pub const MAX_CONTACTS: usize = 5_000;

/// The export's headers, each a header the import maps on its own (see `leads::known`).
const HEADERS: [&str; 14] = [
    "First Name",
    "Last Name",
    "Name",
    "Email",
    "Title",
    "Company",
    "Person Linkedin Url",
    "Phone",
    "City",
    "State",
    "Country",
    "Industry",
    "# Employees",
    "Website",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApolloError {
    #[error("contacts is empty: there is nothing to import")]
    Empty,
    #[error("at most {MAX_CONTACTS} contacts per call; import a larger list as a file")]
    TooMany,
    #[error("contacts[{0}] is not an object")]
    NotAnObject(usize),
}

/// The contacts as an Apollo export's CSV: every field quoted (so no value can change the
/// delimiter the import sniffs or split a record), one record per contact.
pub fn contacts_csv(contacts: &[Value]) -> Result<String, ApolloError> {
    if contacts.is_empty() {
        return Err(ApolloError::Empty);
    }
    if contacts.len() > MAX_CONTACTS {
        return Err(ApolloError::TooMany);
    }
    let mut csv = HEADERS.join(",");
    csv.push_str("\r\n");
    for (i, contact) in contacts.iter().enumerate() {
        if !contact.is_object() {
            return Err(ApolloError::NotAnObject(i));
        }
        let fields = fields_of(contact);
        let record: Vec<String> = fields.iter().map(|field| quoted(field)).collect();
        csv.push_str(&record.join(","));
        csv.push_str("\r\n");
    }
    Ok(csv)
}

/// A contact's values in the order of [`HEADERS`]: Apollo's own keys first, then the flat
/// names a hand-made contact list uses.
fn fields_of(contact: &Value) -> [String; 14] {
    let organization = &contact["organization"];
    [
        text(&[&contact["first_name"]]),
        text(&[&contact["last_name"]]),
        text(&[&contact["name"]]),
        text(&[&contact["email"], &contact["work_email"]]),
        text(&[&contact["title"], &contact["headline"]]),
        text(&[
            &contact["organization_name"],
            &organization["name"],
            &contact["company"],
        ]),
        text(&[&contact["linkedin_url"]]),
        phone(contact),
        text(&[&contact["city"]]),
        text(&[&contact["state"]]),
        text(&[&contact["country"]]),
        text(&[&organization["industry"], &contact["industry"]]),
        text(&[
            &organization["estimated_num_employees"],
            &contact["employees"],
        ]),
        text(&[
            &organization["website_url"],
            &organization["primary_domain"],
            &contact["website"],
        ]),
    ]
}

/// The first present value among `candidates`, as text (numbers as written).
fn text(candidates: &[&Value]) -> String {
    candidates
        .iter()
        .find_map(|value| match value {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Apollo's `phone_numbers[].sanitized_number` (or `raw_number`), else a flat `phone`.
fn phone(contact: &Value) -> String {
    let listed = contact["phone_numbers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| text(&[&entry["sanitized_number"], &entry["raw_number"]]))
        .find(|number| !number.is_empty());
    listed.unwrap_or_else(|| {
        text(&[
            &contact["sanitized_phone"],
            &contact["phone"],
            &contact["phone_number"],
        ])
    })
}

fn quoted(field: &str) -> String {
    format!("\"{}\"", field.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{RawRecord, RecordSplitter, sniff_delimiter};
    use proptest::prelude::*;
    use serde_json::json;

    fn records(csv: &str) -> Vec<RawRecord> {
        let mut splitter = RecordSplitter::new(sniff_delimiter(csv));
        let mut out = Vec::new();
        splitter.push(csv.as_bytes(), &mut out);
        splitter.finish(&mut out);
        out
    }

    #[test]
    fn an_apollo_person_becomes_an_export_row() {
        let person = json!({
            "first_name": "Ada", "last_name": "Lovelace", "name": "Ada Lovelace",
            "email": "ada@analytical.example", "title": "Head of Engines",
            "linkedin_url": "https://www.linkedin.com/in/ada",
            "city": "London", "state": "England", "country": "United Kingdom",
            "phone_numbers": [{ "raw_number": "+44 20 7946 0000", "sanitized_number": "+442079460000" }],
            "organization": { "name": "Analytical, Ltd", "industry": "machinery",
                              "estimated_num_employees": 42, "website_url": "https://analytical.example" }
        });
        let out = records(&contacts_csv(&[person]).unwrap());
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].fields, HEADERS.map(str::to_owned).to_vec());
        assert_eq!(
            out[1].fields,
            vec![
                "Ada",
                "Lovelace",
                "Ada Lovelace",
                "ada@analytical.example",
                "Head of Engines",
                "Analytical, Ltd",
                "https://www.linkedin.com/in/ada",
                "+442079460000",
                "London",
                "England",
                "United Kingdom",
                "machinery",
                "42",
                "https://analytical.example",
            ]
        );
    }

    #[test]
    fn flat_contacts_and_bad_lists() {
        let out = records(
            &contacts_csv(&[json!({ "email": "bob@b.example", "company": "B", "phone": "123" })])
                .unwrap(),
        );
        assert_eq!(out[1].fields[3], "bob@b.example");
        assert_eq!(out[1].fields[5], "B");
        assert_eq!(out[1].fields[7], "123");
        assert_eq!(contacts_csv(&[]), Err(ApolloError::Empty));
        assert_eq!(
            contacts_csv(&[json!({}), json!("x")]),
            Err(ApolloError::NotAnObject(1))
        );
        let many = vec![json!({}); MAX_CONTACTS + 1];
        assert_eq!(contacts_csv(&many), Err(ApolloError::TooMany));
    }

    proptest! {
        /// Whatever the values hold (delimiters, quotes, newlines), the import reads back
        /// exactly one record per contact with the values given.
        #[test]
        fn any_values_read_back_as_given(
            names in proptest::collection::vec("[^\u{0}\u{feff}]{0,24}", 1..8),
            titles in proptest::collection::vec("[,;|\t\"\r\n a-z]{0,16}", 1..8),
        ) {
            let contacts: Vec<Value> = names
                .iter()
                .zip(titles.iter().cycle())
                .map(|(name, title)| json!({ "name": name, "title": title }))
                .collect();
            let out = records(&contacts_csv(&contacts).unwrap());
            prop_assert_eq!(out.len(), contacts.len() + 1);
            for (record, (name, title)) in out[1..].iter().zip(names.iter().zip(titles.iter().cycle())) {
                prop_assert_eq!(&record.fields[2], name.trim());
                prop_assert_eq!(&record.fields[4], title.trim());
            }
        }
    }
}
