// SPDX-License-Identifier: GPL-2.0

//! Encoders: plain encoders without driver hooks (the atomic helpers treat missing encoder
//! helper functions as "nothing to do", which is all a virtual display needs).
//!
//! C header: [`include/drm/drm_encoder.h`](srctree/include/drm/drm_encoder.h)

use kernel::{prelude::*, types::Opaque};

use crate::{
    drm::{Device, Driver},
    glue::bindings,
};

/// The kind of an encoder (`DRM_MODE_ENCODER_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EncoderType {
    /// A virtual display's encoder.
    Virtual,
}

/// An encoder.
///
/// # Invariants
///
/// Created by [`Encoder::new`]: pinned in a `KBox`, `raw` first (`repr(C)`), initialised with
/// [`FUNCS`]; valid as long as its device (its `destroy`, at mode config cleanup, frees it).
#[repr(C)]
#[pin_data]
pub(crate) struct Encoder {
    #[pin]
    raw: Opaque<bindings::drm_encoder>,
}

/// The encoder functions: clean up and free.
const FUNCS: bindings::drm_encoder_funcs = bindings::drm_encoder_funcs {
    reset: None,
    destroy: Some(destroy_callback),
    late_register: None,
    early_unregister: None,
    debugfs_init: None,
};

impl Encoder {
    /// Allocates and initialises an encoder of `dev` of `kind` that can drive the CRTCs in
    /// `possible_crtcs` (a bit mask of CRTC indexes).
    ///
    /// # Safety
    ///
    /// `dev` must be a valid, unregistered device with an initialised mode config.
    pub(super) unsafe fn new<T: Driver>(
        dev: &Device<T>,
        kind: EncoderType,
        possible_crtcs: u32,
    ) -> Result<&Self> {
        let kind = match kind {
            EncoderType::Virtual => bindings::DRM_MODE_ENCODER_VIRTUAL as i32,
        };
        let enc = KBox::pin_init(
            pin_init!(Self {
                // The DRM object functions expect zeroed memory, as from `kzalloc`.
                raw <- Opaque::ffi_init(|slot: *mut bindings::drm_encoder| {
                    // SAFETY: `slot` is valid for writes; all-zero is a valid `drm_encoder`.
                    unsafe { slot.write_bytes(0, 1) }
                }),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: The encoder stays pinned: it is only used through this pointer and freed by
        // `destroy_callback` with `KBox::from_raw`.
        let ptr = KBox::into_raw(unsafe { Pin::into_inner_unchecked(enc) });
        // SAFETY: `ptr` is a valid allocation.
        let raw = unsafe { (*ptr).raw.get() };
        // SAFETY: `dev` is valid with an initialised mode config (safety requirements); `raw`
        // is zeroed, pinned memory; `FUNCS` is a `'static` constant; a null name makes DRM
        // pick one.
        let ret = unsafe {
            bindings::drm_encoder_init(dev.as_raw(), raw, &FUNCS, kind, core::ptr::null())
        };
        if ret != 0 {
            // SAFETY: The init failed, so DRM does not know the encoder: we still own it.
            drop(unsafe { KBox::from_raw(ptr) });
            return Err(Error::from_errno(ret));
        }
        // SAFETY: `raw` is initialised and not visible to userspace yet (the device is not
        // registered), so nothing reads `possible_crtcs` concurrently.
        unsafe { (*raw).possible_crtcs = possible_crtcs };
        // INVARIANT: initialised with `FUNCS`; freed by `destroy_callback`.
        // SAFETY: The encoder lives until the mode config cleanup, after every borrow of
        // `dev`.
        Ok(unsafe { &*ptr })
    }

    /// The `drm_encoder`.
    pub(crate) fn as_raw(&self) -> *mut bindings::drm_encoder {
        self.raw.get()
    }
}

/// `drm_encoder_funcs.destroy`: cleans up and frees the encoder.
///
/// # Safety
///
/// Called by DRM once, for an [`Encoder`], when the mode config is cleaned up.
unsafe extern "C" fn destroy_callback(enc: *mut bindings::drm_encoder) {
    // SAFETY: `enc` is valid and not used by DRM after this callback.
    unsafe { bindings::drm_encoder_cleanup(enc) };
    // SAFETY: `Encoder::new` allocated it with `KBox` and leaked it; nothing uses it now.
    drop(unsafe { KBox::from_raw(enc.cast::<Encoder>()) });
}
