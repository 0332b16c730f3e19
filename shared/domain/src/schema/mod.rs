//! The schema of Scaliyo, declared once as data: every table, column, default, NOT NULL,
//! CHECK set, UNIQUE constraint (partial ones too), foreign key with its ON DELETE action, the
//! column that names a row's owner, and the row policy. Validation, defaults, keys, policies
//! and the API document are derived from this; `docs/schema.md` is checked against it.

mod tables;
pub mod writes;

pub use tables::*;

/// Column types of the seed (PostgreSQL names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Uuid,
    Text,
    Int,
    BigInt,
    Real,
    Boolean,
    Jsonb,
    TextArray,
    Date,
    Timestamptz,
}

impl ColumnType {
    /// The seed's spelling.
    pub fn sql_name(self) -> &'static str {
        match self {
            ColumnType::Uuid => "UUID",
            ColumnType::Text => "TEXT",
            ColumnType::Int => "INT",
            ColumnType::BigInt => "BIGINT",
            ColumnType::Real => "REAL",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Jsonb => "JSONB",
            ColumnType::TextArray => "TEXT[]",
            ColumnType::Date => "DATE",
            ColumnType::Timestamptz => "TIMESTAMPTZ",
        }
    }
}

/// A column default as the seed states it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultValue {
    /// No default: the column is NULL unless given.
    None,
    /// `gen_random_uuid()`
    RandomUuid,
    /// `now()`
    Now,
    /// `now() + interval '<n> seconds'`
    NowPlusSeconds(i64),
    /// `CURRENT_DATE`
    CurrentDate,
    /// An explicit `NULL`.
    Null,
    Text(&'static str),
    Int(i64),
    Real(f64),
    Bool(bool),
    /// A JSON literal (JSONB defaults).
    Json(&'static str),
    /// `'{}'` on an array column.
    EmptyArray,
}

/// A CHECK constraint on one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    None,
    OneOf(&'static [&'static str]),
    Range { min: i64, max: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub default: DefaultValue,
    pub not_null: bool,
    pub primary_key: bool,
    pub unique: bool,
    pub check: Check,
}

impl Column {
    pub const fn new(name: &'static str, ty: ColumnType) -> Self {
        Self {
            name,
            ty,
            default: DefaultValue::None,
            not_null: false,
            primary_key: false,
            unique: false,
            check: Check::None,
        }
    }

    pub const fn pk(mut self) -> Self {
        self.primary_key = true;
        self
    }

    pub const fn not_null(mut self) -> Self {
        self.not_null = true;
        self
    }

    pub const fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    pub const fn default(mut self, default: DefaultValue) -> Self {
        self.default = default;
        self
    }

    pub const fn one_of(mut self, values: &'static [&'static str]) -> Self {
        self.check = Check::OneOf(values);
        self
    }

    pub const fn range(mut self, min: i64, max: i64) -> Self {
        self.check = Check::Range { min, max };
        self
    }

    /// Whether a value must be present after defaults are applied.
    pub fn required(&self) -> bool {
        (self.not_null || self.primary_key) && matches!(self.default, DefaultValue::None)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    Cascade,
    SetNull,
    /// No action stated: the reference is kept as it is (a dangling id reads as "gone").
    NoAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignKey {
    pub column: &'static str,
    /// `auth.users` for the identity provider's users; otherwise a table of this schema.
    pub table: &'static str,
    pub references: &'static str,
    pub on_delete: OnDelete,
}

/// The users table of the identity provider, outside this schema.
pub const AUTH_USERS: &str = "auth.users";

/// A key part of a UNIQUE constraint or index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPart {
    Column(&'static str),
    Lower(&'static str),
    Desc(&'static str),
}

impl KeyPart {
    pub fn column(self) -> &'static str {
        match self {
            KeyPart::Column(c) | KeyPart::Lower(c) | KeyPart::Desc(c) => c,
        }
    }
}

/// The WHERE of a partial index or a policy's row filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    IsNotNull(&'static str),
    /// The column is NULL (the shared rows of an owned table: default templates, prompts).
    IsNull(&'static str),
    IsTrue(&'static str),
    Equals(&'static str, &'static str),
}

impl Filter {
    pub fn column(self) -> &'static str {
        match self {
            Filter::IsNotNull(c) | Filter::IsNull(c) | Filter::IsTrue(c) | Filter::Equals(c, _) => {
                c
            }
        }
    }

    /// Whether a row (as JSON) matches the filter.
    pub fn matches(self, row: &serde_json::Map<String, serde_json::Value>) -> bool {
        match self {
            Filter::IsNotNull(c) => row.get(c).is_some_and(|v| !v.is_null()),
            Filter::IsNull(c) => row.get(c).is_none_or(serde_json::Value::is_null),
            Filter::IsTrue(c) => row.get(c).and_then(serde_json::Value::as_bool) == Some(true),
            Filter::Equals(c, value) => {
                row.get(c).and_then(serde_json::Value::as_str) == Some(value)
            }
        }
    }
}

/// A UNIQUE constraint, or a unique index (possibly partial).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unique {
    pub name: &'static str,
    pub parts: &'static [KeyPart],
    pub filter: Option<Filter>,
}

/// A named (non-unique) index of the seed; each is served by a key or a GSI (data-model.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDef {
    pub name: &'static str,
    pub parts: &'static [KeyPart],
    pub filter: Option<Filter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    Select,
    Insert,
    Update,
    Delete,
}

