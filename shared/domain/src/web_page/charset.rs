//! A page's bytes as text: the charset its `Content-Type` names, else the one a `<meta>` in
//! its first kilobyte names, else UTF-8 (what nearly every page is); bytes that are not
//! valid in it become U+FFFD rather than an error.

use encoding_rs::{Encoding, UTF_8};

/// How far into a page a `<meta charset>` is looked for (HTML's own prescan reads 1,024 bytes).
const PRESCAN_BYTES: usize = 1024;

pub fn decode(bytes: &[u8], content_type: Option<&str>) -> String {
    let encoding = content_type
        .and_then(charset_parameter)
        .or_else(|| meta_charset(&bytes[..bytes.len().min(PRESCAN_BYTES)]))
        .and_then(|label| Encoding::for_label(label.trim().as_bytes()))
        .unwrap_or(UTF_8);
    let (text, _, _) = encoding.decode(bytes);
    text.into_owned()
}

fn charset_parameter(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']))
    })
}

/// `<meta charset="x">` or `<meta http-equiv="Content-Type" content="text/html; charset=x">`.
fn meta_charset(head: &[u8]) -> Option<&str> {
    let head = std::str::from_utf8(head)
        .or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()]))
        .ok()?;
    let lower = head.to_ascii_lowercase();
    let at = lower.find("charset=")?;
    let rest = &head[at + "charset=".len()..];
    let rest = rest.trim_start_matches(['"', '\'']);
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn the_header_then_the_meta_then_utf8_name_the_charset() {
        let latin1 = b"<p>caf\xe9</p>";
        assert_eq!(
            decode(latin1, Some("text/html; charset=ISO-8859-1")),
            "<p>café</p>"
        );
        let with_meta = b"<meta charset=\"windows-1252\"><p>caf\xe9</p>";
        assert!(decode(with_meta, Some("text/html")).ends_with("café</p>"));
        assert_eq!(decode("café".as_bytes(), None), "café");
        assert_eq!(decode(b"caf\xe9", None), "caf\u{fffd}");
    }
}
