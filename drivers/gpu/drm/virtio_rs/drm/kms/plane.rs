// SPDX-License-Identifier: GPL-2.0

//! Planes: the [`DriverPlane`] trait, the plane vtables, plane states and damage.
//!
//! C headers: [`include/drm/drm_plane.h`](srctree/include/drm/drm_plane.h),
//! [`include/drm/drm_damage_helper.h`](srctree/include/drm/drm_damage_helper.h)

use core::marker::PhantomData;

use kernel::{error::from_err_ptr, ffi::c_int, types::Opaque};

use super::{Framebuffer, Output, NO_SCALING};
use crate::{
    drm::{Device, Driver},
    glue::bindings,
};

/// Which plane of an output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PlaneKind {
    /// The primary plane (the picture).
    Primary,
    /// The cursor plane.
    Cursor,
}

/// What a driver does when the atomic helpers update one of its planes.
pub(crate) trait DriverPlane: Driver {
    /// Pixel formats of primary planes.
    const PRIMARY_FORMATS: &'static [u32];
    /// Pixel formats of cursor planes.
    const CURSOR_FORMATS: &'static [u32];

    /// `atomic_update`: the plane `kind` of `output` changed (new framebuffer, damage, moved,
    /// enabled or disabled), as `update` describes.
    fn atomic_update(
        dev: &Device<Self>,
        output: &Output,
        kind: PlaneKind,
        update: &PlaneUpdate<'_, Self>,
    );
}

/// A plane state (`struct drm_plane_state`) in a commit.
///
/// # Invariants
///
/// `self.0` is a valid plane state of a device of driver `T`, not modified while a
/// `&PlaneState` exists (the commit owns it and only reads it during plane updates).
#[repr(transparent)]
pub(crate) struct PlaneState<T: Driver>(Opaque<bindings::drm_plane_state>, PhantomData<T>);

/// A source rectangle in whole pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SrcRect {
    /// Left edge.
    pub(crate) x: u32,
    /// Top edge.
    pub(crate) y: u32,
    /// Width.
    pub(crate) width: u32,
    /// Height.
    pub(crate) height: u32,
}

impl<T: Driver> PlaneState<T> {
    /// # Safety
    ///
    /// `ptr` must be a valid plane state of a device of driver `T`, unmodified for `'a`.
    unsafe fn from_raw<'a>(ptr: *const bindings::drm_plane_state) -> &'a Self {
        // SAFETY: `PlaneState` is `repr(transparent)` over the C struct; the caller
        // guarantees validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    fn raw(&self) -> &bindings::drm_plane_state {
        // SAFETY: By the type invariant the state is valid and not modified while borrowed.
        unsafe { &*self.0.get() }
    }

    /// The framebuffer, if the plane shows one.
    pub(crate) fn fb(&self) -> Option<&Framebuffer<T>> {
        let fb = self.raw().fb;
        if fb.is_null() {
            return None;
        }
        // SAFETY: The state holds a reference to its framebuffer, a framebuffer of the same
        // device, for as long as the state exists.
        Some(unsafe { Framebuffer::from_raw(fb) })
    }

    /// The source rectangle in the framebuffer, in whole pixels (the state holds 16.16 fixed
    /// point; the fraction is dropped, as the C driver does).
    pub(crate) fn src(&self) -> SrcRect {
        let s = self.raw();
        SrcRect {
            x: s.src_x >> 16,
            y: s.src_y >> 16,
            width: s.src_w >> 16,
            height: s.src_h >> 16,
        }
    }

    /// The source rectangle as the state holds it (16.16 fixed point).
    pub(crate) fn src_fixed(&self) -> (u32, u32, u32, u32) {
        let s = self.raw();
        (s.src_x, s.src_y, s.src_w, s.src_h)
    }

    /// Position of the plane on the CRTC.
    pub(crate) fn crtc_pos(&self) -> (i32, i32) {
        let s = self.raw();
        (s.crtc_x, s.crtc_y)
    }

    /// Size of the plane on the CRTC.
    pub(crate) fn crtc_size(&self) -> (u32, u32) {
        let s = self.raw();
        (s.crtc_w, s.crtc_h)
    }

    /// The cursor hotspot (cursor planes).
    pub(crate) fn hotspot(&self) -> (i32, i32) {
        let s = self.raw();
        (s.hotspot_x, s.hotspot_y)
    }
}

/// A rectangle of a framebuffer, `x1..x2` by `y1..y2` (`struct drm_rect`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DamageRect {
    /// Left edge (inclusive).
    pub(crate) x1: i32,
    /// Top edge (inclusive).
    pub(crate) y1: i32,
    /// Right edge (exclusive).
    pub(crate) x2: i32,
    /// Bottom edge (exclusive).
    pub(crate) y2: i32,
}

