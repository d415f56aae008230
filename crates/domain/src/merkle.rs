//! RFC 6962 Merkle trees: the hashing, tree heads and proofs the tamper-evident audit log
//! stands on (a log of who read and wrote personal data, issue 3).
//!
//! A leaf is `SHA-256(0x00 ‖ entry)` and an inner node `SHA-256(0x01 ‖ left ‖ right)`; the
//! tree over `n` leaves splits at the largest power of two below `n` (RFC 6962 §2.1).
//! Proofs are generated from the leaf hashes as the RFC defines them (`PATH`, `PROOF`) and
//! verified with the iterative algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2, which need
//! only the sizes, the proof and the roots. Everything is pure: storing the leaves and
//! signing tree heads belong to the layers above.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The hash of a log entry: `SHA-256(0x00 ‖ entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = LeafHasher::new();
    hasher.update(entry);
    hasher.finish()
}

/// A leaf hash fed the entry in pieces, for an entry that is never laid out in one buffer.
#[derive(Clone)]
pub struct LeafHasher(Sha256);

impl LeafHasher {
    pub fn new() -> LeafHasher {
        let mut hasher = Sha256::new();
        hasher.update([0x00]);
        LeafHasher(hasher)
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> Hash {
        self.0.finalize().into()
    }
}

impl Default for LeafHasher {
    fn default() -> LeafHasher {
        LeafHasher::new()
    }
}

/// The hash of an inner node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The largest power of two smaller than `n` (for `n` ≥ 2): where the tree splits.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The Merkle tree hash (tree head) of the leaves; the empty tree's is `SHA-256("")`.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => Sha256::digest([]).into(),
        [leaf] => *leaf,
        _ => {
            let k = split(leaves.len() as u64) as usize;
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// A run of consecutive leaves, `start..start + len`: a subtree of the RFC 6962 tree. Every
/// hash in a proof is the head of one; a store that keeps the heads of large complete
/// subtrees can answer proofs without reading every leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    pub len: u64,
}

impl Span {
    pub fn end(self) -> u64 {
        self.start + self.len
    }
}

/// The subtrees whose heads make the audit path of leaf `index` in a tree of `size` leaves
/// (RFC 6962 `PATH`), from the leaf's sibling up; `None` when the index is outside the tree.
pub fn inclusion_spans(index: u64, size: u64) -> Option<Vec<Span>> {
    if index >= size {
        return None;
    }
    let mut spans = Vec::new();
    inclusion_path(
        Span {
            start: 0,
            len: size,
        },
        index,
        &mut spans,
    );
    Some(spans)
}

fn inclusion_path(tree: Span, index: u64, spans: &mut Vec<Span>) {
    if tree.len <= 1 {
        return;
    }
    let k = split(tree.len);
    let (left, right) = halves(tree, k);
    if index < k {
        inclusion_path(left, index, spans);
        spans.push(right);
    } else {
        inclusion_path(right, index - k, spans);
        spans.push(left);
    }
}

fn halves(tree: Span, k: u64) -> (Span, Span) {
    (
        Span {
            start: tree.start,
            len: k,
        },
        Span {
            start: tree.start + k,
            len: tree.len - k,
        },
    )
}

/// The subtrees whose heads prove that the tree of the first `old_size` leaves is a prefix
/// of the tree of `size` leaves (RFC 6962 `PROOF`); `None` when `old_size > size`. Empty
/// when the sizes are equal or the old tree is empty, which need no proof.
pub fn consistency_spans(old_size: u64, size: u64) -> Option<Vec<Span>> {
    if old_size > size {
        return None;
    }
    let mut spans = Vec::new();
    if old_size > 0 {
        consistency_subproof(
            old_size,
            Span {
                start: 0,
                len: size,
            },
            true,
            &mut spans,
        );
    }
    Some(spans)
}

fn consistency_subproof(m: u64, tree: Span, whole: bool, spans: &mut Vec<Span>) {
    if m == tree.len {
        if !whole {
            spans.push(tree);
        }
        return;
    }
    let k = split(tree.len);
    let (left, right) = halves(tree, k);
    if m <= k {
        consistency_subproof(m, left, whole, spans);
        spans.push(right);
    } else {
        consistency_subproof(m - k, right, false, spans);
        spans.push(left);
    }
}

/// The complete subtrees a span is made of, largest first: its head is
/// `node(p1, node(p2, … pk))` over their heads (see [`combine`]). A span taken from a
/// proof is aligned, so every piece is an aligned complete subtree.
pub fn pieces(span: Span) -> Vec<Span> {
    let mut pieces = Vec::new();
    let mut start = span.start;
    for bit in (0..64).rev() {
        let len = 1u64 << bit;
        if span.len & len != 0 {
            pieces.push(Span { start, len });
            start += len;
        }
    }
    pieces
}

/// The head of a span from the heads of its [`pieces`], largest first.
pub fn combine(heads: &[Hash]) -> Hash {
    let mut heads = heads.iter().rev();
    match heads.next() {
        None => Sha256::digest([]).into(),
        Some(last) => heads.fold(*last, |right, left| node_hash(left, &right)),
    }
}

fn heads_of(leaves: &[Hash], spans: Vec<Span>) -> Vec<Hash> {
    spans
        .into_iter()
        .map(|span| root(&leaves[span.start as usize..span.end() as usize]))
        .collect()
}

/// The audit path of leaf `index` in the tree of `leaves` (RFC 6962 `PATH`), from the
/// leaf's sibling up; `None` when the index is outside the tree.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    let spans = inclusion_spans(index as u64, leaves.len() as u64)?;
    Some(heads_of(leaves, spans))
}

