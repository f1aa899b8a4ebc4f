// SPDX-License-Identifier: GPL-2.0

//! CRTCs: the [`DriverCrtc`] trait, typed [`Crtc`] objects with driver data, their vtables.
//!
//! Every CRTC created by the abstraction runs the emulated vblank ([`super::vblank`]): its
//! `atomic_enable`/`atomic_disable` turn the timer on and off and its `atomic_flush` arms or
//! sends the commit's event; the driver's hooks run inside those.
//!
//! C headers: [`include/drm/drm_crtc.h`](srctree/include/drm/drm_crtc.h),
//! [`include/drm/drm_modeset_helper_vtables.h`](srctree/include/drm/drm_modeset_helper_vtables.h)

use core::{
    marker::PhantomData,
    ops::Deref,
    sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
};

use kernel::{
    error::to_result,
    ffi::{c_char, c_int},
    prelude::*,
    types::Opaque,
};

use super::{
    connector::Mode,
    plane::{Plane, PlaneState},
    vblank,
    vblank::VblankTimer,
    DriverPlane, KmsDriver, RegisterError,
};
use crate::{drm::Device, glue::bindings};

/// What a driver does when the atomic helpers program one of its CRTCs. Every hook is
/// optional (`#[vtable]`); a missing one is a `NULL` entry, which the helpers skip.
///
/// Contract: the hooks run from commits and probes, which hold a device reference, so they
/// may use the device and its data. The CRTC's data (`Self`) is dropped when the mode config
/// is cleaned up, after the driver data is gone: its `Drop` must not reach the device.
#[vtable]
pub(crate) trait DriverCrtc: Send + Sync + Sized + 'static {
    /// The driver whose CRTCs these are.
    type Driver: KmsDriver;

    /// `mode_valid`: whether `mode` can be set on the CRTC. Unlike the connector's, this one
    /// is also asked by the atomic check, for modes userspace makes up.
    fn mode_valid(crtc: &Crtc<Self>, mode: &Mode) -> bool {
        let _ = (crtc, mode);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `mode_set_nofb`: the mode `mode` is being set.
    fn mode_set_nofb(crtc: &Crtc<Self>, mode: &Mode) {
        let _ = (crtc, mode);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `atomic_flush`: the plane updates of a commit are done; `needs_modeset` if the commit
    /// changed the mode, the enable state or the connectors. Returns when the commit's event
    /// goes out (without this hook: with the next vblank).
    fn atomic_flush(crtc: &Crtc<Self>, needs_modeset: bool) -> FlushEvent {
        let _ = (crtc, needs_modeset);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `atomic_enable`: the CRTC is switched on (after the emulated vblank is).
    fn atomic_enable(crtc: &Crtc<Self>) {
        let _ = crtc;
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `atomic_disable`: the CRTC is switched off (before the emulated vblank is).
    fn atomic_disable(crtc: &Crtc<Self>) {
        let _ = crtc;
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `set_crc_source`: start (`Some`) or stop (`None`) CRC generation from `source`.
    fn set_crc_source(crtc: &Crtc<Self>, source: Option<&CStr>) -> Result {
        let _ = (crtc, source);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `verify_crc_source`: whether `source` is a valid CRC source; returns the number of
    /// CRC values per frame.
    fn verify_crc_source(crtc: &Crtc<Self>, source: Option<&CStr>) -> Result<usize> {
        let _ = (crtc, source);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `get_crc_sources`: the CRC source names (a `static` [`CrcSources`]).
    fn get_crc_sources(crtc: &Crtc<Self>) -> &'static [*const c_char] {
        let _ = crtc;
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// When a commit's event goes out, as [`DriverCrtc::atomic_flush`] decides (an asynchronous
/// flip's goes out at once either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FlushEvent {
    /// With the next vblank of the emulated timer: the picture is shown by a display that
    /// scans out on its own clock, as a display controller's.
    NextVblank,
    /// At once: the device shows the commit's picture when it handles the commands already
    /// queued, before anything that could change the buffers again, and on no scanout clock
    /// of its own, so waiting for the emulated vblank would only add latency.
    Now,
}

/// The part of every CRTC that does not depend on the driver: the C object and its emulated
/// vblank. The first field of every [`Crtc`], so a `drm_crtc` of the abstraction is also the
/// start of a `CrtcBase`.
///
/// # Invariants
///
/// - Allocated pinned (inside a [`Crtc`], by [`Crtc::new`]), with `vblank`'s timer initialised
///   and `vblank.timer`'s owner set before `raw` is initialised with the vtables of
///   [`CrtcVtable`], which install the vblank callbacks of [`super::vblank`].
/// - Valid until the CRTC's `destroy` (the mode config cleanup) frees it, which stops the
///   timer first.
#[repr(C)]
#[pin_data]
pub(crate) struct CrtcBase {
    #[pin]
    raw: Opaque<bindings::drm_crtc>,
    #[pin]
    pub(super) vblank: VblankTimer,
    /// The CRC the emulated vblank reports per frame while a CRC source is on.
    pub(super) crc: FrameCrc,
}

/// The CRC of what a CRTC shows, reported every vblank while a CRC source is on (as vkms
/// repeats its last CRC for frames without a new composition).
///
/// The driver computes the CRC of a new picture when it is committed ([`Crtc::queue_crc`]);
/// the next vblank makes it current (the vblank that also completes the commit's flip), and
/// every vblank from then on reports it with its frame number.
pub(crate) struct FrameCrc {
    /// A CRC source is on.
    enabled: AtomicBool,
    /// The CRC reported each vblank.
    current: AtomicU32,
    /// A CRC waiting for the next vblank (bit 32 set), or 0.
    pending: AtomicU64,
}

/// Marks [`FrameCrc::pending`] as holding a CRC.
const CRC_PENDING: u64 = 1 << 32;

impl FrameCrc {
    fn new() -> Self {
        Self {
            enabled: AtomicBool::new(false),
            current: AtomicU32::new(0),
            pending: AtomicU64::new(0),
        }
    }

    /// One emulated vblank of `crtc` (in the timer's callback, after the vblank core counted
    /// it): makes a queued CRC current and reports the current one for this frame.
    pub(super) fn vblank(&self, crtc: &CrtcBase) {
        if !self.enabled.load(Ordering::Acquire) {
            return;
        }
        let p = self.pending.swap(0, Ordering::AcqRel);
        if p & CRC_PENDING != 0 {
            self.current.store(p as u32, Ordering::Release);
        }
        let mut crc = self.current.load(Ordering::Acquire);
        // SAFETY: The CRTC is initialised and its vblank core alive while its timer runs
        // (type invariant of `VblankTimer`); reading the count is allowed in any context.
        let frame = unsafe { bindings::drm_crtc_vblank_count(crtc.as_raw()) };
        // SAFETY: As above; `crc` is one value, as `verify_crc_source` told DRM. The function
        // takes the CRC lock with interrupts saved and drops the entry if no one reads (no
        // buffer), so it may be called from the timer at any time.
        let _ = unsafe {
            bindings::drm_crtc_add_crc_entry(crtc.as_raw(), true, frame as u32, &mut crc)
        };
    }
}

impl CrtcBase {
    /// The `drm_crtc`.
    pub(crate) fn as_raw(&self) -> *mut bindings::drm_crtc {
        self.raw.get()
    }

    /// The CRTC's index on its device (`drm_crtc_index`), fixed at creation.
    pub(crate) fn index(&self) -> u32 {
        // SAFETY: By the type invariant the CRTC is valid; `index` is set at init and then
        // constant.
        unsafe { (*self.as_raw()).index }
    }

    /// The `CrtcBase` whose `raw` is `crtc`.
    ///
    /// # Safety
    ///
    /// `crtc` must be a CRTC created by the abstraction (so the `raw` of a [`CrtcBase`]),
    /// alive for `'a`.
    pub(super) unsafe fn from_raw<'a>(crtc: *const bindings::drm_crtc) -> &'a Self {
        // SAFETY: `raw` is the first field of the `repr(C)` `CrtcBase` and `Opaque` is
        // `repr(transparent)`, so the pointers are the same; valid for `'a` by the safety
        // requirements.
        unsafe { &*crtc.cast::<Self>() }
    }

    /// The `CrtcBase` whose vblank timer is `timer`.
    ///
    /// # Safety
    ///
    /// `timer` must be the `vblank.timer` field of a [`CrtcBase`], alive for `'a`.
    pub(super) unsafe fn from_vblank_timer<'a>(timer: *const bindings::hrtimer) -> &'a Self {
        // SAFETY: By the safety requirements `timer` is the `vblank.timer` field of a
        // `CrtcBase` (`Opaque` is `repr(transparent)`), so stepping back by its offset stays in
        // bounds.
        let ptr = unsafe { kernel::container_of!(timer, CrtcBase, vblank.timer) };
        // SAFETY: `ptr` points to a live `CrtcBase` for `'a`, by the safety requirements.
        unsafe { &*ptr }
    }
}

/// A CRTC of driver data `T`.
///
/// # Invariants
///
/// - Created by [`Crtc::new`]: pinned in a `KBox`, `base` first (`repr(C)`), `base.raw`
///   initialised with the vtables of [`CrtcVtable<T>`] on a device of `T::Driver`. The
///   function table therefore identifies the data type: a CRTC whose `funcs->destroy` is
///   `destroy_callback::<T>` is a `Crtc<T>`.
/// - Valid as long as its device: the CRTC's `destroy` (mode config cleanup) frees it.
#[repr(C)]
#[pin_data]
pub(crate) struct Crtc<T: DriverCrtc> {
    #[pin]
    base: CrtcBase,
    data: T,
}

impl<T: DriverCrtc> Crtc<T> {
    /// Allocates and initialises a CRTC of `dev` with `primary` and `cursor` planes and the
    /// data `data`.
    ///
    /// # Safety
    ///
    /// `dev` must be a valid, unregistered device of `T::Driver` with an initialised mode
    /// config; `primary` and `cursor` (null: none) initialised planes of it.
    pub(super) unsafe fn new<'a>(
        dev: &'a Device<T::Driver>,
        primary: *mut bindings::drm_plane,
        cursor: *mut bindings::drm_plane,
        data: T,
    ) -> Result<&'a Self> {
        let init = try_pin_init!(Self {
            base <- pin_init!(CrtcBase {
                raw <- super::zeroed(),
                vblank <- VblankTimer::new(),
                crc: FrameCrc::new(),
            }),
            data,
        }? Error);
        let register = |ptr: *mut Self| {
            // SAFETY: `ptr` is the valid, pinned allocation `give_to_drm` made.
            let raw = unsafe { (*ptr).base.as_raw() };
            // SAFETY: `dev` is valid with an initialised mode config (safety requirements);
            // `raw` is zeroed, pinned memory; the planes are initialised planes of `dev` or
            // null; the vtables are `'static` constants; a null name makes DRM pick one.
            let ret = unsafe {
                bindings::drm_crtc_init_with_planes(
                    dev.as_raw(),
                    raw,
                    primary,
                    cursor,
                    &CrtcVtable::<T>::FUNCS,
                    core::ptr::null(),
                )
            };
            if let Err(e) = to_result(ret) {
                // 6.12's `drm_crtc_init_with_planes` can fail after it put the CRTC on the
                // mode config's list: when the `kstrdup` of its CRC source fails it only
                // unregisters the mode object. The mode config cleanup then destroys the CRTC
                // (found by the probe sweep of the debug kernel: a KASAN use-after-free in
                // `drm_mode_config_cleanup` after the CRTC had been freed here), so it stays.
                // SAFETY: `raw` is valid (above); `head` was zeroed and only `list_add_tail`
                // in the init sets it.
                let listed = unsafe { !(*raw).head.next.is_null() };
                return Err(if listed {
                    RegisterError::Kept(e)
                } else {
                    RegisterError::Unknown(e)
                });
            }
            // SAFETY: `raw` was initialised above; the helper functions are a `'static`
            // constant.
            unsafe { bindings::vgrs_drm_crtc_helper_add(raw, &CrtcVtable::<T>::HELPER_FUNCS) };
            Ok(())
        };
        // INVARIANT: initialised with `T`'s vtables, freed by `destroy_callback`.
        // SAFETY: On success, or a failure that left it on the mode config's list (`Kept`),
        // the CRTC belongs to DRM until the mode config cleanup (after every borrow of `dev`),
        // and `destroy_callback` frees it with `KBox::from_raw`; any other failed
        // `drm_crtc_init_with_planes` leaves DRM without it.
        unsafe { super::give_to_drm(init, register) }
    }

    /// The CRTC behind `crtc` if it is a `Crtc<T>` (its functions are `T`'s), else `None`.
    ///
    /// # Safety
    ///
    /// `crtc` must be null or a valid CRTC that stays alive for `'a`.
    pub(crate) unsafe fn from_raw_checked<'a>(crtc: *const bindings::drm_crtc) -> Option<&'a Self> {
        if crtc.is_null() {
            return None;
        }
        // SAFETY: `crtc` is valid (safety requirements); `funcs` is set at init and constant.
        let funcs = unsafe { (*crtc).funcs };
        if funcs.is_null() {
            return None;
        }
        // Compared by the `destroy` entry, a function instantiated once per `T` (the kernel
        // builds a crate as one codegen unit, so the instance has one address); two uses of a
        // promoted `const` are not guaranteed one address.
        // SAFETY: A CRTC's non-null `funcs` points to its (static) function table.
        let destroy = unsafe { (*funcs).destroy };
        if destroy.map(|f| f as *const ()) != Some(destroy_callback::<T> as *const ()) {
            return None;
        }
        // SAFETY: `T`'s functions mean it is a `Crtc<T>` (type invariant), which starts with
        // its `drm_crtc`; alive for `'a` by the safety requirements.
        Some(unsafe { &*crtc.cast::<Self>() })
    }

    /// # Safety
    ///
    /// `crtc` must be a `Crtc<T>` (one with `T`'s vtables), alive for `'a`.
    unsafe fn from_raw<'a>(crtc: *const bindings::drm_crtc) -> &'a Self {
        // SAFETY: A `Crtc<T>` starts with its `drm_crtc` (`repr(C)`, `base.raw` first).
        unsafe { &*crtc.cast::<Self>() }
    }

    /// The device the CRTC belongs to.
    pub(crate) fn device(&self) -> &Device<T::Driver> {
        // SAFETY: The CRTC is valid (type invariant); `dev` is set at init and constant, a
        // device of `T::Driver` that outlives its CRTCs.
        unsafe { Device::from_raw((*self.base.as_raw()).dev) }
    }

    /// The CRTC's index on its device.
    pub(crate) fn index(&self) -> u32 {
        self.base.index()
    }

    /// The driver-independent part (the raw CRTC and its vblank).
    /// Turns the CRC reports on (from `set_crc_source`, with the CRC of what the CRTC shows
    /// now) or off. While on, the CRTC holds a vblank reference, so its emulated vblank runs
    /// and reports a CRC every frame (`EINVAL` if the CRTC is off).
    pub(crate) fn set_crc_enabled(&self, on: bool, crc: u32) -> Result {
        let c = &self.base.crc;
        if on {
            c.current.store(crc, Ordering::Release);
            c.pending.store(0, Ordering::Release);
            if !c.enabled.load(Ordering::Acquire) {
                // SAFETY: The CRTC is initialised on a device with the vblank core (set up
                // by `KmsBuilder::finish`); process context.
                to_result(unsafe { bindings::drm_crtc_vblank_get(self.base.as_raw()) })?;
                c.enabled.store(true, Ordering::Release);
            }
        } else if c.enabled.swap(false, Ordering::AcqRel) {
            // SAFETY: As above; the reference taken when the reports were turned on.
            unsafe { bindings::drm_crtc_vblank_put(self.base.as_raw()) };
        }
        Ok(())
    }

    /// Runs `f` with the current states of the CRTC's primary and cursor planes if they are
    /// planes of `P`, holding every modeset lock of the device (`drm_modeset_lock_all`), so no
    /// commit changes them meanwhile. For paths that run outside commits (a CRC source turned
    /// on through debugfs); `f` must not start a commit.
    pub(crate) fn with_plane_states<P: DriverPlane, R>(
        &self,
        f: impl FnOnce(Option<&PlaneState<P>>, Option<&PlaneState<P>>) -> R,
    ) -> R {
        let dev = self.device().as_raw();
        // SAFETY: The device is valid while its CRTC is; process context, no modeset lock of
        // ours is held (the callers run outside commits); the allocation of its acquire
        // context cannot fail (`__GFP_NOFAIL`).
        unsafe { bindings::drm_modeset_lock_all(dev) };
        let raw = self.base.as_raw();
        // SAFETY: The CRTC is valid; `primary` and `cursor` are set at init and constant,
        // planes of the same device (or null).
        let (primary, cursor) = unsafe { ((*raw).primary, (*raw).cursor) };
        // SAFETY: Planes of the abstraction's device live as long as the device (or null).
        let primary = unsafe { Plane::<P>::from_raw_checked(primary) };
        // SAFETY: As above.
        let cursor = unsafe { Plane::<P>::from_raw_checked(cursor) };
        // SAFETY: Every modeset lock of the device is held until the unlock below, after `f`.
        let states = unsafe {
            (
                primary.and_then(|p| p.current_state()),
                cursor.and_then(|p| p.current_state()),
            )
        };
        let r = f(states.0, states.1);
        // SAFETY: Taken above, by this thread.
        unsafe { bindings::drm_modeset_unlock_all(dev) };
        r
    }

    /// Whether a CRC source is on.
    pub(crate) fn crc_enabled(&self) -> bool {
        self.base.crc.enabled.load(Ordering::Acquire)
    }

    /// The CRC of a newly committed picture: reported from the next vblank on.
    pub(crate) fn queue_crc(&self, crc: u32) {
        self.base
            .crc
            .pending
            .store(CRC_PENDING | u64::from(crc), Ordering::Release);
    }

    pub(crate) fn base(&self) -> &CrtcBase {
        &self.base
    }
}

impl<T: DriverCrtc> Deref for Crtc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

/// The CRTC vtables of driver data `T`.
pub(super) struct CrtcVtable<T>(PhantomData<T>);

impl<T: DriverCrtc> CrtcVtable<T> {
    /// The CRTC functions: the atomic helpers, the emulated vblank and `T`'s CRC hooks.
    pub(super) const FUNCS: bindings::drm_crtc_funcs = bindings::drm_crtc_funcs {
        reset: Some(bindings::drm_atomic_helper_crtc_reset),
        cursor_set: None,
        cursor_set2: None,
        cursor_move: None,
        gamma_set: None,
        destroy: Some(destroy_callback::<T>),
        set_config: Some(bindings::drm_atomic_helper_set_config),
        page_flip: Some(bindings::drm_atomic_helper_page_flip),
        page_flip_target: None,
        set_property: None,
        atomic_duplicate_state: Some(bindings::drm_atomic_helper_crtc_duplicate_state),
        atomic_destroy_state: Some(bindings::drm_atomic_helper_crtc_destroy_state),
        atomic_set_property: None,
        atomic_get_property: None,
        late_register: None,
        early_unregister: None,
        set_crc_source: if T::HAS_SET_CRC_SOURCE {
            Some(set_crc_source_callback::<T>)
        } else {
            None
        },
        verify_crc_source: if T::HAS_VERIFY_CRC_SOURCE {
            Some(verify_crc_source_callback::<T>)
        } else {
            None
        },
        get_crc_sources: if T::HAS_GET_CRC_SOURCES {
            Some(get_crc_sources_callback::<T>)
        } else {
            None
        },
        atomic_print_state: None,
        get_vblank_counter: None,
        enable_vblank: Some(vblank::enable_vblank_callback),
        disable_vblank: Some(vblank::disable_vblank_callback),
        get_vblank_timestamp: Some(vblank::get_vblank_timestamp_callback),
    };

    /// The CRTC helper functions: `atomic_enable`/`atomic_disable` turn the emulated vblank
    /// on and off and `atomic_flush` arms the commit's event, around `T`'s hooks.
    pub(super) const HELPER_FUNCS: bindings::drm_crtc_helper_funcs =
        bindings::drm_crtc_helper_funcs {
            dpms: None,
            prepare: None,
            commit: None,
            mode_valid: if T::HAS_MODE_VALID {
                Some(mode_valid_callback::<T>)
            } else {
                None
            },
            mode_fixup: None,
            mode_set: None,
            mode_set_nofb: if T::HAS_MODE_SET_NOFB {
                Some(mode_set_nofb_callback::<T>)
            } else {
                None
            },
            mode_set_base: None,
            mode_set_base_atomic: None,
            disable: None,
            atomic_check: None,
            atomic_begin: None,
            atomic_flush: Some(atomic_flush_callback::<T>),
            atomic_enable: Some(atomic_enable_callback::<T>),
            atomic_disable: Some(atomic_disable_callback::<T>),
            get_scanout_position: None,
        };
}

/// `drm_crtc_funcs.destroy`: stops the vblank timer, cleans the CRTC up and frees it (with
/// the driver data). Runs from the mode config cleanup, possibly after the driver data is
/// gone: it touches nothing but the CRTC.
///
/// # Safety
///
/// Called by DRM once, for a `Crtc<T>`, when the mode config is cleaned up.
unsafe extern "C" fn destroy_callback<T: DriverCrtc>(crtc: *mut bindings::drm_crtc) {
    // SAFETY: By the function's safety requirements `crtc` is a live `Crtc<T>`.
    let this = unsafe { Crtc::<T>::from_raw(crtc) };
    // The mode config cleanup runs in process context without locks.
    this.base.vblank.stop_sync();
    // SAFETY: `crtc` is valid and not used by DRM after this callback.
    unsafe { bindings::drm_crtc_cleanup(crtc) };
    // SAFETY: `Crtc::new` allocated it with `KBox` and leaked it; nothing uses it any more.
    drop(unsafe { KBox::from_raw(crtc.cast::<Crtc<T>>()) });
}

/// `drm_crtc_helper_funcs.mode_valid`.
///
/// # Safety
///
/// Called by the helpers (probe or atomic check, holding a device reference) with a
/// `Crtc<T>` and a valid mode, unmodified during the call.
unsafe extern "C" fn mode_valid_callback<T: DriverCrtc>(
    crtc: *mut bindings::drm_crtc,
    mode: *const bindings::drm_display_mode,
) -> bindings::drm_mode_status {
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Crtc::<T>::from_raw(crtc) };
    // SAFETY: `mode` is valid and unmodified for the call.
    let mode = unsafe { Mode::from_raw(mode) };
    if T::mode_valid(this, mode) {
        bindings::drm_mode_status_MODE_OK
    } else {
        bindings::drm_mode_status_MODE_BAD
    }
}

/// `drm_crtc_helper_funcs.mode_set_nofb`.
///
/// # Safety
///
/// Called by the atomic helpers during a commit, which holds a reference to the device, with
/// a `Crtc<T>`.
unsafe extern "C" fn mode_set_nofb_callback<T: DriverCrtc>(crtc: *mut bindings::drm_crtc) {
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Crtc::<T>::from_raw(crtc) };
    // SAFETY: `crtc` is valid; the helpers updated its legacy `mode` from the new state
    // before calling `mode_set_nofb`, and the commit owns it for the call.
    let mode = unsafe { Mode::from_raw(&raw const (*crtc).mode) };
    T::mode_set_nofb(this, mode);
}

/// `drm_crtc_helper_funcs.atomic_flush`: `T`'s hook, then the commit's event.
///
/// # Safety
///
/// Called by the atomic helpers during a commit of `state` (which holds a reference to the
/// device), with a `Crtc<T>` that is part of `state`.
unsafe extern "C" fn atomic_flush_callback<T: DriverCrtc>(
    crtc: *mut bindings::drm_crtc,
    state: *mut bindings::drm_atomic_state,
) {
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Crtc::<T>::from_raw(crtc) };
    // SAFETY: `state` is the valid state being committed and `crtc` is part of it.
    let new = unsafe { bindings::vgrs_drm_atomic_get_new_crtc_state(state, crtc) };
    let mut when = FlushEvent::NextVblank;
    if T::HAS_ATOMIC_FLUSH {
        let needs_modeset = !new.is_null()
            // SAFETY: `new` is the CRTC's valid new state in `state` (checked non-null).
            && unsafe { bindings::vgrs_drm_atomic_crtc_needs_modeset(new) };
        when = T::atomic_flush(this, needs_modeset);
    }
    if !new.is_null() {
        // SAFETY: `crtc` is an initialised CRTC of the abstraction on a device whose vblank
        // was set up by `KmsBuilder::finish`; `new` is its valid new state, owned by this
        // commit.
        unsafe {
            vblank::flush_event(
                crtc,
                new,
                <T::Driver as KmsDriver>::CONFIG.internal_events_now,
                when == FlushEvent::Now,
            )
        };
    }
}

/// `drm_crtc_helper_funcs.atomic_enable`.
///
/// # Safety
///
/// Called by the atomic helpers during a commit (which holds a reference to the device),
/// with a `Crtc<T>`.
unsafe extern "C" fn atomic_enable_callback<T: DriverCrtc>(
    crtc: *mut bindings::drm_crtc,
    _state: *mut bindings::drm_atomic_state,
) {
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Crtc::<T>::from_raw(crtc) };
    // SAFETY: The CRTC is initialised on a device set up by `KmsBuilder::finish` (with its
    // vblank); commits run in process context.
    unsafe { vblank::on(&this.base) };
    if T::HAS_ATOMIC_ENABLE {
        T::atomic_enable(this);
    }
}

