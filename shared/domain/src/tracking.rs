//! Telling humans from machines on tracking hits, by rules that can be audited: each verdict
//! names the rule that fired and its evidence. The network lists are data files
//! (`shared/domain/data/networks/`), easy to update; sources are in `docs/tracking.md`.

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitKind {
    Open,
    Click,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Human,
    Machine,
    ProbableMachine,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Human => "human",
            Class::Machine => "machine",
            Class::ProbableMachine => "probable-machine",
        }
    }
}

/// One request to a pixel or a tracked link, as the edge saw it.
#[derive(Debug, Clone, Default)]
pub struct Hit<'a> {
    pub kind: Option<HitKind>,
    pub method: &'a str,
    pub user_agent: Option<&'a str>,
    pub ip: Option<IpAddr>,
    /// `Purpose`, `Sec-Purpose` or `X-Purpose` / `X-Moz` header values.
    pub purpose: Option<&'a str>,
    /// Seconds between the message being sent and this hit.
    pub seconds_since_sent: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub class: Class,
    /// The rule that decided (`human` when none did).
    pub reason: &'static str,
    pub evidence: String,
    pub is_bot: bool,
    pub is_apple_privacy: bool,
}

impl Verdict {
    fn new(class: Class, reason: &'static str, evidence: impl Into<String>) -> Self {
        Self {
            class,
            reason,
            evidence: evidence.into(),
            is_bot: class != Class::Human,
            is_apple_privacy: false,
        }
    }
}

/// A network list: one CIDR a line, `#` comments.
pub struct Networks {
    pub name: &'static str,
    ranges: Vec<(IpAddr, u8)>,
}

impl Networks {
    pub fn parse(name: &'static str, text: &str) -> Self {
        let ranges = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default().trim())
            .filter(|line| !line.is_empty())
            .filter_map(|line| {
                let (ip, bits) = line.split_once('/')?;
                Some((ip.trim().parse().ok()?, bits.trim().parse().ok()?))
            })
            .collect();
        Self { name, ranges }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.ranges
            .iter()
            .any(|(network, bits)| in_range(ip, *network, *bits))
    }
}

fn in_range(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let bits = u32::from(bits.min(32));
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let bits = u32::from(bits.min(128));
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// The lists shipped with the code.
pub struct Rules {
    apple: Networks,
    certain_gateways: Networks,
    probable_gateways: Networks,
    bot_agents: Vec<String>,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            apple: Networks::parse(
                "apple-privacy-proxy",
                include_str!("../data/networks/apple-privacy-proxy.txt"),
            ),
            certain_gateways: Networks::parse(
                "security-gateways",
                include_str!("../data/networks/security-gateways.txt"),
            ),
            probable_gateways: Networks::parse(
                "probable-security-gateways",
                include_str!("../data/networks/probable-security-gateways.txt"),
            ),
            bot_agents: include_str!("../data/bot-user-agents.txt")
                .lines()
                .map(|l| {
                    l.split('#')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_ascii_lowercase()
                })
                .filter(|l| !l.is_empty())
                .collect(),
        }
    }
}

/// An open this soon after sending is most likely a scanner fetching images.
pub const OPEN_TOO_SOON_SECONDS: i64 = 60;
/// A click this soon after sending is most likely a link scanner.
pub const CLICK_TOO_SOON_SECONDS: i64 = 5;

