//! CSV records from streamed text: the delimiter is sniffed among `,` `;` tab `|`, quoted
//! fields may hold delimiters, newlines and doubled quotes, and records are handed out as
//! soon as they are complete (csv-core: no I/O, no whole-file buffer).

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// The largest record kept: a longer one (an unterminated quote swallowing the rest of the
/// file, say) is handed out as [`RawRecord::oversized`] with no fields, and the file goes on.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// The most fields a record may have (a line of a million delimiters is not a lead).
pub const MAX_RECORD_FIELDS: usize = 4096;

/// One record with its number in the file (the header is record 1, as a spreadsheet counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub number: u64,
    pub fields: Vec<String>,
    /// The record passed [`MAX_RECORD_BYTES`] or [`MAX_RECORD_FIELDS`]; its fields were dropped.
    pub oversized: bool,
}

/// The delimiter that splits the first lines most consistently into the most fields.
pub fn sniff_delimiter(sample: &str) -> u8 {
    let lines: Vec<&str> = sample
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .collect();
    let Some(header) = lines.first() else {
        return b',';
    };
    let mut best = (0usize, 0usize, b',');
    for delimiter in DELIMITERS {
        let header_count = count_outside_quotes(header, delimiter);
        if header_count == 0 {
            continue;
        }
        let consistent = lines
            .iter()
            .filter(|l| count_outside_quotes(l, delimiter) == header_count)
            .count();
        if (consistent, header_count) > (best.0, best.1) {
            best = (consistent, header_count, delimiter);
        }
    }
    best.2
}

fn count_outside_quotes(line: &str, delimiter: u8) -> usize {
    let mut quoted = false;
    let mut count = 0;
    for byte in line.bytes() {
        if byte == b'"' {
            quoted = !quoted;
        } else if byte == delimiter && !quoted {
            count += 1;
        }
    }
    count
}

/// Splits pushed text into records.
pub struct RecordSplitter {
    reader: Reader,
    field_bytes: Vec<u8>,
    ends: Vec<usize>,
    used: usize,
    ends_used: usize,
    next_number: u64,
    /// The current record passed a cap: its bytes are being skipped to its end.
    overflowing: bool,
}

impl RecordSplitter {
    pub fn new(delimiter: u8) -> Self {
        Self {
            reader: ReaderBuilder::new().delimiter(delimiter).build(),
            field_bytes: vec![0; 4096],
            ends: vec![0; 64],
            used: 0,
            ends_used: 0,
            next_number: 1,
            overflowing: false,
        }
    }

    /// Feeds text; complete records are appended to `out`. Call [`RecordSplitter::finish`]
    /// after the last chunk.
    pub fn push(&mut self, text: &[u8], out: &mut Vec<RawRecord>) {
        self.feed(text, out);
    }

    pub fn finish(&mut self, out: &mut Vec<RawRecord>) {
        self.feed(&[], out);
    }

