// SPDX-License-Identifier: GPL-2.0

//! The mode config: building the display pipeline ([`KmsBuilder`]), the commit tail, fbdev
//! emulation, hotplug events and shutdown ([`Kms`]).
//!
//! C headers: [`include/drm/drm_mode_config.h`](srctree/include/drm/drm_mode_config.h),
//! [`include/drm/drm_atomic_helper.h`](srctree/include/drm/drm_atomic_helper.h)

use core::marker::PhantomData;

use kernel::{error::to_result, prelude::*, types::ARef};

use super::{
    connector::{Connector, ConnectorType, DriverConnector},
    crtc::{Crtc, CrtcBase, DriverCrtc},
    encoder::{Encoder, EncoderType},
    framebuffer,
    plane::{DriverPlane, Plane, PlaneType},
    vblank, KmsDriver,
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

    /// The mode config helper functions: `T`'s commit tail, or the helpers' default
    /// (`drm_atomic_helper_commit_tail`) without one.
    const HELPER_FUNCS: bindings::drm_mode_config_helper_funcs =
        bindings::drm_mode_config_helper_funcs {
            atomic_commit_tail: if T::HAS_ATOMIC_COMMIT_TAIL {
                Some(commit_tail_callback::<T>)
            } else {
                None
            },
            atomic_commit_setup: None,
        };
}

/// The commit tail of an atomic commit: the steps of `drm_atomic_helper_commit_tail`, for a
/// driver's [`KmsDriver::atomic_commit_tail`] to run in the order it needs.
///
/// # Invariants
///
/// `state` is the atomic state being committed, in its commit tail (holding a reference to
/// its device), for the duration of `'a`.
pub(crate) struct CommitTail<'a> {
    state: *mut bindings::drm_atomic_state,
    _p: PhantomData<&'a ()>,
}

impl CommitTail<'_> {
    fn dev(&self) -> *mut bindings::drm_device {
        // SAFETY: `state` is valid (type invariant); `dev` is set when it is allocated.
        unsafe { (*self.state).dev }
    }

    /// `drm_atomic_helper_commit_modeset_disables`.
    pub(crate) fn modeset_disables(&self) {
        // SAFETY: By the type invariant we are in the commit tail of `state`.
        unsafe { bindings::drm_atomic_helper_commit_modeset_disables(self.dev(), self.state) };
    }

    /// `drm_atomic_helper_commit_planes` (no flags).
    pub(crate) fn planes(&self) {
        // SAFETY: By the type invariant we are in the commit tail of `state`.
        unsafe { bindings::drm_atomic_helper_commit_planes(self.dev(), self.state, 0) };
    }

    /// `drm_atomic_helper_commit_modeset_enables`.
    pub(crate) fn modeset_enables(&self) {
        // SAFETY: By the type invariant we are in the commit tail of `state`.
        unsafe { bindings::drm_atomic_helper_commit_modeset_enables(self.dev(), self.state) };
    }

    /// `drm_atomic_helper_fake_vblank`: sends the events of CRTCs without vblank support.
    pub(crate) fn fake_vblank(&self) {
        // SAFETY: By the type invariant we are in the commit tail of `state`.
        unsafe { bindings::drm_atomic_helper_fake_vblank(self.state) };
    }

    /// `drm_atomic_helper_commit_hw_done`.
    pub(crate) fn hw_done(&self) {
        // SAFETY: By the type invariant we are in the commit tail of `state`.
        unsafe { bindings::drm_atomic_helper_commit_hw_done(self.state) };
    }

    /// Waits for the next vblank of each CRTC the commit turns off or sets a new mode on
    /// (at most 100 ms each), as a display controller keeps scanning out until then: the
    /// commit's event then comes with that vblank, not at once.
    pub(crate) fn vblank_before_disables(&self) {
        // SAFETY: By the type invariant we are in the commit tail of `state`, which holds the
        // CRTCs' states; a commit tail may sleep.
        unsafe { bindings::vgrs_atomic_wait_vblank_before_disables(self.state) };
    }

    /// `drm_atomic_helper_wait_for_flip_done`: waits for the commit's page flip events.
    pub(crate) fn wait_for_flip_done(&self) {
        // SAFETY: By the type invariant we are in the commit tail of `state`, whose flips
        // `drm_atomic_helper_setup_commit` tracks.
        unsafe { bindings::drm_atomic_helper_wait_for_flip_done(self.dev(), self.state) };
    }

    /// `drm_atomic_helper_wait_for_vblanks`: waits for one vblank on every active CRTC.
    #[allow(dead_code)] // The default tail's wait; this driver waits for its flips instead.
    pub(crate) fn wait_for_vblanks(&self) {
        // SAFETY: By the type invariant we are in the commit tail of `state`.
        unsafe { bindings::drm_atomic_helper_wait_for_vblanks(self.dev(), self.state) };
    }

    /// `drm_atomic_helper_cleanup_planes`.
    pub(crate) fn cleanup_planes(&self) {
        // SAFETY: By the type invariant we are in the commit tail of `state`.
        unsafe { bindings::drm_atomic_helper_cleanup_planes(self.dev(), self.state) };
    }
}