impl Rules {
    pub fn classify(&self, hit: &Hit<'_>) -> Verdict {
        if hit.method.eq_ignore_ascii_case("HEAD") {
            return Verdict::new(Class::Machine, "head_request", "HEAD");
        }
        if let Some(purpose) = hit.purpose {
            let lower = purpose.to_ascii_lowercase();
            if ["prefetch", "preview", "prerender"]
                .iter()
                .any(|p| lower.contains(p))
            {
                return Verdict::new(Class::Machine, "prefetch_header", purpose);
            }
        }
        let agent = hit.user_agent.map(str::trim).filter(|a| !a.is_empty());
        let Some(agent) = agent else {
            return Verdict::new(Class::Machine, "missing_user_agent", "");
        };
        let lower = agent.to_ascii_lowercase();
        if let Some(ip) = hit.ip
            && self.apple.contains(ip)
        {
            // Apple Mail Privacy Protection fetches every image through Apple's proxies with a
            // bare agent: a machine open, reported as such, never dropped silently.
            let mut verdict = Verdict::new(
                Class::Machine,
                "apple_privacy_proxy",
                format!("{ip} in {}", self.apple.name),
            );
            verdict.is_apple_privacy = true;
            return verdict;
        }
        if lower.contains("googleimageproxy") {
            // Gmail fetches images when the recipient opens the message: a real open.
            return Verdict {
                class: Class::Human,
                reason: "gmail_image_proxy",
                evidence: agent.to_owned(),
                is_bot: false,
                is_apple_privacy: false,
            };
        }
        if let Some(marker) = self.bot_agents.iter().find(|m| lower.contains(m.as_str())) {
            return Verdict::new(Class::Machine, "bot_user_agent", marker.clone());
        }
        let mut via_gateway = None;
        if let Some(ip) = hit.ip {
            if self.certain_gateways.contains(ip) {
                return Verdict::new(
                    Class::Machine,
                    "security_gateway",
                    format!("{ip} in {}", self.certain_gateways.name),
                );
            }
            if self.probable_gateways.contains(ip) {
                via_gateway = Some(format!("{ip} in {}", self.probable_gateways.name));
            }
        }
        if let Some(seconds) = hit.seconds_since_sent {
            // A probable gateway does not decide alone: it widens the window in which a hit
            // counts as the gateway's own fetch.
            let limit = match (hit.kind, &via_gateway) {
                (Some(HitKind::Click), None) => CLICK_TOO_SOON_SECONDS,
                (Some(HitKind::Click), Some(_)) => GATEWAY_CLICK_WINDOW_SECONDS,
                (_, None) => OPEN_TOO_SOON_SECONDS,
                (_, Some(_)) => GATEWAY_OPEN_WINDOW_SECONDS,
            };
            if (0..limit).contains(&seconds) {
                return match via_gateway {
                    Some(gateway) => Verdict::new(
                        Class::ProbableMachine,
                        "probable_gateway_timing",
                        format!("{gateway}, {seconds}s after sending"),
                    ),
                    None => Verdict::new(
                        Class::ProbableMachine,
                        "too_soon_after_send",
                        format!("{seconds}s after sending"),
                    ),
                };
            }
        }
        Verdict {
            class: Class::Human,
            reason: "human",
            // A human through a probable gateway says so (the evidence of a later recount).
            evidence: via_gateway.map(|g| format!("via {g}")).unwrap_or_default(),
            is_bot: false,
            is_apple_privacy: false,
        }
    }

    /// The full judgement: the request's own rules first; a hidden honeypot link is a machine
    /// whatever it looks like; then, for a hit that still looks human (or only probably a
    /// machine), the message's recent hits (newest first, at most a minute back).
    pub fn judge(&self, hit: &Hit<'_>, context: &Context<'_>) -> Verdict {
        if context.honeypot {
            return Verdict::new(
                Class::Machine,
                "honeypot_link",
                "a hidden link no reader can see was followed",
            );
        }
        self.sharpen(self.classify(hit), hit, context)
    }

    /// The history step of [`Rules::judge`] on a verdict [`Rules::classify`] already gave (a
    /// caller that classified first, to learn whether the history is worth reading): a
    /// machine stays one; anything else may be sharpened by the message's recent hits.
    pub fn sharpen(&self, verdict: Verdict, hit: &Hit<'_>, context: &Context<'_>) -> Verdict {
        if verdict.class == Class::Machine {
            return verdict;
        }
        history_verdict(hit, context).unwrap_or(verdict)
    }
}

