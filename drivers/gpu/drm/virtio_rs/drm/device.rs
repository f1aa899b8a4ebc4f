// SPDX-License-Identifier: GPL-2.0

//! DRM devices: allocation, driver data, registration, hot-unplug.
//!
//! Lifetimes on 6.12: the `drm_device` comes from `drm_dev_alloc` (reference counted, freed
//! by DRM after our `release` callback), not from `__devm_drm_dev_alloc`, whose devres
//! release would be tied to the parent PCI device and outlive our module. The last reference
//! goes when the driver unbinds (the [`Registration`] and the driver's `ARef`) or, if files
//! are still open then, when the last one is closed; `release` then drops the driver data.
//!
//! C header: [`include/drm/drm_drv.h`](srctree/include/drm/drm_drv.h)

use core::{marker::PhantomData, ptr::NonNull};

use kernel::{
    error::{from_err_ptr, to_result},
    ffi::c_int,
    prelude::*,
    types::{ARef, AlwaysRefCounted, ForeignOwnable, Opaque},
};

use super::{driver::Driver, file, gem::AllocImpl};
use crate::glue::bindings;

/// A `struct device` that can be the parent of a DRM device.
///
/// # Safety
///
/// [`RawDevice::as_raw_device`] must return a pointer to a valid `struct device` that stays
/// valid for as long as the implementing value is borrowed.
pub(crate) unsafe trait RawDevice {
    /// Returns the `struct device`.
    fn as_raw_device(&self) -> *mut bindings::device;
}

/// A DRM device of driver `T`.
///
/// # Invariants
///
/// - `self.0` is a valid `drm_device` allocated by [`Device::new`] with `T`'s vtable, alive
///   while a `&Device<T>` exists (callers hold a reference or are inside a DRM callback).
/// - Its `dev_private` is a `Pin<KBox<T::Data>>` from `into_foreign`, set before the device
///   is visible to anyone else and reclaimed only by the `release` callback.
#[repr(transparent)]
pub(crate) struct Device<T: Driver>(Opaque<bindings::drm_device>, PhantomData<T>);

impl<T: Driver> Device<T> {
    const VTABLE: bindings::drm_driver = bindings::drm_driver {
        load: None,
        open: Some(file::open_callback::<T>),
        postclose: Some(file::postclose_callback::<T>),
        unload: None,
        release: Some(Self::release_callback),
        master_set: None,
        master_drop: None,
        debugfs_init: None,
        gem_create_object: <T::Object as AllocImpl>::ALLOC_OPS.gem_create_object,
        prime_handle_to_fd: None,
        prime_fd_to_handle: None,
        gem_prime_import: None,
        gem_prime_import_sg_table: None,
        dumb_create: <T::Object as AllocImpl>::ALLOC_OPS.dumb_create,
        dumb_map_offset: None,
        fbdev_probe: None,
        show_fdinfo: None,
        major: T::INFO.major,
        minor: T::INFO.minor,
        patchlevel: T::INFO.patchlevel,
        name: T::INFO.name.as_char_ptr().cast_mut(),
        desc: T::INFO.desc.as_char_ptr().cast_mut(),
        date: T::INFO.date.as_char_ptr().cast_mut(),
        driver_features: T::FEATURES,
        ioctls: T::IOCTLS.as_ptr(),
        num_ioctls: T::IOCTLS.len() as i32,
        // The glue's file operations set `.owner = THIS_MODULE`: an open file keeps this
        // module loaded, so the vtable and every callback stay valid while files exist.
        fops: &raw const bindings::vgrs_drm_gem_fops,
    };

    /// Allocates an (unregistered) DRM device under `parent`, with driver data `data`.
    pub(crate) fn new(
        parent: &impl RawDevice,
        data: impl PinInit<T::Data, Error>,
    ) -> Result<ARef<Self>> {
        let data = KBox::pin_init(data, GFP_KERNEL)?;
        // SAFETY: `VTABLE` is a `'static` promoted constant; `parent` is a valid device
        // (`RawDevice` guarantee), which `drm_dev_alloc` takes a reference to.
        let raw = unsafe { bindings::drm_dev_alloc(&Self::VTABLE, parent.as_raw_device()) };
        let raw = from_err_ptr(raw)?;
        // SAFETY: `raw` is a freshly allocated `drm_device` nobody else knows about yet.
        unsafe { (*raw).dev_private = data.into_foreign().cast_mut() };
        // INVARIANT: `raw` was allocated with `T`'s vtable and its `dev_private` is set.
        // SAFETY: `drm_dev_alloc` returned the initial reference, which the `ARef` takes over.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(raw.cast())) })
    }

    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid `drm_device` allocated by [`Device::new`] for `T`, alive for
    /// `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *const bindings::drm_device) -> &'a Self {
        // SAFETY: `Device<T>` is `repr(transparent)` over `drm_device`; the caller guarantees
        // validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw `drm_device`.
    pub(crate) fn as_raw(&self) -> *mut bindings::drm_device {
        self.0.get()
    }

