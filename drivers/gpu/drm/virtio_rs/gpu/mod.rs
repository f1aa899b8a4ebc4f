// SPDX-License-Identifier: GPL-2.0

//! The virtio-gpu device core: everything specific to the device, in safe Rust.
//!
//! Nothing in `gpu/` may use `unsafe` (each file forbids it) or the C bindings; it builds on
//! the abstractions in `drm/` and `virtio/`. The pure parts (protocol constants, parsing)
//! use only `core` and are also compiled and tested on the host by `tests/host`.

#![forbid(unsafe_code)]

// The request check of blob resources: host-tested, used once blobs are negotiated.
#[allow(dead_code)]
pub(crate) mod blob;
pub(crate) mod capsets;
pub(crate) mod commands;
pub(crate) mod config;
pub(crate) mod context;
pub(crate) mod crc;
pub(crate) mod ctxinit;
pub(crate) mod device;
pub(crate) mod display;
pub(crate) mod driver;
pub(crate) mod dumb;
pub(crate) mod fence;
pub(crate) mod hotplug;
pub(crate) mod idalloc;
pub(crate) mod ioctl;
pub(crate) mod kms;
pub(crate) mod modes;
pub(crate) mod params;
// The wire protocol mirrors the specification whole (and is fuzzed on the host whole); not
// every command and format is sent yet.
#[allow(dead_code)]
pub(crate) mod protocol;
pub(crate) mod scanout;
pub(crate) mod timeline;

/// The display pipeline's rectangle (a pure file of `drm/kms/`), under the path the pure
/// files use on the host too (`super::rect`).
pub(crate) use crate::drm::kms::rect;
