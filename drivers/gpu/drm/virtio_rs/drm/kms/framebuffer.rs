// SPDX-License-Identifier: GPL-2.0

//! Framebuffers: creation from GEM objects (`ADDFB2`) and what a plane update reads of them.
//!
//! C headers: [`include/drm/drm_framebuffer.h`](srctree/include/drm/drm_framebuffer.h),
//! [`include/drm/drm_gem_framebuffer_helper.h`](srctree/include/drm/drm_gem_framebuffer_helper.h)

use core::marker::PhantomData;

use kernel::{prelude::*, types::Opaque};

use super::KmsDriver;
use crate::{
    drm::{gem, Driver},
    glue::bindings,
};

/// A framebuffer of a device of driver `T`.
///
/// # Invariants
///
/// `self.0` is a valid framebuffer created by [`fb_create_callback`] (so by
/// `drm_gem_fb_create_with_dirty`: `obj[0]` is a GEM object it holds a reference to), alive
/// while a `&Framebuffer` exists (the plane state it was read from holds a reference).
///
/// Fields are read one at a time through the raw pointer, never through a reference to the
/// whole struct: its refcount and list links change concurrently.
#[repr(transparent)]
pub(crate) struct Framebuffer<T: Driver>(Opaque<bindings::drm_framebuffer>, PhantomData<T>);

impl<T: Driver> Framebuffer<T> {
    /// # Safety
    ///
    /// `ptr` must be a valid framebuffer of a device of driver `T` that stays referenced for
    /// `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *const bindings::drm_framebuffer) -> &'a Self {
        // SAFETY: `repr(transparent)` over the C struct; the caller guarantees validity.
        unsafe { &*ptr.cast() }
    }

    /// The GEM object of the first plane, if it is one of the driver's objects.
    pub(crate) fn object(&self) -> Option<&T::Object> {
        // SAFETY: By the type invariant the framebuffer is valid; `obj` is set at creation
        // and then constant.
        let obj = unsafe { (*self.0.get()).obj[0] };
        // SAFETY: `obj[0]` is null or a GEM object of the device that the framebuffer holds
        // a reference to for its (hence our borrow's) lifetime; it was looked up by handle,
        // so it is not an object still being created.
        unsafe { <T::Object as gem::AllocImpl>::from_gem(obj) }
    }

    /// Width in pixels.
    pub(crate) fn width(&self) -> u32 {
        // SAFETY: The framebuffer is valid (type invariant); `width` is constant.
        unsafe { (*self.0.get()).width }
    }

    /// Height in pixels.
    pub(crate) fn height(&self) -> u32 {
        // SAFETY: The framebuffer is valid (type invariant); `height` is constant.
        unsafe { (*self.0.get()).height }
    }

    /// Bytes per row of the first plane.
    pub(crate) fn pitch(&self) -> u32 {
        // SAFETY: The framebuffer is valid (type invariant); `pitches` is constant.
        unsafe { (*self.0.get()).pitches[0] }
    }

    /// Byte offset of the first plane in its object.
    pub(crate) fn offset(&self) -> u32 {
        // SAFETY: The framebuffer is valid (type invariant); `offsets` is constant.
        unsafe { (*self.0.get()).offsets[0] }
    }

    /// The format description (a static table entry; null only for a framebuffer DRM did not
    /// create, which a `Framebuffer` never is).
    pub(super) fn format_info(&self) -> *const bindings::drm_format_info {
        // SAFETY: The framebuffer is valid (type invariant); `format` is constant.
        unsafe { (*self.0.get()).format }
    }

    /// Bytes per pixel of the first plane.
    pub(crate) fn cpp(&self) -> u32 {
        // SAFETY: The framebuffer is valid (type invariant); `format` is constant.
        let format = unsafe { (*self.0.get()).format };
        if format.is_null() {
            return 0;
        }
        // SAFETY: `format` is the framebuffer's format description, a static table entry
        // set at creation.
        let cpp = unsafe { &(*format).__bindgen_anon_1.cpp };
        // SAFETY: Both members of the union are `u8` arrays of the same length, so reading
        // either is valid.
        u32::from(unsafe { cpp.as_ref() }[0])
    }
}

/// `drm_mode_config_funcs.fb_create`: checks the pixel format (`EINVAL` if the driver does
/// not take it, the DRM core's answer for a format no plane supports; the C virtio driver
/// answers `ENOENT`), then creates a GEM framebuffer whose `dirty`
/// callback is `drm_atomic_helper_dirtyfb` (so `DIRTYFB` becomes plane damage). The helper
/// looks the handles up and checks each object is large enough for the layout.
///
/// # Safety
///
/// Called by DRM for a device of driver `T` with a valid open file and a valid request.
pub(super) unsafe extern "C" fn fb_create_callback<T: KmsDriver>(
    dev: *mut bindings::drm_device,
    file: *mut bindings::drm_file,
    cmd: *const bindings::drm_mode_fb_cmd2,
) -> *mut bindings::drm_framebuffer {
    // SAFETY: By the function's safety requirements `cmd` is valid for the call.
    let format = unsafe { (*cmd).pixel_format };
    if !T::FB_FORMATS.contains(&format) {
        return EINVAL.to_ptr();
    }
    // SAFETY: All three pointers are valid for the call (the function's safety
    // requirements); the helper returns a framebuffer or an `ERR_PTR`.
    unsafe { bindings::drm_gem_fb_create_with_dirty(dev, file, cmd) }
}
