// SPDX-License-Identifier: GPL-2.0

//! KMS abstractions: typed CRTCs, planes, encoders and connectors with per-object driver
//! data, plane states with per-state driver data, the mode config and framebuffers.
//!
//! A driver describes each kind of object with a `#[vtable]` trait ([`DriverCrtc`],
//! [`DriverPlane`], [`DriverConnector`]) whose implementing type is the object's data; the
//! C vtables are associated constants built from them, with `NULL` for every hook the driver
//! leaves out (so the atomic helpers' defaults apply). The driver chooses the topology itself
//! with a [`KmsBuilder`] (planes, then CRTCs on them, encoders, connectors), and its policy
//! (checks, commit tail, what an update sends to the hardware) in the hooks: nothing here
//! knows what device it drives.
//!
//! Lifetimes (6.12): `drm_dev_release` calls `drm_driver.release`, which drops the driver
//! data, *before* `drm_managed_release`, which runs `drm_mode_config_cleanup` and thereby the
//! `destroy` callbacks of every CRTC, plane, encoder and connector. Hence:
//! - each KMS object is its own `KBox` allocation, freed (with its driver data) by its own
//!   `destroy` callback, which touches nothing but the object; the object lives as long as
//!   the device, so `&Crtc<T>` and friends may be kept by whoever holds the device;
//! - the data of objects and states must not reach the device in `Drop` (documented on each
//!   trait); every hook that reaches the driver runs from an ioctl, a DRM client or a commit,
//!   all of which hold a reference to the device, so `release` cannot have run;
//! - the emulated vblank's timers live in the CRTCs and are stopped before the vblank core's
//!   memory is freed (by `atomic_disable` at unbind, and by a DRM-managed action registered
//!   after the vblank core in any case) and again before the CRTC is freed; see `vblank.rs`.
//!
//! C headers: [`include/drm/drm_crtc.h`](srctree/include/drm/drm_crtc.h),
//! [`include/drm/drm_plane.h`](srctree/include/drm/drm_plane.h),
//! [`include/drm/drm_connector.h`](srctree/include/drm/drm_connector.h),
//! [`include/drm/drm_modeset_helper_vtables.h`](srctree/include/drm/drm_modeset_helper_vtables.h)

pub(crate) mod config;
pub(crate) mod connector;
pub(crate) mod crtc;
pub(crate) mod encoder;
pub(crate) mod framebuffer;
pub(crate) mod plane;
pub(crate) mod rect;
mod vblank;

pub(crate) use config::{CommitTail, Kms, KmsBuilder, Suspended};
pub(crate) use connector::{Connector, ConnectorType, DriverConnector, Mode, ModeProbe};
pub(crate) use crtc::{Crtc, DriverCrtc, FlushEvent};
pub(crate) use encoder::EncoderType;
pub(crate) use framebuffer::Framebuffer;
pub(crate) use plane::{
    DriverPlane, Plane, PlaneCheck, PlaneState, PlaneType, PlaneUpdate, ScanoutBuffer,
};

use kernel::{prelude::*, types::Opaque};

use crate::{drm::Driver, glue::bindings};

/// The initialiser of a KMS object's C struct: zeroed, as from `kzalloc`, which is what the
/// `drm_*_init` functions expect.
fn zeroed<T>() -> impl PinInit<Opaque<T>> {
    // SAFETY: `slot` is valid for writes of a `T` (the initialiser's contract), and the C
    // structs of KMS objects are plain data for which all-zero is a valid value.
    Opaque::ffi_init(|slot: *mut T| unsafe { slot.write_bytes(0, 1) })
}

/// How a KMS object's registration (its `drm_*_init`) failed.
pub(super) enum RegisterError {
    /// DRM does not know the object: [`give_to_drm`] frees it.
    Unknown(Error),
    /// The init failed but left the object on its mode config list (see [`crtc::Crtc`]'s
    /// `new`): DRM's mode config cleanup destroys it through its `destroy` callback, as if
    /// the init had succeeded, so it must stay where it is.
    Kept(Error),
}

impl From<Error> for RegisterError {
    fn from(e: Error) -> Self {
        Self::Unknown(e)
    }
}

