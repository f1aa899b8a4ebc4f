// SPDX-License-Identifier: GPL-2.0

//! Planes: the [`DriverPlane`] trait, typed [`Plane`] objects with driver data, plane states
//! with driver data ([`PlaneState`], a subclass of `drm_plane_state`), checks, updates and
//! damage.
//!
//! C headers: [`include/drm/drm_plane.h`](srctree/include/drm/drm_plane.h),
//! [`include/drm/drm_damage_helper.h`](srctree/include/drm/drm_damage_helper.h),
//! [`include/drm/drm_panic.h`](srctree/include/drm/drm_panic.h)

use core::{marker::PhantomData, ops::Deref};

use kernel::{
    error::{from_err_ptr, to_result},
    ffi::c_int,
    prelude::*,
    types::Opaque,
};

use super::{crtc::Crtc, rect::DrmRect, DriverCrtc, Framebuffer, KmsDriver};
use crate::{
    drm::{gem, Device, Driver},
    glue::bindings,
};

/// The kind of a plane (`enum drm_plane_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PlaneType {
    /// The CRTC's main picture.
    Primary,
    /// A cursor.
    Cursor,
    /// Any other plane.
    #[allow(dead_code)] // The driver has primary and cursor planes only.
    Overlay,
}

impl PlaneType {
    fn raw(self) -> bindings::drm_plane_type {
        match self {
            PlaneType::Primary => bindings::drm_plane_type_DRM_PLANE_TYPE_PRIMARY,
            PlaneType::Cursor => bindings::drm_plane_type_DRM_PLANE_TYPE_CURSOR,
            PlaneType::Overlay => bindings::drm_plane_type_DRM_PLANE_TYPE_OVERLAY,
        }
    }
}