/// `drm_crtc_helper_funcs.atomic_disable`.
///
/// # Safety
///
/// Called by the atomic helpers during a commit (which holds a reference to the device),
/// with a `Crtc<T>`.
unsafe extern "C" fn atomic_disable_callback<T: DriverCrtc>(
    crtc: *mut bindings::drm_crtc,
    _state: *mut bindings::drm_atomic_state,
) {
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Crtc::<T>::from_raw(crtc) };
    if T::HAS_ATOMIC_DISABLE {
        T::atomic_disable(this);
    }
    // SAFETY: The CRTC is initialised on a device set up by `KmsBuilder::finish` (with its
    // vblank); commits run in process context and the helpers hold no spinlock here.
    unsafe { vblank::off(&this.base) };
}

/// A CRC source name from C: `None` for a null pointer (stop).
///
/// # Safety
///
/// `source` must be null or a NUL-terminated string valid for `'a`.
unsafe fn crc_source<'a>(source: *const c_char) -> Option<&'a CStr> {
    if source.is_null() {
        return None;
    }
    // SAFETY: By the safety requirements `source` is a NUL-terminated string valid for `'a`.
    Some(unsafe { CStr::from_char_ptr(source) })
}

/// `drm_crtc_funcs.set_crc_source`.
///
/// # Safety
///
/// Called by the CRC debugfs code with a `Crtc<T>` of a referenced device and a null or
/// NUL-terminated `source`.
unsafe extern "C" fn set_crc_source_callback<T: DriverCrtc>(
    crtc: *mut bindings::drm_crtc,
    source: *const c_char,
) -> c_int {
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Crtc::<T>::from_raw(crtc) };
    // SAFETY: By the function's safety requirements.
    let source = unsafe { crc_source(source) };
    match T::set_crc_source(this, source) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `drm_crtc_funcs.verify_crc_source`.
