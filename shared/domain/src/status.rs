//! The status columns the use cases move rows through, as enums: a misspelt state does not
//! compile, and a test holds each enum to its column's CHECK set in the schema.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Declares a status enum for `table.column`, spelled as the column stores it.
macro_rules! status {
    (
        $(#[$doc:meta])*
        $name:ident for $table:literal . $column:literal {
            $($variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// The table and column the enum is the CHECK set of.
            pub const COLUMN: (&'static str, &'static str) = ($table, $column);
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The status a stored value names; `None` for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The status stored in a row's JSON value.
            pub fn of(value: &serde_json::Value) -> Option<Self> {
                value.as_str().and_then(Self::parse)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$name> for serde_json::Value {
            fn from(status: $name) -> Self {
                serde_json::Value::from(status.as_str())
            }
        }
    };
}

status! {
    /// A social post as a whole.
    PostStatus for "social_posts"."status" {
        Draft = "draft",
        Scheduled = "scheduled",
        Processing = "processing",
        Completed = "completed",
        Failed = "failed",
    }
}

status! {
    /// One network target of a social post.
    TargetStatus for "social_post_targets"."status" {
        Pending = "pending",
        Scheduled = "scheduled",
        Processing = "processing",
        Published = "published",
        Failed = "failed",
    }
}

status! {
    /// A scheduled (or sequence) e-mail.
    ScheduledEmailStatus for "scheduled_emails"."status" {
        Pending = "pending",
        Processing = "processing",
        Sent = "sent",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

status! {
    /// A lead import.
    BatchStatus for "import_batches"."status" {
        Pending = "pending",
        Processing = "processing",
        Completed = "completed",
        Failed = "failed",
    }
}

status! {
    /// A lead's stage in the pipeline.
    LeadStatus for "leads"."status" {
        New = "New",
        Contacted = "Contacted",
        Qualified = "Qualified",
        Converted = "Converted",
        Lost = "Lost",
    }
}

status! {
    /// A workflow: runs only while active.
    WorkflowStatus for "workflows"."status" {
        Active = "active",
        Paused = "paused",
        Draft = "draft",
    }
}

status! {
    /// One run of a workflow for one lead.
    ExecutionStatus for "workflow_executions"."status" {
        Running = "running",
        Success = "success",
        Failed = "failed",
        Skipped = "skipped",
    }
}

status! {
    /// A sent e-mail, as the provider's events move it.
    MessageStatus for "email_messages"."status" {
        Sent = "sent",
        Delivered = "delivered",
        Bounced = "bounced",
        Failed = "failed",
    }
}

status! {
    /// A connected sender mailbox.
    SenderStatus for "sender_accounts"."status" {
        Connected = "connected",
        NeedsReauth = "needs_reauth",
        Disabled = "disabled",
    }
}

status! {
    /// An invitation to a team.
    InviteStatus for "team_invites"."status" {
        Pending = "pending",
        Accepted = "accepted",
        Declined = "declined",
    }
}

status! {
    /// The SaaS subscription of a user, as Stripe's events move it.
    SubscriptionStatus for "subscriptions"."status" {
        Active = "active",
        PastDue = "past_due",
        Canceled = "canceled",
    }
}

status! {
    /// An invoice to a lead.
    InvoiceStatus for "invoices"."status" {
        Draft = "draft",
        Open = "open",
        Paid = "paid",
        Void = "void",
        Uncollectible = "uncollectible",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{self, Check, DefaultValue};

    /// The column's CHECK set, in the schema's order; for a column the seed leaves
    /// unchecked (`import_batches.status`), its default, which must be one of ours.
    fn check_set((table, column): (&str, &str)) -> Result<Vec<&'static str>, &'static str> {
        let declared = schema::table(table)
            .and_then(|t| t.column(column))
            .unwrap_or_else(|| panic!("{table}.{column} is declared"));
        match (declared.check, declared.default) {
            (Check::OneOf(values), _) => Ok(values.to_vec()),
            (_, DefaultValue::Text(default)) => Err(default),
            _ => panic!("{table}.{column} has neither a CHECK set nor a text default"),
        }
    }

    fn texts<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> Vec<&'static str> {
        all.iter().map(|s| as_str(*s)).collect()
    }

    #[test]
    fn each_status_enum_is_its_columns_check_set() {
        let cases: [((&str, &str), Vec<&str>); 12] = [
            (
                SubscriptionStatus::COLUMN,
                texts(SubscriptionStatus::ALL, SubscriptionStatus::as_str),
            ),
            (
                InvoiceStatus::COLUMN,
                texts(InvoiceStatus::ALL, InvoiceStatus::as_str),
            ),
            (
                PostStatus::COLUMN,
                texts(PostStatus::ALL, PostStatus::as_str),
            ),
            (
                TargetStatus::COLUMN,
                texts(TargetStatus::ALL, TargetStatus::as_str),
            ),
            (
                ScheduledEmailStatus::COLUMN,
                texts(ScheduledEmailStatus::ALL, ScheduledEmailStatus::as_str),
            ),
            (
                BatchStatus::COLUMN,
                texts(BatchStatus::ALL, BatchStatus::as_str),
            ),
            (
                LeadStatus::COLUMN,
                texts(LeadStatus::ALL, LeadStatus::as_str),
            ),
            (
                WorkflowStatus::COLUMN,
                texts(WorkflowStatus::ALL, WorkflowStatus::as_str),
            ),
            (
                ExecutionStatus::COLUMN,
                texts(ExecutionStatus::ALL, ExecutionStatus::as_str),
            ),
            (
                MessageStatus::COLUMN,
                texts(MessageStatus::ALL, MessageStatus::as_str),
            ),
            (
                SenderStatus::COLUMN,
                texts(SenderStatus::ALL, SenderStatus::as_str),
            ),
            (
                InviteStatus::COLUMN,
                texts(InviteStatus::ALL, InviteStatus::as_str),
            ),
        ];
        for (column, ours) in cases {
            match check_set(column) {
                Ok(checked) => assert_eq!(ours, checked, "{column:?}"),
                Err(default) => assert!(ours.contains(&default), "{column:?}: {default}"),
            }
        }
    }

    #[test]
    fn statuses_round_trip_through_text_and_json() {
        for status in PostStatus::ALL {
            assert_eq!(PostStatus::parse(status.as_str()), Some(*status));
            let json = serde_json::to_value(status).unwrap_or_default();
            assert_eq!(json, serde_json::Value::from(*status));
            assert_eq!(PostStatus::of(&json), Some(*status));
        }
        assert_eq!(PostStatus::parse("Draft"), None);
        assert_eq!(TargetStatus::of(&serde_json::Value::Null), None);
    }
}
