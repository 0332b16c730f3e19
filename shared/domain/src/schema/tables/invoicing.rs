//! Seed section 1.6 Invoicing.

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static INVOICES: Table = Table {
    name: "invoices",
    section: "1.6 Invoicing",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("owner_id", Uuid).not_null(),
        Column::new("lead_id", Uuid).not_null(),
        Column::new("stripe_customer_id", Text),
        Column::new("stripe_invoice_id", Text),
        Column::new("invoice_number", Text),
        Column::new("status", Text)
            .default(DefaultValue::Text("draft"))
            .one_of(&["draft", "open", "paid", "void", "uncollectible"]),
        Column::new("currency", Text).default(DefaultValue::Text("usd")),
        Column::new("subtotal_cents", Int).default(DefaultValue::Int(0)),
        Column::new("total_cents", Int).default(DefaultValue::Int(0)),
        Column::new("due_date", Date),
        Column::new("notes", Text),
        Column::new("stripe_hosted_url", Text),
        Column::new("stripe_pdf_url", Text),
        Column::new("sent_at", Timestamptz),
        Column::new("sent_via", Text),
        Column::new("paid_at", Timestamptz),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[
        IndexDef {
            name: "idx_invoices_owner",
            parts: &[KeyPart::Column("owner_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_invoices_lead",
            parts: &[KeyPart::Column("lead_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_invoices_stripe_invoice",
            parts: &[KeyPart::Column("stripe_invoice_id")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "owner_id",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "lead_id",
            table: "leads",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
    ],
    scope: Scope::Owner("owner_id"),
    policy: &[Rule::new(SIU, Who::Owner("owner_id"))],
    documented: true,
};

pub static INVOICE_LINE_ITEMS: Table = Table {
    name: "invoice_line_items",
    section: "1.6 Invoicing",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("invoice_id", Uuid).not_null(),
        Column::new("description", Text).not_null(),
        Column::new("quantity", Int).default(DefaultValue::Int(1)),
        Column::new("unit_price_cents", Int).not_null(),
        Column::new("amount_cents", Int).not_null(),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[IndexDef {
        name: "idx_invoice_line_items_invoice",
        parts: &[KeyPart::Column("invoice_id")],
        filter: None,
    }],
    foreign_keys: &[ForeignKey {
        column: "invoice_id",
        table: "invoices",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::OwnerOf("invoice_id"),
    policy: &[Rule::new(CRUD, Who::Parent("invoice_id"))],
    documented: true,
};

pub static INVOICE_PACKAGES: Table = Table {
    name: "invoice_packages",
    section: "1.6 Invoicing",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("owner_id", Uuid).not_null(),
        Column::new("name", Text).not_null(),
        Column::new("description", Text),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[IndexDef {
        name: "idx_invoice_packages_owner",
        parts: &[KeyPart::Column("owner_id")],
        filter: None,
    }],
    foreign_keys: &[ForeignKey {
        column: "owner_id",
        table: "auth.users",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::Owner("owner_id"),
    policy: &[Rule::new(CRUD, Who::Owner("owner_id"))],
    documented: true,
};

pub static INVOICE_PACKAGE_ITEMS: Table = Table {
    name: "invoice_package_items",
    section: "1.6 Invoicing",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("package_id", Uuid).not_null(),
        Column::new("description", Text).not_null(),
        Column::new("quantity", Int).default(DefaultValue::Int(1)),
        Column::new("unit_price_cents", Int).not_null(),
    ],
    uniques: &[],
    indexes: &[IndexDef {
        name: "idx_invoice_package_items_package",
        parts: &[KeyPart::Column("package_id")],
        filter: None,
    }],
    foreign_keys: &[ForeignKey {
        column: "package_id",
        table: "invoice_packages",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::OwnerOf("package_id"),
    policy: &[Rule::new(CRUD, Who::Parent("package_id"))],
    documented: true,
};
