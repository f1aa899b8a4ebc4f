// SPDX-License-Identifier: GPL-2.0

//! The virtio-gpu device core: everything specific to the device, in safe Rust.
//!
//! Nothing in `gpu/` may use `unsafe` (each file forbids it) or the C bindings; it builds on
//! the abstractions in `drm/` and `virtio/`. The pure parts (protocol constants, parsing)
//! use only `core` and are also compiled and tested on the host by `tests/host`.

#![forbid(unsafe_code)]

pub(crate) mod commands;
pub(crate) mod config;
pub(crate) mod device;
pub(crate) mod display;
pub(crate) mod driver;
pub(crate) mod dumb;
pub(crate) mod idalloc;
pub(crate) mod ioctl;
pub(crate) mod params;
/// The whole 2D wire protocol is defined (and host-tested); the driver uses a growing subset.
#[allow(dead_code)]
pub(crate) mod protocol;
