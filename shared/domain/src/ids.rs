//! Identifier newtypes: an `OwnerId` cannot be passed where a row id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The id of a user (`auth.users.id`, `profiles.id`): the owner of a workspace's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OwnerId(pub Uuid);

impl OwnerId {
    pub fn new_random() -> Self {
        OwnerId(Uuid::new_v4())
    }
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for OwnerId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(OwnerId)
    }
}

/// The caller's role from `profiles.role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Role {
    Admin,
    Client,
    Guest,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Client => "CLIENT",
            Role::Guest => "GUEST",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "ADMIN" => Ok(Role::Admin),
            "CLIENT" => Ok(Role::Client),
            "GUEST" => Ok(Role::Guest),
            other => Err(format!(
                "unknown role {other:?} (expected ADMIN, CLIENT or GUEST)"
            )),
        }
    }
}

/// Who is calling: established at the edge from verified token claims, trusted inside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub user_id: OwnerId,
    pub role: Role,
    pub email: Option<String>,
}