/// `drm_mode_config_helper_funcs.atomic_commit_tail`: `T`'s commit tail.
///
/// # Safety
///
/// Called by the atomic helpers' commit machinery with the state being committed, which holds
/// a reference to its device.
unsafe extern "C" fn commit_tail_callback<T: KmsDriver>(state: *mut bindings::drm_atomic_state) {
    // INVARIANT: `state` is in its commit tail for the call.
    let tail = CommitTail {
        state,
        _p: PhantomData,
    };
    T::atomic_commit_tail(&tail);
}

/// Builds a device's display pipeline before the device is registered: the driver creates
/// its planes, CRTCs, encoders and connectors in any topology, then [`KmsBuilder::finish`]
/// sets up the vblank core and resets every object's state.
///
/// # Invariants
///
/// `dev` is not registered and its mode config was initialised by [`KmsBuilder::new`];
/// `crtcs` are all of its CRTCs, in index order.
pub(crate) struct KmsBuilder<'a, T: KmsDriver> {
    dev: &'a ARef<Device<T>>,
    crtcs: KVec<&'a CrtcBase>,
}

impl<'a, T: KmsDriver> KmsBuilder<'a, T> {
    /// Initialises the mode config of `dev` with `T`'s limits and functions. `EBUSY` if the
    /// device is registered or its mode config already initialised.
    pub(crate) fn new(dev: &'a ARef<Device<T>>) -> Result<Self> {
        let raw = dev.as_raw();
        // SAFETY: `raw` is a valid device; before registration only this thread uses it.
        let registered = unsafe { (*raw).registered };
        // SAFETY: As above; `funcs` is set (non-null) only by a previous initialisation.
        let initialised = !unsafe { (*raw).mode_config.funcs }.is_null();
        if registered || initialised {
            return Err(EBUSY);
        }
        // SAFETY: `raw` is a valid, unregistered device whose mode config is not initialised.
        to_result(unsafe { bindings::drmm_mode_config_init(raw) })?;
        // SAFETY: `raw` is valid and not visible to userspace yet; nothing else reads the mode
        // config while it is being set up.
        let config = unsafe { &mut (*raw).mode_config };
        let info = &T::CONFIG;
        config.quirk_addfb_prefer_host_byte_order = info.prefer_host_byte_order;
        config.fb_modifiers_not_supported = !info.fb_modifiers;
        config.async_page_flip = info.async_page_flip;
        config.min_width = info.min_size.0 as i32;
        config.min_height = info.min_size.1 as i32;
        config.max_width = info.max_size.0 as i32;
        config.max_height = info.max_size.1 as i32;
        config.funcs = &ConfigVtable::<T>::FUNCS;
        config.helper_private = &ConfigVtable::<T>::HELPER_FUNCS;
        // INVARIANT: initialised above, not registered, no CRTC yet.
        Ok(Self {
            dev,
            crtcs: KVec::new(),
        })
    }

