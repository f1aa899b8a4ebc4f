// SPDX-License-Identifier: GPL-2.0

//! A virtio device bound to our driver.
//!
//! C header: [`include/linux/virtio.h`](srctree/include/linux/virtio.h)

use kernel::{str::CStr, types::Opaque};

use crate::glue::bindings;

/// A virtio device (`struct virtio_device`) while it is bound to a driver of this module.
///
/// # Invariants
///
/// `self.0` is a valid, initialised `struct virtio_device` for the lifetime of every `&Device`:
/// references are only created in the virtio driver callbacks (probe, remove, config changed),
/// during which the virtio core keeps the device alive and bound.
#[repr(transparent)]
pub(crate) struct Device(Opaque<bindings::virtio_device>);

impl Device {
    /// Creates a reference to a [`Device`] from a raw `struct virtio_device` pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct virtio_device` that stays valid and bound to this
    /// module's driver for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::virtio_device) -> &'a Self {
        // SAFETY: `Device` is `repr(transparent)` over `Opaque<virtio_device>`, which has the
        // layout of `virtio_device`; the caller guarantees that `ptr` is valid for `'a`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Returns the raw `struct virtio_device` pointer.
    pub(crate) fn as_raw(&self) -> *mut bindings::virtio_device {
        self.0.get()
    }

    /// Returns the device's name in the driver core, e.g. `virtio0`.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: By the type invariant `self.as_raw()` is a valid `virtio_device`, so taking
        // the address of its embedded `struct device` is in bounds.
        let dev = unsafe { core::ptr::addr_of_mut!((*self.as_raw()).dev) };
        // SAFETY: `dev` is a valid `struct device` (above); `dev_name` has no other
        // requirements.
        let name = unsafe { bindings::vgrs_dev_name(dev) };
        // SAFETY: A bound device has a name: `dev_name` returns its kobject's NUL-terminated
        // name, which is freed only when the device is released, after `&self` ends.
        unsafe { CStr::from_char_ptr(name) }
    }

    /// Returns the negotiated feature bits (device and transport features).
    pub(crate) fn features(&self) -> u64 {
        // SAFETY: By the type invariant the device is valid. The virtio core writes
        // `features` only before probe and on restore, never while a driver callback runs.
        unsafe { (*self.as_raw()).features }
    }

    /// Returns `true` if the device bypasses the DMA API (no `VIRTIO_F_ACCESS_PLATFORM`):
    /// buffers are then given to it by guest physical address.
    pub(crate) fn has_dma_quirk(&self) -> bool {
        // SAFETY: By the type invariant `self.as_raw()` is a valid virtio device.
        unsafe { bindings::vgrs_virtio_has_dma_quirk(self.as_raw()) }
    }

    /// Reads the little-endian 32-bit configuration space field at byte `offset`.
    ///
    /// The offset must lie within the device-specific configuration layout the device type
    /// defines (the transport `BUG`s on an access past the end it exposes).
    pub(crate) fn config_read_u32(&self, offset: u32) -> u32 {
        // SAFETY: By the type invariant `self.as_raw()` is a valid, bound virtio device; the
        // function may sleep, and driver callbacks run in process context (`config_changed`
        // too: the abstraction calls it from a work item, not from the interrupt).
        unsafe { bindings::vgrs_virtio_cread32(self.as_raw(), offset) }
    }

    /// Writes the little-endian 32-bit configuration space field at byte `offset`.
    pub(crate) fn config_write_u32(&self, offset: u32, value: u32) {
        // SAFETY: By the type invariant `self.as_raw()` is a valid, bound virtio device; the
        // function may sleep, and driver callbacks run in process context (`config_changed`
        // too: the abstraction calls it from a work item, not from the interrupt).
        unsafe { bindings::vgrs_virtio_cwrite32(self.as_raw(), offset, value) }
    }
}

// SAFETY: `vdev->dev.parent` is the transport's device (the PCI device for virtio-pci), which
// the driver core keeps alive while its child, the virtio device borrowed by `&self`, exists.
unsafe impl crate::drm::device::RawDevice for Device {
    fn as_raw_device(&self) -> *mut bindings::device {
        // SAFETY: By the type invariant `self.as_raw()` is a valid virtio device.
        unsafe { (*self.as_raw()).dev.parent }
    }
}