/// Two different links of one message clicked within this many seconds: a scanner following
/// every link.
pub const MULTI_LINK_SECONDS: i64 = 5;
/// Several distinct addresses on one message within this many seconds: scanners and proxies
/// fanning out (a person reads from one or two devices, minutes apart).
pub const MULTI_IP_SECONDS: i64 = 30;
/// Distinct addresses (this hit's included) that make "several".
pub const MULTI_IP_COUNT: usize = 3;
/// Hits on one message within this many seconds…
pub const BURST_SECONDS: i64 = 10;
/// …this many (this hit included) make a burst.
pub const BURST_HITS: usize = 5;
/// The windows a probable security gateway widens to (opens, clicks after sending).
pub const GATEWAY_OPEN_WINDOW_SECONDS: i64 = 300;
pub const GATEWAY_CLICK_WINDOW_SECONDS: i64 = 120;

/// An earlier hit on the same message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastHit {
    /// How long before this hit it happened (≥ 0).
    pub seconds_before: i64,
    pub kind: HitKind,
    pub link_id: Option<String>,
    pub ip: Option<IpAddr>,
}

/// What a hit's token and the store know beyond the request.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    /// The clicked link (clicks).
    pub link_id: Option<&'a str>,
    /// The token is the message's hidden honeypot link.
    pub honeypot: bool,
    /// The message's recent hits, newest first.
    pub history: &'a [PastHit],
}

