// SPDX-License-Identifier: GPL-2.0

//! The mode config: creation of the outputs, reset, fbdev emulation and shutdown.
//!
//! C headers: [`include/drm/drm_mode_config.h`](srctree/include/drm/drm_mode_config.h),
//! [`include/drm/drm_atomic_helper.h`](srctree/include/drm/drm_atomic_helper.h)

use core::marker::PhantomData;

use kernel::{error::to_result, prelude::*, types::ARef};

use super::{
    connector::ConnectorVtable, crtc::CrtcVtable, encoder, framebuffer, plane::PlaneVtable, vblank,
    KmsDriver, Output,
};
use crate::{
    drm::{Device, Registration},
    glue::bindings,
};

/// The mode config functions of driver `T`.
struct ConfigVtable<T>(PhantomData<T>);

impl<T: KmsDriver> ConfigVtable<T> {
    const FUNCS: bindings::drm_mode_config_funcs = bindings::drm_mode_config_funcs {
        fb_create: Some(framebuffer::fb_create_callback::<T>),
        get_format_info: None,
        mode_valid: None,
        atomic_check: Some(bindings::drm_atomic_helper_check),
        atomic_commit: Some(bindings::drm_atomic_helper_commit),
        atomic_state_alloc: None,
        atomic_state_clear: None,
        atomic_state_free: None,
    };
}

/// The mode config helper functions: the commit tail.
const CONFIG_HELPER_FUNCS: bindings::drm_mode_config_helper_funcs =
    bindings::drm_mode_config_helper_funcs {
        atomic_commit_tail: Some(commit_tail),
        atomic_commit_setup: None,
    };

/// `drm_mode_config_helper_funcs.atomic_commit_tail`: `drm_atomic_helper_commit_tail`, except
/// that it waits for the commit's page flips (`drm_atomic_helper_wait_for_flip_done`) instead
/// of for one vblank on every active CRTC (`_wait_for_vblanks`).
///
/// The events complete the flips: armed for the next vblank, they make a synchronous flip
/// wait for it just the same; sent at once for an asynchronous flip, they let it return at
/// once, which the vblank wait would not (and the core lets only two commits per CRTC run
/// ahead of their cleanup, so asynchronous flips would be held to twice the refresh rate).
/// virtio-gpu needs no wait before the old framebuffers are cleaned up: the device takes the
/// commands in order, so a resource is released only after the scanout moved off it.
///
/// # Safety
///
/// Called by the atomic helpers' commit machinery with the state being committed, which holds
/// a reference to its device.
unsafe extern "C" fn commit_tail(state: *mut bindings::drm_atomic_state) {
    // SAFETY: `state` is valid (safety requirements); `dev` is set when it is allocated.
    let dev = unsafe { (*state).dev };
    // SAFETY: `dev` and `state` are valid; this is the commit tail of `state`, where the
    // helpers below are meant to run, in this order (as `drm_atomic_helper_commit_tail`).
    unsafe { bindings::drm_atomic_helper_commit_modeset_disables(dev, state) };
    // SAFETY: As above.
    unsafe { bindings::drm_atomic_helper_commit_planes(dev, state, 0) };
    // SAFETY: As above.
    unsafe { bindings::drm_atomic_helper_commit_modeset_enables(dev, state) };
    // SAFETY: As above (sends nothing: `no_vblank` is false with the vblank core set up).
    unsafe { bindings::drm_atomic_helper_fake_vblank(state) };
    // SAFETY: As above.
    unsafe { bindings::drm_atomic_helper_commit_hw_done(state) };
    // SAFETY: As above; the commit's flips are tracked by `drm_atomic_helper_setup_commit`.
    unsafe { bindings::drm_atomic_helper_wait_for_flip_done(dev, state) };
    // SAFETY: As above.
    unsafe { bindings::drm_atomic_helper_cleanup_planes(dev, state) };
}

/// Proof that a device's mode config is initialised, with its outputs.
///
/// # Invariants
///
/// [`init`] succeeded on `dev`.
pub(crate) struct Kms<T: KmsDriver> {
    dev: ARef<Device<T>>,
}