///
/// # Safety
///
/// As for [`set_crc_source_callback`]; `values_cnt` is valid for writes.
unsafe extern "C" fn verify_crc_source_callback<T: DriverCrtc>(
    crtc: *mut bindings::drm_crtc,
    source: *const c_char,
    values_cnt: *mut usize,
) -> c_int {
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Crtc::<T>::from_raw(crtc) };
    // SAFETY: By the function's safety requirements.
    let source = unsafe { crc_source(source) };
    match T::verify_crc_source(this, source) {
        Ok(n) => {
            // SAFETY: `values_cnt` is valid for writes (safety requirements).
            unsafe { values_cnt.write(n) };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// `drm_crtc_funcs.get_crc_sources`.
///
/// # Safety
///
/// Called by the CRC debugfs code with a `Crtc<T>` and a valid `count`.
unsafe extern "C" fn get_crc_sources_callback<T: DriverCrtc>(
    crtc: *mut bindings::drm_crtc,
    count: *mut usize,
) -> *const *const c_char {
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Crtc::<T>::from_raw(crtc) };
    let sources = T::get_crc_sources(this);
    // SAFETY: `count` is valid for writes (safety requirements).
    unsafe { count.write(sources.len()) };
    sources.as_ptr()
}

/// A `static` table of CRC source names for [`DriverCrtc::get_crc_sources`], in the form C
/// wants (an array of `const char *`).
///
/// # Invariants
///
/// Every pointer is the start of a `'static` NUL-terminated string.
pub(crate) struct CrcSources<const N: usize>([*const c_char; N]);

// SAFETY: The pointers are to immutable `'static` strings (type invariant), which any thread
// may read.
unsafe impl<const N: usize> Sync for CrcSources<N> {}

impl<const N: usize> CrcSources<N> {
    /// The table of `names`.
    pub(crate) const fn new(names: [&'static CStr; N]) -> Self {
        let mut out = [core::ptr::null(); N];
        let mut i = 0;
        while i < N {
            out[i] = names[i].as_char_ptr();
            i += 1;
        }
        // INVARIANT: each pointer comes from a `&'static CStr`.
        Self(out)
    }

    /// The names, for [`DriverCrtc::get_crc_sources`].
    pub(crate) fn as_slice(&'static self) -> &'static [*const c_char] {
        &self.0
    }
}
