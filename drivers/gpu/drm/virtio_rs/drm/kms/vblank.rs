// SPDX-License-Identifier: GPL-2.0

//! Emulated vblank: a high-resolution timer per CRTC ticking at the mode's frame period.
//!
//! For devices without a vblank interrupt (virtual GPUs). As vkms does, each CRTC runs an `hrtimer` whose
//! callback calls `drm_crtc_handle_vblank`, so the DRM vblank core counts frames, stamps them
//! (`get_vblank_timestamp` from the timer's expiry), answers `WAIT_VBLANK` and
//! `CRTC_GET_SEQUENCE`, and sends page-flip events at the next tick (armed in the CRTC's
//! `atomic_flush`).
//!
//! Timer protocol: the vblank core calls `enable_vblank`/`disable_vblank` with its
//! `vblank_time_lock` held and interrupts off, and `drm_crtc_handle_vblank` takes the same lock
//! inside the timer callback; waiting for the callback there (`hrtimer_cancel`) can deadlock
//! (upstream's later generic vblank timer notes the same). So `disable_vblank` only clears
//! `wanted` and the callback stops itself at its next tick; `enable_vblank` starts the timer
//! only if it is not running (`running`, claimed by compare-and-swap, so exactly one side
//! starts or keeps the timer). The only synchronous cancel is in process context without
//! locks: `atomic_disable` (after `drm_crtc_vblank_off`) and the DRM-managed release action.
//!
//! The helper is not tied to a driver: every [`Crtc`](super::crtc::Crtc) embeds a
//! [`VblankTimer`] in its [`CrtcBase`], and the CRTC vtables install the callbacks below.
//!
//! Lifetime: see [`init`] and `docs/kms.md` ("Vblank").
//!
//! C headers: [`include/drm/drm_vblank.h`](srctree/include/drm/drm_vblank.h),
//! [`include/linux/hrtimer.h`](srctree/include/linux/hrtimer.h)

use core::{
    ffi::c_void,
    sync::atomic::{AtomicBool, AtomicI64, Ordering},
};

use kernel::{error::to_result, ffi::c_int, prelude::*, types::Opaque};

use super::crtc::CrtcBase;
use crate::glue::bindings;

/// The period used when the mode gives none (`framedur_ns` is 0 without a dot clock): 60 Hz.
const FALLBACK_PERIOD_NS: i64 = 16_666_667;

/// The vblank timer of one CRTC.
///
/// # Invariants
///
/// - Embedded in a [`CrtcBase`] (field `vblank`) beside its CRTC, initialised by
///   [`VblankTimer::init_timer`] when the CRTC is allocated (before the CRTC is initialised),
///   and stopped synchronously before the CRTC's memory is freed (its `destroy`).
/// - After [`init`], the DRM-managed action [`stop_action`] of this timer is registered after
///   the vblank core's memory, and therefore runs before that memory is freed.
/// - `timer` is started only by whoever changes `running` from `false` to `true`, and
///   forwarded only by its callback while `running` is `true` and it owns the timer; so a start
///   never races with a forward.
#[repr(C)]
#[pin_data]
pub(crate) struct VblankTimer {
    #[pin]
    pub(super) timer: Opaque<bindings::hrtimer>,
    /// Frame period in nanoseconds, set when the CRTC is enabled.
    period_ns: AtomicI64,
    /// Between `enable_vblank` and `disable_vblank`: someone waits for vblanks.
    wanted: AtomicBool,
    /// The timer is queued, or its callback runs and will restart it.
    running: AtomicBool,
}

impl VblankTimer {
    /// A stopped timer: monotonic clock, relative expiry, callback [`tick`].
    pub(super) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            timer <- Opaque::ffi_init(|slot: *mut bindings::hrtimer| {
                // SAFETY: `slot` is the pinned, uninitialised `hrtimer`, not in use;
                // `hrtimer_init` zeroes and initialises it in place.
                unsafe {
                    bindings::hrtimer_init(
                        slot,
                        bindings::CLOCK_MONOTONIC as i32,
                        bindings::hrtimer_mode_HRTIMER_MODE_REL,
                    )
                };
                // SAFETY: `slot` was initialised above and is not started, so nothing reads
                // `function` concurrently (6.12 has no `hrtimer_setup` to pass it with the
                // init).
                unsafe { (*slot).function = Some(tick) };
            }),
            period_ns: AtomicI64::new(FALLBACK_PERIOD_NS),
            wanted: AtomicBool::new(false),
            running: AtomicBool::new(false),
        })
    }

    fn period(&self) -> i64 {
        self.period_ns.load(Ordering::Relaxed)
    }

    /// Stops the timer and waits for a running callback to finish.
    ///
    /// Sleeps (waits for the callback): process context, no spinlock held. The caller must
    /// make sure nothing starts the timer again (see the callers).
    pub(super) fn stop_sync(&self) {
        // SAFETY: By the type invariant the timer is initialised and lives as long as `self`;
        // the caller is in process context without locks, so waiting is allowed.
        unsafe { bindings::hrtimer_cancel(self.timer.get()) };
        self.running.store(false, Ordering::SeqCst);
    }
}

