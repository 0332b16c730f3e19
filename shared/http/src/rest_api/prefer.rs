//! The request headers of the dialect: `Prefer` (return, count, resolution), `Range` /
//! `Range-Unit`, and `Accept: application/vnd.pgrst.object+json`.

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT, RANGE};
use scaliyo_app::rest::{Range, Resolution};

pub const OBJECT_TYPE: &str = "application/vnd.pgrst.object+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Return {
    Representation,
    #[default]
    Minimal,
    HeadersOnly,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prefer {
    pub return_: Return,
    /// `count=exact` (and `planned` / `estimated`, answered exactly).
    pub count: bool,
    pub resolution: Option<Resolution>,
}

impl Prefer {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut prefer = Prefer::default();
        for value in headers.get_all("prefer") {
            let Ok(text) = value.to_str() else { continue };
            for token in text.split(',').map(str::trim) {
                match token {
                    "return=representation" => prefer.return_ = Return::Representation,
                    "return=minimal" => prefer.return_ = Return::Minimal,
                    "return=headers-only" => prefer.return_ = Return::HeadersOnly,
                    "count=exact" | "count=planned" | "count=estimated" => prefer.count = true,
                    "resolution=merge-duplicates" => {
                        prefer.resolution = Some(Resolution::MergeDuplicates);
                    }
                    "resolution=ignore-duplicates" => {
                        prefer.resolution = Some(Resolution::IgnoreDuplicates);
                    }
                    _ => {}
                }
            }
        }
        prefer
    }
}

/// Whether the client asked for one bare object.
pub fn wants_object(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(OBJECT_TYPE))
}

/// The range of rows asked for: `limit` / `offset` query parameters, else a `Range: a-b`
/// (or `a-`) header. A malformed header is ignored, as PostgREST does.
pub fn range(headers: &HeaderMap, limit: Option<u64>, offset: Option<u64>) -> Range {
    if limit.is_some() || offset.is_some() {
        return Range {
            offset: offset.unwrap_or(0),
            limit,
        };
    }
    let parsed = headers
        .get(RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|text| {
            let text = text.trim().strip_prefix("items=").unwrap_or(text.trim());
            let (start, end) = text.split_once('-')?;
            let start: u64 = start.trim().parse().ok()?;
            let end = end.trim();
            if end.is_empty() {
                return Some(Range {
                    offset: start,
                    limit: None,
                });
            }
            let end: u64 = end.parse().ok()?;
            // `9-2` is no range (and must not underflow).
            let limit = end.checked_sub(start)?.checked_add(1)?;
            Some(Range {
                offset: start,
                limit: Some(limit),
            })
        });
    parsed.unwrap_or_default()
}

/// `Content-Range`: `0-9/57`, `*/0` when empty, `*` as the total when it was not asked.
pub fn content_range(offset: u64, returned: usize, total: Option<usize>) -> String {
    let total = total.map_or_else(|| "*".to_owned(), |t| t.to_string());
    if returned == 0 {
        return format!("*/{total}");
    }
    let last = offset.saturating_add(returned as u64 - 1);
    format!("{offset}-{last}/{total}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn ranges_and_preferences() {
        let mut headers = HeaderMap::new();
        headers.insert(RANGE, HeaderValue::from_static("0-9"));
        headers.insert(
            "prefer",
            HeaderValue::from_static("count=exact, return=representation"),
        );
        assert_eq!(
            range(&headers, None, None),
            Range {
                offset: 0,
                limit: Some(10)
            }
        );
        assert_eq!(range(&headers, Some(5), None).limit, Some(5));
        let prefer = Prefer::from_headers(&headers);
        assert!(prefer.count);
        assert_eq!(prefer.return_, Return::Representation);
        for malformed in ["9-2", "a-b", "0-18446744073709551615", "-", "5"] {
            headers.insert(RANGE, HeaderValue::from_static(malformed));
            let _ = range(&headers, None, None);
        }
        headers.insert(RANGE, HeaderValue::from_static("9-2"));
        assert_eq!(range(&headers, None, None), Range::default());
        assert_eq!(
            range(&headers, None, Some(u64::MAX)).offset,
            u64::MAX,
            "a huge offset is only an empty page"
        );
        assert_eq!(content_range(0, 10, Some(57)), "0-9/57");
        assert_eq!(content_range(0, 0, Some(0)), "*/0");
        assert_eq!(content_range(20, 5, None), "20-24/*");
    }
}
