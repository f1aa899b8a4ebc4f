// SPDX-License-Identifier: GPL-2.0
//! A shared read-write mmap of a GEM object through its fake offset, unmapped on drop.

use std::io;
use std::os::fd::BorrowedFd;
use std::ptr::{null_mut, NonNull};

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};

pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes of the DRM file `fd` at the fake offset `offset` (from MAP_DUMB or
    /// VIRTGPU_MAP).
    pub fn new(fd: BorrowedFd<'_>, offset: u64, len: usize) -> io::Result<Self> {
        // SAFETY: a null hint without MAP_FIXED lets the kernel choose fresh addresses, so the
        // new mapping cannot replace or alias any memory Rust already owns.
        let ptr = unsafe {
            mmap(
                null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                fd,
                offset,
            )
        }?;
        let ptr =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave null"))?;
        Ok(Mapping { ptr, len })
    }

    /// The mapped bytes.
    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` is a live PROT_READ|WRITE mapping of exactly `len` bytes, owned by
        // this value until drop, and `&mut self` makes this the only borrow of it. The pages
        // are guest memory that only this process and (on transfers, which we do not run
        // while the slice lives) the host device access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping was created in `new` with this address and length and no
        // borrow of it outlives `self`.
        if let Err(e) = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) } {
            eprintln!("munmap: {e}");
        }
    }
}

/// Fills `buf` with a pattern derived from `seed` (a different one per word).
pub fn fill(buf: &mut [u8], seed: u32) {
    for (i, chunk) in buf.chunks_exact_mut(4).enumerate() {
        chunk.copy_from_slice(&pattern_word(i, seed).to_le_bytes());
    }
}

/// The index of the first word in `buf` that differs from [`fill`]'s pattern.
pub fn first_mismatch(buf: &[u8], seed: u32) -> Option<usize> {
    buf.chunks_exact(4)
        .enumerate()
        .find(|(i, c)| **c != pattern_word(*i, seed).to_le_bytes())
        .map(|(i, _)| i * 4)
}

fn pattern_word(i: usize, seed: u32) -> u32 {
    (i as u32).wrapping_mul(0x9e37_79b1) ^ seed
}
