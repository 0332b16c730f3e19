//! What an uploaded file's first bytes say it is, against the type it was declared with: a
//! browser sends the type the file's name suggests, and a client can declare anything. The
//! signatures are the formats' own (PNG's 8-byte signature, JPEG's SOI marker, GIF's header,
//! WebP's RIFF container, the ISO base media `ftyp` box of MP4 and QuickTime).

/// How many leading bytes [`sniff`] needs.
pub const SNIFF_BYTES: usize = 16;

/// The media type the leading bytes of a file show, if one of the uploadable ones.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Some("image/gif");
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return Some(if &head[8..12] == b"qt  " {
            "video/quicktime"
        } else {
            "video/mp4"
        });
    }
    // QuickTime files older than the `ftyp` box start with one of these atoms.
    if head.len() >= 8
        && [b"moov", b"mdat", b"wide", b"free"]
            .iter()
            .any(|atom| &head[4..8] == *atom)
    {
        return Some("video/quicktime");
    }
    None
}

/// Whether a file whose first bytes are `head` is what it was declared to be. MP4 and
/// QuickTime share their container: either declaration accepts either brand (cameras and
/// browsers label the same file both ways).
pub fn agrees(declared: &str, head: &[u8]) -> bool {
    let declared = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match sniff(head) {
        Some(found) if found == declared => true,
        Some("video/mp4" | "video/quicktime") => {
            declared == "video/mp4" || declared == "video/quicktime"
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_format_is_known_by_its_signature() {
        let cases: [(&[u8], &str); 7] = [
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "image/png"),
            (b"\xFF\xD8\xFF\xE0\0\x10JFIF\0", "image/jpeg"),
            (b"GIF89a\x01\0\x01\0", "image/gif"),
            (b"RIFF\x24\0\0\0WEBPVP8 ", "image/webp"),
            (b"\0\0\0\x20ftypisom\0\0\x02\0", "video/mp4"),
            (b"\0\0\0\x14ftypqt  \0\0\0\0", "video/quicktime"),
            (b"\0\0\0\x08wide\0\0\0\0mdat", "video/quicktime"),
        ];
        for (head, kind) in cases {
            assert_eq!(sniff(head), Some(kind));
            assert!(agrees(kind, head), "{kind}");
        }
    }

    #[test]
    fn a_declared_type_the_bytes_do_not_show_is_refused() {
        assert!(!agrees("image/png", b"<html><script>alert(1)</script>"));
        assert!(!agrees("image/png", b"\xFF\xD8\xFF\xE0"));
        assert!(!agrees("image/jpeg", b""));
        assert!(!agrees(
            "image/svg+xml",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"
        ));
        assert!(agrees("video/mp4", b"\0\0\0\x14ftypqt  \0\0\0\0"));
        assert!(agrees("IMAGE/PNG; charset=binary", b"\x89PNG\r\n\x1a\n"));
    }

    proptest! {
        #[test]
        fn any_bytes_are_read_without_panicking(head in proptest::collection::vec(any::<u8>(), 0..64), declared in ".{0,40}") {
            let _ = agrees(&declared, &head);
        }
    }
}
