//! Social publishing rules: the channels and what each accepts, how a network's error is
//! read (retry, fail now, reconnect), back-off, Meta's usage headers, short-link slugs and
//! the keyed hash of a visitor's address. Pure functions; the adapters and the scheduler
//! decide nothing on their own.

pub mod gate;

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

/// A `social_post_targets.channel` (the seed's CHECK values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    FacebookPage,
    Instagram,
    LinkedinMember,
    LinkedinOrg,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::FacebookPage,
        Channel::Instagram,
        Channel::LinkedinMember,
        Channel::LinkedinOrg,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::FacebookPage => "facebook_page",
            Channel::Instagram => "instagram",
            Channel::LinkedinMember => "linkedin_member",
            Channel::LinkedinOrg => "linkedin_org",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// The `social_accounts.provider` that holds this channel's identity and token.
    pub fn provider(self) -> &'static str {
        match self {
            Channel::FacebookPage | Channel::Instagram => "meta",
            Channel::LinkedinMember | Channel::LinkedinOrg => "linkedin",
        }
    }

    /// The `social_accounts` column naming this channel's remote identity.
    pub fn identity_column(self) -> &'static str {
        match self {
            Channel::FacebookPage => "meta_page_id",
            Channel::Instagram => "meta_ig_user_id",
            Channel::LinkedinMember => "linkedin_member_urn",
            Channel::LinkedinOrg => "linkedin_org_urn",
        }
    }

    /// The column with a human label for the identity.
    pub fn label_column(self) -> Option<&'static str> {
        match self {
            Channel::FacebookPage => Some("meta_page_name"),
            Channel::Instagram => Some("meta_ig_username"),
            Channel::LinkedinMember => None,
            Channel::LinkedinOrg => Some("linkedin_org_name"),
        }
    }

    /// Characters the network accepts in the post text (Facebook's post limit, Instagram's
    /// caption limit, LinkedIn's commentary limit), counted as Unicode scalar values.
    pub fn max_text_chars(self) -> usize {
        match self {
            Channel::FacebookPage => 63_206,
            Channel::Instagram => 2_200,
            Channel::LinkedinMember | Channel::LinkedinOrg => 3_000,
        }
    }

    /// Media items one post may carry here (Facebook: a multi-photo post; Instagram and
    /// LinkedIn: one image or video — carousels and multi-image posts are not built yet).
    pub fn max_media(self) -> usize {
        match self {
            Channel::FacebookPage => 10,
            Channel::Instagram | Channel::LinkedinMember | Channel::LinkedinOrg => 1,
        }
    }
}

/// What a media file is, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Video,
}

impl MediaKind {
    pub fn of(content_type: &str) -> Option<MediaKind> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence.starts_with("image/") {
            Some(MediaKind::Image)
        } else if essence.starts_with("video/") {
            Some(MediaKind::Video)
        } else {
            None
        }
    }
}

/// One reason a post cannot be scheduled for a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostProblem {
    pub channel: Channel,
    pub reason: String,
}

/// Checks a post against each channel it targets. `text` is what will be published (with the
/// short link already counted in).
pub fn check_post(
    text: &str,
    media: &[MediaKind],
    channels: &[Channel],
    short_link_chars: usize,
) -> Vec<PostProblem> {
    let chars = text.chars().count() + short_link_chars;
    let mut problems = Vec::new();
    for &channel in channels {
        let mut problem = |reason: String| problems.push(PostProblem { channel, reason });
        if chars > channel.max_text_chars() {
            problem(format!(
                "the text is {chars} characters; {} allows {}",
                channel.as_str(),
                channel.max_text_chars()
            ));
        }
        if media.len() > channel.max_media() {
            problem(format!(
                "{} takes at most {} media item(s)",
                channel.as_str(),
                channel.max_media()
            ));
        }
        match channel {
            Channel::Instagram if media.is_empty() => {
                problem("Instagram needs an image or a video".into());
            }
            Channel::LinkedinMember | Channel::LinkedinOrg if media.contains(&MediaKind::Video) => {
                problem("LinkedIn videos are not supported yet; use an image".into());
            }
            Channel::FacebookPage if media.len() > 1 && media.contains(&MediaKind::Video) => {
                problem("a Facebook post with several media items takes images only".into());
            }
            _ => {}
        }
        if text.trim().is_empty() && media.is_empty() && short_link_chars == 0 {
            problem("the post has no text, link or media".into());
        }
    }
    problems
}

