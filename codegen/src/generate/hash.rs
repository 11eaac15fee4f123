//! The hash that ties a generated module to the `.sqlx` entries it was generated from.

/// The same hash as `pgtide::codegen_support::metadata_hash` (FNV-1a over little-endian
/// 8-byte words, then the remaining bytes); a test in this crate's integration tests proves
/// the two agree by building generated code.
pub fn metadata_hash(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let word: [u8; 8] = word.try_into().expect("chunks of 8");
        hash = (hash ^ u64::from_le_bytes(word)).wrapping_mul(PRIME);
        hash ^= hash >> 32;
    }
    for &b in words.remainder() {
        hash = (hash ^ u64::from(b)).wrapping_mul(PRIME);
    }
    hash
}
