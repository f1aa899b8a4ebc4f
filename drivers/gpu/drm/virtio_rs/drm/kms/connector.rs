// SPDX-License-Identifier: GPL-2.0

//! Connectors: the [`DriverConnector`] trait, the connector vtables, mode probing.
//!
//! C headers: [`include/drm/drm_connector.h`](srctree/include/drm/drm_connector.h),
//! [`include/drm/drm_edid.h`](srctree/include/drm/drm_edid.h),
//! [`include/drm/drm_modes.h`](srctree/include/drm/drm_modes.h)

use core::marker::PhantomData;

use kernel::{ffi::c_int, types::Opaque};

use super::Output;
use crate::{
    drm::{Device, Driver},
    glue::bindings,
};

/// What a driver answers about one of its connectors.
pub(crate) trait DriverConnector: Driver {
    /// `detect`: a display is connected to `output`.
    fn detect(dev: &Device<Self>, output: &Output) -> bool;
    /// `get_modes`: adds the modes of `output` through `probe`; returns how many it added.
    fn get_modes(dev: &Device<Self>, output: &Output, probe: &ModeProbe<'_>) -> u32;
    /// `mode_valid`: `mode` (one `get_modes` added) can be used on `output`.
    fn mode_valid(dev: &Device<Self>, output: &Output, mode: &Mode) -> bool;
}

/// A display mode (`struct drm_display_mode`) being validated.
///
/// # Invariants
///
/// `self.0` is a valid mode, not modified while a `&Mode` exists.
#[repr(transparent)]
pub(crate) struct Mode(Opaque<bindings::drm_display_mode>);

impl Mode {
    fn raw(&self) -> &bindings::drm_display_mode {
        // SAFETY: By the type invariant the mode is valid and unmodified while borrowed.
        unsafe { &*self.0.get() }
    }

    /// Width in pixels.
    pub(crate) fn hdisplay(&self) -> u32 {
        u32::from(self.raw().hdisplay)
    }

    /// Height in pixels.
    pub(crate) fn vdisplay(&self) -> u32 {
        u32::from(self.raw().vdisplay)
    }

    /// The mode is marked preferred.
    pub(crate) fn is_preferred(&self) -> bool {
        u32::from(self.raw().type_) & bindings::DRM_MODE_TYPE_PREFERRED != 0
    }
}

/// Access to a connector's probed mode list, inside `get_modes`.
///
/// # Invariants
///
/// `conn` is a valid connector whose `get_modes` is running: the caller holds
/// `mode_config.mutex`, which protects the probed modes and the EDID property.
pub(crate) struct ModeProbe<'a> {
    conn: *mut bindings::drm_connector,
    _p: PhantomData<&'a ()>,
}

