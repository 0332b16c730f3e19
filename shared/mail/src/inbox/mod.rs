//! Inbox adapters: new messages in a sender's mailbox, for reply detection.

pub mod gmail;
pub mod imap;

pub use gmail::GmailInbox;
pub use imap::ImapInbox;