/// What a driver does when the atomic helpers check and update one of its planes. Hooks other
/// than `atomic_update` are optional (`#[vtable]`); a missing one is a `NULL` entry, with the
/// helpers' default (no check; `prepare_fb` waits for the framebuffer's implicit fences).
///
/// Contract: the hooks run from commits (holding a device reference) and may use the device;
/// the panic hooks run on a panicking CPU and may not sleep, allocate or take locks that CPU
/// may hold. The plane's data (`Self`) and every state's data (`Self::State`) may be dropped
/// at mode config cleanup, after the driver data is gone: their `Drop` must not reach the
/// device.
#[vtable]
pub(crate) trait DriverPlane: Send + Sync + Sized + 'static {
    /// The driver whose planes these are.
    type Driver: KmsDriver;
    /// Driver data of each plane state, duplicated (`Clone`) with the state and reset to
    /// `Default`: e.g. a fence taken in `prepare_fb` for the update to wait on.
    type State: Clone + Default + Send + Sync;

    /// `atomic_check`: checks the plane's new state in a commit (see [`PlaneCheck`]).
    fn atomic_check(plane: &Plane<Self>, check: &mut PlaneCheck<'_, Self>) -> Result {
        let _ = (plane, check);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `prepare_fb`: prepares the new state's framebuffer for scanout, before the commit can
    /// no longer fail. The abstraction first sets up the wait for the framebuffer's implicit
    /// fences (`drm_gem_plane_helper_prepare_fb`), as the helpers do without the hook.
    fn prepare_fb(plane: &Plane<Self>, new: &mut PlaneState<Self>) -> Result {
        let _ = (plane, new);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `cleanup_fb`: undoes `prepare_fb` for a state that is done with (old after the commit,
    /// new if the commit failed).
    fn cleanup_fb(plane: &Plane<Self>, state: &mut PlaneState<Self>) {
        let _ = (plane, state);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `atomic_update`: the plane changed in a commit (new framebuffer, damage, moved,
    /// enabled or disabled), as `update` describes. Required.
    fn atomic_update(plane: &Plane<Self>, update: &PlaneUpdate<'_, Self>);

    /// `atomic_async_check`: whether the plane's new state can be applied at once, without
    /// waiting for a vblank (legacy cursor updates go this way when it says yes).
    fn atomic_async_check(plane: &Plane<Self>, check: &mut PlaneCheck<'_, Self>) -> Result {
        let _ = (plane, check);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `atomic_async_update`: applies the plane's new state at once. The abstraction has
    /// already copied the new position, source and framebuffer into the current state, as the
    /// drivers that support it do; `update.old()` is what was shown before.
    fn atomic_async_update(plane: &Plane<Self>, update: &PlaneUpdate<'_, Self>) {
        let _ = (plane, update);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `get_scanout_buffer` (drm_panic): describes the buffer of the plane's current state
    /// `state` that the panic screen is drawn into (see [`ScanoutBuffer::set`]). Runs on a
    /// panicking CPU, with interrupts off: no sleeping, allocating or waiting for a lock.
    /// Installed on primary planes only.
    fn get_scanout_buffer(
        plane: &Plane<Self>,
        state: &PlaneState<Self>,
        sb: &mut ScanoutBuffer,
    ) -> Result {
        let _ = (plane, state, sb);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `panic_flush` (drm_panic): shows what was drawn into the current state `state`'s
    /// buffer, under the same rules as `get_scanout_buffer`.
    fn panic_flush(plane: &Plane<Self>, state: &PlaneState<Self>) {
        let _ = (plane, state);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// A plane of driver data `T`.
///
/// # Invariants
///
/// - Created by [`Plane::new`]: pinned in a `KBox`, `raw` first (`repr(C)`), initialised with
///   the vtables of [`PlaneVtable<T>`] on a device of `T::Driver`, so a plane whose `funcs` is
///   `PlaneVtable::<T>::FUNCS` is a `Plane<T>`.
/// - Every state of the plane is a [`PlaneState<T>`] (the vtable's reset and duplicate
///   callbacks allocate only those).
/// - Valid as long as its device: the plane's `destroy` (mode config cleanup) frees it.
#[repr(C)]
#[pin_data]
pub(crate) struct Plane<T: DriverPlane> {
    #[pin]
    raw: Opaque<bindings::drm_plane>,
    data: T,
}

impl<T: DriverPlane> Plane<T> {
    /// Allocates and initialises a plane of `dev` of `kind` with the pixel `formats`, usable on
    /// the CRTCs in `possible_crtcs` (a bit mask of CRTC indexes), and the data `data`.
    ///
    /// # Safety
    ///
    /// `dev` must be a valid, unregistered device of `T::Driver` with an initialised mode
    /// config.
    pub(super) unsafe fn new<'a>(
        dev: &'a Device<T::Driver>,
        kind: PlaneType,
        formats: &[u32],
        possible_crtcs: u32,
        data: T,
    ) -> Result<&'a Self> {
        let count = u32::try_from(formats.len())?;
        let init = try_pin_init!(Self {
            raw <- super::zeroed(),
            data,
        }? Error);
        // drm_panic draws a whole screen into the buffer it gets: only a primary plane covers
        // the screen, so only primary planes get the panic hooks (and a panic handler).
        let helpers = match kind {
            PlaneType::Primary => &PlaneVtable::<T>::HELPER_FUNCS,
            _ => &PlaneVtable::<T>::HELPER_FUNCS_NO_PANIC,
        };
        let register = |ptr: *mut Self| {
            // SAFETY: `ptr` is the valid, pinned allocation `give_to_drm` made.
            let raw = unsafe { (*ptr).raw.get() };
            // SAFETY: `dev` is valid with an initialised mode config (safety requirements);
            // `raw` is zeroed, pinned memory; `formats` is copied; no modifiers; a null name
            // makes DRM pick one; the vtable is a `'static` constant.
            to_result(unsafe {
                bindings::drm_universal_plane_init(
                    dev.as_raw(),
                    raw,
                    possible_crtcs,
                    &PlaneVtable::<T>::FUNCS,
                    formats.as_ptr(),
                    count,
                    core::ptr::null(),
                    kind.raw(),
                    core::ptr::null(),
                )
            })?;
            // SAFETY: `raw` was initialised above; the helper functions are a `'static`
            // constant.
            unsafe { bindings::vgrs_drm_plane_helper_add(raw, helpers) };
            Ok(())
        };
        // INVARIANT: initialised with `T`'s vtables, freed by `destroy_callback`.
        // SAFETY: On success the plane belongs to DRM until the mode config cleanup (after
        // every borrow of `dev`), and `destroy_callback` frees it with `KBox::from_raw`; a
        // failed `drm_universal_plane_init` leaves DRM without it.
        unsafe { super::give_to_drm(init, register) }
    }

    /// # Safety
    ///
    /// `plane` must be a `Plane<T>` (one with `T`'s vtables), alive for `'a`.
    unsafe fn from_raw<'a>(plane: *const bindings::drm_plane) -> &'a Self {
        // SAFETY: A `Plane<T>` starts with its `drm_plane` (`repr(C)`, `raw` first).
        unsafe { &*plane.cast::<Self>() }
    }

    /// The plane `plane` if it is a `Plane<T>` (its function table says so), else `None`
    /// (also for null).
    ///
    /// # Safety
    ///
    /// `plane` must be null or a valid plane of the abstraction, alive for `'a`.
    pub(super) unsafe fn from_raw_checked<'a>(
        plane: *const bindings::drm_plane,
    ) -> Option<&'a Self> {
        if plane.is_null() {
            return None;
        }
        // SAFETY: `plane` is valid (safety requirements); `funcs` is set at init and constant.
        let funcs = unsafe { (*plane).funcs };
        if funcs.is_null() {
            return None;
        }
        // Compared by the `destroy` entry, instantiated once per `T` (see
        // `Crtc::from_raw_checked`).
        // SAFETY: A plane's non-null `funcs` points to its (static) function table.
        let destroy = unsafe { (*funcs).destroy };
        if destroy.map(|f| f as *const ()) != Some(destroy_callback::<T> as *const ()) {
            return None;
        }
        // SAFETY: `T`'s functions mean it is a `Plane<T>` (type invariant), alive for `'a`.
        Some(unsafe { Self::from_raw(plane) })
    }

    /// The plane's current state, if it has one.
    ///
    /// # Safety
    ///
    /// The caller holds the plane's modeset lock for `'a`, so no commit swaps or frees the
    /// state meanwhile.
    pub(super) unsafe fn current_state<'a>(&'a self) -> Option<&'a PlaneState<T>> {
        // SAFETY: The plane is valid; `state` only changes under the plane's lock, which the
        // caller holds.
        let state = unsafe { (*self.as_raw()).state };
        // SAFETY: A non-null current state of a `Plane<T>` is a `PlaneState<T>` (type
        // invariant), valid and unchanged while the lock is held (safety requirements).
        (!state.is_null()).then(|| unsafe { PlaneState::<T>::from_raw(state) })
    }

    /// The `drm_plane`.
    pub(crate) fn as_raw(&self) -> *mut bindings::drm_plane {
        self.raw.get()
    }

    /// The device the plane belongs to.
    pub(crate) fn device(&self) -> &Device<T::Driver> {
        // SAFETY: The plane is valid (type invariant); `dev` is set at init and constant, a
        // device of `T::Driver` that outlives its planes.
        unsafe { Device::from_raw((*self.as_raw()).dev) }
    }

    /// Enables damage clips (`FB_DAMAGE_CLIPS`) on the plane. Only while the device is being
    /// set up (see [`super::KmsBuilder`]).
    pub(super) fn enable_fb_damage_clips(&self) {
        // SAFETY: The plane is initialised and its device not registered yet (only the
        // builder calls this), so nothing reads its properties concurrently.
        unsafe { bindings::drm_plane_enable_fb_damage_clips(self.as_raw()) };
    }
}

impl<T: DriverPlane> Deref for Plane<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

/// A plane state of a plane of driver data `T`: the C state and the driver's.
///
/// # Invariants
///
/// - Allocated by the vtable's reset or duplicate callback in a `KBox`, `base` first
///   (`repr(C)`), initialised by `__drm_atomic_helper_plane_reset` or `_duplicate_state`;
///   freed by the destroy callback.
/// - A `&PlaneState` is only made while its commit (or the plane, for the current state)
///   keeps it alive and nobody modifies it; a `&mut PlaneState` only where DRM gives the
///   callback exclusive access (the check and prepare phases, before the state is visible).
#[repr(C)]
pub(crate) struct PlaneState<T: DriverPlane> {
    base: Opaque<bindings::drm_plane_state>,
    data: T::State,
}

impl<T: DriverPlane> PlaneState<T> {
    /// # Safety
    ///
    /// `ptr` must be a state of a `Plane<T>`, valid and unmodified for `'a`.
    unsafe fn from_raw<'a>(ptr: *const bindings::drm_plane_state) -> &'a Self {
        // SAFETY: A `PlaneState<T>` starts with its C state (`repr(C)`); the caller
        // guarantees validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// # Safety
    ///
    /// `ptr` must be a state of a `Plane<T>`, valid for `'a` and exclusively ours for `'a`.
    unsafe fn from_raw_mut<'a>(ptr: *mut bindings::drm_plane_state) -> &'a mut Self {
        // SAFETY: As for `from_raw`, with exclusive access by the caller's guarantee.
        unsafe { &mut *ptr.cast() }
    }

    fn raw(&self) -> &bindings::drm_plane_state {
        // SAFETY: By the type invariant the state is valid and not modified while borrowed.
        unsafe { &*self.base.get() }
    }

    /// The driver's data of this state.
    #[allow(dead_code)] // For per-state data (fences with 3D); the driver's is `()` today.
    pub(crate) fn data(&self) -> &T::State {
        &self.data
    }

    /// The driver's data of this state, to change (only where the state is exclusively ours).
    #[allow(dead_code)] // As `data`.
    pub(crate) fn data_mut(&mut self) -> &mut T::State {
        &mut self.data
    }

    /// The framebuffer, if the plane shows one.
    pub(crate) fn fb(&self) -> Option<&Framebuffer<T::Driver>> {
        let fb = self.raw().fb;
        if fb.is_null() {
            return None;
        }
        // SAFETY: The state holds a reference to its framebuffer, a framebuffer of the same
        // device, for as long as the state exists.
        Some(unsafe { Framebuffer::from_raw(fb) })
    }

    /// The CRTC the state puts the plane on, if it is a `Crtc<C>`.
    pub(crate) fn crtc<C: DriverCrtc>(&self) -> Option<&Crtc<C>> {
        // SAFETY: `crtc` is null or a CRTC of the device, alive as long as the device, which
        // outlives the state.
        unsafe { Crtc::<C>::from_raw_checked(self.raw().crtc) }
    }

    /// The source rectangle in the framebuffer, in whole pixels (the state holds 16.16 fixed
    /// point; the fraction is dropped).
    pub(crate) fn src(&self) -> DrmRect {
        let s = self.raw();
        // A 16.16 value shifted right by 16 fits an `i32`.
        let px = |v: u32| (v >> 16) as i32;
        let (x, y) = (px(s.src_x), px(s.src_y));
        DrmRect {
            x1: x,
            y1: y,
            x2: x.saturating_add(px(s.src_w)),
            y2: y.saturating_add(px(s.src_h)),
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

    /// After `check_plane_state`: the plane is visible on its CRTC.
    pub(crate) fn visible(&self) -> bool {
        self.raw().visible
    }
}

/// A plane's new state in the check phase of a commit (`atomic_check`, `atomic_async_check`).
///
/// # Invariants
///
/// `state` is the atomic state being checked, holding the modeset locks the check needs, and
/// contains the plane; `new` is the plane's new state in it, exclusively the check's.
pub(crate) struct PlaneCheck<'a, T: DriverPlane> {
    state: *mut bindings::drm_atomic_state,
    old: &'a PlaneState<T>,
    new: &'a mut PlaneState<T>,
}

impl<T: DriverPlane> PlaneCheck<'_, T> {
    /// The plane's state before the commit.
    pub(crate) fn old(&self) -> &PlaneState<T> {
        self.old
    }

    /// The plane's new state.
    pub(crate) fn new_state(&mut self) -> &mut PlaneState<T> {
        self.new
    }

    /// The commit replaces the framebuffer: its damage clips cannot describe what changed, so
    /// the damage helpers are told to take the whole plane.
    pub(crate) fn ignore_damage_clips(&mut self) {
        // SAFETY: The new state is exclusively the check's (type invariant).
        unsafe { (*self.new.base.get()).ignore_damage_clips = true };
    }

    /// `drm_atomic_helper_check_plane_state` against the state of the CRTC the plane is on
    /// (added to the commit if needed): `min_scale`/`max_scale` in 16.16 fixed point
    /// ([`NO_SCALING`](super::NO_SCALING) for none), whether the plane may be positioned
    /// anywhere (not covering the CRTC) and whether it may be updated on a disabled CRTC.
    /// Without a framebuffer or CRTC there is nothing to check.
    pub(crate) fn check_plane_state(
        &mut self,
        min_scale: i32,
        max_scale: i32,
        can_position: bool,
        can_update_disabled: bool,
    ) -> Result {
        let new = self.new.base.get();
        // SAFETY: The new state is valid and exclusively ours (type invariant).
        let (fb, crtc) = unsafe { ((*new).fb, (*new).crtc) };
        if fb.is_null() || crtc.is_null() {
            return Ok(());
        }
        // SAFETY: `state` is valid and `crtc` a CRTC of its device; the function adds the
        // CRTC's state to `state` (taking its lock) if needed.
        let crtc_state =
            from_err_ptr(unsafe { bindings::drm_atomic_get_crtc_state(self.state, crtc) })?;
        // SAFETY: `new` and `crtc_state` are valid states of the same commit.
        to_result(unsafe {
            bindings::drm_atomic_helper_check_plane_state(
                new,
                crtc_state,
                min_scale,
                max_scale,
                can_position,
                can_update_disabled,
            )
        })
    }
}

/// A plane update: the old and new states of one plane in a commit.
pub(crate) struct PlaneUpdate<'a, T: DriverPlane> {
    old: &'a PlaneState<T>,
    new: &'a PlaneState<T>,
    crtc_active: bool,
}

impl<T: DriverPlane> PlaneUpdate<'_, T> {
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

    /// The CRTC the update is about, if it is a `Crtc<C>`: the old CRTC if there was one (the
    /// plane is being moved or disabled), else the new one.
    pub(crate) fn crtc<C: DriverCrtc>(&self) -> Option<&Crtc<C>> {
        self.old.crtc::<C>().or_else(|| self.new.crtc::<C>())
    }

    /// The new state shows another framebuffer than the old one.
    pub(crate) fn fb_changed(&self) -> bool {
        !core::ptr::eq(self.old.raw().fb, self.new.raw().fb)
    }

    /// The damage of the update merged into one rectangle (the whole source rectangle for a
    /// new framebuffer, since its damage clips are ignored); `None` if nothing changed.
    pub(crate) fn damage(&self) -> Option<DrmRect> {
        let mut r = bindings::drm_rect::default();
        // SAFETY: Both states are valid (type invariant of `PlaneState`) states of the same
        // plane; `r` is a valid place.
        let any = unsafe {
            bindings::drm_atomic_helper_damage_merged(
                self.old.base.get(),
                self.new.base.get(),
                &mut r,
            )
        };
        any.then_some(DrmRect {
            x1: r.x1,
            y1: r.y1,
            x2: r.x2,
            y2: r.y2,
        })
    }
}

/// The buffer drm_panic draws into (`struct drm_scanout_buffer`), filled in by
/// [`DriverPlane::get_scanout_buffer`].
///
/// # Invariants
///
/// `0` is the scanout buffer drm_panic passed to `get_scanout_buffer`, exclusively ours for
/// the call.
#[repr(transparent)]
pub(crate) struct ScanoutBuffer(Opaque<bindings::drm_scanout_buffer>);

impl ScanoutBuffer {
    /// Describes the first plane of `fb` as the buffer to draw into: its format, size, pitch,
    /// and its address in the kernel mapping of its object ([`gem::AllocImpl::kernel_map`]).
    /// `ENODEV` if the object has no such mapping, `EINVAL` if the plane does not fit in it.
    pub(crate) fn set<D: Driver>(&mut self, fb: &Framebuffer<D>) -> Result {
        let obj = fb.object().ok_or(ENODEV)?;
        let map = gem::AllocImpl::kernel_map(obj).ok_or(ENODEV)?;
        let (width, height, pitch) = (fb.width(), fb.height(), fb.pitch());
        let offset = fb.offset() as usize;
        // The last byte of the last row must lie in the mapping.
        let end = (height.checked_sub(1).ok_or(EINVAL)? as usize)
            .checked_mul(pitch as usize)
            .and_then(|rows| rows.checked_add(width as usize * fb.cpp() as usize))
            .and_then(|n| n.checked_add(offset))
            .ok_or(EINVAL)?;
        if end > map.len() || width == 0 {
            return Err(EINVAL);
        }
        let info = fb.format_info();
        if info.is_null() {
            return Err(EINVAL);
        }
        // `offset` is within the mapping (checked above).
        let vaddr = map.vaddr().as_ptr().wrapping_add(offset);
        // SAFETY: By the type invariant the buffer is exclusively ours for the call.
        let sb = unsafe { &mut *self.0.get() };
        sb.format = info;
        sb.width = width;
        sb.height = height;
        sb.pitch[0] = pitch;
        sb.map[0] = bindings::iosys_map {
            __bindgen_anon_1: bindings::iosys_map__bindgen_ty_1 {
                vaddr: vaddr.cast(),
            },
            is_iomem: false,
        };
        Ok(())
    }
}

/// The plane vtables of driver data `T`.
pub(super) struct PlaneVtable<T>(PhantomData<T>);

impl<T: DriverPlane> PlaneVtable<T> {
    /// The plane functions: the atomic helpers, with states of `T`.
    pub(super) const FUNCS: bindings::drm_plane_funcs = bindings::drm_plane_funcs {
        update_plane: Some(bindings::drm_atomic_helper_update_plane),
        disable_plane: Some(bindings::drm_atomic_helper_disable_plane),
        destroy: Some(destroy_callback::<T>),
        reset: Some(reset_callback::<T>),
        set_property: None,
        atomic_duplicate_state: Some(duplicate_state_callback::<T>),
        atomic_destroy_state: Some(destroy_state_callback::<T>),
        atomic_set_property: None,
        atomic_get_property: None,
        late_register: None,
        early_unregister: None,
        atomic_print_state: None,
        format_mod_supported: None,
    };

    /// The plane helper functions: `T`'s hooks.
    pub(super) const HELPER_FUNCS: bindings::drm_plane_helper_funcs =
        bindings::drm_plane_helper_funcs {
            prepare_fb: if T::HAS_PREPARE_FB {
                Some(prepare_fb_callback::<T>)
            } else {
                None
            },
            cleanup_fb: if T::HAS_CLEANUP_FB {
                Some(cleanup_fb_callback::<T>)
            } else {
                None
            },
            begin_fb_access: None,
            end_fb_access: None,
            atomic_check: if T::HAS_ATOMIC_CHECK {
                Some(atomic_check_callback::<T>)
            } else {
                None
            },
            atomic_update: Some(atomic_update_callback::<T>),
            atomic_enable: None,
            atomic_disable: None,
            atomic_async_check: if T::HAS_ATOMIC_ASYNC_CHECK {
                Some(atomic_async_check_callback::<T>)
            } else {
                None
            },
            atomic_async_update: if T::HAS_ATOMIC_ASYNC_UPDATE {
                Some(atomic_async_update_callback::<T>)
            } else {
                None
            },
            get_scanout_buffer: if T::HAS_GET_SCANOUT_BUFFER {
                Some(get_scanout_buffer_callback::<T>)
            } else {
                None
            },
            panic_flush: if T::HAS_PANIC_FLUSH {
                Some(panic_flush_callback::<T>)
            } else {
                None
            },
        };

    /// As [`Self::HELPER_FUNCS`], without the panic hooks (for planes other than primary).
    pub(super) const HELPER_FUNCS_NO_PANIC: bindings::drm_plane_helper_funcs =
        bindings::drm_plane_helper_funcs {
            get_scanout_buffer: None,
            panic_flush: None,
            ..Self::HELPER_FUNCS
        };
}

/// `drm_plane_funcs.destroy`: cleans the plane up and frees it (with the driver data). Runs
/// from the mode config cleanup, possibly after the driver data is gone.
///
/// # Safety
///
/// Called by DRM once, for a `Plane<T>`, when the mode config is cleaned up.
unsafe extern "C" fn destroy_callback<T: DriverPlane>(plane: *mut bindings::drm_plane) {
    // SAFETY: `plane` is valid and not used by DRM after this callback; the cleanup destroys
    // its current state through `destroy_state_callback`.
    unsafe { bindings::drm_plane_cleanup(plane) };
    // SAFETY: `Plane::new` allocated it with `KBox` and leaked it; nothing uses it any more.
    drop(unsafe { KBox::from_raw(plane.cast::<Plane<T>>()) });
}

/// Frees a state allocated by [`new_state`].
///
/// # Safety
///
/// `state` must be a `PlaneState<T>` from [`new_state`] whose C part was released (or never
/// initialised), not used afterwards.
unsafe fn free_state<T: DriverPlane>(state: *mut bindings::drm_plane_state) {
    // SAFETY: By the safety requirements `state` is a leaked `KBox<PlaneState<T>>`.
    drop(unsafe { KBox::from_raw(state.cast::<PlaneState<T>>()) });
}

/// A new, zeroed plane state with driver data `data`, leaked for DRM.
fn new_state<T: DriverPlane>(data: T::State) -> Option<*mut bindings::drm_plane_state> {
    let state = KBox::new(
        PlaneState::<T> {
            base: Opaque::new(bindings::drm_plane_state::default()),
            data,
        },
        GFP_KERNEL,
    )
    .ok()?;
    // The state starts with its C part (`repr(C)`).
    Some(KBox::into_raw(state).cast())
}

/// `drm_plane_funcs.reset`: replaces the current state with a fresh one.
///
/// # Safety
///
/// Called by DRM (mode config reset, before registration or at resume, with the locks it
/// needs) for a `Plane<T>`.
unsafe extern "C" fn reset_callback<T: DriverPlane>(plane: *mut bindings::drm_plane) {
    // SAFETY: `plane` is valid; its current state is null or one of ours.
    let old = unsafe { (*plane).state };
    if !old.is_null() {
        // SAFETY: `old` is the plane's current state, a `PlaneState<T>`, being replaced.
        unsafe { destroy_state_callback::<T>(plane, old) };
        // SAFETY: `plane` is valid; the old state is gone.
        unsafe { (*plane).state = core::ptr::null_mut() };
    }
    let Some(new) = new_state::<T>(T::State::default()) else {
        // As the C helper: without memory the plane has no state.
        return;
    };
    // SAFETY: `plane` is valid and `new` a zeroed state it takes over as current.
    unsafe { bindings::__drm_atomic_helper_plane_reset(plane, new) };
}

/// `drm_plane_funcs.atomic_duplicate_state`.
///
/// # Safety
///
/// Called by DRM with a `Plane<T>` whose current state is stable for the call (its lock is
/// held).
unsafe extern "C" fn duplicate_state_callback<T: DriverPlane>(
    plane: *mut bindings::drm_plane,
) -> *mut bindings::drm_plane_state {
    // SAFETY: `plane` is valid.
    let cur = unsafe { (*plane).state };
    if cur.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: `cur` is the plane's current state, a `PlaneState<T>` (type invariant of
    // `Plane`), stable for the call.
    let data = unsafe { PlaneState::<T>::from_raw(cur) }.data.clone();
    let Some(new) = new_state::<T>(data) else {
        return core::ptr::null_mut();
    };
    // SAFETY: `plane` is valid with a current state; `new` is a zeroed state to fill.
    unsafe { bindings::__drm_atomic_helper_plane_duplicate_state(plane, new) };
    new
}

/// `drm_plane_funcs.atomic_destroy_state`.
///
/// # Safety
///
/// Called by DRM with a `PlaneState<T>` of a `Plane<T>` that nobody uses any more.
unsafe extern "C" fn destroy_state_callback<T: DriverPlane>(
    _plane: *mut bindings::drm_plane,
    state: *mut bindings::drm_plane_state,
) {
    // SAFETY: `state` is a valid state being destroyed (drops its framebuffer and fence
    // references).
    unsafe { bindings::__drm_atomic_helper_plane_destroy_state(state) };
    // SAFETY: `state` came from `new_state` (type invariant of `Plane`); its C part is
    // released above and nobody uses it.
    unsafe { free_state::<T>(state) };
}

/// The plane's old and new state in `state`, or `None` if it is not part of the commit.
///
/// # Safety
///
/// `state` must be a valid atomic state; `plane` a plane of its device.
unsafe fn states(
    plane: *mut bindings::drm_plane,
    state: *mut bindings::drm_atomic_state,
) -> Option<(
    *mut bindings::drm_plane_state,
    *mut bindings::drm_plane_state,
)> {
    // SAFETY: By the safety requirements.
    let old = unsafe { bindings::vgrs_drm_atomic_get_old_plane_state(state, plane) };
    // SAFETY: By the safety requirements.
    let new = unsafe { bindings::vgrs_drm_atomic_get_new_plane_state(state, plane) };
    (!old.is_null() && !new.is_null()).then_some((old, new))
}

/// Runs a check hook of `T` (`atomic_check` or `atomic_async_check`).
///
/// # Safety
///
/// Called from the check phase of the commit of `state` (holding the needed locks and a device
/// reference), with a `Plane<T>` that `state` contains.
unsafe fn run_check<T: DriverPlane>(
    plane: *mut bindings::drm_plane,
    state: *mut bindings::drm_atomic_state,
    hook: fn(&Plane<T>, &mut PlaneCheck<'_, T>) -> Result,
) -> c_int {
    // SAFETY: By the safety requirements.
    let Some((old, new)) = (unsafe { states(plane, state) }) else {
        return 0;
    };
    // SAFETY: By the safety requirements `plane` is a `Plane<T>`.
    let this = unsafe { Plane::<T>::from_raw(plane) };
    // INVARIANT: `state` is checked with its locks held; its new plane state is the check's.
    let mut check = PlaneCheck {
        state,
        // SAFETY: `old` is the plane's valid old state, unmodified during the check.
        old: unsafe { PlaneState::from_raw(old) },
        // SAFETY: `new` is the plane's new state, exclusively the check's.
        new: unsafe { PlaneState::from_raw_mut(new) },
    };
    match hook(this, &mut check) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `drm_plane_helper_funcs.atomic_check`.
///
/// # Safety
///
/// As for [`run_check`].
unsafe extern "C" fn atomic_check_callback<T: DriverPlane>(
    plane: *mut bindings::drm_plane,
    state: *mut bindings::drm_atomic_state,
) -> c_int {
    // SAFETY: By the function's safety requirements.
    unsafe { run_check::<T>(plane, state, T::atomic_check) }
}

/// `drm_plane_helper_funcs.atomic_async_check`.
///
/// # Safety
///
/// As for [`run_check`].
unsafe extern "C" fn atomic_async_check_callback<T: DriverPlane>(
    plane: *mut bindings::drm_plane,
    state: *mut bindings::drm_atomic_state,
) -> c_int {
    // SAFETY: By the function's safety requirements.
    unsafe { run_check::<T>(plane, state, T::atomic_async_check) }
}

/// `drm_plane_helper_funcs.prepare_fb`.
///
/// # Safety
///
/// Called by the helpers before the commit's point of no return, with a `Plane<T>` and its new
/// state, exclusively theirs.
unsafe extern "C" fn prepare_fb_callback<T: DriverPlane>(
    plane: *mut bindings::drm_plane,
    new: *mut bindings::drm_plane_state,
) -> c_int {
    // The implicit-fence wait the helpers set up when a driver has no `prepare_fb`.
    // SAFETY: `plane` and its state `new` are valid for the call (safety requirements).
    let ret = unsafe { bindings::drm_gem_plane_helper_prepare_fb(plane, new) };
    if ret != 0 {
        return ret;
    }
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Plane::<T>::from_raw(plane) };
    // SAFETY: `new` is a state of `this`, exclusively ours for the call.
    let new = unsafe { PlaneState::<T>::from_raw_mut(new) };
    match T::prepare_fb(this, new) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `drm_plane_helper_funcs.cleanup_fb`.
///
/// # Safety
///
/// As for [`prepare_fb_callback`], with a state that is done with.
unsafe extern "C" fn cleanup_fb_callback<T: DriverPlane>(
    plane: *mut bindings::drm_plane,
    state: *mut bindings::drm_plane_state,
) {
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Plane::<T>::from_raw(plane) };
    // SAFETY: `state` is a state of `this`, exclusively ours for the call.
    let state = unsafe { PlaneState::<T>::from_raw_mut(state) };
    T::cleanup_fb(this, state);
}

/// Runs `T`'s update hook with the plane's old and `new` state.
///
/// # Safety
///
/// `plane` is a `Plane<T>`, `old` and `new` valid states of it that stay unmodified for the
/// call; the caller holds a device reference (a commit).
unsafe fn run_update<T: DriverPlane>(
    plane: *mut bindings::drm_plane,
    old: *const bindings::drm_plane_state,
    new: *const bindings::drm_plane_state,
    hook: fn(&Plane<T>, &PlaneUpdate<'_, T>),
) {
    // SAFETY: By the safety requirements.
    let this = unsafe { Plane::<T>::from_raw(plane) };
    // SAFETY: By the safety requirements.
    let (old, new) = unsafe {
        (
            PlaneState::<T>::from_raw(old),
            PlaneState::<T>::from_raw(new),
        )
    };
    let crtc = if old.raw().crtc.is_null() {
        new.raw().crtc
    } else {
        old.raw().crtc
    };
    let crtc_active = !crtc.is_null() && {
        // SAFETY: `crtc` is a CRTC of the device (alive as long as it); its `state` is the
        // current (new, after the swap) state, owned by the commit for the call.
        let cs = unsafe { (*crtc).state };
        // SAFETY: `cs` is valid when non-null (as above).
        !cs.is_null() && unsafe { (*cs).active }
    };
    hook(
        this,
        &PlaneUpdate {
            old,
            new,
            crtc_active,
        },
    );
}

/// `drm_plane_helper_funcs.atomic_update`.
///
/// # Safety
///
/// Called by the atomic helpers while committing `state` (holding a device reference), with a
/// `Plane<T>` that `state` contains; after the swap the plane's `state` is the new state.
unsafe extern "C" fn atomic_update_callback<T: DriverPlane>(
    plane: *mut bindings::drm_plane,
    state: *mut bindings::drm_atomic_state,
) {
    // SAFETY: By the function's safety requirements.
    let old = unsafe { bindings::vgrs_drm_atomic_get_old_plane_state(state, plane) };
    // SAFETY: `plane` is valid; after the swap its `state` is the new state, which the commit
    // owns until it is done.
    let new = unsafe { (*plane).state };
    if old.is_null() || new.is_null() {
        return;
    }
    // SAFETY: `old` and `new` are states of the `Plane<T>` owned by the commit.
    unsafe { run_update::<T>(plane, old, new, T::atomic_update) };
}

/// `drm_plane_helper_funcs.atomic_async_update`: copies the new state's position, source
/// and framebuffer into the plane's current state (as vc4 and amdgpu do), then runs `T`'s hook
/// with the state as it was and the updated current state.
///
/// # Safety
///
/// Called by `drm_atomic_helper_async_commit` with a `Plane<T>` in `state` whose async check
/// passed, holding the plane's lock and a device reference.
unsafe extern "C" fn atomic_async_update_callback<T: DriverPlane>(
    plane: *mut bindings::drm_plane,
    state: *mut bindings::drm_atomic_state,
) {
    // SAFETY: By the function's safety requirements.
    let Some((_, new)) = (unsafe { states(plane, state) }) else {
        return;
    };
    // SAFETY: `plane` is valid; its current state is not swapped in an async commit.
    let cur = unsafe { (*plane).state };
    if cur.is_null() {
        return;
    }
    // The state as it was, for the hook: a shallow copy of the C part (no references taken,
    // only read during the call) and of the driver data.
    // SAFETY: `cur` is a valid `PlaneState<T>` (type invariant of `Plane`), stable under the
    // plane lock the async commit holds.
    let before = unsafe { core::ptr::read(cur.cast::<bindings::drm_plane_state>()) };
    // SAFETY: As above.
    let before_data = unsafe { PlaneState::<T>::from_raw(cur) }.data.clone();
    let before = PlaneState::<T> {
        base: Opaque::new(before),
        data: before_data,
    };
    // SAFETY: `cur` and `new` are valid states of the plane; the async commit holds the plane
    // lock, so nobody else writes `cur`. Swapping the framebuffers keeps the references right:
    // the current state takes the new framebuffer's reference, and the new state (destroyed
    // with the commit) drops the old one's.
    unsafe {
        core::ptr::swap(&raw mut (*cur).fb, &raw mut (*new).fb);
        (*cur).crtc_x = (*new).crtc_x;
        (*cur).crtc_y = (*new).crtc_y;
        (*cur).crtc_w = (*new).crtc_w;
        (*cur).crtc_h = (*new).crtc_h;
        (*cur).src_x = (*new).src_x;
        (*cur).src_y = (*new).src_y;
        (*cur).src_w = (*new).src_w;
        (*cur).src_h = (*new).src_h;
        (*cur).hotspot_x = (*new).hotspot_x;
        (*cur).hotspot_y = (*new).hotspot_y;
    }
    // SAFETY: `before` is a valid copy only read during the call; `cur` is the plane's valid
    // current state, not modified during the call (plane lock).
    unsafe { run_update::<T>(plane, before.base.get(), cur, T::atomic_async_update) };
}

/// The plane's current state, for the panic hooks.
///
/// # Safety
///
/// `plane` is a `Plane<T>` and the caller holds its device's panic lock
/// (`drm_panic_trylock`), which a commit takes to swap plane states: the current state
/// stays valid and unchanged for `'a`.
unsafe fn panic_state<'a, T: DriverPlane>(
    plane: *const bindings::drm_plane,
) -> Option<&'a PlaneState<T>> {
    // SAFETY: `plane` is valid (safety requirements); `state` is only written by the state
    // swap, which the panic lock excludes.
    let state = unsafe { (*plane).state };
    // SAFETY: A non-null current state of a `Plane<T>` is a `PlaneState<T>` (type invariant
    // of `Plane`), valid and unchanged for `'a` (safety requirements).
    (!state.is_null()).then(|| unsafe { PlaneState::<T>::from_raw(state) })
}

/// `drm_plane_helper_funcs.get_scanout_buffer`.
///
/// # Safety
///
/// Called by drm_panic with a `Plane<T>`, holding the device's panic lock, and a scanout
/// buffer exclusively its for the call.
unsafe extern "C" fn get_scanout_buffer_callback<T: DriverPlane>(
    plane: *mut bindings::drm_plane,
    sb: *mut bindings::drm_scanout_buffer,
) -> c_int {
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Plane::<T>::from_raw(plane) };
    // SAFETY: A `Plane<T>`, under the panic lock (safety requirements).
    let Some(state) = (unsafe { panic_state::<T>(plane) }) else {
        return ENODEV.to_errno();
    };
    // SAFETY: `sb` is valid and exclusively ours (safety requirements); `ScanoutBuffer` is
    // `repr(transparent)` over it.
    let sb = unsafe { &mut *sb.cast::<ScanoutBuffer>() };
    match T::get_scanout_buffer(this, state, sb) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `drm_plane_helper_funcs.panic_flush`.
///
/// # Safety
///
/// Called by drm_panic with a `Plane<T>`, holding the device's panic lock, after
/// `get_scanout_buffer` succeeded.
unsafe extern "C" fn panic_flush_callback<T: DriverPlane>(plane: *mut bindings::drm_plane) {
    // SAFETY: By the function's safety requirements.
    let this = unsafe { Plane::<T>::from_raw(plane) };
    // SAFETY: A `Plane<T>`, under the panic lock (safety requirements).
    if let Some(state) = unsafe { panic_state::<T>(plane) } {
        T::panic_flush(this, state);
    }
}
