//! Storage of email attachments in a managed-file-transfer vault.
//!
//! The gateway keeps attachments in a vault that speaks the REST API of
//! MetaDefender Managed File Transfer (formerly MetaDefender Vault) and puts the
//! download links that the vault returns into the delivered email.
//!
//! - [`client`] uploads files to such a vault and reads their status.
//! - [`server`] is a built-in vault with the same API subset, so that a single
//!   machine can run the gateway without the product.
//!
//! Both sides send `file_name` and `path` request headers percent-encoded, as
//! [`header_value`] describes.

pub mod client;
pub mod header_value;
pub mod server;

mod file_id;

/// The scanning engines, re-exported so that callers can build the
/// [`VaultServerConfig::scanner`] without depending on the crate themselves.
pub use mailgate_scan;

pub use client::{
    AvailabilityState, CHUNK_SIZE, FileStatus, UploadFile, UploadedFile, VaultClient,
    VaultClientConfig, VaultError,
};
pub use file_id::FileId;
pub use server::{
    RescanError, RescanHours, RescanSummary, RunningVault, VaultServer, VaultServerConfig,
    VaultServerError,
};