/// Allocates a KMS object from `init`, hands its address to `register` (its `drm_*_init`
/// and helper set-up), and leaves it to DRM. If `register` fails with
/// [`RegisterError::Unknown`], DRM does not know the object and it is freed here; with
/// [`RegisterError::Kept`] it stays DRM's.
///
/// # Safety
///
/// When `register` succeeds or fails with [`RegisterError::Kept`], DRM must own the object
/// from then on: it stays where it is until the mode config cleanup, which comes after `'a`
/// ends, and its `destroy` callback frees it with `KBox::<T>::from_raw`, once. When `register`
/// fails with [`RegisterError::Unknown`], DRM must not know the object.
unsafe fn give_to_drm<'a, T>(
    init: impl PinInit<T, Error>,
    register: impl FnOnce(*mut T) -> Result<(), RegisterError>,
) -> Result<&'a T> {
    let obj = KBox::pin_init(init, GFP_KERNEL)?;
    // SAFETY: The object stays pinned: from here on it is only used through `ptr` and freed
    // with `KBox::from_raw` (below, or by its `destroy` callback).
    let ptr = KBox::into_raw(unsafe { Pin::into_inner_unchecked(obj) });
    match register(ptr) {
        Ok(()) => {}
        Err(RegisterError::Unknown(e)) => {
            // SAFETY: DRM does not know the object (safety requirements) and we still own
            // the allocation from `KBox::into_raw`.
            drop(unsafe { KBox::from_raw(ptr) });
            return Err(e);
        }
        // DRM frees it at the mode config cleanup (safety requirements).
        Err(RegisterError::Kept(e)) => return Err(e),
    }
    // SAFETY: DRM keeps the object in place until the mode config cleanup, after `'a`
    // (safety requirements), and only its `destroy` frees it.
    Ok(unsafe { &*ptr })
}

/// Pixel formats (`DRM_FORMAT_*` fourccs).
pub(crate) mod format {
    use crate::glue::bindings;

    /// `DRM_FORMAT_HOST_XRGB8888`: 32 bpp, X, R, G, B in host (little-endian: B, G, R, X in
    /// memory) byte order.
    pub(crate) const HOST_XRGB8888: u32 = bindings::RUST_CONST_HELPER_DRM_FORMAT_HOST_XRGB8888;
    /// `DRM_FORMAT_HOST_ARGB8888`: as [`HOST_XRGB8888`] with alpha.
    pub(crate) const HOST_ARGB8888: u32 = bindings::RUST_CONST_HELPER_DRM_FORMAT_HOST_ARGB8888;
}

/// Mode config limits and flags of a KMS driver.
pub(crate) struct ModeConfigInfo {
    /// Smallest framebuffer width and height.
    pub(crate) min_size: (u32, u32),
    /// Largest framebuffer width and height.
    pub(crate) max_size: (u32, u32),
    /// `ADDFB` picks the host byte order format for a depth/bpp pair (virtual devices whose
    /// host reads pixels in its own order).
    pub(crate) prefer_host_byte_order: bool,
    /// Framebuffers may have format modifiers.
    pub(crate) fb_modifiers: bool,
    /// Page flips may skip the vblank (`DRM_MODE_PAGE_FLIP_ASYNC`).
    pub(crate) async_page_flip: bool,
    /// Events nobody in userspace asked for (DIRTYFB, fbdev damage, blocking commits) complete
    /// in `atomic_flush` instead of at the next vblank: for devices that have no scanout
    /// timing to tear against.
    pub(crate) internal_events_now: bool,
}

/// A KMS driver: the framebuffers it accepts, its mode config, and optionally its own
/// commit tail. Its objects are described by the [`DriverCrtc`], [`DriverPlane`] and
/// [`DriverConnector`] types it creates with a [`KmsBuilder`].
#[vtable]
pub(crate) trait KmsDriver: Driver {
    /// Pixel formats `ADDFB2` accepts; others fail with `EINVAL`.
    const FB_FORMATS: &'static [u32];
    /// Limits and flags of the mode config.
    const CONFIG: ModeConfigInfo;

    /// `atomic_commit_tail`: the order of the commit's steps (see [`CommitTail`]); without
    /// it, `drm_atomic_helper_commit_tail`.
    fn atomic_commit_tail(tail: &CommitTail<'_>) {
        let _ = tail;
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// `DRM_PLANE_NO_SCALING`: the 16.16 fixed-point scale factor 1.
pub(crate) const NO_SCALING: i32 = bindings::DRM_PLANE_NO_SCALING as i32;