    /// Adds the driver's fault-injection file `vgrs_drop_responses` to the device's debugfs
    /// directory (see `glue/helpers.c`); DRM removes it with the directory at unregistration.
    pub(crate) fn add_fault_knobs(&self) {
        // SAFETY: The device is valid (type invariant). Its debugfs directory was made at
        // allocation and lives until unregistration (without debugfs it is an error pointer,
        // which debugfs ignores); the counter behind the file is static, so no write through
        // it outlives its storage.
        unsafe { bindings::vgrs_debugfs_fault_init(self.as_raw()) };
    }

    /// Returns the driver data.
    pub(crate) fn data(&self) -> Pin<&T::Data> {
        // SAFETY: By the type invariant `dev_private` holds a `Pin<KBox<T::Data>>` until
        // `release`, which runs only when the last reference (hence `&self`) is gone.
        let ptr = unsafe { (*self.as_raw()).dev_private };
        // SAFETY: As above: `ptr` came from `into_foreign` and is not reclaimed while `&self`
        // lives.
        unsafe { <Pin<KBox<T::Data>> as ForeignOwnable>::borrow(ptr) }
    }

    /// Enters a section in which the hardware may be used; `None` once the device is
    /// unplugged. `remove` waits for every section to end before it tears the device down.
    pub(crate) fn enter(&self) -> Option<DeviceGuard<'_, T>> {
        let mut idx: c_int = 0;
        // SAFETY: The device is valid (type invariant); `idx` is a valid place.
        if unsafe { bindings::drm_dev_enter(self.as_raw(), &mut idx) } {
            Some(DeviceGuard { _dev: self, idx })
        } else {
            None
        }
    }

    /// `drm_driver.release`: the last reference is gone; drops the driver data.
    ///
    /// # Safety
    ///
    /// Called by DRM once, for a device allocated by [`Device::new`], when its refcount
    /// dropped to zero.
    unsafe extern "C" fn release_callback(raw: *mut bindings::drm_device) {
        // SAFETY: By the function's safety requirements `raw` is valid.
        let ptr = unsafe { (*raw).dev_private };
        // SAFETY: `ptr` came from `into_foreign` in `new`; no reference to the device (hence
        // no borrow of the data) is left.
        drop(unsafe { <Pin<KBox<T::Data>> as ForeignOwnable>::from_foreign(ptr) });
        // SAFETY: `raw` is valid; DRM frees the device after this callback.
        unsafe { (*raw).dev_private = core::ptr::null_mut() };
    }
}

// SAFETY: The reference count is the `drm_device`'s own, maintained by `drm_dev_get/put`.
unsafe impl<T: Driver> AlwaysRefCounted for Device<T> {
    fn inc_ref(&self) {
        // SAFETY: The device is valid (type invariant) and we hold a reference.
        unsafe { bindings::drm_dev_get(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns.
        unsafe { bindings::drm_dev_put(obj.cast().as_ptr()) };
    }
}

// SAFETY: A `drm_device` may be used and released from any thread; `T::Data` is `Send + Sync`.
unsafe impl<T: Driver> Send for Device<T> {}

// SAFETY: Shared references only call thread-safe DRM functions or read `T::Data: Sync`.
unsafe impl<T: Driver> Sync for Device<T> {}

/// Proof that the device is not unplugged: `drm_dev_enter` succeeded.
///
/// # Invariants
///
/// `idx` is the SRCU index from a successful `drm_dev_enter`, exited on drop.
pub(crate) struct DeviceGuard<'a, T: Driver> {
    _dev: &'a Device<T>,
    idx: c_int,
}

impl<T: Driver> Drop for DeviceGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `idx` comes from a successful `drm_dev_enter`.
        unsafe { bindings::drm_dev_exit(self.idx) };
    }
}

/// A registered DRM device: userspace can open it. Dropping it unplugs the device:
/// unregisters it, waits for running [`Device::enter`] sections, and makes later ones fail.
///
/// # Invariants
///
/// `dev` was registered by [`Registration::new`] and is unplugged only by `drop`.
pub(crate) struct Registration<T: Driver> {
    dev: ARef<Device<T>>,
}

impl<T: Driver> Registration<T> {
    /// Registers `dev` with DRM (creates `/dev/dri/cardN` and `renderDN`).
    pub(crate) fn new(dev: ARef<Device<T>>) -> Result<Self> {
        // SAFETY: `dev` is a valid, not yet registered device.
        to_result(unsafe { bindings::drm_dev_register(dev.as_raw(), 0) })?;
        // INVARIANT: registered just above.
        Ok(Self { dev })
    }

    /// The registered device.
    pub(crate) fn device(&self) -> &Device<T> {
        &self.dev
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the device is registered. `drm_dev_unplug`
        // unregisters it and waits for every `drm_dev_enter` section to end.
        unsafe { bindings::drm_dev_unplug(self.dev.as_raw()) };
    }
}
