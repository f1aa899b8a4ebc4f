// SPDX-License-Identifier: GPL-2.0

//! Virtio-gpu device identity, feature bits and configuration space layout.
//!
//! Values from the virtio specification (section "GPU Device"); the glue checks them against
//! the kernel's `include/uapi/linux/virtio_gpu.h` at compile time. Pure `core` code: also
//! built by the host tests.

#![forbid(unsafe_code)]

use core::fmt;

/// Virtio device id of a GPU device.
pub(crate) const VIRTIO_ID_GPU: u32 = 16;

/// Feature bit: 3D mode (virgl) is supported.
pub(crate) const F_VIRGL: u32 = 0;
/// Feature bit: `GET_EDID` is supported.
pub(crate) const F_EDID: u32 = 1;
/// Feature bit: `RESOURCE_ASSIGN_UUID` is supported.
pub(crate) const F_RESOURCE_UUID: u32 = 2;
/// Feature bit: blob resources are supported.
pub(crate) const F_RESOURCE_BLOB: u32 = 3;
/// Feature bit: multiple context types and rings are supported.
pub(crate) const F_CONTEXT_INIT: u32 = 4;
/// Transport feature bit: virtio 1.0 device.
pub(crate) const F_VERSION_1: u32 = 32;

/// Size of `struct virtio_gpu_config` in bytes.
pub(crate) const CONFIG_SIZE: u32 = 16;
/// Config offset of `events_read`: pending events (device writes).
pub(crate) const EVENTS_READ: u32 = 0;
/// Config offset of `events_clear`: events the driver acknowledges (driver writes).
pub(crate) const EVENTS_CLEAR: u32 = 4;
/// Config offset of `num_scanouts`: the number of scanouts (heads), 1 to 16.
pub(crate) const NUM_SCANOUTS: u32 = 8;
/// Config offset of `num_capsets`: the number of 3D capability sets.
pub(crate) const NUM_CAPSETS: u32 = 12;

/// Event bit in `events_read`: the display configuration changed.
pub(crate) const EVENT_DISPLAY: u32 = 1;

/// The largest number of scanouts the protocol allows (`VIRTIO_GPU_MAX_SCANOUTS`, defined once
/// in `protocol.rs`).
pub(crate) const MAX_SCANOUTS: u32 = super::protocol::MAX_SCANOUTS as u32;

/// Device features the driver understands (offered to the device at probe).
///
/// `VIRGL`: 3D contexts, submissions and fences; `CONTEXT_INIT`: context types and rings
/// (`VIRTGPU_CONTEXT_INIT`). Blobs and resource UUIDs are not offered until the driver
/// implements them.
pub(crate) const DRIVER_FEATURES: [u32; 3] = [F_VIRGL, F_EDID, F_CONTEXT_INIT];

/// Names of the device feature bits, in the order the C driver prints them.
const FEATURE_NAMES: [(u32, &str); 5] = [
    (F_VIRGL, "virgl"),
    (F_EDID, "edid"),
    (F_RESOURCE_UUID, "resource_uuid"),
    (F_RESOURCE_BLOB, "resource_blob"),
    (F_CONTEXT_INIT, "context_init"),
];

/// Displays negotiated features as `+virgl -edid ...`, like the C driver's probe message.
pub(crate) struct Features(pub(crate) u64);

impl Features {
    /// Returns `true` if feature `bit` is set.
    pub(crate) fn has(&self, bit: u32) -> bool {
        bit < 64 && self.0 & (1u64 << bit) != 0
    }
}

impl fmt::Display for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (bit, name)) in FEATURE_NAMES.iter().enumerate() {
            let sign = if self.has(*bit) { '+' } else { '-' };
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{sign}{name}")?;
        }
        Ok(())
    }
}

/// Validates the scanout count the device reports: the protocol allows 1 to 16.
pub(crate) fn check_num_scanouts(n: u32) -> Option<u32> {
    (1..=MAX_SCANOUTS).contains(&n).then_some(n)
}