/// The `hrtimer` callback: one emulated vblank.
///
/// # Safety
///
/// Called by the hrtimer core with the `timer` of a [`VblankTimer`] initialised by
/// [`VblankTimer::new`], whose [`CrtcBase`] is alive while the timer runs (type
/// invariant of [`VblankTimer`]: the timer is cancelled before the CRTC's memory is freed).
unsafe extern "C" fn tick(timer: *mut bindings::hrtimer) -> bindings::hrtimer_restart {
    // SAFETY: By the safety requirements `timer` is the `vblank.timer` field of a live
    // `CrtcBase`.
    let base = unsafe { CrtcBase::from_vblank_timer(timer) };
    let vt = &base.vblank;
    if !vt.wanted.load(Ordering::SeqCst) {
        // Nobody waits for vblanks: stop. An `enable_vblank` racing with this either sees
        // `running` false and starts the timer itself, or set `wanted` before the second load
        // and we keep the timer (exactly one compare-and-swap succeeds).
        vt.running.store(false, Ordering::SeqCst);
        let keep = vt.wanted.load(Ordering::SeqCst)
            && vt
                .running
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok();
        if !keep {
            return bindings::hrtimer_restart_HRTIMER_NORESTART;
        }
    }
    // Forward first, then report the vblank: `get_vblank_timestamp` takes the expiry minus one
    // period as this vblank's time, as in vkms.
    // SAFETY: `timer` is initialised, and this callback owns it (`running` is true and was
    // not given up), so nothing starts it concurrently (type invariant).
    let _overruns = unsafe { bindings::vgrs_hrtimer_forward_now(timer, vt.period()) };
    // SAFETY: The CRTC is initialised (the timer only runs after `drm_crtc_vblank_on` of an
    // initialised CRTC or `enable_vblank`, both after `init`), and the vblank core's
    // memory is alive while the timer runs (type invariant of `VblankTimer`). The function may
    // be called from interrupt context.
    let _handled = unsafe { bindings::drm_crtc_handle_vblank(base.as_raw()) };
    base.crc.vblank(base);
    bindings::hrtimer_restart_HRTIMER_RESTART
}

/// Initialises the vblank core for `dev`'s CRTCs (`crtcs`, all of them, in index order) and
/// registers the DRM-managed action that stops each CRTC's timer.
///
/// # Safety
///
/// `dev` must be a valid, unregistered device whose CRTCs are exactly `crtcs`, in index
/// order, each initialised with its timer ([`VblankTimer::new`]) and freed
/// only by the mode config cleanup (so after every action registered here ran). Must be called
/// before `drm_mode_config_reset` (the CRTC reset helper marks the vblank of each CRTC off only
/// if the vblank core exists).
pub(super) unsafe fn init(dev: *mut bindings::drm_device, crtcs: &[&CrtcBase]) -> Result {
    let count = u32::try_from(crtcs.len())?;
    // SAFETY: `dev` is valid and unregistered (safety requirements); the vblank memory and
    // its release action are DRM-managed.
    to_result(unsafe { bindings::drm_vblank_init(dev, count) })?;
    for crtc in crtcs {
        let data = core::ptr::from_ref::<CrtcBase>(crtc)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: `dev` is valid; `data` is a CRTC of `dev`, freed by the mode config cleanup,
        // whose DRM-managed action was registered before this one (by
        // `drmm_mode_config_init`), so it runs after this one (reverse order). The action is
        // registered after `drm_vblank_init`'s, so it runs before the vblank core's release
        // and the freeing of its memory, which the timer callback uses. On failure the action
        // runs at once, which is harmless (the timer is initialised, not started).
        to_result(unsafe {
            bindings::vgrs_drmm_add_action_or_reset(dev, Some(stop_action), data)
        })?;
    }
    Ok(())
}

