// SPDX-License-Identifier: GPL-2.0

//! A DRM/KMS driver for virtio-gpu devices, in Rust.
//!
//! Three layers, one folder each: `glue/` (C wrappers and bindings, no behaviour), `drm/` and
//! `virtio/` (safe abstractions, where all of the driver's `unsafe` lives) and `gpu/` (the
//! device core, `#![forbid(unsafe_code)]`).

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
    _driver: virtio::Registration<gpu::device::VirtioGpuDriver>,
}

impl kernel::Module for VirtioGpuModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _driver: virtio::Registration::new(module)?,
        })
    }
}
