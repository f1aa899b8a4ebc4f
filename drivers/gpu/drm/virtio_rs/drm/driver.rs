// SPDX-License-Identifier: GPL-2.0

//! The DRM [`Driver`] trait, from which a const `struct drm_driver` is built.
//!
//! C header: [`include/drm/drm_drv.h`](srctree/include/drm/drm_drv.h)

use kernel::prelude::*;

use super::{gem, Device};
use crate::glue::bindings;

/// Driver identity reported by `DRM_IOCTL_VERSION`.
pub(crate) struct DriverInfo {
    /// Driver name (`drm_version.name`); userspace picks its driver by it.
    pub(crate) name: &'static CStr,
    /// Description.
    pub(crate) desc: &'static CStr,
    /// Date string.
    pub(crate) date: &'static CStr,
    /// Major version.
    pub(crate) major: i32,
    /// Minor version.
    pub(crate) minor: i32,
    /// Patch level.
    pub(crate) patchlevel: i32,
}

/// `DRIVER_GEM`: the driver uses GEM.
pub(crate) const FEAT_GEM: u32 = bindings::drm_driver_feature_DRIVER_GEM;
/// `DRIVER_MODESET`: the driver supports mode setting.
pub(crate) const FEAT_MODESET: u32 = bindings::drm_driver_feature_DRIVER_MODESET;
/// `DRIVER_RENDER`: the driver has a render node.
pub(crate) const FEAT_RENDER: u32 = bindings::drm_driver_feature_DRIVER_RENDER;
/// `DRIVER_ATOMIC`: the driver supports atomic mode setting.
pub(crate) const FEAT_ATOMIC: u32 = bindings::drm_driver_feature_DRIVER_ATOMIC;
/// `DRIVER_SYNCOBJ`: the driver's submissions take and fill DRM sync objects.
pub(crate) const FEAT_SYNCOBJ: u32 = bindings::drm_driver_feature_DRIVER_SYNCOBJ;
/// `DRIVER_SYNCOBJ_TIMELINE`: ... timeline sync objects too.
pub(crate) const FEAT_SYNCOBJ_TIMELINE: u32 = bindings::drm_driver_feature_DRIVER_SYNCOBJ_TIMELINE;
/// `DRIVER_CURSOR_HOTSPOT`: cursor planes take a hotspot (for virtual machines' cursors).
pub(crate) const FEAT_CURSOR_HOTSPOT: u32 = bindings::drm_driver_feature_DRIVER_CURSOR_HOTSPOT;

/// A DRM driver.
pub(crate) trait Driver: Sized + 'static {
    /// Per-device data, reachable from every callback through [`Device::data`]. It lives as
    /// long as the `drm_device`, which can outlive the hardware (open files keep it).
    type Data: Send + Sync;
    /// Per-open-file data.
    type File: Send + Sync;
    /// The driver's kind of GEM object (e.g. [`gem::shmem::Object`] of its data), which
    /// supplies the `drm_driver` entries that allocate objects (`gem_create_object`,
    /// `dumb_create`).
    type Object: gem::AllocImpl;

    /// Name, description, version.
    const INFO: DriverInfo;
    /// `DRIVER_*` feature flags.
    const FEATURES: u32;
    /// The driver's ioctls, indexed by number (see [`crate::drm_ioctls`]).
    const IOCTLS: &'static [bindings::drm_ioctl_desc];

    /// A file was opened: returns its per-file data.
    fn open(dev: &Device<Self>) -> Result<Pin<KBox<Self::File>>>;
}
