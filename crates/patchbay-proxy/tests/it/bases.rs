//! The base URLs both URL corpora resolve against.

/// A base URL with a path.
pub const ACME: &str = "https://api.acme.example/v2";
/// A base URL without one: an escape would land at the host's root.
pub const ROOT: &str = "https://api.acme.example";
pub const SLACK: &str = "https://slack.com/api";
/// A multi-part public suffix (ICANN section).
pub const UK: &str = "https://api.acme.co.uk/v1";
/// A private-section public suffix: each shop is its own registrant.
pub const SHOP: &str = "https://acme.myshopify.com/admin/api/2024-01";
pub const SALESFORCE: &str = "https://acme.my.salesforce.com/services/data/v60.0";
/// A registrable domain with public suffixes below it: `s3.amazonaws.com` is one.
pub const AWS: &str = "https://iam.amazonaws.com/";
/// A development base on an IP literal.
pub const LOOPBACK: &str = "http://127.0.0.1:8080/api";