    fn feed(&mut self, mut input: &[u8], out: &mut Vec<RawRecord>) {
        let at_end = input.is_empty();
        loop {
            let (result, read, written, ends) = self.reader.read_record(
                input,
                &mut self.field_bytes[self.used..],
                &mut self.ends[self.ends_used..],
            );
            input = &input[read..];
            // csv-core keeps the record's position across calls: `ends` are offsets from the
            // start of the record, however many calls it took.
            self.used += written;
            self.ends_used += ends;
            match result {
                ReadRecordResult::InputEmpty => {
                    if !at_end {
                        return;
                    }
                }
                ReadRecordResult::OutputFull => {
                    if self.overflowing || self.field_bytes.len() >= MAX_RECORD_BYTES {
                        // Past the cap: keep reading the record into the same buffer and
                        // drop it when it ends (its field offsets are no longer needed).
                        self.overflowing = true;
                        self.used = 0;
                    } else {
                        let size = (self.field_bytes.len() * 2).min(MAX_RECORD_BYTES);
                        self.field_bytes.resize(size, 0);
                    }
                }
                ReadRecordResult::OutputEndsFull => {
                    if self.overflowing || self.ends.len() >= MAX_RECORD_FIELDS {
                        self.overflowing = true;
                        self.ends_used = 0;
                    } else {
                        let size = (self.ends.len() * 2).min(MAX_RECORD_FIELDS);
                        self.ends.resize(size, 0);
                    }
                }
                ReadRecordResult::Record if self.overflowing => {
                    out.push(RawRecord {
                        number: self.next_number,
                        fields: Vec::new(),
                        oversized: true,
                    });
                    self.next_number += 1;
                    self.used = 0;
                    self.ends_used = 0;
                    self.overflowing = false;
                }
                ReadRecordResult::Record => {
                    let mut fields = Vec::with_capacity(self.ends_used);
                    let mut start = 0;
                    for &end in &self.ends[..self.ends_used] {
                        fields.push(
                            String::from_utf8_lossy(&self.field_bytes[start..end]).into_owned(),
                        );
                        start = end;
                    }
                    out.push(RawRecord {
                        number: self.next_number,
                        fields,
                        oversized: false,
                    });
                    self.next_number += 1;
                    self.used = 0;
                    self.ends_used = 0;
                }
                ReadRecordResult::End => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, chunk: usize) -> Vec<Vec<String>> {
        let mut splitter = RecordSplitter::new(sniff_delimiter(text));
        let mut out = Vec::new();
        for part in text.as_bytes().chunks(chunk) {
            splitter.push(part, &mut out);
        }
        splitter.finish(&mut out);
        out.into_iter().map(|r| r.fields).collect()
    }

    #[test]
    fn quoted_fields_keep_delimiters_newlines_and_quotes_in_any_chunking() {
        let text =
            "Name,Note,City\r\n\"Hopper, Grace\",\"said \"\"hi\"\"\nthen left\",NYC\r\nAda,,London";
        for chunk in [1, 2, 5, 64] {
            assert_eq!(
                split(text, chunk),
                vec![
                    vec!["Name", "Note", "City"],
                    vec!["Hopper, Grace", "said \"hi\"\nthen left", "NYC"],
                    vec!["Ada", "", "London"],
                ],
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn the_delimiter_is_sniffed() {
        assert_eq!(sniff_delimiter("a;b;c\n1;2;3\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\tc\n1\t2\t3\n"), b'\t');
        assert_eq!(sniff_delimiter("a|b\n1|2\n"), b'|');
        assert_eq!(sniff_delimiter("Name,Note\n\"x;y;z\",2\n"), b',');
        assert_eq!(sniff_delimiter("name\nada\n"), b',');
    }

    #[test]
    fn an_unterminated_quote_is_one_oversized_record_not_the_whole_file_in_memory() {
        let mut splitter = RecordSplitter::new(b',');
        let mut out = Vec::new();
        splitter.push(b"name,email\nAda,ada@x.io\n\"never closed,", &mut out);
        let line = vec![b'x'; 64 * 1024];
        for _ in 0..40 {
            splitter.push(&line, &mut out);
        }
        assert!(splitter.field_bytes.len() <= MAX_RECORD_BYTES);
        splitter.push(b"\"\nGrace,grace@x.io\n", &mut out);
        splitter.finish(&mut out);
        let shapes: Vec<(u64, bool, usize)> = out
            .iter()
            .map(|r| (r.number, r.oversized, r.fields.len()))
            .collect();
        assert_eq!(
            shapes,
            vec![(1, false, 2), (2, false, 2), (3, true, 0), (4, false, 2)]
        );
        assert_eq!(out[3].fields, vec!["Grace", "grace@x.io"]);
    }

    #[test]
    fn a_record_of_too_many_fields_is_oversized() {
        let mut splitter = RecordSplitter::new(b',');
        let mut out = Vec::new();
        let mut text = vec![b','; MAX_RECORD_FIELDS * 3];
        text.extend_from_slice(b"\na,b\n");
        splitter.push(&text, &mut out);
        splitter.finish(&mut out);
        assert_eq!(out.len(), 2);
        assert!(out[0].oversized);
        assert_eq!(out[1].fields, vec!["a", "b"]);
    }

    #[test]
    fn records_are_numbered_like_spreadsheet_rows() {
        let mut splitter = RecordSplitter::new(b',');
        let mut out = Vec::new();
        splitter.push(b"h\nr1\nr2\n", &mut out);
        splitter.finish(&mut out);
        assert_eq!(
            out.iter().map(|r| r.number).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn quoted(field: &str) -> String {
        format!("\"{}\"", field.replace('"', "\"\""))
    }

    proptest! {
        /// Any fields, written as CSV with quoting and fed in any chunking, come back as
        /// written.
        #[test]
        fn written_records_split_back_into_their_fields(
            rows in prop::collection::vec(prop::collection::vec("[^\u{0}]{0,12}", 1..5), 1..6),
            chunk in 1usize..40,
        ) {
            let text: String = rows
                .iter()
                .map(|fields| fields.iter().map(|f| quoted(f)).collect::<Vec<_>>().join(","))
                .collect::<Vec<_>>()
                .join("\r\n");
            let mut splitter = RecordSplitter::new(b',');
            let mut out = Vec::new();
            for part in text.as_bytes().chunks(chunk) {
                splitter.push(part, &mut out);
            }
            splitter.finish(&mut out);
            let fields: Vec<Vec<String>> = out.into_iter().map(|r| r.fields).collect();
            prop_assert_eq!(fields, rows);
        }

        /// Arbitrary bytes never panic the splitter or the sniffer.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}", chunk in 1usize..17) {
            let delimiter = sniff_delimiter(&text);
            let mut splitter = RecordSplitter::new(delimiter);
            let mut out = Vec::new();
            for part in text.as_bytes().chunks(chunk) {
                splitter.push(part, &mut out);
            }
            splitter.finish(&mut out);
        }
    }
}
