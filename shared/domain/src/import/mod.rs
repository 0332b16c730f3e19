//! Lead imports, the pure part: decoding uploaded bytes, splitting CSV records, mapping and
//! normalising rows. `scaliyo_app::import` streams files through these and writes the leads.

pub mod apollo;
pub mod leads;
pub mod records;
pub mod text;

pub use leads::{LeadDraft, Mapping, MappingError, RowOutcome, SkipReason, Target, map_row};
pub use records::{RawRecord, RecordSplitter, sniff_delimiter};
pub use text::{FileProblem, SNIFF_BYTES, TextDecoder, TextEncoding, sniff_encoding};
