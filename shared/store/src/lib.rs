//! Ports: the narrow traits the application is written against, and the plain values that
//! cross them. Adapters live in `scaliyo-embedded` (the local default) and `scaliyo-aws`.
//! Nothing here does I/O or names an AWS type.

pub mod blobs;
pub mod clock;
pub mod events;
pub mod failures;
pub mod inbox;
pub mod invoicing;
pub mod journal;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod oauth;
pub mod payments;
pub mod queue;
pub mod seal;
pub mod social;
pub mod table;
pub mod web_page;
pub mod webhook;

pub use blobs::{BlobError, BlobMeta, BlobReader, Blobs, ByteChunks, ObjectCreated, PresignedUrl};
pub use clock::{Clock, ManualClock, SystemClock};
pub use events::{BusError, DomainEvent, EventBus};
pub use failures::{FailureLog, NoFailureLog};
pub use inbox::{Fetched, FetchedMessage, Inbox, Inboxes, MailboxCursor};
pub use invoicing::{
    ConnectedAccount, InvoiceAction, Invoicing, NewInvoice, NewLine, RemoteInvoice,
};
pub use journal::{Journal, JournalError, QueueJournal};
pub use mail::{
    Credentials, Delivery, MailError, MailchimpMarketing, Mailer, Mailers, MarketingAccount,
    OutgoingEmail, SmtpSecurity, mailchimp_datacenter,
};
pub use metrics::{Dimension, Metrics, NoMetrics, no_metrics};
pub use model::{LanguageModel, ModelError, ModelReply, ModelRequest};
pub use oauth::{
    Connectable, Grant, InstagramAccount, OAuthClient, OAuthError, OAuthProvider, OAuthProviders,
    Tokens,
};
pub use payments::{CheckoutRequest, CheckoutSession, PaymentError, Payments, RemoteSubscription};
pub use queue::{OutgoingMessage, Queue, QueueError, ReceivedMessage};
pub use seal::{SealError, Sealer};
pub use social::{MediaFile, Publication, PublishError, Published, SocialNetwork, SocialNetworks};
pub use table::{
    BatchOp, CmpOp, Condition, Cursor, Index, Item, Key, Number, Page, Query, SortCondition,
    StoreError, Table, Update, Value, WriteOp,
};
pub use web_page::{FetchedPage, PageError, PageFetcher};
pub use webhook::{TransportError, WebhookRequest, WebhookResponse, WebhookTransport};