/// DRM-managed release action: stops the timer of the CRTC `data` for good.
///
/// Runs in `drm_managed_release` (process context, no locks), when no file, client or commit
/// holds the device any more, so nothing can enable the vblank again; normally the timer was
/// stopped already by `atomic_disable` at unbind (`drm_atomic_helper_shutdown`), this is the
/// backstop if that failed.
///
/// # Safety
///
/// `data` must be a [`CrtcBase`] registered by [`init`] and still allocated.
unsafe extern "C" fn stop_action(_dev: *mut bindings::drm_device, data: *mut c_void) {
    // SAFETY: By the safety requirements `data` is a live `CrtcBase` (its memory is freed by
    // the mode config cleanup, after this action).
    let base = unsafe { &*data.cast::<CrtcBase>() };
    base.vblank.stop_sync();
}

/// Turns the emulated vblank of `base` on (CRTC `atomic_enable`): the period from the mode,
/// then `drm_crtc_vblank_on`, which starts the timer if someone already waits.
///
/// # Safety
///
/// `base` must be an initialised CRTC on a device whose vblank core was set up by [`init`],
/// called from a commit (process context).
pub(super) unsafe fn on(base: &CrtcBase) {
    let crtc = base.as_raw();
    // SAFETY: `crtc` is an initialised CRTC of a device with vblank (safety requirements),
    // so it has a vblank structure, valid as long as the device.
    let vblank = unsafe { bindings::drm_crtc_vblank_crtc(crtc) };
    // SAFETY: `vblank` is valid; the atomic helpers computed `framedur_ns` from the new
    // adjusted mode (`drm_atomic_helper_calc_timestamping_constants`) before enabling CRTCs,
    // and this commit owns the CRTC, so nothing writes it concurrently.
    let framedur = unsafe { (*vblank).framedur_ns };
    let period = if framedur > 0 {
        i64::from(framedur)
    } else {
        FALLBACK_PERIOD_NS
    };
    base.vblank.period_ns.store(period, Ordering::Relaxed);
    // SAFETY: `crtc` is an initialised CRTC with vblank, called from a commit.
    unsafe { bindings::drm_crtc_vblank_on(crtc) };
}

/// Turns the emulated vblank of `base` off (CRTC `atomic_disable`): `drm_crtc_vblank_off`
/// (which calls `disable_vblank`, sends pending events and holds the vblank off until the
/// next [`on`], so `drm_crtc_vblank_get` fails and `enable_vblank` is not called), then a
/// synchronous stop of the timer.
///
/// # Safety
///
/// As for [`on`]; the caller holds no spinlock (the stop waits for a running callback).
pub(super) unsafe fn off(base: &CrtcBase) {
    // SAFETY: `base` is an initialised CRTC with vblank, called from a commit.
    unsafe { bindings::drm_crtc_vblank_off(base.as_raw()) };
    base.vblank.stop_sync();
}

/// Sends or arms the event of `crtc`'s new state (CRTC `atomic_flush`, as vkms): armed for
/// the next vblank if a vblank reference can be taken (the CRTC is on), sent now otherwise,
/// sent now for an asynchronous flip (`DRM_MODE_PAGE_FLIP_ASYNC`: nothing waits for the
/// vblank), sent now if the driver's `atomic_flush` asked for it (`now`:
/// [`super::crtc::FlushEvent::Now`]), and sent now for an event no userspace file asked for
/// if `internal_events_now` (the driver's `ModeConfigInfo`).
///
/// # Safety
///
/// `crtc` must be an initialised CRTC of a device with vblank, and `new` its valid new state in
/// the commit being flushed (owned by the commit, so its `event` is not accessed concurrently).
pub(super) unsafe fn flush_event(
    crtc: *mut bindings::drm_crtc,
    new: *mut bindings::drm_crtc_state,
    internal_events_now: bool,
    now: bool,
) {
    // SAFETY: `new` is valid and owned by this commit (safety requirements).
    let event = unsafe { (*new).event };
    if event.is_null() {
        return;
    }
    // SAFETY: `new` is valid and owned by this commit.
    let async_flip = unsafe { (*new).async_flip };
    // SAFETY: `event` is the state's valid pending event, owned by this commit until it is
    // armed or sent below.
    let file = unsafe { (*event).base.file_priv };
    // An event nobody in userspace asked for (`file_priv` null: the one the helpers add to
    // every commit, e.g. for DIRTYFB, fbdev damage or a blocking commit) only tells the next
    // commit that this one reached the device. A driver whose device has no scanout timing to
    // tear against says so (`internal_events_now`) and gets it completed at once; events
    // userspace asked for come with the next vblank, unless the driver asked for them now.
    let now = now || async_flip || (internal_events_now && file.is_null());
    // SAFETY: `crtc` is valid; `dev` is set at init and constant.
    let dev = unsafe { (*crtc).dev };
    // SAFETY: `dev` is valid (the commit holds a reference); `event_lock` is initialised by
    // `drm_dev_init`.
    let lock = unsafe { core::ptr::addr_of_mut!((*dev).event_lock) };
    // SAFETY: `lock` is a valid spinlock; the commit runs in process context with interrupts
    // on, and the lock is released below on every path.
    unsafe { bindings::vgrs_spin_lock_irq(lock) };
    // SAFETY: `crtc` is an initialised CRTC with vblank.
    if !now && unsafe { bindings::drm_crtc_vblank_get(crtc) } == 0 {
        // SAFETY: `event_lock` is held and a vblank reference taken for the event, which the
        // vblank core drops when it sends the event; `event` is the state's pending event.
        unsafe { bindings::drm_crtc_arm_vblank_event(crtc, event) };
    } else {
        // SAFETY: `event_lock` is held; `event` is the state's pending event.
        unsafe { bindings::drm_crtc_send_vblank_event(crtc, event) };
    }
    // SAFETY: `lock` is held by this thread (taken above).
    unsafe { bindings::vgrs_spin_unlock_irq(lock) };
    // SAFETY: `new` is valid and owned by this commit; the event now belongs to the vblank
    // core, and the helpers expect it taken (`drm_atomic_helper_commit_hw_done` warns else).
    unsafe { (*new).event = core::ptr::null_mut() };
}

