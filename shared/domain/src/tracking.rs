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
        if let Some(ip) = hit.ip {
            if self.certain_gateways.contains(ip) {
                return Verdict::new(
                    Class::Machine,
                    "security_gateway",
                    format!("{ip} in {}", self.certain_gateways.name),
                );
            }
            if self.probable_gateways.contains(ip) {
                return Verdict::new(
                    Class::ProbableMachine,
                    "probable_security_gateway",
                    format!("{ip} in {}", self.probable_gateways.name),
                );
            }
        }
        if let Some(seconds) = hit.seconds_since_sent {
            let limit = match hit.kind {
                Some(HitKind::Click) => CLICK_TOO_SOON_SECONDS,
                _ => OPEN_TOO_SOON_SECONDS,
            };
            if (0..limit).contains(&seconds) {
                return Verdict::new(
                    Class::ProbableMachine,
                    "too_soon_after_send",
                    format!("{seconds}s after sending"),
                );
            }
        }
        Verdict {
            class: Class::Human,
            reason: "human",
            evidence: String::new(),
            is_bot: false,
            is_apple_privacy: false,
        }
    }
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
            (
                hit(HitKind::Click, Some(DESKTOP), "148.163.130.7", Some(900)),
                "probable_security_gateway",
                Class::ProbableMachine,
            ),
            (
                hit(HitKind::Click, Some(DESKTOP), "205.139.110.40", Some(900)),
                "probable_security_gateway",
                Class::ProbableMachine,
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
}
