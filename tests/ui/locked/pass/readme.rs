//! The README's and DESIGN.md's `#[locked]` examples, under the strictest user lints.
#![deny(warnings, clippy::all, missing_docs, unused_qualifications)]

use cache_core::{LockBusy, cached, locked};

/// A payment error.
#[derive(Debug)]
pub enum PayError {
    /// Someone else is paying this invoice: `409 Conflict`.
    InProgress(LockBusy),
    /// The card was declined.
    Declined,
}

impl From<LockBusy> for PayError {
    fn from(busy: LockBusy) -> Self {
        Self::InProgress(busy)
    }
}

/// Pays an invoice, once at a time.
#[locked(key = "payment:<invoice>", ttl = 30)]
pub async fn pay(invoice: u64, cents: u64) -> Result<String, PayError> {
    if cents == 0 {
        return Err(PayError::Declined);
    }
    Ok(format!("paid {cents} on {invoice}"))
}

/// Builds a report, one per tenant at a time, waiting up to 5 s for a running one.
#[locked(key = "report-lock:<tenant>", ttl = "1m", wait = "5s", backend = "primary", timeout = "200ms")]
#[cached(key = "report:<tenant>", ttl = "1h")]
pub async fn report(tenant: &str) -> Result<String, PayError> {
    Ok(format!("{tenant}.pdf"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(pay(7, 100).await.ok().as_deref(), Some("paid 100 on 7"));
    assert!(matches!(pay(7, 0).await, Err(PayError::Declined)));
    assert!(report("acme").await.is_ok());
}