/// Initialises the mode config of `dev` with `num_outputs` outputs, each a CRTC with a
/// primary and a cursor plane, a Virtual encoder and a Virtual connector (`edid`: with an
/// EDID property), then resets every object's state. Must run before `dev` is registered;
/// `EBUSY` if the mode config is already initialised or the device registered.
pub(crate) fn init<T: KmsDriver>(
    dev: &ARef<Device<T>>,
    num_outputs: u32,
    edid: bool,
) -> Result<Kms<T>> {
    let raw = dev.as_raw();
    // SAFETY: `raw` is a valid device; before registration only this thread uses it.
    let registered = unsafe { (*raw).registered };
    // SAFETY: As above; `funcs` is set (non-null) only by a previous `init`.
    let initialised = !unsafe { (*raw).mode_config.funcs }.is_null();
    if registered || initialised {
        return Err(EBUSY);
    }
    // The outputs' memory first: DRM-managed resources are released in reverse order, so
    // it outlives the mode config cleanup registered by `drmm_mode_config_init` below, which
    // destroys the objects embedded in it.
    let mut outputs = KVec::with_capacity(num_outputs as usize, GFP_KERNEL)?;
    for i in 0..num_outputs {
        let output = Output::alloc(dev, i)?;
        // SAFETY: `output` was just allocated zeroed and is not shared yet.
        unsafe { output.vblank.init_timer() };
        outputs.push(output, GFP_KERNEL)?;
    }
    // SAFETY: `raw` is a valid, unregistered device whose mode config is not initialised.
    to_result(unsafe { bindings::drmm_mode_config_init(raw) })?;
    // SAFETY: `raw` is valid and not visible to userspace yet; nothing else reads the mode
    // config while it is being set up.
    let config = unsafe { &mut (*raw).mode_config };
    config.quirk_addfb_prefer_host_byte_order = true;
    config.fb_modifiers_not_supported = true;
    // Page flips may skip the vblank (`DRM_MODE_PAGE_FLIP_ASYNC`); see `vblank::flush_event`.
    config.async_page_flip = true;
    config.min_width = T::MIN_SIZE.0 as i32;
    config.min_height = T::MIN_SIZE.1 as i32;
    config.max_width = T::MAX_SIZE.0 as i32;
    config.max_height = T::MAX_SIZE.1 as i32;
    config.funcs = &ConfigVtable::<T>::FUNCS;
    config.helper_private = &CONFIG_HELPER_FUNCS;
    for output in outputs.iter() {
        // SAFETY: `raw` is valid with an initialised mode config and not registered;
        // `output` is zeroed DRM-managed memory of `raw`, initialised once, here.
        unsafe { init_output::<T>(raw, output, edid) }?;
    }
    // The vblank core after the CRTCs, before the reset (whose CRTC reset marks each vblank
    // off), and its stop actions after its own release action, so they run first.
    // SAFETY: `raw` is valid and unregistered; its CRTCs are those of `outputs`, in index
    // order (`drm_crtc_init_with_planes` above, in this order); every timer is initialised.
    unsafe { vblank::init(raw, &outputs) }?;
    // SAFETY: `raw` is valid with an initialised mode config; every object has its `reset`.
    unsafe { bindings::drm_mode_config_reset(raw) };
    // INVARIANT: the mode config and its outputs are initialised.
    Ok(Kms { dev: dev.clone() })
}

