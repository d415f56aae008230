//! Provenance: where a stored fact came from (一数一源 needs to know the source).
//!
//! Every registry row carries the department that supplied it, the batch it arrived in and
//! the instant Huimin recorded it. History keeps superseded versions with their own
//! provenance, so "who said this, and when" is always answerable.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The origin of one version of a fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The supplying department or system, e.g. `公安局` or `demo-generator`.
    pub source: String,
    /// The batch the fact arrived in: an import file's digest, an API request id.
    pub batch: String,
    /// When Huimin recorded this version (transaction time).
    pub recorded_at: DateTime<Utc>,
}
