// SPDX-License-Identifier: GPL-2.0

//! Host resource id allocation.
//!
//! Ids run from 1 to `64 * words` (0 means "no resource" on the wire). Allocation continues
//! after the last id handed out and wraps around, so a freed id is not reused until every
//! other id has been tried: the host never sees an id reused right after it was destroyed.
//! Pure `core` code over caller-provided storage: also built by the host tests.

#![forbid(unsafe_code)]

use core::ops::DerefMut;

/// A bitmap of used ids.
pub(crate) struct IdAllocator<S> {
    /// One bit per id; bit `i` is id `i + 1`.
    bits: S,
    /// Bit index to try first.
    next: usize,
    /// Ids in use.
    used: usize,
}

impl<S: DerefMut<Target = [u64]>> IdAllocator<S> {
    /// Creates an allocator over `bits` (all ids free).
    pub(crate) fn new(mut bits: S) -> Self {
        bits.fill(0);
        Self {
            bits,
            next: 0,
            used: 0,
        }
    }

    /// The number of ids the allocator can hand out.
    pub(crate) fn capacity(&self) -> usize {
        self.bits.len() * 64
    }

    /// Ids in use.
    #[allow(dead_code)] // Used by the host tests; for debugfs later.
    pub(crate) fn used(&self) -> usize {
        self.used
    }

    /// Allocates an id, or `None` if all are in use.
    pub(crate) fn alloc(&mut self) -> Option<u32> {
        let cap = self.capacity();
        if self.used >= cap {
            return None;
        }
        let words = &mut *self.bits;
        for step in 0..cap {
            let bit = (self.next + step) % cap;
            let (w, b) = (bit / 64, bit % 64);
            let word = words.get_mut(w)?;
            if *word & (1u64 << b) == 0 {
                *word |= 1u64 << b;
                self.next = (bit + 1) % cap;
                self.used += 1;
                return u32::try_from(bit + 1).ok();
            }
        }
        None
    }

    /// Frees `id`. Returns `false` if it was not allocated (a double free or a bad id).
    pub(crate) fn free(&mut self, id: u32) -> bool {
        let Some(bit) = (id as usize).checked_sub(1) else {
            return false;
        };
        let Some(word) = self.bits.get_mut(bit / 64) else {
            return false;
        };
        let mask = 1u64 << (bit % 64);
        if *word & mask == 0 {
            return false;
        }
        *word &= !mask;
        self.used -= 1;
        true
    }
}
