//! The audit log's keys and the jobs around it: the directory that holds the checkpoint
//! signing key, the server's periodic checkpoints, and `huimin audit verify`.
//!
//! The private key lives in a file outside the database, readable by the server's user
//! only: whoever can write the database but not read this file cannot sign a tree head,
//! which is what makes a rewritten log detectable. Rotating writes a new key and deletes
//! the old private half; every public half stays, so older checkpoints still verify.
//! A directory holds `<key id>.pub` (hex public key) for every key ever used,
//! `<key id>.key` (hex seed) for the current one, and `current` naming it.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use huimin_domain::audit::{AuditPublicKey, AuditSigner, KeyRing, VerifyReport, from_hex, hex};
use huimin_domain::storage::AuditStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The directory of audit signing keys.
#[derive(Debug, Clone)]
pub struct KeyDirectory {
    path: PathBuf,
}

impl KeyDirectory {
    pub fn new(path: impl Into<PathBuf>) -> KeyDirectory {
        KeyDirectory { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current signer, creating the directory and a first key when there is none.
    pub fn signer_or_create(&self) -> anyhow::Result<AuditSigner> {
        if !self.path.join("current").is_file() {
            return self.rotate();
        }
        self.signer()
    }

    /// The current signer.
    pub fn signer(&self) -> anyhow::Result<AuditSigner> {
        Ok(AuditSigner::from_seed(&self.seed()?))
    }

    /// The current key's Ed25519 seed, checked against the key id it is filed under.
    /// The same kind of directory holds the ID-token keys of single sign-on.
    pub fn seed(&self) -> anyhow::Result<[u8; 32]> {
        let current = std::fs::read_to_string(self.path.join("current"))
            .with_context(|| format!("reading {}/current", self.path.display()))?;
        let id = current.trim();
        let file = self.path.join(format!("{id}.key"));
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let seed = from_hex::<32>(&text)
            .with_context(|| format!("{} does not hold a 32-byte hex key", file.display()))?;
        let found = AuditSigner::from_seed(&seed);
        if found.id() != id {
            bail!("{} holds key {}, not {id}", file.display(), found.id());
        }
        Ok(seed)
    }

    /// The single sign-on keys of this directory: the current one signs ID tokens, and
    /// the JWKS lists it first, then the retired ones (so tokens signed before a rotation
    /// still verify until they expire).
    pub fn oidc_keys(&self) -> anyhow::Result<huimin_web::OidcKeys> {
        if !self.path.join("current").is_file() {
            self.rotate()?;
        }
        let signer = huimin_domain::oidc::TokenSigner::from_seed(&self.seed()?);
        let mut public = vec![signer.public_key()];
        for key in self.key_ring()?.keys() {
            let key = huimin_domain::oidc::TokenKey::from_bytes(&key.to_bytes())
                .context("an unusable public key")?;
            if key.kid != signer.kid() {
                public.push(key);
            }
        }
        Ok(huimin_web::OidcKeys { signer, public })
    }

    /// Every public key in the directory, retired ones included.
    pub fn key_ring(&self) -> anyhow::Result<KeyRing> {
        let mut keys = Vec::new();
        let entries = std::fs::read_dir(&self.path)
            .with_context(|| format!("reading the audit key directory {}", self.path.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|extension| extension == "pub") {
                let text = std::fs::read_to_string(&path)?;
                let key = from_hex::<32>(&text)
                    .and_then(|bytes| AuditPublicKey::from_bytes(&bytes))
                    .with_context(|| {
                        format!("{} does not hold an Ed25519 public key", path.display())
                    })?;
                keys.push(key);
            }
        }
        keys.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(KeyRing::new(keys))
    }

    /// Public keys in the directory, for serving.
    pub fn public_keys(&self) -> anyhow::Result<Vec<AuditPublicKey>> {
        Ok(self.key_ring()?.keys().to_vec())
    }

    /// Makes a new current key; the previous private key is deleted, its public key kept.
    pub fn rotate(&self) -> anyhow::Result<AuditSigner> {
        std::fs::create_dir_all(&self.path)
            .with_context(|| format!("creating the audit key directory {}", self.path.display()))?;
        let previous = self.signer().ok();
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|error| anyhow::anyhow!("reading random bytes: {error}"))?;
        let signer = AuditSigner::from_seed(&seed);
        write_private(&self.path.join(format!("{}.key", signer.id())), &hex(&seed))?;
        std::fs::write(
            self.path.join(format!("{}.pub", signer.id())),
            hex(&signer.public_key().to_bytes()),
        )?;
        std::fs::write(self.path.join("current"), signer.id())?;
        if let Some(previous) = previous {
            std::fs::remove_file(self.path.join(format!("{}.key", previous.id())))?;
        }
        tracing::info!(key_id = signer.id(), directory = %self.path.display(), "new signing key");
        Ok(signer)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("creating {}", path.display()))
}

/// Signs a checkpoint every `interval` until the task is aborted, with the directory's
/// current key at each tick (so `huimin audit rotate-key` takes effect without a
/// restart). A failure is logged and retried at the next tick, never fatal to the server.
pub async fn run_checkpoints(
    store: Arc<dyn AuditStore>,
    keys: KeyDirectory,
    interval: Duration,
    now: impl Fn() -> DateTime<Utc> + Send,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let signer = match keys.signer() {
            Ok(signer) => signer,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "no audit signing key");
                continue;
            }
        };
        match store.checkpoint_audit(&signer, now()).await {
            Ok(Some(checkpoint)) => tracing::debug!(size = checkpoint.size, "audit checkpoint"),
            Ok(None) => {}
            Err(error) => tracing::error!(%error, "the audit checkpoint failed"),
        }
    }
}

/// The verification report as people read it; the first line says whether the log is
/// intact.
pub fn describe(report: &VerifyReport) -> String {
    let mut text = if report.is_intact() {
        format!(
            "The audit log is intact: {} entries, {} checkpoints; entries 1–{} are covered by a signature.\n",
            report.entries, report.checkpoints, report.signed_size
        )
    } else {
        format!(
            "The audit log has been tampered with: {} findings over {} entries and {} checkpoints.\n",
            report.finding_count, report.entries, report.checkpoints
        )
    };
    for finding in &report.findings {
        text.push_str(&format!("  - {finding}\n"));
    }
    if report.finding_count > report.findings.len() as u64 {
        text.push_str(&format!(
            "  … and {} more\n",
            report.finding_count - report.findings.len() as u64
        ));
    }
    if report.unsigned_entries() > 0 {
        text.push_str(&format!(
            "{} entries after the newest checkpoint are not yet signed (run `huimin audit checkpoint`).\n",
            report.unsigned_entries()
        ));
    }
    text
}
