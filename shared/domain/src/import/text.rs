//! From the bytes of an uploaded file to UTF-8 text, streamed: the encoding is decided once
//! from the first bytes (a BOM, else valid UTF-8, else Windows-1252, Excel's "ANSI"), then
//! every chunk is decoded as it arrives.

use encoding_rs::{Decoder, Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// Bytes looked at before deciding the encoding.
pub const SNIFF_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Windows1252,
}

impl TextEncoding {
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Utf16Le => "utf-16le",
            TextEncoding::Utf16Be => "utf-16be",
            TextEncoding::Windows1252 => "windows-1252",
        }
    }

    fn encoding(self) -> &'static Encoding {
        match self {
            TextEncoding::Utf8 => UTF_8,
            TextEncoding::Utf16Le => UTF_16LE,
            TextEncoding::Utf16Be => UTF_16BE,
            TextEncoding::Windows1252 => WINDOWS_1252,
        }
    }
}

/// Why a whole file cannot be imported (the batch fails with this code and nothing is written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    #[error("the file is empty")]
    Empty,
    #[error(
        "the file is not text (binary content such as a spreadsheet or an image); export it as CSV"
    )]
    Binary,
    #[error("the file has a header row but no data rows")]
    NoRows,
    #[error("the file has no header row")]
    NoHeader,
}

impl FileProblem {
    pub fn code(&self) -> &'static str {
        match self {
            FileProblem::Empty => "empty_file",
            FileProblem::Binary => "binary_file",
            FileProblem::NoRows => "no_rows",
            FileProblem::NoHeader => "no_header",
        }
    }
}

/// Decides the encoding from the first bytes of a file (up to [`SNIFF_BYTES`]); `complete`
/// says whether `prefix` is the whole file.
pub fn sniff_encoding(prefix: &[u8], complete: bool) -> Result<TextEncoding, FileProblem> {
    if prefix.is_empty() {
        return Err(FileProblem::Empty);
    }
    if prefix.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Ok(TextEncoding::Utf8);
    }
    if prefix.starts_with(&[0xFF, 0xFE]) {
        return Ok(TextEncoding::Utf16Le);
    }
    if prefix.starts_with(&[0xFE, 0xFF]) {
        return Ok(TextEncoding::Utf16Be);
    }
    if looks_binary(prefix) {
        return Err(FileProblem::Binary);
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => Ok(TextEncoding::Utf8),
        // A multi-byte sequence cut at the end of the sniffed window is still UTF-8.
        Err(e) if e.error_len().is_none() && !complete => Ok(TextEncoding::Utf8),
        Err(_) => Ok(TextEncoding::Windows1252),
    }
}

/// NUL bytes never occur in 8-bit text; many other control bytes mean a binary format
/// (xlsx is a zip, xls an OLE file, images, executables).
fn looks_binary(prefix: &[u8]) -> bool {
    let window = &prefix[..prefix.len().min(8 * 1024)];
    if window.contains(&0) {
        return true;
    }
    let controls = window
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C))
        .count();
    controls * 20 > window.len()
}

/// Streams bytes to UTF-8 text in the decided encoding (BOMs removed, invalid sequences
/// replaced by U+FFFD).
pub struct TextDecoder {
    decoder: Decoder,
}

impl TextDecoder {
    pub fn new(encoding: TextEncoding) -> Self {
        Self {
            decoder: encoding.encoding().new_decoder_with_bom_removal(),
        }
    }

    /// Appends the text of `bytes` to `out`; `last` flushes a trailing partial sequence.
    pub fn decode(&mut self, bytes: &[u8], last: bool, out: &mut String) {
        let mut input = bytes;
        loop {
            let needed = self
                .decoder
                .max_utf8_buffer_length(input.len())
                .unwrap_or(input.len() * 3 + 16);
            out.reserve(needed);
            let (result, read, _) = self.decoder.decode_to_string(input, out, last);
            input = &input[read..];
            if matches!(result, encoding_rs::CoderResult::InputEmpty) {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8], chunk: usize) -> (TextEncoding, String) {
        let encoding = sniff_encoding(
            &bytes[..bytes.len().min(SNIFF_BYTES)],
            bytes.len() <= SNIFF_BYTES,
        )
        .unwrap();
        let mut decoder = TextDecoder::new(encoding);
        let mut out = String::new();
        let chunks: Vec<&[u8]> = bytes.chunks(chunk).collect();
        for (i, part) in chunks.iter().enumerate() {
            decoder.decode(part, i + 1 == chunks.len(), &mut out);
        }
        (encoding, out)
    }

    #[test]
    fn every_supported_encoding_decodes_the_same_text_in_any_chunking() {
        let text = "Name,Company\nJosé Müller,Café “Zürich”\n";
        let mut utf8_bom = vec![0xEF, 0xBB, 0xBF];
        utf8_bom.extend(text.as_bytes());
        let mut utf16le = vec![0xFF, 0xFE];
        utf16le.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        let mut utf16be = vec![0xFE, 0xFF];
        utf16be.extend(text.encode_utf16().flat_map(|u| u.to_be_bytes()));
        let (cp1252, _, _) = WINDOWS_1252.encode(text);
        for (bytes, expected) in [
            (text.as_bytes().to_vec(), TextEncoding::Utf8),
            (utf8_bom, TextEncoding::Utf8),
            (utf16le, TextEncoding::Utf16Le),
            (utf16be, TextEncoding::Utf16Be),
            (cp1252.to_vec(), TextEncoding::Windows1252),
        ] {
            for chunk in [1, 2, 3, 7, 1024] {
                let (encoding, decoded) = decode_all(&bytes, chunk);
                assert_eq!(encoding, expected);
                assert_eq!(decoded, text, "{expected:?} in chunks of {chunk}");
            }
        }
    }

    #[test]
    fn empty_and_binary_files_are_refused() {
        assert_eq!(sniff_encoding(b"", true), Err(FileProblem::Empty));
        let zip = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00xl/workbook.xml";
        assert_eq!(sniff_encoding(zip, true), Err(FileProblem::Binary));
        let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR";
        assert_eq!(sniff_encoding(png, true), Err(FileProblem::Binary));
    }

    #[test]
    fn a_utf8_sequence_cut_by_the_sniff_window_is_still_utf8() {
        let text = "a,b\né,ü".as_bytes();
        let cut = &text[..text.len() - 1];
        assert_eq!(sniff_encoding(cut, false), Ok(TextEncoding::Utf8));
        assert_eq!(sniff_encoding(cut, true), Ok(TextEncoding::Windows1252));
    }
}
