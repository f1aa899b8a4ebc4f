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

/// `gpu/protocol.rs`: command and response layouts, encoding, validated response parsing.
///
/// `manual_is_multiple_of`: the driver keeps to the kernel's minimum Rust (1.78, the `msrv` of
/// the kernel's `.clippy.toml`), which has no `is_multiple_of`; the host's clippy lacks that
/// setting.
#[path = "../../../drivers/gpu/drm/virtio_rs/gpu/protocol.rs"]
#[allow(dead_code, clippy::manual_is_multiple_of)]
pub mod protocol;

/// `gpu/dumb.rs`: dumb buffer validation, pitch and size.
#[path = "../../../drivers/gpu/drm/virtio_rs/gpu/dumb.rs"]
#[allow(dead_code)]
pub mod dumb;

/// `gpu/idalloc.rs`: host resource id allocation.
#[path = "../../../drivers/gpu/drm/virtio_rs/gpu/idalloc.rs"]
#[allow(dead_code)]
pub mod idalloc;

/// `gpu/capsets.rs`: capset lookup and the capset id mask (`VIRTGPU_GET_CAPS`).
#[path = "../../../drivers/gpu/drm/virtio_rs/gpu/capsets.rs"]
#[allow(dead_code)]
pub mod capsets;

/// `gpu/params.rs`: `VIRTGPU_GETPARAM` values.
#[path = "../../../drivers/gpu/drm/virtio_rs/gpu/params.rs"]
#[allow(dead_code)]
pub mod params;

/// `gpu/modes.rs`: mode limits, the preferred mode, mode validation, EDID size.
#[path = "../../../drivers/gpu/drm/virtio_rs/gpu/modes.rs"]
#[allow(dead_code)]
pub mod modes;

/// `drm/kms/rect.rs`: the display pipeline's rectangle (pure, shared by `drm/` and `gpu/`).
#[path = "../../../drivers/gpu/drm/virtio_rs/drm/kms/rect.rs"]
#[allow(dead_code)]
pub mod rect;

/// `gpu/scanout.rs`: damage clamping and transfer offsets of plane updates.
#[path = "../../../drivers/gpu/drm/virtio_rs/gpu/scanout.rs"]
#[allow(dead_code)]
pub mod scanout;

/// `gpu/hotplug.rs`: display events and what changed between display-info snapshots.
#[path = "../../../drivers/gpu/drm/virtio_rs/gpu/hotplug.rs"]
#[allow(dead_code)]
pub mod hotplug;

/// `gpu/ctxinit.rs`: `VIRTGPU_CONTEXT_INIT` parameters and ring checks.
#[path = "../../../drivers/gpu/drm/virtio_rs/gpu/ctxinit.rs"]
#[allow(dead_code)]
pub mod ctxinit;

/// `gpu/blob.rs`: the `VIRTGPU_RESOURCE_CREATE_BLOB` request check.
#[path = "../../../drivers/gpu/drm/virtio_rs/gpu/blob.rs"]
#[allow(dead_code, clippy::manual_is_multiple_of)]
pub mod blob;

/// `gpu/crc.rs`: the CRC source's composer and CRCs.
#[path = "../../../drivers/gpu/drm/virtio_rs/gpu/crc.rs"]
#[allow(dead_code)]
pub mod crc;

/// `gpu/timeline.rs`: the order in which answered fences are signalled.
#[path = "../../../drivers/gpu/drm/virtio_rs/gpu/timeline.rs"]
pub mod timeline;

/// A reference model of the fence table, for the tests and the `fences` fuzz target.
pub mod fence_model;

#[cfg(test)]
mod blob_tests;
#[cfg(test)]
mod config_tests;
#[cfg(test)]
mod core_tests;
#[cfg(test)]
mod crc_tests;
#[cfg(test)]
mod ctxinit_tests;
#[cfg(test)]
mod hotplug_tests;
#[cfg(test)]
mod kms_tests;
#[cfg(test)]
mod timeline_tests;

#[cfg(test)]
mod protocol_proptests;
#[cfg(test)]
mod protocol_tests;
#[cfg(test)]
mod virgl_tests;
