//! Tracked links that carry their destination, signed: `<token>.<destination>.<signature>`
//! (base64url, no padding). The redirect answers from the link alone — no read of the token
//! before the answer, which on AWS leaves the hit's one enqueue as the request's only round
//! trip (issue 25) — and the signature keeps it from being an open redirect: only the sender,
//! which holds the key, can make a link that leads anywhere.
//!
//! The token part is the link's ordinary token: the hit is journalled under it and applied as
//! any other (a link of a deleted message still leads to its page; its hit is dropped then).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of the MAC kept in the link: 128 bits, beyond guessing.
const SIGNATURE_BYTES: usize = 16;
/// Longest destination a link carries (longer ones stay unsigned and are read from the store):
/// keeps the URL within what mail clients and API Gateway pass through.
pub const MAX_SIGNED_DESTINATION: usize = 1500;

/// The key that signs and checks tracked links (a secret of the deployment).
#[derive(Clone)]
pub struct LinkKey {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(..)")
    }
}

/// What a signed link says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLink<'a> {
    pub token: &'a str,
    pub destination: String,
}

impl LinkKey {
    /// A key from a secret of any length (HMAC takes any).
    pub fn new(secret: &[u8]) -> Self {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        Self { mac }
    }

    fn signature(&self, token: &str, destination: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        // Domain-separated and length-framed: no other string signs to the same bytes.
        mac.update(b"scaliyo-link-v1\0");
        mac.update(&(token.len() as u64).to_be_bytes());
        mac.update(token.as_bytes());
        mac.update(destination.as_bytes());
        mac
    }

    /// The link's path segment; `None` when the destination is too long to carry (the
    /// caller then uses the bare token).
    pub fn sign(&self, token: &str, destination: &str) -> Option<String> {
        if destination.len() > MAX_SIGNED_DESTINATION {
            return None;
        }
        let tag = self.signature(token, destination).finalize().into_bytes();
        Some(format!(
            "{token}.{}.{}",
            URL_SAFE_NO_PAD.encode(destination),
            URL_SAFE_NO_PAD.encode(&tag[..SIGNATURE_BYTES])
        ))
    }

    /// The token and destination of a segment this key signed; `None` for anything else (a
    /// bare token, a forged or altered link, a link signed by another key).
    pub fn open<'a>(&self, segment: &'a str) -> Option<SignedLink<'a>> {
        let mut parts = segment.split('.');
        let (token, destination, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || destination.len() > MAX_SIGNED_DESTINATION.div_ceil(3) * 4
            || signature.len() > SIGNATURE_BYTES.div_ceil(3) * 4
        {
            return None;
        }
        let destination = String::from_utf8(URL_SAFE_NO_PAD.decode(destination).ok()?).ok()?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        if signature.len() != SIGNATURE_BYTES {
            return None;
        }
        // `verify_truncated_left` compares the kept bytes in constant time.
        self.signature(token, &destination)
            .verify_truncated_left(&signature)
            .ok()?;
        Some(SignedLink { token, destination })
    }
}

/// The token part of a tracked link's segment, signed or not.
pub fn token_of(segment: &str) -> &str {
    segment.split('.').next().unwrap_or(segment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> LinkKey {
        LinkKey::new(b"a secret of the deployment")
    }

    #[test]
    fn a_signed_link_opens_to_its_token_and_destination() {
        let segment = key()
            .sign("tok_abcdefghijklmnop", "https://shop.example/a?b=c&d=é#top")
            .unwrap();
        assert!(
            segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
        let opened = key().open(&segment).unwrap();
        assert_eq!(opened.token, "tok_abcdefghijklmnop");
        assert_eq!(opened.destination, "https://shop.example/a?b=c&d=é#top");
        assert_eq!(token_of(&segment), "tok_abcdefghijklmnop");
    }

    #[test]
    fn another_key_a_changed_destination_or_token_or_a_cut_signature_do_not_open() {
        let segment = key()
            .sign("tok_abcdefghijklmnop", "https://shop.example/")
            .unwrap();
        assert!(LinkKey::new(b"another secret").open(&segment).is_none());
        let parts: Vec<&str> = segment.split('.').collect();
        let evil = URL_SAFE_NO_PAD.encode("https://evil.example/");
        for forged in [
            format!("{}.{evil}.{}", parts[0], parts[2]),
            format!("tok_bbcdefghijklmnop.{}.{}", parts[1], parts[2]),
            format!("{}.{}.{}", parts[0], parts[1], &parts[2][..10]),
            format!("{}.{}", parts[0], parts[1]),
            format!("{segment}.x"),
            parts[0].to_owned(),
        ] {
            assert!(key().open(&forged).is_none(), "{forged}");
        }
    }

    #[test]
    fn a_destination_too_long_to_carry_is_not_signed() {
        let long = format!(
            "https://shop.example/{}",
            "a".repeat(MAX_SIGNED_DESTINATION)
        );
        assert!(key().sign("tok_abcdefghijklmnop", &long).is_none());
    }

    proptest! {
        /// Whatever arrives as a segment, opening it answers (no panic), and only what was
        /// signed opens.
        #[test]
        fn any_segment_is_refused_or_was_signed(segment in "\\PC{0,200}") {
            prop_assert!(key().open(&segment).is_none());
        }

        #[test]
        fn whatever_is_signed_opens_to_itself(token in "[A-Za-z0-9_-]{16,64}", destination in "\\PC{0,300}") {
            let segment = key().sign(&token, &destination).unwrap();
            let opened = key().open(&segment).unwrap();
            prop_assert_eq!(opened.token, token.as_str());
            prop_assert_eq!(opened.destination, destination);
        }
    }
}
