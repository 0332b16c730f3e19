//! Character references (`&amp;`, `&#233;`, `&#xE9;`) in page text and attribute values: the
//! numeric forms and the named ones pages use for text; an unknown or broken reference stays
//! as written, as browsers leave it.

/// The named references decoded; the rest of HTML's 2,000 are rare in the text a visitor reads.
const NAMED: [(&str, char); 24] = [
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", ' '),
    ("copy", '©'),
    ("reg", '®'),
    ("trade", '™'),
    ("hellip", '…'),
    ("mdash", '—'),
    ("ndash", '–'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("bull", '•'),
    ("middot", '·'),
    ("euro", '€'),
    ("pound", '£'),
    ("auml", 'ä'),
    ("ouml", 'ö'),
    ("uuml", 'ü'),
    ("szlig", 'ß'),
];

/// The longest reference looked at after `&` (`&#x10FFFF;` and the longest name fit).
const MAX_REFERENCE: usize = 10;

pub fn decode(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match reference(after) {
            Some((c, used)) => {
                out.push(c);
                rest = &after[used..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character a reference names and the bytes it used (its `;` included).
fn reference(after: &str) -> Option<(char, usize)> {
    let window: String = after.chars().take(MAX_REFERENCE + 1).collect();
    let end = window.find(';')?;
    let body = &window[..end];
    let c = if let Some(number) = body.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse::<u32>().ok()?,
        };
        char::from_u32(code).filter(|c| *c != '\0')?
    } else {
        NAMED
            .iter()
            .find(|(name, _)| *name == body)
            .map(|(_, c)| *c)?
    };
    Some((c, end + 1))
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn references_are_decoded_and_broken_ones_kept() {
        assert_eq!(
            decode("Tom &amp; Jerry&#39;s caf&#xE9;"),
            "Tom & Jerry's café"
        );
        assert_eq!(decode("AT&T &unknown; &#0; &"), "AT&T &unknown; &#0; &");
        assert_eq!(decode("&nbsp;x&hellip;"), " x…");
    }
}
