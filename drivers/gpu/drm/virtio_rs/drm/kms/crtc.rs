// SPDX-License-Identifier: GPL-2.0

//! CRTCs: the [`DriverCrtc`] trait and the CRTC vtables built from it.
//!
//! C headers: [`include/drm/drm_crtc.h`](srctree/include/drm/drm_crtc.h),
//! [`include/drm/drm_modeset_helper_vtables.h`](srctree/include/drm/drm_modeset_helper_vtables.h)

use core::marker::PhantomData;

use super::{vblank, Output};
use crate::{
    drm::{Device, Driver},
    glue::bindings,
};

/// What a driver does when the atomic helpers program one of its CRTCs.
pub(crate) trait DriverCrtc: Driver {
    /// `mode_set_nofb`: a new mode of `width` x `height` is being set on `output`.
    fn mode_set_nofb(dev: &Device<Self>, output: &Output, width: u32, height: u32);
    /// `atomic_flush`: the plane updates of a commit are done; `needs_modeset` if the commit
    /// changed the mode, the enable state or the connectors.
    fn atomic_flush(dev: &Device<Self>, output: &Output, needs_modeset: bool);
    /// `atomic_disable`: the CRTC is switched off.
    fn atomic_disable(dev: &Device<Self>, output: &Output);
}

/// The CRTC vtables of driver `T`.
pub(super) struct CrtcVtable<T>(PhantomData<T>);

impl<T: DriverCrtc> CrtcVtable<T> {
    /// The CRTC functions: the atomic helpers, as in the C driver, and the emulated vblank.
    pub(super) const FUNCS: bindings::drm_crtc_funcs = bindings::drm_crtc_funcs {
        reset: Some(bindings::drm_atomic_helper_crtc_reset),
        cursor_set: None,
        cursor_set2: None,
        cursor_move: None,
        gamma_set: None,
        destroy: Some(bindings::drm_crtc_cleanup),
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
        set_crc_source: None,
        verify_crc_source: None,
        get_crc_sources: None,
        atomic_print_state: None,
        get_vblank_counter: None,
        enable_vblank: Some(vblank::enable_vblank_callback),
        disable_vblank: Some(vblank::disable_vblank_callback),
        get_vblank_timestamp: Some(vblank::get_vblank_timestamp_callback),
    };

    /// The CRTC helper functions. No `atomic_check` (the C driver's is empty, which the
    /// helpers treat like none); `atomic_enable`/`atomic_disable` turn the emulated vblank on
    /// and off, `atomic_flush` arms the commit's event for the next vblank.
    pub(super) const HELPER_FUNCS: bindings::drm_crtc_helper_funcs =
        bindings::drm_crtc_helper_funcs {
            dpms: None,
            prepare: None,
            commit: None,
            mode_valid: None,
            mode_fixup: None,
            mode_set: None,
            mode_set_nofb: Some(mode_set_nofb_callback::<T>),
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

/// The device and output of a CRTC in a callback.
///
/// # Safety
///
/// `crtc` must be a valid CRTC of a device of driver `T`, alive for `'a`, and the device
/// must hold a reference for `'a`.
unsafe fn context<'a, T: DriverCrtc>(crtc: *mut bindings::drm_crtc) -> (&'a Device<T>, &'a Output) {
    // SAFETY: By the safety requirements `crtc` is valid; `dev` is set at init and constant.
    let raw_dev = unsafe { (*crtc).dev };
    // SAFETY: `raw_dev` is a referenced device of driver `T`, by the safety requirements.
    let dev = unsafe { Device::<T>::from_raw(raw_dev) };
    // SAFETY: `crtc` is a CRTC of a device of a KMS driver, alive for `'a`.
    let output = unsafe { Output::from_crtc(crtc) };
    (dev, output)
}

/// `drm_crtc_helper_funcs.mode_set_nofb`.
///
/// # Safety
///
/// Called by the atomic helpers during a commit, which holds a reference to the device, with
/// one of the device's CRTCs (created by [`super::init`] with `T`'s vtables).
unsafe extern "C" fn mode_set_nofb_callback<T: DriverCrtc>(crtc: *mut bindings::drm_crtc) {
    // SAFETY: By the function's safety requirements `crtc` is a CRTC of a referenced device
    // of driver `T`, valid for the call.
    let (dev, output) = unsafe { context::<T>(crtc) };
    // SAFETY: `crtc` is valid; the helpers updated its legacy `mode` from the new state
    // before calling `mode_set_nofb`, and the commit owns it for the call.
    let mode = unsafe { &(*crtc).mode };
    T::mode_set_nofb(
        dev,
        output,
        u32::from(mode.hdisplay),
        u32::from(mode.vdisplay),
    );
}

/// `drm_crtc_helper_funcs.atomic_flush`.
///
/// # Safety
///
/// Called by the atomic helpers during a commit of `state` (which holds a reference to the
/// device), with one of the device's CRTCs that is part of `state`.
unsafe extern "C" fn atomic_flush_callback<T: DriverCrtc>(
    crtc: *mut bindings::drm_crtc,
    state: *mut bindings::drm_atomic_state,
) {
    // SAFETY: By the function's safety requirements `crtc` is a CRTC of a referenced device
    // of driver `T`, valid for the call.
    let (dev, output) = unsafe { context::<T>(crtc) };
    // SAFETY: `state` is the valid state being committed and `crtc` is part of it.
    let new = unsafe { bindings::vgrs_drm_atomic_get_new_crtc_state(state, crtc) };
    let needs_modeset = !new.is_null()
        // SAFETY: `new` is the CRTC's valid new state in `state` (checked non-null).
        && unsafe { bindings::vgrs_drm_atomic_crtc_needs_modeset(new) };
    T::atomic_flush(dev, output, needs_modeset);
    if !new.is_null() {
        // SAFETY: `crtc` is an initialised CRTC of a device whose vblank was set up by
        // `init`; `new` is its valid new state, owned by this commit.
        unsafe { vblank::flush_event(crtc, new) };
    }
}

/// `drm_crtc_helper_funcs.atomic_enable`.
///
/// # Safety
///
/// Called by the atomic helpers during a commit (which holds a reference to the device),
/// with one of the device's CRTCs.
unsafe extern "C" fn atomic_enable_callback<T: DriverCrtc>(
    crtc: *mut bindings::drm_crtc,
    _state: *mut bindings::drm_atomic_state,
) {
    // SAFETY: By the function's safety requirements `crtc` is a CRTC of a referenced device
    // of driver `T`, valid for the call.
    let (_dev, output) = unsafe { context::<T>(crtc) };
    // SAFETY: `crtc` is the initialised CRTC of `output` on a device set up by `init` (with
    // its vblank); commits run in process context.
    unsafe { vblank::on(crtc, output) };
}

/// `drm_crtc_helper_funcs.atomic_disable`.
///
/// # Safety
///
/// Called by the atomic helpers during a commit (which holds a reference to the device),
/// with one of the device's CRTCs.
unsafe extern "C" fn atomic_disable_callback<T: DriverCrtc>(
    crtc: *mut bindings::drm_crtc,
    _state: *mut bindings::drm_atomic_state,
) {
    // SAFETY: By the function's safety requirements `crtc` is a CRTC of a referenced device
    // of driver `T`, valid for the call.
    let (dev, output) = unsafe { context::<T>(crtc) };
    T::atomic_disable(dev, output);
    // SAFETY: `crtc` is the initialised CRTC of `output` on a device set up by `init` (with
    // its vblank); commits run in process context and the helpers hold no spinlock here.
    unsafe { vblank::off(crtc, output) };
}