/// A plane update: the old and new states of one plane in a commit.
pub(crate) struct PlaneUpdate<'a, T: Driver> {
    old: &'a PlaneState<T>,
    new: &'a PlaneState<T>,
    crtc_active: bool,
}

impl<T: Driver> PlaneUpdate<'_, T> {
    /// The state before the commit.
    pub(crate) fn old(&self) -> &PlaneState<T> {
        self.old
    }

    /// The state the commit sets.
    pub(crate) fn new_state(&self) -> &PlaneState<T> {
        self.new
    }

    /// The CRTC the plane is on is active in the new state.
    pub(crate) fn crtc_active(&self) -> bool {
        self.crtc_active
    }

    /// The new state shows another framebuffer than the old one.
    pub(crate) fn fb_changed(&self) -> bool {
        !core::ptr::eq(self.old.raw().fb, self.new.raw().fb)
    }

    /// The damage of the update merged into one rectangle (the whole source rectangle for a
    /// new framebuffer, since its damage clips are ignored); `None` if nothing changed.
    pub(crate) fn damage(&self) -> Option<DamageRect> {
        let mut r = bindings::drm_rect::default();
        // SAFETY: Both states are valid (type invariant of `PlaneState`) states of the same
        // plane; `r` is a valid place.
        let any = unsafe {
            bindings::drm_atomic_helper_damage_merged(self.old.0.get(), self.new.0.get(), &mut r)
        };
        any.then_some(DamageRect {
            x1: r.x1,
            y1: r.y1,
            x2: r.x2,
            y2: r.y2,
        })
    }
}

/// The plane vtables of driver `T`.
pub(super) struct PlaneVtable<T>(PhantomData<T>);

impl<T: DriverPlane> PlaneVtable<T> {
    /// The plane functions: the atomic helpers, as in the C driver.
    pub(super) const FUNCS: bindings::drm_plane_funcs = bindings::drm_plane_funcs {
        update_plane: Some(bindings::drm_atomic_helper_update_plane),
        disable_plane: Some(bindings::drm_atomic_helper_disable_plane),
        destroy: Some(bindings::drm_plane_cleanup),
        reset: Some(bindings::drm_atomic_helper_plane_reset),
        set_property: None,
        atomic_duplicate_state: Some(bindings::drm_atomic_helper_plane_duplicate_state),
        atomic_destroy_state: Some(bindings::drm_atomic_helper_plane_destroy_state),
        atomic_set_property: None,
        atomic_get_property: None,
        late_register: None,
        early_unregister: None,
        atomic_print_state: None,
        format_mod_supported: None,
    };

    /// The helper functions of primary planes.
    pub(super) const PRIMARY_HELPER_FUNCS: bindings::drm_plane_helper_funcs =
        Self::helper_funcs(primary_update_callback::<T>);

    /// The helper functions of cursor planes.
    pub(super) const CURSOR_HELPER_FUNCS: bindings::drm_plane_helper_funcs =
        Self::helper_funcs(cursor_update_callback::<T>);

    /// Helper functions with `update` as `atomic_update`. `prepare_fb` takes the implicit
    /// fences of the framebuffer's objects (the GEM helper); a disabled plane is handled by
    /// `atomic_update` too (no `atomic_disable`).
    const fn helper_funcs(
        update: unsafe extern "C" fn(*mut bindings::drm_plane, *mut bindings::drm_atomic_state),
    ) -> bindings::drm_plane_helper_funcs {
        bindings::drm_plane_helper_funcs {
            prepare_fb: Some(bindings::drm_gem_plane_helper_prepare_fb),
            cleanup_fb: None,
            begin_fb_access: None,
            end_fb_access: None,
            atomic_check: Some(atomic_check_callback),
            atomic_update: Some(update),
            atomic_enable: None,
            atomic_disable: None,
            atomic_async_check: None,
            atomic_async_update: None,
            get_scanout_buffer: None,
            panic_flush: None,
        }
    }
}

