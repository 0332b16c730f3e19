//! Invitations: to a team (`team_invites`), to a Team Hub flow (`teamhub_invites`) and to
//! contribute guest posts (`guest_contributors`) — what each kind is, when one may still be
//! answered, and the e-mail that carries its link.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::email::escape_html;

/// What an invitation is to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteKind {
    Team,
    Flow,
    GuestContributor,
}

impl InviteKind {
    pub const ALL: [InviteKind; 3] = [
        InviteKind::Team,
        InviteKind::Flow,
        InviteKind::GuestContributor,
    ];

    /// The table its rows live in.
    pub fn table(self) -> &'static str {
        match self {
            InviteKind::Team => "team_invites",
            InviteKind::Flow => "teamhub_invites",
            InviteKind::GuestContributor => "guest_contributors",
        }
    }

    pub fn of_table(table: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.table() == table)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InviteKind::Team => "team",
            InviteKind::Flow => "flow",
            InviteKind::GuestContributor => "guest_contributor",
        }
    }

    /// The column naming who sent it (the guest contributor's row belongs to its inviter).
    pub fn inviter_column(self) -> &'static str {
        match self {
            InviteKind::Team | InviteKind::Flow => "invited_by",
            InviteKind::GuestContributor => "user_id",
        }
    }

    /// The status of a row still waiting for an answer.
    pub fn pending_status(self) -> &'static str {
        match self {
            InviteKind::Team | InviteKind::Flow => "pending",
            InviteKind::GuestContributor => "invited",
        }
    }

    /// The status an accepted invitation moves to.
    pub fn accepted_status(self) -> &'static str {
        match self {
            InviteKind::Team | InviteKind::Flow => "accepted",
            InviteKind::GuestContributor => "active",
        }
    }

    /// The status a declined invitation moves to (a flow invite has none in the seed's CHECK
    /// set: declining one removes it).
    pub fn declined_status(self) -> Option<&'static str> {
        match self {
            InviteKind::Team => Some("declined"),
            InviteKind::Flow => None,
            InviteKind::GuestContributor => Some("inactive"),
        }
    }
}

/// How long an invitation may be answered: a team invite until its `expires_at` (the seed's
/// default is 7 days); a flow invite, which has no such column, 7 days after it was sent; a
/// guest contributor's invitation 30 days after it was sent.
pub const FLOW_INVITE_DAYS: i64 = 7;
pub const GUEST_INVITE_DAYS: i64 = 30;

/// The least time between two e-mails for one invitation (a resend earlier is refused).
pub const RESEND_INTERVAL_MINUTES: i64 = 10;

/// When an invitation stops being answerable, from its row's timestamps.
pub fn expires_at(
    kind: InviteKind,
    expires_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match kind {
        InviteKind::Team => expires_at,
        InviteKind::Flow => sent_at.map(|t| t + Duration::days(FLOW_INVITE_DAYS)),
        InviteKind::GuestContributor => sent_at.map(|t| t + Duration::days(GUEST_INVITE_DAYS)),
    }
}

/// What the invitation e-mail says: what the invitee is invited to, by whom, and the link.
pub struct InviteLetter<'a> {
    pub kind: InviteKind,
    /// The team's or the board's name (none for a guest contributor).
    pub target_name: Option<&'a str>,
    pub inviter_name: &'a str,
    pub role: Option<&'a str>,
    /// The frontend's page that answers the invitation, with the token in it.
    pub link: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

impl InviteLetter<'_> {
    pub fn subject(&self) -> String {
        let inviter = crate::email::header_line(self.inviter_name);
        match (self.kind, self.target_name) {
            (InviteKind::Team, Some(name)) => {
                format!(
                    "{inviter} invited you to the team {}",
                    crate::email::header_line(name)
                )
            }
            (InviteKind::Flow, Some(name)) => {
                format!(
                    "{inviter} invited you to the board {}",
                    crate::email::header_line(name)
                )
            }
            (InviteKind::GuestContributor, _) => {
                format!("{inviter} invited you to write for their blog")
            }
            (_, None) => format!("{inviter} invited you to Scaliyo"),
        }
    }

    pub fn html(&self) -> String {
        let what = match (self.kind, self.target_name) {
            (InviteKind::Team, Some(name)) => format!("the team <b>{}</b>", escape_html(name)),
            (InviteKind::Flow, Some(name)) => format!("the board <b>{}</b>", escape_html(name)),
            (InviteKind::GuestContributor, _) => "write guest posts for their blog".to_owned(),
            (_, None) => "Scaliyo".to_owned(),
        };
        let role = self
            .role
            .map(|r| format!(" as <b>{}</b>", escape_html(r)))
            .unwrap_or_default();
        let until = self
            .expires_at
            .map(|t| {
                format!(
                    "<p>The invitation can be answered until {} (UTC).</p>",
                    t.format("%Y-%m-%d %H:%M")
                )
            })
            .unwrap_or_default();
        format!(
            "<p>{inviter} invited you to {what}{role}.</p>\
             <p><a href=\"{link}\">Accept or decline the invitation</a></p>{until}\
             <p>If you did not expect it, ignore this e-mail.</p>",
            inviter = escape_html(self.inviter_name),
            link = escape_html(self.link),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_their_tables_and_states() {
        for kind in InviteKind::ALL {
            assert_eq!(InviteKind::of_table(kind.table()), Some(kind));
        }
        assert_eq!(InviteKind::of_table("teams"), None);
        assert_eq!(InviteKind::Flow.declined_status(), None);
        assert_eq!(InviteKind::GuestContributor.accepted_status(), "active");
    }

    #[test]
    fn a_flow_invite_expires_seven_days_after_it_was_sent() {
        let sent: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().expect("time");
        assert_eq!(
            expires_at(InviteKind::Flow, None, Some(sent)),
            Some(sent + Duration::days(7))
        );
        assert_eq!(expires_at(InviteKind::Team, None, Some(sent)), None);
    }

    #[test]
    fn the_letter_escapes_what_users_typed() {
        let letter = InviteLetter {
            kind: InviteKind::Team,
            target_name: Some("<script>x</script>"),
            inviter_name: "Ada\r\nBcc: x@y",
            role: Some("admin"),
            link: "https://app.example/invites?token=a&b",
            expires_at: None,
        };
        assert!(!letter.subject().contains('\n'));
        let html = letter.html();
        assert!(!html.contains("<script>"));
        assert!(html.contains("token=a&amp;b"));
        assert!(html.contains("<b>admin</b>"));
    }
}
