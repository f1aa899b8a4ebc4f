// SPDX-License-Identifier: GPL-2.0

//! KMS abstractions: mode config, outputs (CRTC, planes, encoder, connector), framebuffers.
//!
//! A driver describes its display pipeline with the typed traits [`DriverCrtc`],
//! [`DriverPlane`] and [`DriverConnector`] (together: [`KmsDriver`]); the C vtables are
//! associated `const` structs built from them, with the DRM atomic helpers wherever the C
//! virtio-gpu driver uses a helper. [`init`] creates one [`Output`] per head.
//!
//! Lifetimes (6.12): `drm_dev_release` calls `drm_driver.release`, which drops the driver
//! data, *before* `drm_managed_release`, which runs `drm_mode_config_cleanup` and thereby the
//! `destroy` callbacks of every CRTC, plane, encoder and connector. Hence:
//! - the memory of the KMS objects is DRM-managed (`drmm_kzalloc`, allocated before
//!   `drmm_mode_config_init` so that it is freed after the mode config cleanup, DRM-managed
//!   resources being released in reverse order), never part of the driver data;
//! - the callbacks that can run after `release` (`destroy`, `atomic_destroy_state`) are C
//!   helpers or touch only the KMS object itself; every callback that reaches the driver
//!   (and so the driver data) runs from an ioctl, a DRM client or a commit, all of which hold
//!   a reference to the device, so `release` cannot have run. See `docs/kms.md`.
//! - the emulated vblank's timers live in the outputs and are stopped before that memory is
//!   freed (by `atomic_disable` at unbind, and by a DRM-managed action registered after the
//!   vblank core in any case); see `vblank.rs`.
//!
//! C headers: [`include/drm/drm_crtc.h`](srctree/include/drm/drm_crtc.h),
//! [`include/drm/drm_plane.h`](srctree/include/drm/drm_plane.h),
//! [`include/drm/drm_connector.h`](srctree/include/drm/drm_connector.h),
//! [`include/drm/drm_modeset_helper_vtables.h`](srctree/include/drm/drm_modeset_helper_vtables.h)

pub(crate) mod config;
pub(crate) mod connector;
pub(crate) mod crtc;
mod encoder;
pub(crate) mod framebuffer;
pub(crate) mod output;
pub(crate) mod plane;
mod vblank;

pub(crate) use config::{init, Kms};
pub(crate) use connector::{DriverConnector, Mode, ModeProbe};
pub(crate) use crtc::DriverCrtc;
pub(crate) use framebuffer::Framebuffer;
pub(crate) use output::Output;
pub(crate) use plane::{DriverPlane, PlaneKind, PlaneUpdate};

use crate::glue::bindings;

/// Pixel formats (`DRM_FORMAT_*` fourccs).
pub(crate) mod format {
    use crate::glue::bindings;

    /// `DRM_FORMAT_HOST_XRGB8888`: 32 bpp, X, R, G, B in host (little-endian: B, G, R, X in
    /// memory) byte order.
    pub(crate) const HOST_XRGB8888: u32 = bindings::RUST_CONST_HELPER_DRM_FORMAT_HOST_XRGB8888;
    /// `DRM_FORMAT_HOST_ARGB8888`: as [`HOST_XRGB8888`] with alpha.
    pub(crate) const HOST_ARGB8888: u32 = bindings::RUST_CONST_HELPER_DRM_FORMAT_HOST_ARGB8888;
}

/// A KMS driver: its CRTCs, planes and connectors, and the framebuffers it accepts.
pub(crate) trait KmsDriver: DriverCrtc + DriverPlane + DriverConnector {
    /// Pixel formats `ADDFB2` accepts; others fail with `ENOENT`.
    const FB_FORMATS: &'static [u32];
    /// Smallest framebuffer width and height.
    const MIN_SIZE: (u32, u32);
    /// Largest framebuffer width and height.
    const MAX_SIZE: (u32, u32);
}

/// `DRM_PLANE_NO_SCALING`: the 16.16 fixed-point scale factor 1.
const NO_SCALING: i32 = bindings::DRM_PLANE_NO_SCALING as i32;
