// SPDX-License-Identifier: GPL-2.0

//! A DRM/KMS driver for virtio-gpu devices, in Rust.
//!
//! Three layers, one folder each: `glue/` (C wrappers and bindings, no behaviour), `drm/` and
//! `virtio/` (safe abstractions, where all of the driver's `unsafe` lives) and `gpu/` (the
//! device core, `#![forbid(unsafe_code)]`).

// `GpuShared`'s `try_pin_init!` has more fields than the default limit (128) of nested macro
// expansions allows.
#![recursion_limit = "256"]

mod drm;
mod glue;
mod gpu;
mod virtio;

use kernel::prelude::*;

module! {
    type: VirtioGpuModule,
    name: "virtio_gpu_rs",
    author: "virtio-gpu-rs developers",
    description: "virtio GPU driver in Rust",
    license: "GPL",
}

/// The module: holds the virtio driver registration while loaded.
struct VirtioGpuModule {
    driver: Option<virtio::Registration<gpu::device::VirtioGpuDriver>>,
}

impl kernel::Module for VirtioGpuModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            driver: Some(virtio::Registration::new(module)?),
        })
    }
}

impl Drop for VirtioGpuModule {
    fn drop(&mut self) {
        drop(self.driver.take());
        // Every fence holds a module reference until its RCU callback frees it, so none is
        // left by now but those callbacks' last instructions: wait for them to return.
        drm::fence::wait_for_freed_fences();
    }
}
