//! Configuration from the function's environment (set by infra/template.yaml).

/// A variable the function cannot start without.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0} is not set")]
pub struct MissingVariable(pub String);

/// The value of `name`; an empty value counts as unset.
pub fn required(name: &str) -> Result<String, MissingVariable> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Ok(value),
        _ => Err(MissingVariable(name.to_owned())),
    }
}

/// The key tracked links are signed with (`LINK_SIGNING_KEY`, a generated secret of the
/// stack, the same for the senders and `track-click`); unset: links carry bare tokens.
pub fn link_key() -> Option<scaliyo_domain::signed_link::LinkKey> {
    required("LINK_SIGNING_KEY")
        .ok()
        .map(|secret| scaliyo_domain::signed_link::LinkKey::new(secret.as_bytes()))
}

/// The deployed function's name (`AWS_LAMBDA_FUNCTION_NAME`, e.g. `scaliyo-prod-import-leads`),
/// or `fallback` outside Lambda.
pub fn function_name(fallback: &str) -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| fallback.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_names_itself() {
        let error = required("SCALIYO_SURELY_UNSET_VARIABLE");
        assert_eq!(
            error.map_err(|e| e.to_string()),
            Err("SCALIYO_SURELY_UNSET_VARIABLE is not set".to_owned())
        );
    }
}
