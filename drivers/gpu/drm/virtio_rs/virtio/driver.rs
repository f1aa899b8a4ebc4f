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

use super::{Device, Queues};
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

    /// Names of the device's virtqueues, in index order; they are found before probe.
    const QUEUES: &'static [&'static CStr];

    /// Sets up a newly bound device. Features are negotiated and the virtqueues found, but
    /// the device is not ready yet: nothing may be submitted to the queues here.
    fn probe(dev: &Device, queues: Option<&Queues>) -> Result<Pin<KBox<Self::Data>>>;

    /// Runs once the device is ready (`DRIVER_OK`), which the abstraction sets only after
    /// probe's data is stored, so virtqueue completions and config changes find it. The
    /// place for the first commands and for registering with other subsystems. On error the
    /// device is removed again.
    fn ready(dev: &Device, data: &Self::Data) -> Result {
        let _ = (dev, data);
        Ok(())
    }

    /// Tears the device down. Called with the data `probe` returned; the virtqueues are still
    /// alive during the call and are deleted, with a device reset, right after it.
    fn remove(dev: &Device, data: Pin<KBox<Self::Data>>) {
        let _ = (dev, data);
    }

    /// The device changed its configuration space.
    ///
    /// The virtio core reports config changes in the interrupt, under a spinlock, where even
    /// reading the config space is not allowed (`virtio_cread*` may sleep). So the
    /// abstraction only queues a work item there, which calls this in process context: it
    /// may sleep and submit commands. Changes that arrive while the work is queued are
    /// handled by that one call; changes while it runs queue another. It runs only between
    /// the end of a successful probe and the start of remove (remove waits for a running
    /// call to return), so the virtqueues are alive throughout.
    fn config_changed(dev: &Device, data: &Self::Data) {
        let _ = (dev, data);
    }

    /// The system is going to sleep (virtio `freeze`): bring the device to rest. The
    /// virtqueues are alive during the call; right after it the abstraction waits for the
    /// device to answer what is in flight, resets it and deletes them (see
    /// [`Queues`]: submissions wait meanwhile). No config change is handled from here until
    /// [`Driver::restore`] has returned. On error the device stays awake and the system does
    /// not sleep.
    fn freeze(dev: &Device, data: &Self::Data) -> Result {
        let _ = (dev, data);
        Ok(())
    }

    /// The system woke up (virtio `restore`): the virtio core reset the device and
    /// negotiated the same features; the abstraction found the virtqueues again and set the
    /// device ready. Everything the device held (host state) is gone and is to be rebuilt
    /// here.
    fn restore(dev: &Device, data: &Self::Data) -> Result {
        let _ = (dev, data);
        Ok(())
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
        raw.freeze = Some(Self::freeze_callback);
        raw.restore = Some(Self::restore_callback);
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
            let queues = if T::QUEUES.is_empty() {
                None
            } else {
                // SAFETY: The queues end up in `Bound`, which `remove_callback` drops before
                // it returns; on the error paths below they are dropped within probe.
                Some(unsafe { Queues::new(dev, T::QUEUES, T::NAME) }?)
            };
            let data = T::probe(dev, queues.as_ref())?;
            let config_work = KBox::pin_init(ConfigWork::new::<T>(vdev), GFP_KERNEL)?;
            let bound = KBox::new(
                Bound::<T> {
                    data,
                    queues,
                    config_work,
                },
                GFP_KERNEL,
            )?;
            let ptr = bound.into_foreign();
            // SAFETY: `vdev` is valid (above); nothing else writes `dev.driver_data` while probe runs, and
            // completions and config changes can only start once the device is ready, below.
            unsafe { (*vdev).dev.driver_data = ptr.cast_mut() };
            // SAFETY: `vdev` is valid and its driver data is in place.
            unsafe { bindings::vgrs_virtio_device_ready(vdev) };
            // SAFETY: `ptr` came from `into_foreign` just above and is only reclaimed in
            // `remove_callback` (which cannot run during probe) or below, after this borrow.
            let result = T::ready(
                dev,
                &unsafe { <KBox<Bound<T>> as ForeignOwnable>::borrow(ptr) }.data,
            );
            if let Err(e) = result {
                // SAFETY:
                // - `vdev` is valid for this call and its driver data is the `KBox<Bound<T>>`
                //   stored above, whose borrow has ended.
                // - The core enables config-change callbacks only after probe returns
                //   (`virtio_config_core_enable` in `virtio_dev_probe`), so the config-change
                //   work was never queued.
                unsafe { Self::unbind(vdev) };
                return Err(e);
            }
            Ok(0)
        })
    }

    /// Stops the config-change work, takes the driver data back from `dev.driver_data`, runs
    /// the driver's remove, deletes the queues and resets the device.
    ///
    /// # Safety
    ///
    /// `vdev` is valid and its `dev.driver_data` holds `KBox<Bound<T>>` from `into_foreign`
    /// that no one else reclaims; config-change callbacks, which queue the config-change
    /// work, are disabled (or were never enabled).
    unsafe fn unbind(vdev: *mut bindings::virtio_device) {
        // SAFETY: By the function's safety requirements `vdev` is valid.
        let dev = unsafe { Device::from_raw(vdev) };
        // SAFETY: `vdev` is valid.
        let ptr = unsafe { (*vdev).dev.driver_data };
        {
            // SAFETY: By the function's safety requirements `ptr` is a `KBox<Bound<T>>` from
            // `into_foreign`, reclaimed only below, after this borrow ends.
            let bound = unsafe { <KBox<Bound<T>> as ForeignOwnable>::borrow(ptr) };
            // First, so that no `T::config_changed` runs during or after `T::remove` or
            // borrows the data taken back below. Nothing queues the work again (config-change
            // callbacks are off, by the safety requirements), so once this returns it is
            // neither queued nor running.
            bound.config_work.cancel_sync();
        }
        // SAFETY: By the function's safety requirements `ptr` is an unshared
        // `KBox<Bound<T>>` from `into_foreign`.
        let bound = unsafe { <KBox<Bound<T>> as ForeignOwnable>::from_foreign(ptr) };
        // SAFETY: `vdev` is valid; clearing `dev.driver_data` makes a stale pointer impossible to reuse.
        unsafe { (*vdev).dev.driver_data = core::ptr::null_mut() };
        let Bound {
            data,
            queues,
            config_work,
        } = KBox::into_inner(bound);
        T::remove(dev, data);
        // Resets the device and deletes the virtqueues, while the device is still bound.
        drop(queues);
        // The virtio core expects a reset device when remove returns (no-op after the above).
        // SAFETY: `vdev` is valid for this call.
        unsafe { bindings::virtio_reset_device(vdev) };
        // Cancelled above: nothing uses the work item any more.
        drop(config_work);
    }

    /// `virtio_driver.remove`.
    ///
    /// # Safety
    ///
    /// Called by the virtio core, once, for a device whose probe succeeded; the device is
    /// valid for the call, and config-change callbacks have been disabled.
    unsafe extern "C" fn remove_callback(vdev: *mut bindings::virtio_device) {
        // SAFETY:
        // - `vdev` is valid; a successful probe left `KBox<Bound<T>>` in `dev.driver_data`.
        // - Config-change callbacks, which borrow it and queue the config-change work, are
        //   disabled before remove (`virtio_config_core_disable`); `unbind` cancels the work
        //   before it takes the data back.
        unsafe { Self::unbind(vdev) };
    }

    /// `virtio_driver.config_changed`: queues the config-change work.
    ///
    /// # Safety
    ///
    /// Called by the virtio core for a bound device, only between a successful probe and the
    /// start of remove. It runs in the interrupt, under the device's `config_lock`: nothing
    /// here may sleep.
    unsafe extern "C" fn config_changed_callback(vdev: *mut bindings::virtio_device) {
        // SAFETY: By the function's safety requirements `vdev` is valid for this call.
        let ptr = unsafe { (*vdev).dev.driver_data };
        if ptr.is_null() {
            return;
        }
        // SAFETY: `ptr` came from `into_foreign` in probe; remove, which reclaims it, cannot
        // start before this callback returns (the core disables config changes first).
        let bound = unsafe { <KBox<Bound<T>> as ForeignOwnable>::borrow(ptr) };
        bound.config_work.queue();
    }

    /// `virtio_driver.freeze`: the driver's freeze, then the queues' (see [`Driver::freeze`]).
    ///
    /// # Safety
    ///
    /// Called by the virtio core (`virtio_device_freeze`, from the PM core with the device
    /// lock held, so neither probe nor remove runs meanwhile) for a valid device, with
    /// config-change callbacks disabled.
    unsafe extern "C" fn freeze_callback(vdev: *mut bindings::virtio_device) -> c_int {
        // SAFETY: By the function's safety requirements `vdev` is valid for this call.
        let ptr = unsafe { (*vdev).dev.driver_data };
        if ptr.is_null() {
            return 0;
        }
        // SAFETY: As above.
        let dev = unsafe { Device::from_raw(vdev) };
        // SAFETY: A non-null driver data is the `KBox<Bound<T>>` of a successful probe;
        // remove, which reclaims it, cannot run while the device lock is held.
        let bound = unsafe { <KBox<Bound<T>> as ForeignOwnable>::borrow(ptr) };
        // Config changes are off (the safety requirements): once this returns, no
        // `T::config_changed` runs until restore re-enables them.
        bound.config_work.cancel_sync();
        from_result(|| {
            T::freeze(dev, &bound.data)?;
            if let Some(q) = bound.queues.as_ref() {
                q.freeze();
            }
            Ok(0)
        })
    }

    /// `virtio_driver.restore`: the queues found again, the device set ready, then the
    /// driver's restore (see [`Driver::restore`]).
    ///
    /// # Safety
    ///
    /// Called by the virtio core (`virtio_device_restore`, from the PM core with the device
    /// lock held) for a valid device that it reset and whose features it negotiated again,
    /// before config-change callbacks are enabled again.
    unsafe extern "C" fn restore_callback(vdev: *mut bindings::virtio_device) -> c_int {
        // SAFETY: By the function's safety requirements `vdev` is valid for this call.
        let ptr = unsafe { (*vdev).dev.driver_data };
        if ptr.is_null() {
            return 0;
        }
        // SAFETY: As above.
        let dev = unsafe { Device::from_raw(vdev) };
        // SAFETY: As in `freeze_callback`.
        let bound = unsafe { <KBox<Bound<T>> as ForeignOwnable>::borrow(ptr) };
        from_result(|| {
            if let Some(q) = bound.queues.as_ref() {
                q.restore(dev)?;
            }
            // SAFETY: `vdev` is valid and its virtqueues are set up: the driver may submit from
            // here on (the core sets `DRIVER_OK` itself only if the driver did not).
            unsafe { bindings::vgrs_virtio_device_ready(vdev) };
            T::restore(dev, &bound.data)?;
            Ok(0)
        })
    }

    /// The config-change work: runs [`Driver::config_changed`] in process context.
    ///
    /// # Safety
    ///
    /// Called by the workqueue with the `work_struct` of a [`ConfigWork`] initialised by
    /// [`ConfigWork::new`] for driver `T`.
    unsafe extern "C" fn config_work_callback(work: *mut bindings::work_struct) {
        // SAFETY: By the function's safety requirements `work` is the `work` field of a
        // `ConfigWork`, its first field (type invariant), so the pointers are the same. The
        // `ConfigWork` is alive: `unbind` cancels the work, waiting for this call, before it
        // frees it.
        let vdev = unsafe { (*work.cast::<ConfigWork>()).vdev };
        // SAFETY: By the type invariant of `ConfigWork`, `vdev` is valid and bound while its
        // work can run: `unbind` cancels the work before the driver data is taken back.
        let ptr = unsafe { (*vdev).dev.driver_data };
        if ptr.is_null() {
            return;
        }
        // SAFETY: As above, `vdev` is valid and bound for this call.
        let dev = unsafe { Device::from_raw(vdev) };
        // SAFETY: `ptr` came from `into_foreign` in probe; `unbind` reclaims it only after it
        // cancelled this work, which waits for this call to return.
        let bound = unsafe { <KBox<Bound<T>> as ForeignOwnable>::borrow(ptr) };
        T::config_changed(dev, &bound.data);
    }
}

