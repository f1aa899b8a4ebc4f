// SPDX-License-Identifier: GPL-2.0

//! `VIRTGPU_GETPARAM`: what the driver tells userspace it supports.
//!
//! Pure `core` code: also built by the host tests.

#![forbid(unsafe_code)]

/// `VIRTGPU_PARAM_3D_FEATURES`: virgl 3D is available.
pub(crate) const PARAM_3D_FEATURES: u64 = 1;
/// `VIRTGPU_PARAM_CAPSET_QUERY_FIX`: `GET_CAPS` handles capset versions correctly.
pub(crate) const PARAM_CAPSET_QUERY_FIX: u64 = 2;
/// `VIRTGPU_PARAM_RESOURCE_BLOB`: blob resources are available.
pub(crate) const PARAM_RESOURCE_BLOB: u64 = 3;
/// `VIRTGPU_PARAM_HOST_VISIBLE`: host-visible memory is available.
pub(crate) const PARAM_HOST_VISIBLE: u64 = 4;
/// `VIRTGPU_PARAM_CROSS_DEVICE`: resources can be shared across devices (UUIDs).
pub(crate) const PARAM_CROSS_DEVICE: u64 = 5;
/// `VIRTGPU_PARAM_CONTEXT_INIT`: `CONTEXT_INIT` is available.
pub(crate) const PARAM_CONTEXT_INIT: u64 = 6;
/// `VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs`: bit mask of the capset ids the host offers.
pub(crate) const PARAM_SUPPORTED_CAPSET_IDS: u64 = 7;
/// `VIRTGPU_PARAM_EXPLICIT_DEBUG_NAME`: contexts accept a debug name.
pub(crate) const PARAM_EXPLICIT_DEBUG_NAME: u64 = 8;

/// What the driver implements, as far as userspace is concerned.
#[derive(Clone, Copy, Default)]
pub(crate) struct Caps {
    /// 3D (virgl) contexts, submission and transfers.
    pub(crate) virgl: bool,
    /// Blob resources.
    pub(crate) resource_blob: bool,
    /// Host-visible memory region.
    pub(crate) host_visible: bool,
    /// Resource UUIDs for cross-device sharing.
    pub(crate) resource_uuid: bool,
    /// Context init (context types and rings).
    pub(crate) context_init: bool,
    /// Bit mask of capset ids.
    pub(crate) capset_mask: u64,
}

/// The value of `param`, or `None` for an unknown parameter (`EINVAL`). Values are what the
/// C driver reports for the same capabilities: a truthful `1`/`0`, `CAPSET_QUERY_FIX` always
/// `1`, the capset mask truncated to the `int` userspace reads.
pub(crate) fn getparam(caps: &Caps, param: u64) -> Option<i32> {
    let flag = |b: bool| i32::from(b);
    Some(match param {
        PARAM_3D_FEATURES => flag(caps.virgl),
        PARAM_CAPSET_QUERY_FIX => 1,
        PARAM_RESOURCE_BLOB => flag(caps.resource_blob),
        PARAM_HOST_VISIBLE => flag(caps.host_visible),
        PARAM_CROSS_DEVICE => flag(caps.resource_uuid),
        PARAM_CONTEXT_INIT => flag(caps.context_init),
        PARAM_SUPPORTED_CAPSET_IDS => caps.capset_mask as i32,
        PARAM_EXPLICIT_DEBUG_NAME => flag(caps.context_init),
        _ => return None,
    })
}