impl ModeProbe<'_> {
    /// Makes `edid` (empty: none) the connector's EDID and adds its modes; returns how many.
    /// An EDID the DRM core finds invalid counts as none.
    pub(crate) fn add_edid_modes(&self, edid: &[u8]) -> u32 {
        let drm_edid = if edid.is_empty() {
            core::ptr::null()
        } else {
            // SAFETY: `edid` is a valid buffer of `edid.len()` bytes; the function copies it.
            unsafe { bindings::drm_edid_alloc(edid.as_ptr().cast(), edid.len()) }
        };
        // SAFETY: `drm_edid` is null or a valid EDID from `drm_edid_alloc`.
        let valid = !drm_edid.is_null() && unsafe { bindings::drm_edid_valid(drm_edid) };
        let update = if valid { drm_edid } else { core::ptr::null() };
        // SAFETY: By the type invariant `conn` is valid and its mode probe lock is held;
        // `update` is null or a valid EDID, which the function copies what it needs of.
        let _ = unsafe { bindings::drm_edid_connector_update(self.conn, update) };
        let count = if valid {
            // SAFETY: As above; adds the modes of the EDID just set.
            unsafe { bindings::drm_edid_connector_add_modes(self.conn) }
        } else {
            0
        };
        // SAFETY: `drm_edid` is null or ours from `drm_edid_alloc`, no longer used.
        unsafe { bindings::drm_edid_free(drm_edid) };
        u32::try_from(count).unwrap_or(0)
    }

    /// Adds the standard modes up to `max_width` x `max_height`; returns how many.
    pub(crate) fn add_modes_noedid(&self, max_width: u32, max_height: u32) -> u32 {
        let w = c_int::try_from(max_width).unwrap_or(c_int::MAX);
        let h = c_int::try_from(max_height).unwrap_or(c_int::MAX);
        // SAFETY: By the type invariant `conn` is valid and its mode probe lock is held.
        let n = unsafe { bindings::drm_add_modes_noedid(self.conn, w, h) };
        u32::try_from(n).unwrap_or(0)
    }

    /// Marks the probed mode of `width` x `height` preferred.
    pub(crate) fn set_preferred_mode(&self, width: u32, height: u32) {
        let w = c_int::try_from(width).unwrap_or(c_int::MAX);
        let h = c_int::try_from(height).unwrap_or(c_int::MAX);
        // SAFETY: By the type invariant `conn` is valid and its mode probe lock is held.
        unsafe { bindings::drm_set_preferred_mode(self.conn, w, h) };
    }

    /// Adds a preferred CVT mode of `width` x `height` at `refresh` Hz; `false` if no such
    /// mode could be made.
    pub(crate) fn add_preferred_cvt_mode(&self, width: u32, height: u32, refresh: u32) -> bool {
        let (Ok(w), Ok(h), Ok(r)) = (
            c_int::try_from(width),
            c_int::try_from(height),
            c_int::try_from(refresh),
        ) else {
            return false;
        };
        // SAFETY: By the type invariant `conn` is valid; `dev` is constant.
        let dev = unsafe { (*self.conn).dev };
        // SAFETY: `dev` is the connector's valid device; returns a new mode or null.
        let mode = unsafe { bindings::drm_cvt_mode(dev, w, h, r, false, false, false) };
        if mode.is_null() {
            return false;
        }
        // The flag fits the C field's `u8` (checked at compile time).
        const PREFERRED: u8 = {
            assert!(bindings::DRM_MODE_TYPE_PREFERRED <= u8::MAX as u32);
            bindings::DRM_MODE_TYPE_PREFERRED as u8
        };
        // SAFETY: `mode` is a new mode that we own until it is handed over below.
        unsafe { (*mode).type_ |= PREFERRED };
        // SAFETY: `conn` is valid and its mode probe lock is held; the connector takes
        // ownership of `mode`.
        unsafe { bindings::drm_mode_probed_add(self.conn, mode) };
        true
    }
}

/// The connector vtables of driver `T`.
pub(super) struct ConnectorVtable<T>(PhantomData<T>);

impl<T: DriverConnector> ConnectorVtable<T> {
    /// The connector functions: the probe and atomic helpers, as in the C driver.
    pub(super) const FUNCS: bindings::drm_connector_funcs = bindings::drm_connector_funcs {
        dpms: None,
        reset: Some(bindings::drm_atomic_helper_connector_reset),
        detect: Some(detect_callback::<T>),
        force: None,
        fill_modes: Some(bindings::drm_helper_probe_single_connector_modes),
        set_property: None,
        late_register: None,
        early_unregister: None,
        destroy: Some(destroy_callback),
        atomic_duplicate_state: Some(bindings::drm_atomic_helper_connector_duplicate_state),
        atomic_destroy_state: Some(bindings::drm_atomic_helper_connector_destroy_state),
        atomic_set_property: None,
        atomic_get_property: None,
        atomic_print_state: None,
        oob_hotplug_event: None,
        debugfs_init: None,
    };

    /// The connector helper functions.
    pub(super) const HELPER_FUNCS: bindings::drm_connector_helper_funcs =
        bindings::drm_connector_helper_funcs {
            get_modes: Some(get_modes_callback::<T>),
            detect_ctx: None,
            mode_valid: Some(mode_valid_callback::<T>),
            mode_valid_ctx: None,
            best_encoder: None,
            atomic_best_encoder: None,
            atomic_check: None,
            atomic_commit: None,
            prepare_writeback_job: None,
            cleanup_writeback_job: None,
            enable_hpd: None,
            disable_hpd: None,
        };
}