/// The work item that runs [`Driver::config_changed`] outside the config-change interrupt.
///
/// # Invariants
///
/// - `work` is initialised with `Registration::<T>::config_work_callback` for the driver
///   `T` of the device `vdev`, and is the first field (`repr(C)`), so a pointer to it is a
///   pointer to the `ConfigWork`.
/// - `vdev` is valid, and bound to `T` with this in its [`Bound`], whenever the work is
///   queued or running: it is queued only by the config-change callback and cancelled in
///   `unbind` before the device's driver data is taken back.
#[repr(C)]
#[pin_data]
struct ConfigWork {
    #[pin]
    work: Opaque<bindings::work_struct>,
    vdev: *mut bindings::virtio_device,
}

impl ConfigWork {
    /// A config-change work item of driver `T` for `vdev`.
    fn new<T: Driver>(vdev: *mut bindings::virtio_device) -> impl PinInit<Self> {
        pin_init!(Self {
            work <- Opaque::ffi_init(|slot| {
                // SAFETY: `slot` is the pinned, uninitialised `work_struct` that `INIT_WORK`
                // initialises; the callback has the `work_func_t` signature.
                unsafe {
                    bindings::vgrs_init_work(slot, Some(Registration::<T>::config_work_callback))
                }
            }),
            // INVARIANT: `vdev` is the device being probed; the work is queued only once
            // its `Bound` holds this.
            vdev,
        })
    }

    /// Queues the work on the system workqueue (does nothing if it is already queued). May
    /// be called in atomic context.
    fn queue(&self) {
        // SAFETY: `work` is initialised (type invariant) and pinned; the `ConfigWork` stays
        // alive until `cancel_sync` has returned.
        unsafe { bindings::vgrs_schedule_work(self.work.get()) };
    }

    /// Cancels the work if it is queued and waits for it to finish if it is running.
    fn cancel_sync(&self) {
        // SAFETY: `work` is initialised (type invariant); `cancel_work_sync` may sleep, which
        // `unbind` (probe and remove) allows.
        unsafe { bindings::cancel_work_sync(self.work.get()) };
    }
}

/// What the abstraction keeps for a bound device (in `vdev->dev.driver_data`; `vdev->priv`
/// belongs to the virtqueue table of [`Queues`]): the driver's data, the virtqueues and the
/// config-change work.
struct Bound<T: Driver> {
    data: Pin<KBox<T::Data>>,
    queues: Option<Queues>,
    config_work: Pin<KBox<ConfigWork>>,
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `self.drv` is registered; unregistering unbinds every
        // device (running `remove_callback`) before it returns.
        unsafe { bindings::unregister_virtio_driver(self.drv.get()) };
    }
}
