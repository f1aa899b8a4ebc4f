// SPDX-License-Identifier: GPL-2.0

//! Connectors: the [`DriverConnector`] trait, typed [`Connector`] objects with driver data,
//! their vtables, mode probing.
//!
//! C headers: [`include/drm/drm_connector.h`](srctree/include/drm/drm_connector.h),
//! [`include/drm/drm_edid.h`](srctree/include/drm/drm_edid.h),
//! [`include/drm/drm_modes.h`](srctree/include/drm/drm_modes.h)

use core::{marker::PhantomData, ops::Deref};

use kernel::{error::to_result, ffi::c_int, prelude::*, types::Opaque};

use super::{encoder::Encoder, KmsDriver};
use crate::{drm::Device, glue::bindings};

/// The kind of a connector (`DRM_MODE_CONNECTOR_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnectorType {
    /// A virtual display (a virtual machine's window, a remote display).
    Virtual,
}

impl ConnectorType {
    fn raw(self) -> c_int {
        match self {
            ConnectorType::Virtual => bindings::DRM_MODE_CONNECTOR_VIRTUAL as c_int,
        }
    }
}

/// What a driver answers about one of its connectors. `detect` and `mode_valid` are optional
/// (`#[vtable]`: without `detect` a connector is always connected, without `mode_valid` every
/// probed mode is kept).
///
/// Contract: the hooks run from probes (ioctls, DRM clients, the hotplug work), which hold a
/// device reference. The connector's data (`Self`) is dropped at mode config cleanup, after
/// the driver data is gone: its `Drop` must not reach the device.
#[vtable]
pub(crate) trait DriverConnector: Send + Sync + Sized + 'static {
    /// The driver whose connectors these are.
    type Driver: KmsDriver;

    /// `detect`: a display is connected.
    fn detect(conn: &Connector<Self>) -> bool {
        let _ = conn;
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `get_modes`: adds the modes through `probe`; returns how many it added. Required.
    fn get_modes(conn: &Connector<Self>, probe: &ModeProbe<'_>) -> u32;

    /// `mode_valid`: `mode` (one `get_modes` added) can be used.
    fn mode_valid(conn: &Connector<Self>, mode: &Mode) -> bool {
        let _ = (conn, mode);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// A connector of driver data `T`.
///
/// # Invariants
///
/// - Created by [`Connector::new`]: pinned in a `KBox`, `raw` first (`repr(C)`), initialised
///   with the vtables of [`ConnectorVtable<T>`] on a device of `T::Driver`.
/// - Valid as long as its device: the connector's `destroy` (mode config cleanup, when the
///   last reference goes) frees it.
#[repr(C)]
#[pin_data]
pub(crate) struct Connector<T: DriverConnector> {
    #[pin]
    raw: Opaque<bindings::drm_connector>,
    data: T,
}

impl<T: DriverConnector> Connector<T> {
    /// Allocates and initialises a connector of `dev` of `kind` with the data `data`.
    ///
    /// # Safety
    ///
    /// `dev` must be a valid, unregistered device of `T::Driver` with an initialised mode
    /// config.
    pub(super) unsafe fn new<'a>(
        dev: &'a Device<T::Driver>,
        kind: ConnectorType,
        data: T,
    ) -> Result<&'a Self> {
        let init = try_pin_init!(Self {
            raw <- super::zeroed(),
            data,
        }? Error);
        let register = |ptr: *mut Self| {
            // SAFETY: `ptr` is the valid, pinned allocation `give_to_drm` made.
            let raw = unsafe { (*ptr).raw.get() };
            // SAFETY: `dev` is valid with an initialised mode config (safety requirements);
            // `raw` is zeroed, pinned memory; the vtable is a `'static` constant.
            to_result(unsafe {
                bindings::drm_connector_init(
                    dev.as_raw(),
                    raw,
                    &ConnectorVtable::<T>::FUNCS,
                    kind.raw(),
                )
            })?;
            // SAFETY: `raw` was initialised above; the helper functions are a `'static`
            // constant.
            unsafe {
                bindings::vgrs_drm_connector_helper_add(raw, &ConnectorVtable::<T>::HELPER_FUNCS)
            };
            Ok(())
        };
        // INVARIANT: initialised with `T`'s vtables, freed by `destroy_callback`.
        // SAFETY: On success the connector belongs to DRM until the mode config cleanup
        // (after every borrow of `dev`), and `destroy_callback` frees it with
        // `KBox::from_raw`; a failed `drm_connector_init` leaves DRM without it.
        unsafe { super::give_to_drm(init, register) }
    }

    /// # Safety
    ///
    /// `conn` must be a `Connector<T>`, alive for `'a`.
    unsafe fn from_raw<'a>(conn: *const bindings::drm_connector) -> &'a Self {
        // SAFETY: A `Connector<T>` starts with its `drm_connector` (`repr(C)`, `raw` first).
        unsafe { &*conn.cast::<Self>() }
    }

    /// The `drm_connector`.
    pub(crate) fn as_raw(&self) -> *mut bindings::drm_connector {
        self.raw.get()
    }

    /// The device the connector belongs to.
    pub(crate) fn device(&self) -> &Device<T::Driver> {
        // SAFETY: The connector is valid (type invariant); `dev` is set at init and constant,
        // a device of `T::Driver` that outlives its connectors.
        unsafe { Device::from_raw((*self.as_raw()).dev) }
    }

    /// Adds the EDID property (set up only, see [`super::KmsBuilder`]).
    pub(super) fn attach_edid_property(&self) {
        // SAFETY: The connector is initialised and its device not registered yet (only the
        // builder calls this).
        unsafe { bindings::drm_connector_attach_edid_property(self.as_raw()) };
    }

    /// Lets the connector be driven by `encoder` (set up only, see [`super::KmsBuilder`]).
    pub(super) fn attach_encoder(&self, encoder: &Encoder) -> Result {
        // SAFETY: Both are initialised objects of the same, unregistered device (only the
        // builder calls this).
        kernel::error::to_result(unsafe {
            bindings::drm_connector_attach_encoder(self.as_raw(), encoder.as_raw())
        })
    }
}

impl<T: DriverConnector> Deref for Connector<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

/// A display mode (`struct drm_display_mode`) being validated.
///
/// # Invariants
///
/// `self.0` is a valid mode, not modified while a `&Mode` exists.
#[repr(transparent)]
pub(crate) struct Mode(Opaque<bindings::drm_display_mode>);

impl Mode {
    /// # Safety
    ///
    /// `ptr` must be a valid mode, unmodified for `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *const bindings::drm_display_mode) -> &'a Self {
        // SAFETY: `Mode` is `repr(transparent)` over the C struct; the caller guarantees
        // validity for `'a`.
        unsafe { &*ptr.cast() }
    }

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

    /// The timing that decides the refresh rate: pixel clock (kHz), total width and height,
    /// vertical scan multiplier, and the flags (`DRM_MODE_FLAG_*`).
    pub(crate) fn timing(&self) -> ModeTiming {
        let m = self.raw();
        ModeTiming {
            clock_khz: m.clock,
            htotal: m.htotal,
            vtotal: m.vtotal,
            vscan: m.vscan,
            interlace: m.flags & bindings::DRM_MODE_FLAG_INTERLACE != 0,
            dblscan: m.flags & bindings::DRM_MODE_FLAG_DBLSCAN != 0,
        }
    }

    /// The mode is marked preferred.
    pub(crate) fn is_preferred(&self) -> bool {
        u32::from(self.raw().type_) & bindings::DRM_MODE_TYPE_PREFERRED != 0
    }
}

