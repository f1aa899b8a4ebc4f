// SPDX-License-Identifier: GPL-2.0

//! KASAN canary for `make check-debug`: a deliberate out-of-bounds read in Rust module code.
//!
//! The debug kernel compiles C with clang and Rust with rustc's own LLVM; KASAN only watches
//! the Rust code if rustc instrumented it (`-Zsanitizer=kernel-address` from the kernel's
//! `scripts/Makefile.kasan`). This module is built the same way as the driver and reads one
//! byte past the end of a 24-byte `kmalloc` allocation at load: `make check-debug` requires
//! the resulting "BUG: KASAN: slab-out-of-bounds" report, which proves the detector sees the
//! driver's Rust code too. Load fails on purpose afterwards, so nothing stays loaded. Never
//! built into the driver.

use kernel::prelude::*;

module! {
    type: Canary,
    name: "vgrs_kasan_canary",
    author: "virtio-gpu-rs developers",
    description: "KASAN canary: reads past the end of an allocation (test only)",
    license: "GPL",
}

struct Canary;

/// Bytes asked of `kmalloc`: generic KASAN poisons the rest of the 32-byte slab object.
const LEN: usize = 24;

impl kernel::Module for Canary {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let buf = KVec::<u8>::from_elem(0xa5, LEN, GFP_KERNEL)?;
        let p = buf.as_ptr();
        // SAFETY: None: this is the deliberate out-of-bounds read the test needs KASAN to
        // report (byte `LEN` of a `LEN`-byte allocation, inside the slab object's redzone, so
        // the read itself cannot fault). Only the debug test loads this module.
        let past_end = unsafe { core::ptr::read_volatile(p.add(LEN)) };
        pr_info!(
            "vgrs_kasan_canary: read {:#x} one byte past a {}-byte allocation\n",
            past_end,
            LEN
        );
        Err(ENODEV)
    }
}
