//! The hash that ties a generated module to the `.sqlx` entries it was generated from.

/// The same hash as `pgtide::codegen_support::metadata_hash` (FNV-1a with 128-bit state
/// over little-endian 16-byte words, then the remaining bytes, folded to 64 bits); a test in
/// this crate's integration tests proves the two agree by building generated code.
pub fn metadata_hash(bytes: &[u8]) -> u64 {
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    let mut words = bytes.chunks_exact(16);
    for word in &mut words {
        let word: [u8; 16] = word.try_into().expect("chunks of 16");
        hash = (hash ^ u128::from_le_bytes(word)).wrapping_mul(PRIME);
        hash ^= hash >> 64;
    }
    for &b in words.remainder() {
        hash = (hash ^ u128::from(b)).wrapping_mul(PRIME);
    }
    (hash ^ (hash >> 64)) as u64
}
