// SPDX-License-Identifier: GPL-2.0

//! Encoders: plain encoders without driver hooks (the atomic helpers treat missing encoder
//! helper functions as "nothing to do", which is all a virtual display needs).
//!
//! C header: [`include/drm/drm_encoder.h`](srctree/include/drm/drm_encoder.h)

use kernel::{error::to_result, prelude::*, types::Opaque};

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
        let init = try_pin_init!(Self { raw <- super::zeroed() }? Error);
        let register = |ptr: *mut Self| {
            // SAFETY: `ptr` is the valid, pinned allocation `give_to_drm` made.
            let raw = unsafe { (*ptr).raw.get() };
            // SAFETY: `dev` is valid with an initialised mode config (safety requirements);
            // `raw` is zeroed, pinned memory; `FUNCS` is a `'static` constant; a null name
            // makes DRM pick one.
            to_result(unsafe {
                bindings::drm_encoder_init(dev.as_raw(), raw, &FUNCS, kind, core::ptr::null())
            })?;
            // SAFETY: `raw` is initialised and not visible to userspace yet (the device is
            // not registered), so nothing reads `possible_crtcs` concurrently.
            unsafe { (*raw).possible_crtcs = possible_crtcs };
            Ok(())
        };
        // INVARIANT: initialised with `FUNCS`, freed by `destroy_callback`.
        // SAFETY: On success the encoder belongs to DRM until the mode config cleanup (after
        // every borrow of `dev`), and `destroy_callback` frees it with `KBox::from_raw`; a
        // failed `drm_encoder_init` leaves DRM without it.
        unsafe { super::give_to_drm(init, register) }
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