/// Where a post's short link goes on a channel: Facebook's feed has a `link` field (it
/// renders a preview card); everywhere else the link is appended to the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub text: String,
    pub link_field: Option<String>,
}

/// The text (and link field) a channel publishes for a post.
pub fn compose(channel: Channel, text: &str, link: Option<&str>, has_media: bool) -> Composed {
    let text = text.trim_end();
    match link {
        Some(link) if channel == Channel::FacebookPage && !has_media => Composed {
            text: text.to_owned(),
            link_field: Some(link.to_owned()),
        },
        Some(link) if text.is_empty() => Composed {
            text: link.to_owned(),
            link_field: None,
        },
        Some(link) => Composed {
            text: format!("{text}\n\n{link}"),
            link_field: None,
        },
        None => Composed {
            text: text.to_owned(),
            link_field: None,
        },
    }
}

/// LinkedIn's `commentary` is "little text": these characters are markup and must be
/// escaped with a backslash to appear as themselves (else the post is cut or refused).
pub fn escape_little_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '|'
                | '{'
                | '}'
                | '@'
                | '['
                | ']'
                | '('
                | ')'
                | '<'
                | '>'
                | '#'
                | '*'
                | '_'
                | '~'
        ) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

// ---------------------------------------------------------------------------------------
// Errors and retries

/// The normalised `social_post_targets.error_code` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    TokenExpired,
    RateLimited,
    InvalidMedia,
    PermissionDenied,
    Network,
    ServerError,
    InvalidRequest,
    DuplicatePost,
    /// The call may have gone through: the network's answer never came.
    Unconfirmed,
    /// The account behind the target is gone or has no token.
    AccountMissing,
    /// Retried too often.
    GaveUp,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::InvalidMedia => "invalid_media",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::Network => "network",
            ErrorCode::ServerError => "server_error",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::DuplicatePost => "duplicate_post",
            ErrorCode::Unconfirmed => "unconfirmed",
            ErrorCode::AccountMissing => "account_missing",
            ErrorCode::GaveUp => "gave_up",
        }
    }

    /// Worth another attempt later (the same request may succeed).
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::RateLimited
                | ErrorCode::Network
                | ErrorCode::ServerError
                | ErrorCode::Unconfirmed
        )
    }

    /// The account needs its owner to connect it again.
    pub fn needs_reconnect(self) -> bool {
        matches!(self, ErrorCode::TokenExpired | ErrorCode::PermissionDenied)
    }
}

/// A network's refusal, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    /// The network said when to come back (`Retry-After`, Meta's regain time).
    pub retry_after: Option<Duration>,
}

