// SPDX-License-Identifier: GPL-2.0

//! Outputs: the CRTC, primary and cursor planes, encoder and connector of one head, in one
//! DRM-managed allocation.
//!
//! C header: [`include/drm/drm_managed.h`](srctree/include/drm/drm_managed.h)

use core::{
    mem::{align_of, size_of},
    sync::atomic::{AtomicBool, Ordering},
};

use kernel::{prelude::*, types::Opaque};

use super::vblank::VblankTimer;
use crate::{
    drm::{Device, Driver},
    glue::bindings,
};

/// One head: a CRTC with its primary and cursor planes, a Virtual encoder and a Virtual
/// connector.
///
/// # Invariants
///
/// - Allocated zeroed by [`Output::alloc`] with `drmm_kzalloc`, so the memory stays valid
///   until `drm_managed_release` of its device, which frees it after the mode config cleanup
///   (see [`super::init`]); a `&Output` therefore lives no longer than the device.
/// - `index` is set before the output is shared and never changes.
/// - After a successful [`super::init`], `crtc`, `primary`, `cursor`, `encoder` and
///   `connector` are initialised DRM objects of the device, with the vtables of
///   [`super::KmsDriver`] `T`; every CRTC, plane, encoder and connector of a device of a KMS
///   driver is embedded in an `Output` this way (no other code creates them).
/// - After a successful [`super::init`], `vblank` is an initialised timer whose DRM-managed
///   stop action runs before this memory is freed (see [`VblankTimer`]).
#[repr(C)]
pub(crate) struct Output {
    pub(super) crtc: Opaque<bindings::drm_crtc>,
    pub(super) primary: Opaque<bindings::drm_plane>,
    pub(super) cursor: Opaque<bindings::drm_plane>,
    pub(super) encoder: Opaque<bindings::drm_encoder>,
    pub(super) connector: Opaque<bindings::drm_connector>,
    pub(super) vblank: VblankTimer,
    index: u32,
    needs_modeset: AtomicBool,
}

// `drmm_kzalloc` memory is aligned to `ARCH_DMA_MINALIGN`, at least that of a `u64` (8).
const _: () = assert!(align_of::<Output>() <= 8);

impl Output {
    /// Allocates the zeroed output of head `index`, owned by `dev` until its managed release.
    pub(super) fn alloc<T: Driver>(dev: &Device<T>, index: u32) -> Result<&Output> {
        // SAFETY: `dev` is a valid device; the memory is freed by `drm_managed_release`.
        let ptr = unsafe { bindings::vgrs_drmm_kzalloc(dev.as_raw(), size_of::<Output>()) };
        let ptr = ptr.cast::<Output>();
        if ptr.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `ptr` is a valid, suitably aligned (assertion above) allocation of an
        // `Output`, not shared yet.
        unsafe { core::ptr::addr_of_mut!((*ptr).index).write(index) };
        // INVARIANT: zeroed DRM-managed memory (every field is valid zeroed: `Opaque`,
        // integers and atomics), `index` set.
        // SAFETY: `ptr` is valid until the device's managed release, which cannot happen
        // while `dev` is borrowed.
        Ok(unsafe { &*ptr })
    }

    /// The head's index (the virtio-gpu scanout id).
    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    /// Marks a full modeset as pending (for drivers that set modes in the plane update).
    pub(crate) fn set_needs_modeset(&self) {
        self.needs_modeset.store(true, Ordering::Relaxed);
    }

    /// Returns whether a modeset is pending, and clears it.
    pub(crate) fn take_needs_modeset(&self) -> bool {
        self.needs_modeset.swap(false, Ordering::Relaxed)
    }

    /// The output embedding `crtc`.
    ///
    /// # Safety
    ///
    /// `crtc` must be a CRTC of a device of a KMS driver (hence the `crtc` field of an
    /// [`Output`], by the type invariant), alive for `'a`.
    pub(super) unsafe fn from_crtc<'a>(crtc: *const bindings::drm_crtc) -> &'a Output {
        // SAFETY: By the safety requirements `crtc` is the `crtc` field of an `Output`
        // (`Opaque` is `repr(transparent)`), so stepping back by its offset stays in bounds.
        let ptr = unsafe { kernel::container_of!(crtc, Output, crtc) };
        // SAFETY: `ptr` points to a live `Output` for `'a`, by the safety requirements.
        unsafe { &*ptr }
    }

    /// The output embedding `connector`.
    ///
    /// # Safety
    ///
    /// `connector` must be a connector of a device of a KMS driver (hence the `connector`
    /// field of an [`Output`], by the type invariant), alive for `'a`.
    pub(super) unsafe fn from_connector<'a>(
        connector: *const bindings::drm_connector,
    ) -> &'a Output {
        // SAFETY: By the safety requirements `connector` is the `connector` field of an
        // `Output`, so stepping back by its offset stays in bounds.
        let ptr = unsafe { kernel::container_of!(connector, Output, connector) };
        // SAFETY: `ptr` points to a live `Output` for `'a`, by the safety requirements.
        unsafe { &*ptr }
    }

    /// The output embedding the vblank timer `timer`.
    ///
    /// # Safety
    ///
    /// `timer` must be the `vblank.timer` field of an [`Output`], alive for `'a`.
    pub(super) unsafe fn from_vblank_timer<'a>(timer: *const bindings::hrtimer) -> &'a Output {
        // SAFETY: By the safety requirements `timer` is the `vblank.timer` field of an
        // `Output` (`Opaque` is `repr(transparent)`), so stepping back by its offset stays in
        // bounds.
        let ptr = unsafe { kernel::container_of!(timer, Output, vblank.timer) };
        // SAFETY: `ptr` points to a live `Output` for `'a`, by the safety requirements.
        unsafe { &*ptr }
    }
}