/// `drm_crtc_funcs.enable_vblank`: someone waits for vblanks; start the timer if it is not
/// running.
///
/// # Safety
///
/// Called by the vblank core (under its `vblank_time_lock`, interrupts off) with an
/// initialised CRTC of the abstraction (so the `raw` of a [`CrtcBase`]), set up by [`init`].
pub(super) unsafe extern "C" fn enable_vblank_callback(crtc: *mut bindings::drm_crtc) -> c_int {
    // SAFETY: By the safety requirements `crtc` is embedded in a `CrtcBase`, alive for the
    // call.
    let base = unsafe { CrtcBase::from_raw(crtc) };
    let vt = &base.vblank;
    vt.wanted.store(true, Ordering::SeqCst);
    if vt
        .running
        .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        // SAFETY: The timer is initialised (type invariant); this thread just claimed it
        // (`running` false -> true), so the callback does not forward it concurrently; a
        // callback that is finishing returns `HRTIMER_NORESTART`, which leaves the timer
        // queued by this start. `hrtimer_start` may be called with interrupts off.
        unsafe { bindings::vgrs_hrtimer_start(vt.timer.get(), vt.period()) };
    }
    0
}

/// `drm_crtc_funcs.disable_vblank`: nobody waits any more; the timer stops at its next tick.
///
/// # Safety
///
/// As for [`enable_vblank_callback`].
pub(super) unsafe extern "C" fn disable_vblank_callback(crtc: *mut bindings::drm_crtc) {
    // SAFETY: By the safety requirements `crtc` is embedded in a live `CrtcBase`.
    let base = unsafe { CrtcBase::from_raw(crtc) };
    base.vblank.wanted.store(false, Ordering::SeqCst);
}

/// `drm_crtc_funcs.get_vblank_timestamp`: the time of the last tick (the timer's expiry less
/// one period, the callback forwards before it reports), or now while the vblank is off.
///
/// # Safety
///
/// Called by the vblank core with an initialised CRTC of the abstraction (the `raw` of a
/// [`CrtcBase`]) on a device set up by [`init`], and a valid `vblank_time`.
pub(super) unsafe extern "C" fn get_vblank_timestamp_callback(
    crtc: *mut bindings::drm_crtc,
    _max_error: *mut c_int,
    vblank_time: *mut bindings::ktime_t,
    _in_vblank_irq: bool,
) -> bool {
    // SAFETY: By the safety requirements `crtc` is embedded in a live `CrtcBase`.
    let base = unsafe { CrtcBase::from_raw(crtc) };
    // SAFETY: `crtc` is an initialised CRTC of a device with vblank.
    let vblank = unsafe { bindings::drm_crtc_vblank_crtc(crtc) };
    // SAFETY: `vblank` is valid; `enabled` is a `bool` the core writes with `WRITE_ONCE`, read
    // here once (volatile, like `READ_ONCE`).
    let enabled = unsafe { core::ptr::addr_of!((*vblank).enabled).read_volatile() };
    let time = if enabled {
        // SAFETY: The timer is initialised (type invariant); the read is a `READ_ONCE`.
        let expires = unsafe { bindings::vgrs_hrtimer_get_expires(base.vblank.timer.get()) };
        expires.saturating_sub(base.vblank.period())
    } else {
        // SAFETY: There are no safety requirements for this FFI call.
        unsafe { bindings::ktime_get() }
    };
    // SAFETY: `vblank_time` is valid for writes (safety requirements).
    unsafe { vblank_time.write(time) };
    true
}