/// Reads a Graph API error (`{"error": {"code", "error_subcode", "message", ...}}`) with its
/// HTTP status. Codes from Meta's "Handling Errors" guide: 190/102 and the 46x subcodes are
/// token problems, 4/17/32/613 and 80001–80014 (business use case) are rate limits, 10 and
/// 200–299 permissions, 1/2 transient, 368 a temporary block, 506 a duplicate post,
/// 324/352/36000–36003/2207xxx media problems.
pub fn read_graph_error(status: u16, body: &str) -> Refusal {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let code = error
        .and_then(|e| e.get("code"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let subcode = error
        .and_then(|e| e.get("error_subcode"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let message = error
        .and_then(|e| e.get("error_user_msg").or_else(|| e.get("message")))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("HTTP {status}: {}", truncate(body, 200)));
    let kind = match code {
        _ if (2_207_000..=2_207_999).contains(&subcode) => ErrorCode::InvalidMedia,
        190 | 102 => ErrorCode::TokenExpired,
        4 | 17 | 32 | 613 | 80001..=80014 => ErrorCode::RateLimited,
        10 | 200..=299 => ErrorCode::PermissionDenied,
        1 | 2 => ErrorCode::ServerError,
        368 => ErrorCode::RateLimited,
        506 => ErrorCode::DuplicatePost,
        324 | 352 | 36000..=36003 | 2_207_000..=2_207_999 => ErrorCode::InvalidMedia,
        _ if (458..=467).contains(&subcode) => ErrorCode::TokenExpired,
        _ if status == 429 => ErrorCode::RateLimited,
        _ if status >= 500 => ErrorCode::ServerError,
        _ if status == 401 => ErrorCode::TokenExpired,
        _ if status == 403 => ErrorCode::PermissionDenied,
        _ => ErrorCode::InvalidRequest,
    };
    Refusal {
        code: kind,
        message,
        retry_after: None,
    }
}

/// Reads a LinkedIn REST error (`{"status", "serviceErrorCode", "code", "message"}`).
pub fn read_linkedin_error(status: u16, body: &str, retry_after: Option<Duration>) -> Refusal {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let text_code = parsed
        .as_ref()
        .and_then(|v| v.get("code"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("HTTP {status}: {}", truncate(body, 200)));
    let kind = match (status, text_code.as_str()) {
        (_, "EXPIRED_ACCESS_TOKEN" | "REVOKED_ACCESS_TOKEN" | "INVALID_ACCESS_TOKEN") => {
            ErrorCode::TokenExpired
        }
        (401, _) => ErrorCode::TokenExpired,
        (403, _) | (_, "ACCESS_DENIED") => ErrorCode::PermissionDenied,
        (429, _) => ErrorCode::RateLimited,
        (422, _) if message.to_ascii_lowercase().contains("duplicate") => ErrorCode::DuplicatePost,
        (s, _) if s >= 500 => ErrorCode::ServerError,
        _ if message.to_ascii_lowercase().contains("image") => ErrorCode::InvalidMedia,
        _ => ErrorCode::InvalidRequest,
    };
    Refusal {
        code: kind,
        message,
        retry_after,
    }
}

/// `Retry-After` as seconds (the HTTP-date form is rare on these APIs and read as absent).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(24 * 3600)))
}

/// Delay before attempt `attempt` (1-based) of a retryable failure: 1, 2, 4, 8, 16 minutes,
/// or what the network asked for when that is longer (capped at a day).
pub fn retry_delay(attempt: u32, asked: Option<Duration>) -> Duration {
    let exponential = Duration::from_secs(60 * (1u64 << attempt.saturating_sub(1).min(10)));
    let delay = match asked {
        Some(asked) if asked > exponential => asked,
        _ => exponential,
    };
    delay.min(Duration::from_secs(24 * 3600))
}

/// Attempts of one target before it fails with `gave_up`.
pub const MAX_ATTEMPTS: u32 = 6;

/// Meta's usage as a percentage of the limit, with the time to regain access when Meta says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub percent: u32,
    pub regain_after: Option<Duration>,
}

/// Usage at or above this waits: Meta starts throttling at 100%, and one tick may make many
/// calls for the same app or page.
pub const USAGE_BACK_OFF_PERCENT: u32 = 90;

impl Usage {
    pub fn should_back_off(&self) -> bool {
        self.percent >= USAGE_BACK_OFF_PERCENT
    }

    /// How long to leave the account alone: Meta's regain time, or a few minutes scaled by
    /// how close to the limit it is.
    pub fn back_off(&self) -> Duration {
        self.regain_after.unwrap_or_else(|| {
            Duration::from_secs(if self.percent >= 100 { 15 * 60 } else { 5 * 60 })
        })
    }
}

/// Reads `X-App-Usage` (`{"call_count":…,"total_cputime":…,"total_time":…}`) and
/// `X-Business-Use-Case-Usage` (`{"<id>":[{"type":…,"call_count":…,"total_cputime":…,
/// "total_time":…,"estimated_time_to_regain_access":<minutes>}]}`): the highest percentage
/// of either, and the longest regain time.
pub fn read_meta_usage(app_usage: Option<&str>, business_usage: Option<&str>) -> Option<Usage> {
    fn max_percent(object: &Value) -> u32 {
        ["call_count", "total_cputime", "total_time"]
            .iter()
            .filter_map(|k| object.get(*k).and_then(Value::as_f64))
            .fold(0.0_f64, f64::max)
            .clamp(0.0, 1000.0) as u32
    }
    let mut usage: Option<Usage> = None;
    let mut merge = |percent: u32, regain: Option<Duration>| {
        let current = usage.get_or_insert_with(Usage::default);
        current.percent = current.percent.max(percent);
        current.regain_after = match (current.regain_after, regain) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    };
    if let Some(value) = app_usage.and_then(|t| serde_json::from_str::<Value>(t).ok()) {
        merge(max_percent(&value), None);
    }
    if let Some(Value::Object(accounts)) =
        business_usage.and_then(|t| serde_json::from_str::<Value>(t).ok())
    {
        for entries in accounts.values() {
            for entry in entries.as_array().into_iter().flatten() {
                let regain = entry
                    .get("estimated_time_to_regain_access")
                    .and_then(Value::as_u64)
                    .filter(|m| *m > 0)
                    .map(|m| Duration::from_secs(m * 60));
                merge(max_percent(entry), regain);
            }
        }
    }
    usage
}

// ---------------------------------------------------------------------------------------
// Short links and visitors

/// Random bytes behind a slug: 96 bits, so slugs cannot be guessed or enumerated.
pub const SLUG_BYTES: usize = 12;

/// A URL-safe slug (16 base64url characters) from random bytes.
pub fn slug_from(random: &[u8; SLUG_BYTES]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
}

/// Whether text could be a slug this system made (checked before any lookup).
pub fn plausible_slug(slug: &str) -> bool {
    slug.len() == 16
        && slug
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The stored stand-in for a visitor's address: HMAC-SHA256 under a secret key, hex. The
/// same visitor hashes the same (unique visitors can be counted), the address cannot be
/// recovered without the key.
pub fn ip_hash(key: &[u8], ip: IpAddr) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(ip.to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instagram_needs_media_and_text_limits_are_per_network() {
        let long = "x".repeat(2_500);
        let problems = check_post(&long, &[], &[Channel::Instagram, Channel::FacebookPage], 0);
        let reasons: Vec<_> = problems
            .iter()
            .map(|p| (p.channel, p.reason.as_str()))
            .collect();
        assert_eq!(problems.len(), 2, "{reasons:?}");
        assert!(problems.iter().all(|p| p.channel == Channel::Instagram));
        assert!(check_post("hi", &[MediaKind::Image], &Channel::ALL, 0).is_empty());
        let with_link = check_post(
            &"y".repeat(2_990),
            &[MediaKind::Image],
            &[Channel::LinkedinOrg],
            20,
        );
        assert_eq!(with_link.len(), 1, "the short link counts toward the limit");
        let video = check_post("hi", &[MediaKind::Video], &[Channel::LinkedinMember], 0);
        assert_eq!(video.len(), 1);
    }

    #[test]
    fn graph_errors_are_read_by_code_and_subcode() {
        let expired = r#"{"error":{"message":"Error validating access token: Session has expired on Friday, 27-Nov-26 09:00:00 PST.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"A1b2C3"}}"#;
        assert_eq!(read_graph_error(400, expired).code, ErrorCode::TokenExpired);
        for code in [4, 17, 32, 613] {
            let body = format!(
                r#"{{"error":{{"message":"(#{code}) Application request limit reached","type":"OAuthException","is_transient":true,"code":{code},"fbtrace_id":"x"}}}}"#
            );
            let read = read_graph_error(400, &body);
            assert_eq!(read.code, ErrorCode::RateLimited, "{code}");
            assert!(read.code.is_retryable());
        }
        let permission = r#"{"error":{"message":"(#200) The user hasn't authorized the application to perform this action","type":"OAuthException","code":200,"fbtrace_id":"x"}}"#;
        let read = read_graph_error(403, permission);
        assert_eq!(read.code, ErrorCode::PermissionDenied);
        assert!(read.code.needs_reconnect());
        assert!(!read.code.is_retryable());
        let media = r#"{"error":{"message":"Only photo or video can be accepted as media type.","type":"OAuthException","code":9004,"error_subcode":2207052,"fbtrace_id":"x"}}"#;
        assert_eq!(read_graph_error(400, media).code, ErrorCode::InvalidMedia);
        let media = r#"{"error":{"message":"Missing or invalid image file","type":"OAuthException","code":324,"fbtrace_id":"x"}}"#;
        assert_eq!(read_graph_error(400, media).code, ErrorCode::InvalidMedia);
        assert_eq!(
            read_graph_error(502, "<html>bad gateway</html>").code,
            ErrorCode::ServerError
        );
        assert_eq!(
            read_graph_error(400, expired).message,
            "Error validating access token: Session has expired on Friday, 27-Nov-26 09:00:00 PST."
        );
    }

    #[test]
    fn linkedin_errors_are_read_by_status_and_code() {
        let revoked = r#"{"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN","message":"The token used in the request has been revoked by the user","status":401}"#;
        assert_eq!(
            read_linkedin_error(401, revoked, None).code,
            ErrorCode::TokenExpired
        );
        let throttled = r#"{"message":"Resource level throttle APPLICATION DAY limit for calls to this resource is reached.","status":429}"#;
        let read = read_linkedin_error(429, throttled, Some(Duration::from_secs(120)));
        assert_eq!(read.code, ErrorCode::RateLimited);
        assert_eq!(read.retry_after, Some(Duration::from_secs(120)));
        let denied = r#"{"serviceErrorCode":100,"code":"ACCESS_DENIED","message":"Not enough permissions to access: partnerApiPostsExternal.CREATE.20260501","status":403}"#;
        assert_eq!(
            read_linkedin_error(403, denied, None).code,
            ErrorCode::PermissionDenied
        );
        assert_eq!(
            read_linkedin_error(503, "", None).code,
            ErrorCode::ServerError
        );
    }

    #[test]
    fn back_off_doubles_and_honours_what_the_network_asks() {
        assert_eq!(retry_delay(1, None), Duration::from_secs(60));
        assert_eq!(retry_delay(3, None), Duration::from_secs(240));
        assert_eq!(
            retry_delay(1, Some(Duration::from_secs(600))),
            Duration::from_secs(600)
        );
        assert_eq!(
            retry_delay(3, Some(Duration::from_secs(5))),
            Duration::from_secs(240)
        );
        assert_eq!(retry_delay(40, None), Duration::from_secs(60 * 1024));
        assert_eq!(
            retry_delay(1, Some(Duration::from_secs(90_000))),
            Duration::from_secs(24 * 3600)
        );
    }

    #[test]
    fn meta_usage_headers_give_the_highest_share_and_regain_time() {
        let app = r#"{"call_count":28,"total_time":25,"total_cputime":25}"#;
        let business = r#"{"112233":[{"type":"pages","call_count":93,"total_cputime":10,"total_time":12,"estimated_time_to_regain_access":0}],"445566":[{"type":"instagram","call_count":40,"total_cputime":101,"total_time":2,"estimated_time_to_regain_access":7}]}"#;
        let usage = read_meta_usage(Some(app), Some(business)).unwrap();
        assert_eq!(usage.percent, 101);
        assert_eq!(usage.regain_after, Some(Duration::from_secs(7 * 60)));
        assert!(usage.should_back_off());
        let calm = read_meta_usage(Some(app), None).unwrap();
        assert!(!calm.should_back_off());
        assert_eq!(read_meta_usage(None, Some("not json")), None);
    }

    #[test]
    fn the_short_link_goes_where_each_channel_shows_links() {
        let fb = compose(
            Channel::FacebookPage,
            "Launch day ",
            Some("https://t.example/l/abc"),
            false,
        );
        assert_eq!(fb.text, "Launch day");
        assert_eq!(fb.link_field.as_deref(), Some("https://t.example/l/abc"));
        let ig = compose(
            Channel::Instagram,
            "Launch day",
            Some("https://t.example/l/abc"),
            true,
        );
        assert_eq!(ig.text, "Launch day\n\nhttps://t.example/l/abc");
        assert_eq!(ig.link_field, None);
        assert_eq!(compose(Channel::LinkedinOrg, "Hi", None, false).text, "Hi");
        assert_eq!(
            escape_little_text("Q4 (big) #launch @ada_x"),
            "Q4 \\(big\\) \\#launch \\@ada\\_x"
        );
    }

    #[test]
    fn slugs_are_url_safe_and_visitor_hashes_keyed() {
        let slug = slug_from(&[0xfb; SLUG_BYTES]);
        assert_eq!(slug.len(), 16);
        assert!(plausible_slug(&slug));
        assert!(!plausible_slug("../etc/passwd0000"));
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let a = ip_hash(b"key one", ip);
        assert_eq!(a.len(), 64);
        assert_eq!(a, ip_hash(b"key one", ip));
        assert_ne!(a, ip_hash(b"key two", ip));
        assert!(!a.contains("203.0.113.9"));
    }
}