/// The proof that the tree of the first `old_size` leaves is a prefix of the tree of all
/// `leaves` (RFC 6962 `PROOF`); `None` when `old_size` is larger than the tree. Empty when
/// the sizes are equal or the old tree is empty, which need no proof.
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Option<Vec<Hash>> {
    let spans = consistency_spans(old_size as u64, leaves.len() as u64)?;
    Some(heads_of(leaves, spans))
}

/// The right edge of a growing tree: the heads of its complete subtrees, largest first
/// (a "compact range"). Appending a leaf and reading the tree head take O(log n) time and
/// memory, which is how a log of millions of entries is checkpointed and verified in one
/// pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (head, height): a subtree of 2^height leaves.
    subtrees: Vec<(Hash, u32)>,
}

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// A frontier from its stored parts; `None` unless the heights are those of `size`.
    pub fn from_parts(size: u64, heads: Vec<Hash>) -> Option<Frontier> {
        let heights: Vec<u32> = (0..64).rev().filter(|bit| size >> bit & 1 == 1).collect();
        if heights.len() != heads.len() {
            return None;
        }
        Some(Frontier {
            size,
            subtrees: heads.into_iter().zip(heights).collect(),
        })
    }

    /// The heads of the complete subtrees, largest first (what `from_parts` takes back).
    pub fn heads(&self) -> Vec<Hash> {
        self.subtrees.iter().map(|(head, _)| *head).collect()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash. Returns the complete subtrees this leaf finished, smallest
    /// first, as (span, head) — for a store that keeps large subtree heads.
    pub fn push(&mut self, leaf: Hash) -> Vec<(Span, Hash)> {
        let mut finished = Vec::new();
        let mut head = leaf;
        let mut height = 0u32;
        while let Some(&(left, left_height)) = self.subtrees.last() {
            if left_height != height {
                break;
            }
            self.subtrees.pop();
            head = node_hash(&left, &head);
            height += 1;
            let len = 1u64 << height;
            finished.push((
                Span {
                    start: self.size + 1 - len,
                    len,
                },
                head,
            ));
        }
        self.subtrees.push((head, height));
        self.size += 1;
        finished
    }

    /// The tree head of the leaves pushed so far.
    pub fn root(&self) -> Hash {
        combine(&self.heads())
    }
}

/// Whether `proof` shows that `leaf` is entry `index` of the tree of `size` entries whose
/// head is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut hash = *leaf;
    for sibling in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            hash = node_hash(sibling, &hash);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && hash == *root
}