/// What decides a mode's refresh rate, as [`Mode::timing`] reads it from the mode.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ModeTiming {
    /// Pixel clock in kHz (userspace may give any `int`).
    pub(crate) clock_khz: i32,
    /// Pixels per line, blanking included.
    pub(crate) htotal: u16,
    /// Lines per frame, blanking included.
    pub(crate) vtotal: u16,
    /// Times each line is scanned (0 and 1: once).
    pub(crate) vscan: u16,
    /// Interlaced: two fields per frame.
    pub(crate) interlace: bool,
    /// Double scan: each line twice.
    pub(crate) dblscan: bool,
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
    /// If the user set an EDID for the connector (debugfs `edid_override`, or the
    /// `drm.edid_firmware` parameter), makes it the connector's EDID and adds its modes;
    /// returns how many (0: none set, or an invalid one).
    pub(crate) fn add_override_modes(&self) -> u32 {
        // SAFETY: By the type invariant `conn` is valid and its mode probe lock is held.
        let n = unsafe { bindings::drm_edid_override_connector_update(self.conn) };
        u32::try_from(n).unwrap_or(0)
    }

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

/// The connector vtables of driver data `T`.
pub(super) struct ConnectorVtable<T>(PhantomData<T>);

impl<T: DriverConnector> ConnectorVtable<T> {
    /// The connector functions: the probe and atomic helpers, with `T`'s `detect`.
    pub(super) const FUNCS: bindings::drm_connector_funcs = bindings::drm_connector_funcs {
        dpms: None,
        reset: Some(bindings::drm_atomic_helper_connector_reset),
        detect: if T::HAS_DETECT {
            Some(detect_callback::<T>)
        } else {
            None
        },
        force: None,
        fill_modes: Some(bindings::drm_helper_probe_single_connector_modes),
        set_property: None,
        late_register: None,
        early_unregister: None,
        destroy: Some(destroy_callback::<T>),
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
            mode_valid: if T::HAS_MODE_VALID {
                Some(mode_valid_callback::<T>)
            } else {
                None
            },
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

/// `drm_connector_funcs.detect`.
///
/// # Safety
///
/// Called by the probe helpers (from an ioctl, a DRM client or the poll/hotplug work, all
/// holding a device reference) with a `Connector<T>`.
unsafe extern "C" fn detect_callback<T: DriverConnector>(
    conn: *mut bindings::drm_connector,
    _force: bool,
) -> bindings::drm_connector_status {
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Connector::<T>::from_raw(conn) };
    if T::detect(this) {
        bindings::drm_connector_status_connector_status_connected
    } else {
        bindings::drm_connector_status_connector_status_disconnected
    }
}

/// `drm_connector_helper_funcs.get_modes`.
///
/// # Safety
///
/// Called by `drm_helper_probe_single_connector_modes` with `mode_config.mutex` held, with a
/// `Connector<T>` of a referenced device.
unsafe extern "C" fn get_modes_callback<T: DriverConnector>(
    conn: *mut bindings::drm_connector,
) -> c_int {
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Connector::<T>::from_raw(conn) };
    // INVARIANT: `conn` is valid and the probe lock is held for the call.
    let probe = ModeProbe {
        conn,
        _p: PhantomData,
    };
    c_int::try_from(T::get_modes(this, &probe)).unwrap_or(c_int::MAX)
}