/// The device and output of a connector in a callback.
///
/// # Safety
///
/// `conn` must be a valid connector of a device of driver `T`, and the device must be
/// referenced, for `'a`.
unsafe fn context<'a, T: Driver>(
    conn: *mut bindings::drm_connector,
) -> (&'a Device<T>, &'a Output) {
    // SAFETY: By the safety requirements `conn` is valid; `dev` is constant.
    let raw_dev = unsafe { (*conn).dev };
    // SAFETY: `raw_dev` is a referenced device of driver `T`, by the safety requirements.
    let dev = unsafe { Device::<T>::from_raw(raw_dev) };
    // SAFETY: `conn` is a connector of a device of a KMS driver, alive for `'a`.
    let output = unsafe { Output::from_connector(conn) };
    (dev, output)
}

/// `drm_connector_funcs.detect`.
///
/// # Safety
///
/// Called by the probe helpers (from an ioctl, a DRM client or the poll/hotplug work, all
/// holding a device reference) with a connector of a device of driver `T`.
unsafe extern "C" fn detect_callback<T: DriverConnector>(
    conn: *mut bindings::drm_connector,
    _force: bool,
) -> bindings::drm_connector_status {
    // SAFETY: By the function's safety requirements.
    let (dev, output) = unsafe { context::<T>(conn) };
    if T::detect(dev, output) {
        bindings::drm_connector_status_connector_status_connected
    } else {
        bindings::drm_connector_status_connector_status_disconnected
    }
}

/// `drm_connector_helper_funcs.get_modes`.
///
/// # Safety
///
/// Called by `drm_helper_probe_single_connector_modes` with `mode_config.mutex` held, with
/// a connector of a referenced device of driver `T`.
unsafe extern "C" fn get_modes_callback<T: DriverConnector>(
    conn: *mut bindings::drm_connector,
) -> c_int {
    // SAFETY: By the function's safety requirements.
    let (dev, output) = unsafe { context::<T>(conn) };
    // INVARIANT: `conn` is valid and the probe lock is held for the call.
    let probe = ModeProbe {
        conn,
        _p: PhantomData,
    };
    c_int::try_from(T::get_modes(dev, output, &probe)).unwrap_or(c_int::MAX)
}

/// `drm_connector_helper_funcs.mode_valid`.
///
/// # Safety
///
/// Called by the probe helpers with `mode_config.mutex` held, with a connector of a
/// referenced device of driver `T` and one of its probed modes.
unsafe extern "C" fn mode_valid_callback<T: DriverConnector>(
    conn: *mut bindings::drm_connector,
    mode: *mut bindings::drm_display_mode,
) -> bindings::drm_mode_status {
    // SAFETY: By the function's safety requirements.
    let (dev, output) = unsafe { context::<T>(conn) };
    // SAFETY: `mode` is a valid mode, not modified during the call; `Mode` is
    // `repr(transparent)` over it.
    let mode = unsafe { &*mode.cast::<Mode>() };
    if T::mode_valid(dev, output, mode) {
        bindings::drm_mode_status_MODE_OK
    } else {
        bindings::drm_mode_status_MODE_BAD
    }
}

/// `drm_connector_funcs.destroy`: unregisters and cleans up the connector, as the C driver
/// does. Runs from the mode config cleanup, possibly after the driver data is gone: it
/// touches nothing but the connector.
///
/// # Safety
///
/// Called by DRM once, when the last reference to the connector is dropped; the connector's
/// memory is still valid (DRM-managed, freed after the mode config cleanup).
unsafe extern "C" fn destroy_callback(conn: *mut bindings::drm_connector) {
    // SAFETY: By the function's safety requirements `conn` is a valid connector.
    unsafe { bindings::drm_connector_unregister(conn) };
    // SAFETY: As above; the connector is not used again.
    unsafe { bindings::drm_connector_cleanup(conn) };
}
