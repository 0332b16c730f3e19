//! The trace header Lambda hands an invocation (`_X_AMZN_TRACE_ID`, the runtime context's
//! `xray_trace_id`): `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`.

/// The parts of a trace header a subsegment needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHeader {
    /// `1-<8 hex: epoch seconds>-<24 hex>`.
    pub root: String,
    /// The function segment's id (16 hex), the parent of our subsegments.
    pub parent: String,
    pub sampled: bool,
}

impl TraceHeader {
    /// Reads a header; `None` when the root or the parent is missing or malformed (then no
    /// subsegment can be attached to the trace, and none is sent).
    pub fn parse(header: &str) -> Option<Self> {
        let mut root = None;
        let mut parent = None;
        let mut sampled = false;
        for part in header.split(';') {
            let Some((key, value)) = part.trim().split_once('=') else {
                continue;
            };
            match key {
                "Root" if valid_root(value) => root = Some(value.to_owned()),
                "Parent" if valid_id(value) => parent = Some(value.to_owned()),
                "Sampled" => sampled = value == "1",
                _ => {}
            }
        }
        Some(Self {
            root: root?,
            parent: parent?,
            sampled,
        })
    }
}

fn hex(value: &str, length: usize) -> bool {
    value.len() == length && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A segment id: 16 hexadecimal digits.
pub(crate) fn valid_id(value: &str) -> bool {
    hex(value, 16)
}

fn valid_root(value: &str) -> bool {
    let mut parts = value.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("1"), Some(time), Some(random), None) if hex(time, 8) && hex(random, 24)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_lambda_header_is_read() {
        let header = TraceHeader::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0",
        );
        assert_eq!(
            header,
            Some(TraceHeader {
                root: "1-5759e988-bd862e3fe1be46a994272793".into(),
                parent: "53995c3f42cd8ad8".into(),
                sampled: true,
            })
        );
    }

    #[test]
    fn unsampled_missing_or_malformed_parts() {
        let unsampled = TraceHeader::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
        );
        assert_eq!(unsampled.map(|h| h.sampled), Some(false));
        assert_eq!(
            TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793"),
            None
        );
        assert_eq!(
            TraceHeader::parse("Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8"),
            None
        );
        assert_eq!(
            TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad"),
            None
        );
        assert_eq!(
            TraceHeader::parse("Root=1-zz59e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8"),
            None
        );
        assert_eq!(TraceHeader::parse(""), None);
    }

    proptest! {
        #[test]
        fn any_text_is_read_without_panicking(text in ".{0,200}") {
            let _ = TraceHeader::parse(&text);
        }
    }
}