/// `drm_connector_helper_funcs.mode_valid`.
///
/// # Safety
///
/// Called by the probe helpers with `mode_config.mutex` held, with a `Connector<T>` of a
/// referenced device and one of its probed modes.
unsafe extern "C" fn mode_valid_callback<T: DriverConnector>(
    conn: *mut bindings::drm_connector,
    mode: *mut bindings::drm_display_mode,
) -> bindings::drm_mode_status {
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Connector::<T>::from_raw(conn) };
    // SAFETY: `mode` is a valid mode, not modified during the call.
    let mode = unsafe { Mode::from_raw(mode) };
    if T::mode_valid(this, mode) {
        bindings::drm_mode_status_MODE_OK
    } else {
        bindings::drm_mode_status_MODE_BAD
    }
}

/// `drm_connector_funcs.destroy`: unregisters and cleans up the connector, as the C driver
/// does, and frees it (with the driver data). Runs from the mode config cleanup, possibly after
/// the driver data is gone: it touches nothing but the connector.
///
/// # Safety
///
/// Called by DRM once, for a `Connector<T>`, when the last reference to it is dropped.
unsafe extern "C" fn destroy_callback<T: DriverConnector>(conn: *mut bindings::drm_connector) {
    // SAFETY: By the function's safety requirements `conn` is a valid connector.
    unsafe { bindings::drm_connector_unregister(conn) };
    // SAFETY: As above; the connector is not used by DRM again.
    unsafe { bindings::drm_connector_cleanup(conn) };
    // SAFETY: `Connector::new` allocated it with `KBox` and leaked it; nothing uses it now.
    drop(unsafe { KBox::from_raw(conn.cast::<Connector<T>>()) });
}
