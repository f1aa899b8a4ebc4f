// SPDX-License-Identifier: GPL-2.0

//! Host build of the pure parts of the driver's device core (`gpu/`).
//!
//! The files are the driver's own, included with `#[path]`: what is tested here is exactly
//! what the module runs. They may use only `core`.

#![forbid(unsafe_code)]

/// `gpu/config.rs`: device id, feature bits, configuration space layout.
#[path = "../../../drivers/gpu/drm/virtio_rs/gpu/config.rs"]
#[allow(dead_code)]
pub mod config;

#[cfg(test)]
mod config_tests;
