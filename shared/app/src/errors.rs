//! Error plumbing shared by the use cases, written once: each use case's error wraps an
//! `AccessError`, which row and store errors reach through one path, and has an `Invalid`
//! variant built by `invalid(field, reason)`.

/// `From<RowError>` and `From<StoreError>` for use-case errors with an `Access(AccessError)`
/// variant: the source is kept (`AccessError::Row(RowError::Store(…))`).
macro_rules! through_access {
    ($($error:ident),+ $(,)?) => {
        $(
            impl From<$crate::rows::RowError> for $error {
                fn from(error: $crate::rows::RowError) -> Self {
                    $error::Access($crate::access::AccessError::Row(error))
                }
            }

            impl From<scaliyo_store::StoreError> for $error {
                fn from(error: scaliyo_store::StoreError) -> Self {
                    $error::Access($crate::access::AccessError::Row(
                        $crate::rows::RowError::Store(error),
                    ))
                }
            }
        )+
    };
}
pub(crate) use through_access;

/// `invalid(field, reason)`: the use case's `Invalid { field, reason }` error, for a request
/// field the caller got wrong (a 400 at the edge).
macro_rules! invalid_constructor {
    ($error:ident) => {
        pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> $error {
            $error::Invalid {
                field: field.into(),
                reason: reason.into(),
            }
        }
    };
}
pub(crate) use invalid_constructor;