/// Initialises the DRM objects of `output`.
///
/// # Safety
///
/// `dev` must be a valid, unregistered device with an initialised mode config, and `output`
/// one of its zeroed outputs from [`Output::alloc`], not initialised yet.
unsafe fn init_output<T: KmsDriver>(
    dev: *mut bindings::drm_device,
    output: &Output,
    edid: bool,
) -> Result {
    let index = output.index();
    let crtc_mask = 1u32.checked_shl(index).ok_or(EINVAL)?;
    let primary = output.primary.get();
    let cursor = output.cursor.get();
    let crtc = output.crtc.get();
    let conn = output.connector.get();
    let enc = output.encoder.get();
    for (plane, kind, formats, helpers) in [
        (
            primary,
            bindings::drm_plane_type_DRM_PLANE_TYPE_PRIMARY,
            T::PRIMARY_FORMATS,
            &PlaneVtable::<T>::PRIMARY_HELPER_FUNCS,
        ),
        (
            cursor,
            bindings::drm_plane_type_DRM_PLANE_TYPE_CURSOR,
            T::CURSOR_FORMATS,
            &PlaneVtable::<T>::CURSOR_HELPER_FUNCS,
        ),
    ] {
        let count = u32::try_from(formats.len())?;
        // SAFETY: `dev` is valid (safety requirements); `plane` is zeroed memory valid until
        // the mode config cleanup, whose `destroy` (`drm_plane_cleanup`) touches only the
        // plane; `formats` is copied; no modifiers; a null name makes DRM pick one.
        to_result(unsafe {
            bindings::drm_universal_plane_init(
                dev,
                plane,
                crtc_mask,
                &PlaneVtable::<T>::FUNCS,
                formats.as_ptr(),
                count,
                core::ptr::null(),
                kind,
                core::ptr::null(),
            )
        })?;
        // SAFETY: `plane` was initialised above; `helpers` is a `'static` constant.
        unsafe { bindings::vgrs_drm_plane_helper_add(plane, helpers) };
    }
    // SAFETY: `primary` was initialised above.
    unsafe { bindings::drm_plane_enable_fb_damage_clips(primary) };
    // SAFETY: `dev` is valid; `crtc` is zeroed memory valid until the mode config cleanup,
    // whose `destroy` (`drm_crtc_cleanup`) touches only the CRTC; both planes are
    // initialised planes of `dev`.
    to_result(unsafe {
        bindings::drm_crtc_init_with_planes(
            dev,
            crtc,
            primary,
            cursor,
            &CrtcVtable::<T>::FUNCS,
            core::ptr::null(),
        )
    })?;
    // SAFETY: `crtc` was initialised above; the helper functions are a `'static` constant.
    unsafe { bindings::vgrs_drm_crtc_helper_add(crtc, &CrtcVtable::<T>::HELPER_FUNCS) };
    // SAFETY: `dev` is valid; `conn` is zeroed memory valid until the mode config cleanup,
    // whose `destroy` touches only the connector.
    to_result(unsafe {
        bindings::drm_connector_init(
            dev,
            conn,
            &ConnectorVtable::<T>::FUNCS,
            bindings::DRM_MODE_CONNECTOR_VIRTUAL as i32,
        )
    })?;
    // SAFETY: `conn` was initialised above; the helper functions are a `'static` constant.
    unsafe { bindings::vgrs_drm_connector_helper_add(conn, &ConnectorVtable::<T>::HELPER_FUNCS) };
    if edid {
        // SAFETY: `conn` is an initialised connector of the unregistered `dev`.
        unsafe { bindings::drm_connector_attach_edid_property(conn) };
    }
    // SAFETY: `dev` is valid and unregistered; `enc` is zeroed memory valid until the mode
    // config cleanup.
    unsafe { encoder::init(dev, enc, crtc_mask) }?;
    // SAFETY: `conn` and `enc` are initialised objects of `dev`.
    to_result(unsafe { bindings::drm_connector_attach_encoder(conn, enc) })
}

impl<T: KmsDriver> Kms<T> {
    /// Sets up fbdev emulation (and with it the console) on the registered device, with
    /// shmem-backed framebuffers of `bpp` bits per pixel. Failures are logged by DRM and
    /// leave the device without fbdev.
    pub(crate) fn fbdev_shmem_setup(&self, reg: &Registration<T>, bpp: u32) {
        if !core::ptr::eq(reg.device().as_raw(), self.dev.as_raw()) {
            return;
        }
        // SAFETY: `reg` proves the device is registered and its mode config initialised
        // (type invariant); the fbdev client is released when the device is unregistered.
        unsafe { bindings::drm_fbdev_shmem_setup(reg.device().as_raw(), bpp) };
    }

    /// Tells userspace (a `HOTPLUG=1` uevent) and the DRM clients (fbdev) that the outputs
    /// changed, so they probe the connectors again (`drm_kms_helper_hotplug_event`, as the
    /// C driver after a display event).
    pub(crate) fn hotplug_event(&self, reg: &Registration<T>) {
        if !core::ptr::eq(reg.device().as_raw(), self.dev.as_raw()) {
            return;
        }
        // SAFETY: `reg` proves the device is registered (type invariant of `Registration`),
        // and it stays registered while borrowed; its mode config is initialised (type
        // invariant); the function may sleep, and callers run in process context.
        unsafe { bindings::drm_kms_helper_hotplug_event(reg.device().as_raw()) };
    }

    /// Disables every output (at unbind, after the device was unplugged), so no plane holds
    /// a framebuffer any more.
    pub(crate) fn shutdown(&self) {
        // SAFETY: By the type invariant the mode config is initialised; the device is
        // referenced by `self.dev`.
        unsafe { bindings::drm_atomic_helper_shutdown(self.dev.as_raw()) };
    }
}