/// Whether `proof` shows that the tree of `old_size` entries with head `old_root` is a
/// prefix of the tree of `new_size` entries with head `new_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty();
    }
    // When the old tree is a complete subtree its head starts the path.
    let mut path: Vec<&Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(old_root);
    }
    path.extend(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut old_hash, mut new_hash) = (**first, **first);
    for hash in rest {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            old_hash = node_hash(hash, &old_hash);
            new_hash = node_hash(hash, &new_hash);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            new_hash = node_hash(&new_hash, hash);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && old_hash == *old_root && new_hash == *new_root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(hash: &Hash) -> String {
        hash.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// The eight entries of the Certificate Transparency test vectors.
    fn vector_leaves() -> Vec<Hash> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|entry| {
            let bytes: Vec<u8> = (0..entry.len())
                .step_by(2)
                .map(|at| u8::from_str_radix(&entry[at..at + 2], 16).unwrap())
                .collect();
            leaf_hash(&bytes)
        })
        .collect()
    }

    #[test]
    fn tree_heads_match_the_published_vectors() {
        assert_eq!(
            hex(&root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let expected = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let leaves = vector_leaves();
        for (size, head) in expected.iter().enumerate() {
            assert_eq!(hex(&root(&leaves[..=size])), *head, "tree of {}", size + 1);
        }
    }

    #[test]
    fn proofs_match_the_published_vectors() {
        let leaves = vector_leaves();
        let hexes = |proof: Vec<Hash>| proof.iter().map(hex).collect::<Vec<_>>();
        assert_eq!(
            hexes(inclusion_proof(&leaves, 0).unwrap()),
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        );
        assert_eq!(
            hexes(inclusion_proof(&leaves, 5).unwrap()),
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        );
        assert_eq!(
            hexes(inclusion_proof(&leaves[..3], 2).unwrap()),
            ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]
        );
        assert_eq!(
            hexes(consistency_proof(&leaves, 6).unwrap()),
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        );
        assert_eq!(
            hexes(consistency_proof(&leaves[..5], 2).unwrap()),
            [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ]
        );
        assert_eq!(inclusion_proof(&leaves, 8), None);
        assert_eq!(consistency_proof(&leaves, 9), None);
    }

    #[test]
    fn every_proof_of_the_vector_trees_verifies_and_a_wrong_one_does_not() {
        let leaves = vector_leaves();
        for size in 1..=leaves.len() {
            let tree = &leaves[..size];
            let head = root(tree);
            for index in 0..size {
                let proof = inclusion_proof(tree, index).unwrap();
                let (i, n) = (index as u64, size as u64);
                assert!(verify_inclusion(&tree[index], i, n, &proof, &head));
                if size > 1 {
                    let smaller_head = root(&tree[..size - 1]);
                    assert!(!verify_inclusion(&tree[index], i, n, &proof, &smaller_head));
                }
                let other = (index + 1) % size;
                if other != index {
                    assert!(!verify_inclusion(&tree[other], i, n, &proof, &head));
                }
            }
            for old in 0..=size {
                let proof = consistency_proof(tree, old).unwrap();
                let old_head = root(&tree[..old]);
                let (m, n) = (old as u64, size as u64);
                assert!(
                    verify_consistency(m, n, &old_head, &head, &proof),
                    "{old} → {size}"
                );
                if old > 0 && old < size {
                    let wrong = leaves[7];
                    assert!(!verify_consistency(m, n, &wrong, &head, &proof));
                    assert!(!verify_consistency(m, n, &old_head, &wrong, &proof));
                }
            }
        }
    }

    #[test]
    fn the_frontier_gives_every_tree_head_and_the_finished_subtrees() {
        let leaves: Vec<Hash> = (0u32..300).map(|n| leaf_hash(&n.to_be_bytes())).collect();
        let mut frontier = Frontier::new();
        assert_eq!(frontier.root(), root(&[]));
        for (at, leaf) in leaves.iter().enumerate() {
            for (span, head) in frontier.push(*leaf) {
                assert!(span.len.is_power_of_two() && span.start % span.len == 0);
                assert_eq!(span.end(), at as u64 + 1);
                assert_eq!(
                    head,
                    root(&leaves[span.start as usize..span.end() as usize])
                );
            }
            assert_eq!(frontier.root(), root(&leaves[..=at]), "tree of {}", at + 1);
            let again = Frontier::from_parts(frontier.size(), frontier.heads()).unwrap();
            assert_eq!(again, frontier);
        }
        assert_eq!(Frontier::from_parts(3, vec![leaves[0]]), None);
        for size in 1..=leaves.len() as u64 {
            for spans in [
                inclusion_spans(size / 2, size),
                consistency_spans(size / 3, size),
            ] {
                for span in spans.unwrap() {
                    let heads: Vec<Hash> = pieces(span)
                        .into_iter()
                        .map(|piece| {
                            assert_eq!(piece.start % piece.len, 0, "{piece:?} of {span:?}");
                            root(&leaves[piece.start as usize..piece.end() as usize])
                        })
                        .collect();
                    assert_eq!(
                        combine(&heads),
                        root(&leaves[span.start as usize..span.end() as usize])
                    );
                }
            }
        }
    }

    proptest::proptest! {
        /// Over trees of any size: every inclusion and consistency proof verifies, and
        /// flipping one bit of any proof hash makes it fail.
        #[test]
        fn proofs_verify_and_any_flipped_bit_is_caught(
            size in 1usize..70,
            index_seed in 0usize..1_000,
            old_seed in 0usize..1_000,
            flip in 0usize..256,
        ) {
            let leaves: Vec<Hash> = (0..size).map(|n| leaf_hash(&n.to_be_bytes())).collect();
            let head = root(&leaves);
            let index = index_seed % size;
            let mut proof = inclusion_proof(&leaves, index).unwrap();
            proptest::prop_assert!(verify_inclusion(&leaves[index], index as u64, size as u64, &proof, &head));
            if !proof.is_empty() {
                let at = flip % proof.len();
                proof[at][flip % 32] ^= 1 << (flip % 8);
                proptest::prop_assert!(!verify_inclusion(&leaves[index], index as u64, size as u64, &proof, &head));
            }
            let old = old_seed % (size + 1);
            let old_head = root(&leaves[..old]);
            let mut proof = consistency_proof(&leaves, old).unwrap();
            proptest::prop_assert!(verify_consistency(old as u64, size as u64, &old_head, &head, &proof));
            if !proof.is_empty() {
                let at = flip % proof.len();
                proof[at][flip % 32] ^= 1 << (flip % 8);
                proptest::prop_assert!(!verify_consistency(old as u64, size as u64, &old_head, &head, &proof));
            }
        }
    }
}
