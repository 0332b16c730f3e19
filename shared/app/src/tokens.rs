//! Unguessable tokens for URLs: `N` random bytes, base64url without padding.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A token of `N` random bytes (16 for tracking links, 24 for inbound hooks, 32 for
/// invitation links), safe in a URL path or query.
pub fn random_url_token<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_and_differ() {
        let (a, b) = (random_url_token::<32>(), random_url_token::<32>());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