fn history_verdict(hit: &Hit<'_>, context: &Context<'_>) -> Option<Verdict> {
    let recent = |seconds: i64| {
        context
            .history
            .iter()
            .filter(move |h| (0..=seconds).contains(&h.seconds_before))
    };
    if hit.kind == Some(HitKind::Click)
        && let Some(link) = context.link_id
        && let Some(other) = recent(MULTI_LINK_SECONDS)
            .find(|h| h.kind == HitKind::Click && h.link_id.as_deref().is_some_and(|l| l != link))
    {
        return Some(Verdict::new(
            Class::ProbableMachine,
            "multi_link_burst",
            format!("another link clicked {}s before", other.seconds_before),
        ));
    }
    let mut addresses: Vec<IpAddr> = recent(MULTI_IP_SECONDS).filter_map(|h| h.ip).collect();
    addresses.extend(hit.ip);
    addresses.sort();
    addresses.dedup();
    if addresses.len() >= MULTI_IP_COUNT {
        return Some(Verdict::new(
            Class::ProbableMachine,
            "multi_ip_burst",
            format!("{} addresses within {MULTI_IP_SECONDS}s", addresses.len()),
        ));
    }
    let burst = recent(BURST_SECONDS).count() + 1;
    if burst >= BURST_HITS {
        return Some(Verdict::new(
            Class::ProbableMachine,
            "hit_burst",
            format!("{burst} hits within {BURST_SECONDS}s"),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit<'a>(kind: HitKind, agent: Option<&'a str>, ip: &str, seconds: Option<i64>) -> Hit<'a> {
        Hit {
            kind: Some(kind),
            method: "GET",
            user_agent: agent,
            ip: ip.parse().ok(),
            purpose: None,
            seconds_since_sent: seconds,
        }
    }

    const DESKTOP: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
    const OUTLOOK: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0 Microsoft Outlook/16.0";

    /// A corpus of real agents and addresses, one case per rule.
    #[test]
    fn each_rule_fires_on_its_corpus() {
        let rules = Rules::default();
        let cases: Vec<(Hit<'_>, &str, Class)> = vec![
            (
                hit(HitKind::Open, Some(DESKTOP), "203.0.113.9", Some(3600)),
                "human",
                Class::Human,
            ),
            (
                hit(HitKind::Open, Some(OUTLOOK), "198.51.100.4", Some(7200)),
                "human",
                Class::Human,
            ),
            (
                hit(HitKind::Open, Some("Mozilla/5.0"), "17.58.101.2", Some(2)),
                "apple_privacy_proxy",
                Class::Machine,
            ),
            (
                hit(
                    HitKind::Open,
                    Some(
                        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
                    ),
                    "66.249.84.10",
                    Some(600),
                ),
                "gmail_image_proxy",
                Class::Human,
            ),
            (
                hit(
                    HitKind::Click,
                    Some(
                        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
                    ),
                    "31.13.64.1",
                    Some(900),
                ),
                "bot_user_agent",
                Class::Machine,
            ),
            (
                hit(
                    HitKind::Click,
                    Some(
                        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
                    ),
                    "108.174.2.1",
                    Some(900),
                ),
                "bot_user_agent",
                Class::Machine,
            ),
            (
                hit(
                    HitKind::Click,
                    Some("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"),
                    "54.1.1.1",
                    Some(900),
                ),
                "bot_user_agent",
                Class::Machine,
            ),
            (
                hit(
                    HitKind::Click,
                    Some("WhatsApp/2.23.20.0"),
                    "157.240.1.1",
                    Some(900),
                ),
                "bot_user_agent",
                Class::Machine,
            ),
            (
                hit(
                    HitKind::Click,
                    Some("TelegramBot (like TwitterBot)"),
                    "149.154.160.1",
                    Some(900),
                ),
                "bot_user_agent",
                Class::Machine,
            ),
            (
                hit(
                    HitKind::Click,
                    Some("python-requests/2.31.0"),
                    "192.0.2.10",
                    Some(900),
                ),
                "bot_user_agent",
                Class::Machine,
            ),
            (
                hit(
                    HitKind::Click,
                    Some(
                        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
                    ),
                    "192.0.2.11",
                    Some(900),
                ),
                "bot_user_agent",
                Class::Machine,
            ),
            (
                hit(HitKind::Click, Some(DESKTOP), "40.107.22.45", Some(900)),
                "security_gateway",
                Class::Machine,
            ),
            (
                hit(HitKind::Click, Some(DESKTOP), "64.235.150.2", Some(900)),
                "security_gateway",
                Class::Machine,
            ),
            // Proofpoint and Mimecast: probable gateways widen the window, they do not decide.
            (
                hit(HitKind::Click, Some(DESKTOP), "148.163.130.7", Some(90)),
                "probable_gateway_timing",
                Class::ProbableMachine,
            ),
            (
                hit(HitKind::Open, Some(DESKTOP), "205.139.110.40", Some(240)),
                "probable_gateway_timing",
                Class::ProbableMachine,
            ),
            (
                hit(HitKind::Click, Some(DESKTOP), "205.139.110.40", Some(900)),
                "human",
                Class::Human,
            ),
            (
                hit(HitKind::Click, Some(DESKTOP), "203.0.113.9", Some(2)),
                "too_soon_after_send",
                Class::ProbableMachine,
            ),
            (
                hit(HitKind::Open, Some(DESKTOP), "203.0.113.9", Some(30)),
                "too_soon_after_send",
                Class::ProbableMachine,
            ),
            (
                hit(HitKind::Open, None, "203.0.113.9", Some(3600)),
                "missing_user_agent",
                Class::Machine,
            ),
        ];
        for (hit, reason, class) in cases {
            let verdict = rules.classify(&hit);
            assert_eq!(
                (verdict.reason, verdict.class),
                (reason, class),
                "{:?} from {:?}",
                hit.user_agent,
                hit.ip
            );
            assert_eq!(verdict.is_bot, class != Class::Human);
        }
    }

    #[test]
    fn apple_proxies_are_machine_opens_flagged_for_reporting() {
        let verdict = Rules::default().classify(&hit(
            HitKind::Open,
            Some("Mozilla/5.0"),
            "17.58.101.2",
            Some(100),
        ));
        assert!(verdict.is_apple_privacy && verdict.is_bot);
    }

    #[test]
    fn head_requests_and_prefetch_headers_are_machines() {
        let rules = Rules::default();
        let mut head = hit(HitKind::Click, Some(DESKTOP), "203.0.113.9", Some(900));
        head.method = "HEAD";
        assert_eq!(rules.classify(&head).reason, "head_request");
        let mut prefetch = hit(HitKind::Click, Some(DESKTOP), "203.0.113.9", Some(900));
        prefetch.purpose = Some("prefetch;prerender");
        assert_eq!(rules.classify(&prefetch).reason, "prefetch_header");
    }

    #[test]
    fn ipv6_ranges_match_by_prefix() {
        let networks = Networks::parse("test", "2a01:111:f400::/48 # Microsoft\n10.0.0.0/8");
        assert!(networks.contains("2a01:111:f400:7e00::1".parse().unwrap()));
        assert!(!networks.contains("2a01:111:f401::1".parse().unwrap()));
        assert!(networks.contains("10.200.1.1".parse().unwrap()));
    }

    fn past(seconds_before: i64, kind: HitKind, link: Option<&str>, ip: &str) -> PastHit {
        PastHit {
            seconds_before,
            kind,
            link_id: link.map(str::to_owned),
            ip: ip.parse().ok(),
        }
    }

    #[test]
    fn the_messages_recent_hits_reveal_scanners() {
        let rules = Rules::default();
        let click = hit(HitKind::Click, Some(DESKTOP), "203.0.113.9", Some(3600));
        // Two different links of one message within seconds.
        let history = [past(2, HitKind::Click, Some("link-a"), "203.0.113.9")];
        let context = Context {
            link_id: Some("link-b"),
            honeypot: false,
            history: &history,
        };
        let verdict = rules.judge(&click, &context);
        assert_eq!(
            (verdict.reason, verdict.class),
            ("multi_link_burst", Class::ProbableMachine)
        );
        assert!(verdict.is_bot);
        // The same link twice is a person double-clicking; another link a minute later, reading.
        for history in [
            [past(2, HitKind::Click, Some("link-b"), "203.0.113.9")],
            [past(60, HitKind::Click, Some("link-a"), "203.0.113.9")],
        ] {
            let context = Context {
                link_id: Some("link-b"),
                honeypot: false,
                history: &history,
            };
            assert_eq!(rules.judge(&click, &context).reason, "human");
        }
        // Three addresses on one message within half a minute.
        let history = [
            past(10, HitKind::Open, None, "198.51.100.7"),
            past(25, HitKind::Open, None, "192.0.2.44"),
        ];
        let open = hit(HitKind::Open, Some(DESKTOP), "203.0.113.9", Some(3600));
        let verdict = rules.judge(
            &open,
            &Context {
                history: &history,
                ..Context::default()
            },
        );
        assert_eq!(verdict.reason, "multi_ip_burst");
        // Two addresses (phone and laptop) are a person.
        let verdict = rules.judge(
            &open,
            &Context {
                history: &history[..1],
                ..Context::default()
            },
        );
        assert_eq!(verdict.reason, "human");
        // Five hits within ten seconds from one address.
        let history: Vec<PastHit> = (1..=4)
            .map(|s| past(s, HitKind::Open, None, "203.0.113.9"))
            .collect();
        let verdict = rules.judge(
            &open,
            &Context {
                history: &history,
                ..Context::default()
            },
        );
        assert_eq!(verdict.reason, "hit_burst");
        // The hidden honeypot link: a machine, whatever the request looks like.
        let verdict = rules.judge(
            &click,
            &Context {
                honeypot: true,
                ..Context::default()
            },
        );
        assert_eq!(
            (verdict.reason, verdict.class),
            ("honeypot_link", Class::Machine)
        );
        // A certain machine stays what its own rule says.
        let scanner = hit(
            HitKind::Click,
            Some("curl/8.5.0"),
            "203.0.113.9",
            Some(3600),
        );
        assert_eq!(
            rules
                .judge(
                    &scanner,
                    &Context {
                        link_id: Some("link-b"),
                        honeypot: false,
                        history: &[past(1, HitKind::Click, Some("link-a"), "203.0.113.9")],
                    }
                )
                .reason,
            "bot_user_agent"
        );
    }
}
