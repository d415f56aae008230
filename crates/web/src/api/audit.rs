//! The audit log's public face: signed checkpoints, the keys that sign them, and the
//! inclusion and consistency proofs (RFC 6962) that let anyone holding a checkpoint check
//! that an entry is in the log and that the log only grew. These answers carry hashes
//! only, never an entry's contents.

use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use huimin_domain::audit::{Checkpoint, hex};
use huimin_domain::storage::ProofError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A signed tree head: the first `tree_size` entries of the audit log have Merkle tree
/// head `root_hash`. The signature (Ed25519, hex) covers `signed_message`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointDto {
    pub tree_size: u64,
    pub root_hash: String,
    /// RFC 3339, Asia/Shanghai.
    pub signed_at: String,
    pub key_id: String,
    pub signature: String,
    pub signed_message: String,
}

impl From<Checkpoint> for CheckpointDto {
    fn from(checkpoint: Checkpoint) -> CheckpointDto {
        CheckpointDto {
            tree_size: checkpoint.size,
            root_hash: hex(&checkpoint.root),
            signed_at: checkpoint
                .signed_at
                .with_timezone(&huimin_domain::time::SHANGHAI)
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
            signed_message: Checkpoint::message(
                checkpoint.size,
                &checkpoint.root,
                checkpoint.signed_at,
            ),
            key_id: checkpoint.key_id,
            signature: hex(&checkpoint.signature),
        }
    }
}

/// A public key that signs checkpoints (Ed25519, hex).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditKeyDto {
    pub key_id: String,
    pub public_key: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct InclusionQuery {
    /// The entry's sequence number (from 1).
    pub seq: u64,
    /// The size of a checkpointed tree.
    pub tree_size: u64,
}

/// Entry `seq` is leaf `leaf_index` of the checkpointed tree: hash `leaf_hash` up the
/// `audit_path` to reach the checkpoint's root (RFC 9162 §2.1.3.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProofDto {
    pub seq: u64,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    pub audit_path: Vec<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ConsistencyQuery {
    /// The older checkpointed tree size.
    pub first: u64,
    /// The newer checkpointed tree size.
    pub second: u64,
}

/// The tree of `first` entries is a prefix of the tree of `second` (RFC 9162 §2.1.4.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProofDto {
    pub first: u64,
    pub second: u64,
    pub proof: Vec<String>,
}

fn proof_error(error: ProofError) -> ApiError {
    match error {
        ProofError::NoSuchCheckpoint(size) => {
            ApiError::not_found(format!("a checkpoint of tree size {size}"))
        }
        ProofError::OutOfRange { .. } => ApiError::BadRequest {
            code: "out_of_range",
            message: error.to_string(),
        },
        ProofError::Order { .. } => ApiError::BadRequest {
            code: "bad_order",
            message: error.to_string(),
        },
        ProofError::Storage(error) => ApiError::Storage(error),
    }
}

/// The newest signed checkpoint of the audit log.
#[utoipa::path(get, path = "/api/v1/audit/checkpoint",
    responses((status = 200, body = CheckpointDto), (status = 404, description = "no checkpoint yet")))]
pub async fn latest_checkpoint(
    State(state): State<AppState>,
) -> Result<Json<CheckpointDto>, ApiError> {
    let checkpoint = state.audit.latest_audit_checkpoint().await?;
    checkpoint
        .map(|checkpoint| Json(checkpoint.into()))
        .ok_or_else(|| ApiError::not_found("a checkpoint of the audit log"))
}

/// The keys trusted to sign checkpoints, retired ones included.
#[utoipa::path(get, path = "/api/v1/audit/keys", responses((status = 200, body = Vec<AuditKeyDto>)))]
pub async fn audit_keys(State(state): State<AppState>) -> Json<Vec<AuditKeyDto>> {
    Json(
        state
            .audit_keys
            .iter()
            .map(|key| AuditKeyDto {
                key_id: key.id.clone(),
                public_key: hex(&key.to_bytes()),
            })
            .collect(),
    )
}

/// The proof that an entry is in a checkpointed tree.
#[utoipa::path(get, path = "/api/v1/audit/proof/inclusion", params(InclusionQuery),
    responses((status = 200, body = InclusionProofDto), (status = 404, description = "no checkpoint of that size"),
              (status = 400, description = "the entry is outside the tree")))]
pub async fn inclusion_proof(
    State(state): State<AppState>,
    Query(query): Query<InclusionQuery>,
) -> Result<Json<InclusionProofDto>, ApiError> {
    let proof = state
        .audit
        .audit_inclusion_proof(query.seq, query.tree_size)
        .await
        .map_err(proof_error)?;
    Ok(Json(InclusionProofDto {
        seq: proof.seq,
        leaf_index: proof.seq - 1,
        tree_size: proof.tree_size,
        leaf_hash: hex(&proof.leaf_hash),
        audit_path: proof.path.iter().map(|hash| hex(hash)).collect(),
    }))
}

/// The proof that one checkpointed tree is a prefix of a later one.
#[utoipa::path(get, path = "/api/v1/audit/proof/consistency", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProofDto), (status = 404, description = "no checkpoint of that size"),
              (status = 400, description = "first is larger than second")))]
pub async fn consistency_proof(
    State(state): State<AppState>,
    Query(query): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProofDto>, ApiError> {
    let proof = state
        .audit
        .audit_consistency_proof(query.first, query.second)
        .await
        .map_err(proof_error)?;
    Ok(Json(ConsistencyProofDto {
        first: query.first,
        second: query.second,
        proof: proof.iter().map(|hash| hex(hash)).collect(),
    }))
}