pub const READ: &[Op] = &[Op::Select];
pub const CRUD: &[Op] = &[Op::Select, Op::Insert, Op::Update, Op::Delete];
pub const SIU: &[Op] = &[Op::Select, Op::Insert, Op::Update];
pub const SI: &[Op] = &[Op::Select, Op::Insert];
pub const WRITE: &[Op] = &[Op::Insert, Op::Update, Op::Delete];

/// Roles of a Team Hub flow (board), weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlowRole {
    Viewer,
    Member,
    Admin,
    Owner,
}

/// Who a policy rule admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The caller's id equals this column (`col = auth.uid()`).
    Owner(&'static str),
    /// Anyone, signed in or not, for rows matching the filter (all rows when `None`).
    Public(Option<Filter>),
    /// Any signed-in user, for rows matching the filter.
    Authenticated(Option<Filter>),
    /// Callers whose profile role is `ADMIN`.
    Admin,
    /// Members of the team named by this column.
    TeamMember(&'static str),
    /// The invited user (by e-mail) of a team invite.
    Invitee(&'static str),
    /// Members of the Team Hub flow reached through this column, with at least this role.
    Flow { via: FlowPath, min: FlowRole },
    /// A super admin whose id equals this column.
    SuperAdmin(&'static str),
    /// Whoever may do the same to the parent row this column references.
    Parent(&'static str),
}

/// How a Team Hub row reaches its board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowPath {
    /// The row is the board itself.
    Board,
    /// The column holds the board id.
    Column(&'static str),
    /// The column references a card, whose `board_id` is the board.
    Card(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub ops: &'static [Op],
    pub who: Who,
}

impl Rule {
    pub const fn new(ops: &'static [Op], who: Who) -> Self {
        Self { ops, who }
    }
}

/// Where a table's rows live in the single table (see docs/data-model.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// In the partition of the user this column names (rows where it is NULL are shared).
    Owner(&'static str),
    /// In the partition of the owner of the row this NOT NULL foreign key references.
    OwnerOf(&'static str),
    /// Addressed by id, for rows without one owning user (plans, blog posts, teams, …).
    Shared,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Table {
    pub name: &'static str,
    /// The seed's section heading, e.g. `1.2 Leads`.
    pub section: &'static str,
    pub columns: &'static [Column],
    /// Every UNIQUE the store enforces: column-level ones (named `<table>_<column>_key` as
    /// PostgreSQL names them), table-level ones and unique (partial) indexes.
    pub uniques: &'static [Unique],
    pub indexes: &'static [IndexDef],
    pub foreign_keys: &'static [ForeignKey],
    pub scope: Scope,
    pub policy: &'static [Rule],
    /// `false` for the tables the seed only describes in prose (designed here).
    pub documented: bool,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The single primary key column, if the table has one.
    pub fn primary_key(&self) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.primary_key)
    }

    pub fn foreign_key(&self, column: &str) -> Option<&'static ForeignKey> {
        self.foreign_keys.iter().find(|fk| fk.column == column)
    }

    pub fn has_updated_at(&self) -> bool {
        self.column("updated_at").is_some()
    }
}

/// Columns that hold credentials: accepted on writes, never returned by any API (a response
/// omits them). `sender_account_secrets` has no client policy at all.
pub const SECRET_COLUMNS: &[(&str, &[&str])] = &[
    ("webhooks", &["secret"]),
    ("integrations", &["credentials"]),
    ("email_provider_configs", &["api_key"]),
    (
        "social_accounts",
        &[
            "meta_page_access_token_encrypted",
            "linkedin_access_token_encrypted",
        ],
    ),
    (
        "sender_account_secrets",
        &[
            "oauth_access_token",
            "oauth_refresh_token",
            "smtp_user",
            "smtp_pass",
            "api_key",
        ],
    ),
];

/// Secrets kept sealed at rest (envelope-encrypted with the deployment's key): the sender
/// and social credentials the connect flows seal, and the credentials clients write through
/// the data API (sealed by the server as they arrive). `scaliyo-migrate` seals them too.
pub const SEALED_COLUMNS: &[(&str, &[&str])] = &[
    (
        "sender_account_secrets",
        &[
            "oauth_access_token",
            "oauth_refresh_token",
            "smtp_user",
            "smtp_pass",
            "api_key",
        ],
    ),
    (
        "social_accounts",
        &[
            "meta_page_access_token_encrypted",
            "linkedin_access_token_encrypted",
        ],
    ),
    ("integrations", &["credentials"]),
    ("email_provider_configs", &["api_key"]),
];

/// Whether a column of a table is kept sealed at rest.
pub fn is_sealed(table: &str, column: &str) -> bool {
    SEALED_COLUMNS
        .iter()
        .any(|(t, columns)| *t == table && columns.contains(&column))
}

/// Whether a column of a table is a write-only secret.
pub fn is_secret(table: &str, column: &str) -> bool {
    SECRET_COLUMNS
        .iter()
        .any(|(t, columns)| *t == table && columns.contains(&column))
}

/// Looks a table up by its schema name.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().copied().find(|t| t.name == name)
}

/// Tables with a foreign key to `parent` (`auth.users` for the users of the identity provider).
pub fn referencing(
    parent: &str,
) -> impl Iterator<Item = (&'static Table, &'static ForeignKey)> + '_ {
    TABLES.iter().copied().flat_map(move |t| {
        t.foreign_keys
            .iter()
            .filter(move |fk| fk.table == parent)
            .map(move |fk| (t, fk))
    })
}

#[cfg(test)]
mod tests;