    /// A plane of `kind` with the pixel `formats`, for the CRTCs in `possible_crtcs` (a bit
    /// mask of CRTC indexes; CRTCs are numbered in creation order from 0), with data `data`.
    pub(crate) fn plane<P: DriverPlane<Driver = T>>(
        &self,
        kind: PlaneType,
        formats: &[u32],
        possible_crtcs: u32,
        data: P,
    ) -> Result<&'a Plane<P>> {
        // SAFETY: By the type invariant the device is unregistered with an initialised mode
        // config.
        unsafe { Plane::new(self.dev, kind, formats, possible_crtcs, data) }
    }

    /// Enables damage clips (`FB_DAMAGE_CLIPS`) on `plane`.
    pub(crate) fn enable_fb_damage_clips<P: DriverPlane<Driver = T>>(&self, plane: &Plane<P>) {
        plane.enable_fb_damage_clips();
    }

    /// A CRTC scanning out `primary` (and `cursor`), with data `data`. Its index is the
    /// number of CRTCs created before it.
    pub(crate) fn crtc<
        C: DriverCrtc<Driver = T>,
        P: DriverPlane<Driver = T>,
        Q: DriverPlane<Driver = T>,
    >(
        &mut self,
        primary: &Plane<P>,
        cursor: Option<&Plane<Q>>,
        data: C,
    ) -> Result<&'a Crtc<C>> {
        self.crtcs.reserve(1, GFP_KERNEL)?;
        let cursor = cursor.map_or(core::ptr::null_mut(), |c| c.as_raw());
        // SAFETY: By the type invariant the device is unregistered with an initialised mode
        // config; the planes are initialised planes of it (created by this builder).
        let crtc = unsafe { Crtc::new(self.dev, primary.as_raw(), cursor, data) }?;
        // INVARIANT: CRTCs get their index in creation order, so `crtcs` stays in index
        // order; the push cannot fail (room reserved above).
        self.crtcs.push(crtc.base(), GFP_KERNEL)?;
        Ok(crtc)
    }

    /// An encoder of `kind` that can drive the CRTCs in `possible_crtcs`.
    pub(crate) fn encoder(&self, kind: EncoderType, possible_crtcs: u32) -> Result<&'a Encoder> {
        // SAFETY: By the type invariant the device is unregistered with an initialised mode
        // config.
        unsafe { Encoder::new(&**self.dev, kind, possible_crtcs) }
    }

    /// A connector of `kind` with data `data`, with an EDID property if `edid`.
    pub(crate) fn connector<K: DriverConnector<Driver = T>>(
        &self,
        kind: ConnectorType,
        edid: bool,
        data: K,
    ) -> Result<&'a Connector<K>> {
        // SAFETY: By the type invariant the device is unregistered with an initialised mode
        // config.
        let conn = unsafe { Connector::new(self.dev, kind, data) }?;
        if edid {
            conn.attach_edid_property();
        }
        Ok(conn)
    }

    /// Lets `conn` be driven by `encoder`.
    pub(crate) fn attach_encoder<K: DriverConnector<Driver = T>>(
        &self,
        conn: &Connector<K>,
        encoder: &Encoder,
    ) -> Result {
        conn.attach_encoder(encoder)
    }

    /// Sets up the vblank core (one emulated vblank per CRTC) and resets every object's
    /// state. The pipeline is complete: the device may be registered.
    pub(crate) fn finish(self) -> Result<Kms<T>> {
        let raw = self.dev.as_raw();
        // The vblank core after the CRTCs, before the reset (whose CRTC reset marks each
        // vblank off), and its stop actions after its own release action, so they run first.
        // SAFETY: `raw` is valid and unregistered; its CRTCs are `crtcs`, in index order (type
        // invariant), each created by `Crtc::new` with its timer initialised and freed only by
        // the mode config cleanup.
        unsafe { vblank::init(raw, &self.crtcs) }?;
        // The reset of an object can fail to allocate its state, which `drm_mode_config_reset`
        // does not report; the helper does (and the probe fails: the device's cleanup frees
        // what exists).
        // SAFETY: `raw` is valid with an initialised mode config; every object has its `reset`.
        to_result(unsafe { bindings::vgrs_drm_mode_config_reset_checked(raw) })?;
        // INVARIANT: the mode config and its objects are initialised.
        Ok(Kms {
            dev: self.dev.clone(),
        })
    }
}

