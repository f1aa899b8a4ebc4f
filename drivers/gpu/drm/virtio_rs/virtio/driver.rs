// SPDX-License-Identifier: GPL-2.0

//! Virtio driver registration: a [`Driver`] trait and the [`Registration`] that binds it.
//!
//! C header: [`include/linux/virtio.h`](srctree/include/linux/virtio.h)

use core::marker::PhantomData;

use kernel::{
    error::{from_result, to_result},
    ffi::c_int,
    prelude::*,
    types::{ForeignOwnable, Opaque},
    ThisModule,
};

use super::Device;
use crate::glue::bindings;

/// A virtio driver: what runs when a device of [`Driver::DEVICE_ID`] is bound and unbound.
pub(crate) trait Driver: 'static {
    /// Per-device state, created by [`Driver::probe`] and dropped when the device is unbound.
    type Data: Send + Sync + 'static;

    /// Name of the driver in the driver core (`/sys/bus/virtio/drivers/<NAME>`).
    const NAME: &'static CStr;

    /// The virtio device id the driver binds to (`VIRTIO_ID_*`).
    const DEVICE_ID: u32;

    /// Device-specific feature bits the driver understands. The virtio core offers these and
    /// keeps the ones the device has too; transport features are negotiated by the core.
    const FEATURES: &'static [u32];

    /// Sets up a newly bound device. Feature negotiation is done; the device is marked ready
    /// (`DRIVER_OK`) by the virtio core after this returns, unless probe does so itself.
    fn probe(dev: &Device) -> Result<Pin<KBox<Self::Data>>>;

    /// Tears the device down. Called with the data `probe` returned; the device is reset by
    /// the abstraction after the data is dropped.
    fn remove(dev: &Device, data: Pin<KBox<Self::Data>>) {
        let _ = (dev, data);
    }

    /// The device changed its configuration space (virtio config-change interrupt).
    fn config_changed(dev: &Device, data: &Self::Data) {
        let _ = (dev, data);
    }
}

/// The C `struct virtio_driver` of a [`Driver`], registered with the virtio bus.
///
/// # Invariants
///
/// `drv` is registered with the virtio core from a successful [`Registration::new`] until
/// drop, and stays pinned (the core links it into its driver list).
pub(crate) struct Registration<T: Driver> {
    drv: Pin<KBox<Opaque<bindings::virtio_driver>>>,
    _driver: PhantomData<T>,
}

// SAFETY: `Registration` only holds the C driver struct, which is never accessed from Rust
// after registration; the driver core serialises its own accesses. Dropping it (unregistering)
// from any thread is allowed.
unsafe impl<T: Driver> Send for Registration<T> {}

// SAFETY: `&Registration` gives no access to anything (no methods take `&self`).
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// The id table: `T::DEVICE_ID` from any vendor, then the zero terminator.
    const ID_TABLE: &'static [bindings::virtio_device_id; 2] = &[
        bindings::virtio_device_id {
            device: T::DEVICE_ID,
            vendor: bindings::VIRTIO_DEV_ANY_ID,
        },
        bindings::virtio_device_id {
            device: 0,
            vendor: 0,
        },
    ];

    /// Registers driver `T` with the virtio bus; devices that match are probed right away.
    pub(crate) fn new(module: &'static ThisModule) -> Result<Self> {
        let features_len = u32::try_from(T::FEATURES.len()).map_err(|_| EINVAL)?;
        let mut raw = bindings::virtio_driver::default();
        raw.driver.name = T::NAME.as_char_ptr();
        raw.id_table = Self::ID_TABLE.as_ptr();
        raw.feature_table = T::FEATURES.as_ptr();
        raw.feature_table_size = features_len;
        raw.probe = Some(Self::probe_callback);
        raw.remove = Some(Self::remove_callback);
        raw.config_changed = Some(Self::config_changed_callback);
        let drv = KBox::pin(Opaque::new(raw), GFP_KERNEL)?;
        // SAFETY: `drv` is a fully initialised `virtio_driver` whose pointers are to `'static`
        // data, pinned in a heap allocation that lives until `drop` unregisters it;
        // `module.as_ptr()` is this module, which cannot go away while the driver is
        // registered.
        to_result(unsafe { bindings::vgrs_register_virtio_driver(drv.get(), module.as_ptr()) })?;
        // INVARIANT: `drv` was registered just above.
        Ok(Self {
            drv,
            _driver: PhantomData,
        })
    }

    /// `virtio_driver.probe`.
    ///
    /// # Safety
    ///
    /// Called by the virtio core with a valid device that it keeps alive and bound until
    /// `remove_callback` returns.
    unsafe extern "C" fn probe_callback(vdev: *mut bindings::virtio_device) -> c_int {
        // SAFETY: By the function's safety requirements `vdev` is valid and bound for the
        // duration of this call.
        let dev = unsafe { Device::from_raw(vdev) };
        from_result(|| {
            let data = T::probe(dev)?;
            let ptr = data.into_foreign();
            // SAFETY: `vdev` is valid (above); nothing else writes `priv` while probe runs, and
            // the config-change callback is enabled only after probe returns.
            unsafe { (*vdev).priv_ = ptr.cast_mut() };
            Ok(0)
        })
    }

    /// `virtio_driver.remove`.
    ///
    /// # Safety
    ///
    /// Called by the virtio core, once, for a device whose probe succeeded; the device is
    /// valid for the call, and config-change callbacks have been disabled.
    unsafe extern "C" fn remove_callback(vdev: *mut bindings::virtio_device) {
        // SAFETY: By the function's safety requirements `vdev` is valid for this call.
        let dev = unsafe { Device::from_raw(vdev) };
        // SAFETY: `vdev` is valid; probe stored the data in `priv` and nothing else changes it.
        let ptr = unsafe { (*vdev).priv_ };
        // SAFETY: `ptr` came from `into_foreign` in a successful probe and is converted back
        // only here, once; no borrow from `config_changed_callback` can be live since those
        // callbacks are disabled before remove.
        let data = unsafe { <Pin<KBox<T::Data>> as ForeignOwnable>::from_foreign(ptr) };
        // SAFETY: `vdev` is valid; clearing `priv` makes a stale pointer impossible to reuse.
        unsafe { (*vdev).priv_ = core::ptr::null_mut() };
        T::remove(dev, data);
        // The virtio core expects the driver to have reset the device when remove returns.
        // Resetting again after a driver's own reset is harmless.
        // SAFETY: `vdev` is valid for this call.
        unsafe { bindings::virtio_reset_device(vdev) };
    }

    /// `virtio_driver.config_changed`.
    ///
    /// # Safety
    ///
    /// Called by the virtio core for a bound device, only between a successful probe and the
    /// start of remove.
    unsafe extern "C" fn config_changed_callback(vdev: *mut bindings::virtio_device) {
        // SAFETY: By the function's safety requirements `vdev` is valid for this call.
        let dev = unsafe { Device::from_raw(vdev) };
        // SAFETY: `vdev` is valid for this call.
        let ptr = unsafe { (*vdev).priv_ };
        if ptr.is_null() {
            return;
        }
        // SAFETY: `ptr` came from `into_foreign` in probe; remove, which reclaims it, cannot
        // start before this callback returns (the core disables config changes first).
        let data = unsafe { <Pin<KBox<T::Data>> as ForeignOwnable>::borrow(ptr) };
        T::config_changed(dev, &data);
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `self.drv` is registered; unregistering unbinds every
        // device (running `remove_callback`) before it returns.
        unsafe { bindings::unregister_virtio_driver(self.drv.get()) };
    }
}
