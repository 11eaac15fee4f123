//! The pool's bounds, checked at construction.

use super::ConfigError;

/// How many connections a pool keeps: at least `min` (kept warm), at most `max`.
///
/// The only way to make one is [`PoolSize::new`], which checks `1 ≤ max ≤
/// PoolSize::LIMIT` and `min ≤ max`; the fields are private, so every `PoolSize` is valid.
///
/// ```
/// use pgtide::config::PoolSize;
/// assert!(PoolSize::new(2, 10).is_ok());
/// assert!(PoolSize::new(5, 2).is_err());
/// assert!(PoolSize::new(0, 0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolSize {
    min: u32,
    max: u32,
}

impl PoolSize {
    /// Largest `max` accepted: far above what one PostgreSQL server serves well.
    pub const LIMIT: u32 = 10_000;

    /// Checks `1 ≤ max ≤ LIMIT` and `min ≤ max`.
    pub fn new(min: u32, max: u32) -> Result<Self, ConfigError> {
        if max == 0 {
            return Err(ConfigError::invalid(
                "pool.max_size",
                format!("must be 1..={}, got 0", Self::LIMIT),
            ));
        }
        if max > Self::LIMIT {
            return Err(ConfigError::invalid(
                "pool.max_size",
                format!("must be 1..={}, got {max}", Self::LIMIT),
            ));
        }
        if min > max {
            return Err(ConfigError::invalid(
                "pool.min_size",
                format!("must be 0..=pool.max_size ({max}), got {min}"),
            ));
        }
        Ok(Self { min, max })
    }

    /// Connections kept open even when idle.
    pub fn min(&self) -> u32 {
        self.min
    }

    /// Connections open at most.
    pub fn max(&self) -> u32 {
        self.max
    }
}

impl Default for PoolSize {
    /// `1..=10`, the key table's `pool.min_size` and `pool.max_size` defaults.
    fn default() -> Self {
        Self {
            min: super::keys::default_count("pool.min_size"),
            max: super::keys::default_count("pool.max_size"),
        }
    }
}