/// Proof that [`Kms::suspend`] saved the state of a device's outputs, which
/// [`Kms::resume`] consumes.
///
/// # Invariants
///
/// Made only by a successful `drm_mode_config_helper_suspend` of the device at address
/// `dev`, whose saved state is not yet committed again.
pub(crate) struct Suspended {
    dev: usize,
}

/// Proof that a device's display pipeline is set up.
///
/// # Invariants
///
/// [`KmsBuilder::finish`] succeeded on `dev`.
pub(crate) struct Kms<T: KmsDriver> {
    dev: ARef<Device<T>>,
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
    /// changed, so they probe the connectors again (`drm_kms_helper_hotplug_event`).
    pub(crate) fn hotplug_event(&self, reg: &Registration<T>) {
        if !core::ptr::eq(reg.device().as_raw(), self.dev.as_raw()) {
            return;
        }
        // SAFETY: `reg` proves the device is registered (type invariant of `Registration`),
        // and it stays registered while borrowed; its mode config is initialised (type
        // invariant); the function may sleep, and callers run in process context.
        unsafe { bindings::drm_kms_helper_hotplug_event(reg.device().as_raw()) };
    }

    /// System suspend (`drm_mode_config_helper_suspend`): stops output polling, suspends
    /// fbdev, saves the atomic state and disables every output with a commit (which reaches
    /// the device, so the driver's commit hooks must still work). The returned [`Suspended`]
    /// is what [`Kms::resume`] takes: a resume without a suspend cannot be written.
    pub(crate) fn suspend(&self, reg: &Registration<T>) -> Result<Suspended> {
        if !core::ptr::eq(reg.device().as_raw(), self.dev.as_raw()) {
            return Err(EINVAL);
        }
        // SAFETY: The device is registered (`reg`) with an initialised mode config (type
        // invariant); the function may sleep, and the PM callbacks run in process context.
        to_result(unsafe { bindings::drm_mode_config_helper_suspend(self.dev.as_raw()) })?;
        // INVARIANT: the suspend of this device succeeded, so its mode config holds the saved
        // state.
        Ok(Suspended {
            dev: self.dev.as_raw() as usize,
        })
    }

    /// System resume (`drm_mode_config_helper_resume`): commits the state [`Kms::suspend`]
    /// saved (the driver's hooks set the outputs up again), resumes fbdev and output polling.
    pub(crate) fn resume(&self, reg: &Registration<T>, token: Suspended) -> Result {
        if !core::ptr::eq(reg.device().as_raw(), self.dev.as_raw())
            || token.dev != self.dev.as_raw() as usize
        {
            return Err(EINVAL);
        }
        // SAFETY: As in `suspend`; by the invariant of `Suspended` the mode config holds a
        // saved state (`suspend_state`), which the function commits and releases.
        to_result(unsafe { bindings::drm_mode_config_helper_resume(self.dev.as_raw()) })
    }

    /// Disables every output (`drm_atomic_helper_shutdown`, at unbind after the device was
    /// unplugged, as the C driver does), so no plane holds a framebuffer any more.
    pub(crate) fn shutdown(&self) {
        // SAFETY: By the type invariant the mode config is initialised; the device is
        // referenced by `self.dev`.
        unsafe { bindings::drm_atomic_helper_shutdown(self.dev.as_raw()) };
    }
}
