// SPDX-License-Identifier: GPL-2.0

//! Open DRM files and their per-file driver data.
//!
//! C header: [`include/drm/drm_file.h`](srctree/include/drm/drm_file.h)

use core::marker::PhantomData;

use kernel::{
    error::from_result,
    ffi::c_int,
    prelude::*,
    types::{ForeignOwnable, Opaque},
};

use super::{driver::Driver, Device};
use crate::glue::bindings;

/// An open DRM file of driver `T`.
///
/// # Invariants
///
/// `self.0` is a valid `drm_file` of a device of driver `T`, alive while a `&File<T>` exists
/// (references are only created inside DRM callbacks for that file). After `open` succeeded
/// and until `postclose`, its `driver_priv` holds a `Pin<KBox<T::File>>` from `into_foreign`.
#[repr(transparent)]
pub(crate) struct File<T: Driver>(Opaque<bindings::drm_file>, PhantomData<T>);

impl<T: Driver> File<T> {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid, opened `drm_file` of a device of driver `T`, alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::drm_file) -> &'a Self {
        // SAFETY: `File<T>` is `repr(transparent)` over `drm_file`; the caller guarantees
        // validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw `drm_file`.
    pub(crate) fn as_raw(&self) -> *mut bindings::drm_file {
        self.0.get()
    }

    /// Returns the driver's per-file data.
    pub(crate) fn inner(&self) -> Pin<&T::File> {
        // SAFETY: By the type invariant the file is open, so `driver_priv` holds the data.
        let ptr = unsafe { (*self.as_raw()).driver_priv };
        // SAFETY: `ptr` came from `into_foreign` in `open_callback` and is reclaimed only in
        // `postclose_callback`, after every callback that could hold `&self` returned.
        unsafe { <Pin<KBox<T::File>> as ForeignOwnable>::borrow(ptr) }
    }
}

/// `drm_driver.open`.
///
/// # Safety
///
/// Called by DRM with a valid device of driver `T` and a new file being opened on it.
pub(super) unsafe extern "C" fn open_callback<T: Driver>(
    raw_dev: *mut bindings::drm_device,
    raw_file: *mut bindings::drm_file,
) -> c_int {
    // SAFETY: By the function's safety requirements `raw_dev` is a device of driver `T`.
    let dev = unsafe { Device::<T>::from_raw(raw_dev) };
    from_result(|| {
        let inner = T::open(dev)?;
        // SAFETY: `raw_file` is valid and not yet visible to any other callback.
        unsafe { (*raw_file).driver_priv = inner.into_foreign().cast_mut() };
        Ok(0)
    })
}

/// `drm_driver.postclose`.
///
/// # Safety
///
/// Called by DRM once per file whose `open` succeeded, after its last use.
pub(super) unsafe extern "C" fn postclose_callback<T: Driver>(
    _raw_dev: *mut bindings::drm_device,
    raw_file: *mut bindings::drm_file,
) {
    // SAFETY: By the function's safety requirements `raw_file` is valid.
    let ptr = unsafe { (*raw_file).driver_priv };
    // SAFETY: `ptr` came from `into_foreign` in `open_callback`; nothing uses the file any
    // more.
    drop(unsafe { <Pin<KBox<T::File>> as ForeignOwnable>::from_foreign(ptr) });
    // SAFETY: `raw_file` is valid.
    unsafe { (*raw_file).driver_priv = core::ptr::null_mut() };
}
