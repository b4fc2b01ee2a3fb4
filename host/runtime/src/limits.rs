//! Per-plugin resource limits and the store limiter that enforces them.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// What one plugin call may use. Configurable per plugin (issuers set them in
/// their spec); the defaults suit a CA plugin written in Rust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory, summed over the component's memories.
    pub memory_bytes: usize,
    /// Wall-clock CPU budget of one call, enforced by epoch interruption.
    pub timeout: Duration,
    /// Bytes a guest may hand to the host in one host call.
    pub hostcall_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            timeout: Duration::from_secs(2),
            hostcall_bytes: 1 << 20,
        }
    }
}

impl Limits {
    /// Parses a Kubernetes memory quantity ("64Mi", "1Gi", "500M", "1048576").
    pub fn parse_memory(quantity: &str) -> Result<usize, InvalidQuantity> {
        const SUFFIXES: [(&str, u64); 8] = [
            ("Ki", 1 << 10),
            ("Mi", 1 << 20),
            ("Gi", 1 << 30),
            ("Ti", 1 << 40),
            ("k", 1_000),
            ("M", 1_000_000),
            ("G", 1_000_000_000),
            ("T", 1_000_000_000_000),
        ];
        let invalid = || InvalidQuantity(quantity.to_owned());
        let (digits, multiplier) = SUFFIXES
            .iter()
            .find_map(|(suffix, multiplier)| Some((quantity.strip_suffix(suffix)?, *multiplier)))
            .unwrap_or((quantity, 1));
        let number: u64 = digits.parse().map_err(|_| invalid())?;
        number
            .checked_mul(multiplier)
            .and_then(|bytes| usize::try_from(bytes).ok())
            .ok_or_else(invalid)
    }
}

/// A memory quantity we cannot read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0:?} is not a memory quantity such as 64Mi, 1Gi or 500M")]
pub struct InvalidQuantity(String);

/// Why the limiter refused a growth; carried inside the trap so the call's
/// error can be classified without parsing messages.
#[derive(Debug, Clone, thiserror::Error)]
#[error("plugin tried to grow its memory to {requested} bytes, over its limit of {limit} bytes")]
pub struct MemoryLimitExceeded {
    pub requested: usize,
    pub limit: usize,
}

/// Table growth over the cap (tables hold function references; a guest could
/// otherwise make the host allocate without bound).
#[derive(Debug, Clone, thiserror::Error)]
#[error("plugin tried to grow a table to {requested} elements, over the limit of {limit}")]
pub struct TableLimitExceeded {
    pub requested: usize,
    pub limit: usize,
}

/// Most table elements one store may have: generous for big language runtimes.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// Enforces [`Limits::memory_bytes`] over all memories of a store, and traps
/// (rather than returning -1 to the guest) so that a refusal is always seen.
pub(crate) struct StoreLimiter {
    memory_limit: usize,
    memory_in_use: usize,
}

impl StoreLimiter {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            memory_limit: limits.memory_bytes,
            memory_in_use: 0,
        }
    }
}

impl ResourceLimiter for StoreLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let requested = self.memory_in_use - current.min(self.memory_in_use) + desired;
        if requested > self.memory_limit {
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                requested,
                limit: self.memory_limit,
            }));
        }
        self.memory_in_use = requested;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            return Err(wasmtime::Error::new(TableLimitExceeded {
                requested: desired,
                limit: MAX_TABLE_ELEMENTS,
            }));
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(limit: usize) -> StoreLimiter {
        StoreLimiter::new(&Limits {
            memory_bytes: limit,
            ..Limits::default()
        })
    }

    #[test]
    fn parses_kubernetes_quantities() {
        assert_eq!(Limits::parse_memory("64Mi").ok(), Some(64 << 20));
        assert_eq!(Limits::parse_memory("1Gi").ok(), Some(1 << 30));
        assert_eq!(Limits::parse_memory("500M").ok(), Some(500_000_000));
        assert_eq!(Limits::parse_memory("4096").ok(), Some(4096));
        for bad in ["", "Mi", "1.5Gi", "-1Mi", "64MB", "99999999999Ti"] {
            assert!(Limits::parse_memory(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn memory_is_counted_across_memories() {
        let mut limiter = limiter(100);
        assert!(
            limiter
                .memory_growing(0, 60, None)
                .expect("within the limit")
        );
        // A second memory of 50 would make 110 in all.
        let refused = limiter
            .memory_growing(0, 50, None)
            .expect_err("over the limit in total");
        let refused = refused
            .downcast_ref::<MemoryLimitExceeded>()
            .expect("a typed refusal");
        assert_eq!((refused.requested, refused.limit), (110, 100));
    }

    #[test]
    fn growing_one_memory_counts_only_the_growth() {
        let mut limiter = limiter(100);
        assert!(limiter.memory_growing(0, 40, None).expect("first"));
        assert!(
            limiter
                .memory_growing(40, 100, None)
                .expect("grows to the limit")
        );
        assert!(limiter.memory_growing(100, 101, None).is_err());
    }
}