/// `drm_plane_helper_funcs.atomic_check`, as the C driver's: no scaling, cursors may be
/// positioned freely, and a new framebuffer is uploaded whole (its damage clips ignored).
///
/// # Safety
///
/// Called by the atomic helpers while checking `state`, which contains `plane` (a plane of
/// a device of a KMS driver) and holds the modeset locks it needs.
unsafe extern "C" fn atomic_check_callback(
    plane: *mut bindings::drm_plane,
    state: *mut bindings::drm_atomic_state,
) -> c_int {
    // SAFETY: By the function's safety requirements `state` is valid and contains `plane`.
    let new = unsafe { bindings::vgrs_drm_atomic_get_new_plane_state(state, plane) };
    // SAFETY: As above.
    let old = unsafe { bindings::vgrs_drm_atomic_get_old_plane_state(state, plane) };
    if new.is_null() || old.is_null() {
        return 0;
    }
    // SAFETY: `new` is the plane's new state, owned by `state` and not yet visible to
    // anyone else (the check phase has exclusive access to it).
    let new_state = unsafe { &mut *new };
    if new_state.fb.is_null() || new_state.crtc.is_null() {
        return 0;
    }
    // SAFETY: `old` is the plane's valid old state in `state`.
    if !core::ptr::eq(unsafe { (*old).fb }, new_state.fb) {
        new_state.ignore_damage_clips = true;
    }
    // SAFETY: `state` is valid and `new_state.crtc` is a CRTC of its device; the function
    // adds the CRTC's state to `state` (taking its lock) if needed.
    let crtc_state = unsafe { bindings::drm_atomic_get_crtc_state(state, new_state.crtc) };
    let crtc_state = match from_err_ptr(crtc_state) {
        Ok(s) => s,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: `plane` is valid; its type is set at init and constant.
    let is_cursor = unsafe { (*plane).type_ } == bindings::drm_plane_type_DRM_PLANE_TYPE_CURSOR;
    // SAFETY: `new` and `crtc_state` are valid states of the same commit.
    unsafe {
        bindings::drm_atomic_helper_check_plane_state(
            new, crtc_state, NO_SCALING, NO_SCALING, is_cursor, true,
        )
    }
}

/// Runs `T`'s plane update for `plane` in the commit of `state`.
///
/// # Safety
///
/// Called from `atomic_update` of a plane of a device of driver `T`: `state` is the
/// committed state (holding a device reference) and contains `plane`, whose `state` is the
/// new state after the swap.
unsafe fn update<T: DriverPlane>(
    plane: *mut bindings::drm_plane,
    state: *mut bindings::drm_atomic_state,
    kind: PlaneKind,
) {
    // SAFETY: By the safety requirements `state` contains `plane`.
    let old = unsafe { bindings::vgrs_drm_atomic_get_old_plane_state(state, plane) };
    // SAFETY: `plane` is valid; after the swap its `state` is the new state, which the
    // commit owns until it is done.
    let new = unsafe { (*plane).state };
    if old.is_null() || new.is_null() {
        return;
    }
    // The output: the old CRTC if there was one (the plane is being moved or disabled),
    // else the new one, as in the C driver.
    // SAFETY: `old` is a valid state (above).
    let old_crtc = unsafe { (*old).crtc };
    // SAFETY: `new` is a valid state (above).
    let new_crtc = unsafe { (*new).crtc };
    let crtc = if old_crtc.is_null() {
        new_crtc
    } else {
        old_crtc
    };
    if crtc.is_null() {
        return;
    }
    // SAFETY: `crtc` is a CRTC of the device, alive as long as the device; the commit holds
    // a device reference for the call.
    let output = unsafe { Output::from_crtc(crtc) };
    // SAFETY: `crtc` is valid; after the swap its `state` is the new CRTC state, owned by
    // the commit for the call.
    let crtc_state = unsafe { (*crtc).state };
    // SAFETY: `crtc_state` is the CRTC's valid new state (checked non-null first).
    let crtc_active = !crtc_state.is_null() && unsafe { (*crtc_state).active };
    // SAFETY: `plane` is valid; `dev` is constant.
    let raw_dev = unsafe { (*plane).dev };
    // SAFETY: `raw_dev` is a device of driver `T`, referenced by the commit.
    let dev = unsafe { Device::<T>::from_raw(raw_dev) };
    let update = PlaneUpdate {
        // SAFETY: `old` is a valid state of a plane of `dev`, unmodified during the update.
        old: unsafe { PlaneState::from_raw(old) },
        // SAFETY: As above, for `new`.
        new: unsafe { PlaneState::from_raw(new) },
        crtc_active,
    };
    T::atomic_update(dev, output, kind, &update);
}

/// `drm_plane_helper_funcs.atomic_update` of primary planes.
///
/// # Safety
///
/// Called by the atomic helpers while committing `state`, with a primary plane of a device
/// of driver `T` that `state` contains.
unsafe extern "C" fn primary_update_callback<T: DriverPlane>(
    plane: *mut bindings::drm_plane,
    state: *mut bindings::drm_atomic_state,
) {
    // SAFETY: By the function's safety requirements (those of `update`).
    unsafe { update::<T>(plane, state, PlaneKind::Primary) };
}

/// `drm_plane_helper_funcs.atomic_update` of cursor planes.
///
/// # Safety
///
/// Called by the atomic helpers while committing `state`, with a cursor plane of a device
/// of driver `T` that `state` contains.
unsafe extern "C" fn cursor_update_callback<T: DriverPlane>(
    plane: *mut bindings::drm_plane,
    state: *mut bindings::drm_atomic_state,
) {
    // SAFETY: By the function's safety requirements (those of `update`).
    unsafe { update::<T>(plane, state, PlaneKind::Cursor) };
}
