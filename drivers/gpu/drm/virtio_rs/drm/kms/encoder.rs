// SPDX-License-Identifier: GPL-2.0

//! Encoders: a Virtual encoder per output, from the simple KMS helper.
//!
//! The C driver adds encoder helper functions that do nothing; the atomic helpers treat
//! missing ones the same, so there are none here.
//!
//! C header: [`include/drm/drm_simple_kms_helper.h`](srctree/include/drm/drm_simple_kms_helper.h)

use kernel::{error::to_result, prelude::*};

use crate::glue::bindings;

/// Initialises `encoder` as a Virtual encoder of `dev` that can drive the CRTCs in
/// `possible_crtcs` (a bit mask of CRTC indexes).
///
/// # Safety
///
/// `dev` must be a valid device whose mode config is initialised and not registered yet;
/// `encoder` must be zeroed memory that stays valid until the mode config cleanup.
pub(super) unsafe fn init(
    dev: *mut bindings::drm_device,
    encoder: *mut bindings::drm_encoder,
    possible_crtcs: u32,
) -> Result {
    // SAFETY: By the safety requirements; the helper's encoder functions destroy the encoder
    // with `drm_encoder_cleanup`, which touches only the encoder.
    to_result(unsafe {
        bindings::drm_simple_encoder_init(dev, encoder, bindings::DRM_MODE_ENCODER_VIRTUAL as i32)
    })?;
    // SAFETY: `encoder` is valid and not yet visible to userspace (the device is not
    // registered), so nothing reads `possible_crtcs` concurrently.
    unsafe { (*encoder).possible_crtcs = possible_crtcs };
    Ok(())
}
