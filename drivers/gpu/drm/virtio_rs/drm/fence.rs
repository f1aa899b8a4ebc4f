// SPDX-License-Identifier: GPL-2.0

//! DMA fences: fences the driver creates and signals ([`Fence`]), references to any fence
//! ([`FenceRef`]), and `sync_file` file descriptors ([`FdReservation`] to export a fence,
//! [`FenceRef::from_sync_file`] to import one).
//!
//! Lifetime. A fence can outlive everything else of the driver: a `sync_file` holds it, and
//! `sync_file`'s info ioctl calls the fence's `get_driver_name`/`get_timeline_name` even
//! after it signalled, while `dma_fence_ops` has no module owner. So each fence of ours:
//! - carries its own spinlock (no pointer into driver data that unbind frees);
//! - holds a reference to this module from creation until it is freed, so the module (its
//!   ops, its names, its release code) cannot be unloaded while a fence lives;
//! - is freed after an RCU grace period (`dma_fence` readers may look at a fence under RCU
//!   after its last reference went), by an RCU callback that drops the module reference last;
//!   the module's exit waits for such callbacks (`rcu_barrier`, [`wait_for_freed_fences`]).
//!
//! A [`Fence`] that is dropped unsignalled is signalled with `ECANCELED` first: no waiter is
//! ever left waiting for a driver that is gone.
//!
//! C headers: [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h),
//! [`include/linux/sync_file.h`](srctree/include/linux/sync_file.h)

use core::{marker::PhantomData, ptr::NonNull};

use kernel::{prelude::*, types::Opaque};

use crate::glue::{bindings, errno};

/// The names a driver's fences report (`get_driver_name`, `get_timeline_name`).
pub(crate) trait FenceNames: 'static {
    /// The driver's name.
    const DRIVER: &'static CStr;
    /// The timeline's name.
    const TIMELINE: &'static CStr;
}

/// Allocates `n` fence contexts (timelines); returns the first.
pub(crate) fn alloc_contexts(n: u32) -> u64 {
    // SAFETY: `dma_fence_context_alloc` only increments a global counter.
    unsafe { bindings::dma_fence_context_alloc(n) }
}

/// Waits until every fence of ours that was released has been freed (their RCU callbacks
/// ran): for the module's exit, after which no fence of ours exists.
pub(crate) fn wait_for_freed_fences() {
    // SAFETY: `rcu_barrier` may be called from process context; it waits for every RCU
    // callback queued so far.
    unsafe { bindings::rcu_barrier() };
}

/// The allocation of a fence of ours: the `dma_fence`, its lock and the RCU head that frees
/// it.
#[repr(C)]
struct FenceAlloc {
    base: Opaque<bindings::dma_fence>,
    lock: Opaque<bindings::spinlock>,
    rcu: Opaque<bindings::callback_head>,
}

/// The fence operations of fences named by `N`.
struct FenceOps<N>(PhantomData<N>);

impl<N: FenceNames> FenceOps<N> {
    const OPS: bindings::dma_fence_ops = bindings::dma_fence_ops {
        use_64bit_seqno: true,
        get_driver_name: Some(driver_name_callback::<N>),
        get_timeline_name: Some(timeline_name_callback::<N>),
        enable_signaling: None,
        signaled: None,
        wait: None,
        release: Some(release_callback),
        fence_value_str: None,
        timeline_value_str: None,
        set_deadline: None,
    };
}

/// `dma_fence_ops.get_driver_name`.
///
/// # Safety
///
/// Called by the fence core for a fence of ours.
unsafe extern "C" fn driver_name_callback<N: FenceNames>(
    _fence: *mut bindings::dma_fence,
) -> *const kernel::ffi::c_char {
    N::DRIVER.as_char_ptr()
}

/// `dma_fence_ops.get_timeline_name`.
///
/// # Safety
///
/// Called by the fence core for a fence of ours.
unsafe extern "C" fn timeline_name_callback<N: FenceNames>(
    _fence: *mut bindings::dma_fence,
) -> *const kernel::ffi::c_char {
    N::TIMELINE.as_char_ptr()
}

/// `dma_fence_ops.release`: the last reference is gone; frees the fence after a grace period.
///
/// # Safety
///
/// Called by the fence core once, for a fence of ours (the start of a [`FenceAlloc`]).
unsafe extern "C" fn release_callback(fence: *mut bindings::dma_fence) {
    let alloc = fence.cast::<FenceAlloc>();
    // SAFETY: `fence` is the start of a live `FenceAlloc` (safety requirements), whose `rcu`
    // head is unused until now; `free_callback` frees the allocation once the grace period
    // is over.
    unsafe { bindings::call_rcu((*alloc).rcu.get(), Some(free_callback)) };
}

/// RCU callback: frees a released fence, then lets the module go.
///
/// # Safety
///
/// Called once by RCU, for the `rcu` head of a released [`FenceAlloc`].
unsafe extern "C" fn free_callback(head: *mut bindings::callback_head) {
    let offset = core::mem::offset_of!(FenceAlloc, rcu);
    // SAFETY: `head` is the `rcu` field of a `FenceAlloc` (safety requirements), so stepping
    // back by its offset gives the allocation's start.
    let alloc = unsafe { head.cast::<u8>().sub(offset) }.cast::<FenceAlloc>();
    // SAFETY: `Fence::new` allocated it with `KBox` and leaked it; the fence core released it
    // and the grace period is over: nothing refers to it any more.
    drop(unsafe { KBox::from_raw(alloc) });
    // SAFETY: `Fence::new` took a module reference for this fence. The module's exit waits
    // for this callback to return (`rcu_barrier`), so the module stays until it has.
    unsafe { bindings::vgrs_module_put() };
}

/// A reference to a DMA fence, ours or another driver's.
///
/// # Invariants
///
/// `0` is a valid `dma_fence` this value holds a reference to.
pub(crate) struct FenceRef(NonNull<bindings::dma_fence>);

// SAFETY: Fences are refcounted and used from any thread.
unsafe impl Send for FenceRef {}

// SAFETY: The operations `&FenceRef` allows (wait, query, get) are thread-safe.
unsafe impl Sync for FenceRef {}

impl FenceRef {
    /// Takes over a reference to `f`.
    ///
    /// # Safety
    ///
    /// `f` is a valid fence the caller holds a reference to, which is given to the result.
    pub(crate) unsafe fn from_raw(f: NonNull<bindings::dma_fence>) -> Self {
        // INVARIANT: the caller's guarantee.
        Self(f)
    }

    /// The fence in the `sync_file` behind file descriptor `fd`; `EINVAL` if `fd` is not
    /// one (as the C driver answers).
    pub(crate) fn from_sync_file(fd: i32) -> Result<Self> {
        // SAFETY: `sync_file_get_fence` checks `fd` itself; it returns a new reference or null.
        let f = unsafe { bindings::sync_file_get_fence(fd) };
        // INVARIANT: a reference from `sync_file_get_fence`.
        Ok(Self(NonNull::new(f).ok_or(EINVAL)?))
    }

    /// The fence's context (timeline).
    pub(crate) fn context(&self) -> u64 {
        // SAFETY: The fence is valid (type invariant); `context` is set at init and constant.
        unsafe { (*self.0.as_ptr()).context }
    }

    /// Whether the fence signalled.
    pub(crate) fn is_signaled(&self) -> bool {
        // SAFETY: The fence is valid (type invariant).
        unsafe { bindings::vgrs_dma_fence_is_signaled(self.0.as_ptr()) }
    }

    /// Waits for the fence to signal; `interruptible`: a signal ends the wait (`ERESTARTSYS`).
    pub(crate) fn wait(&self, interruptible: bool) -> Result {
        // SAFETY: The fence is valid (type invariant); waiting may sleep, which callers of
        // this process-context function allow.
        let r = unsafe {
            bindings::dma_fence_wait_timeout(
                self.0.as_ptr(),
                interruptible,
                kernel::ffi::c_long::MAX,
            )
        };
        if r < 0 {
            return Err(Error::from_errno(r as i32));
        }
        Ok(())
    }

    /// The `struct dma_fence`.
    pub(crate) fn as_raw(&self) -> *mut bindings::dma_fence {
        self.0.as_ptr()
    }
}

impl Clone for FenceRef {
    fn clone(&self) -> Self {
        // SAFETY: The fence is valid (type invariant); `dma_fence_get` takes a new reference.
        unsafe { bindings::vgrs_dma_fence_get(self.0.as_ptr()) };
        // INVARIANT: the reference just taken.
        Self(self.0)
    }
}

impl Drop for FenceRef {
    fn drop(&mut self) {
        // SAFETY: We own one reference (type invariant), given up here.
        unsafe { bindings::vgrs_dma_fence_put(self.0.as_ptr()) };
    }
}

/// A fence this driver created and signals. There is one `Fence` per fence (it is not
/// `Clone`); share it as [`FenceRef`]s. Dropped unsignalled, it signals with `ECANCELED`.
pub(crate) struct Fence(FenceRef);

impl Fence {
    /// A new, unsignalled fence on timeline `context` with sequence number `seqno`, named by
    /// `N`. Sequence numbers of a context must grow in the order its fences signal.
    pub(crate) fn new<N: FenceNames>(context: u64, seqno: u64) -> Result<Self> {
        let alloc = KBox::new(
            FenceAlloc {
                base: Opaque::uninit(),
                lock: Opaque::uninit(),
                rcu: Opaque::uninit(),
            },
            GFP_KERNEL,
        )?;
        let alloc = KBox::into_raw(alloc);
        // SAFETY: `alloc` is a valid, exclusively owned allocation; its lock is initialised
        // before the fence that uses it, and neither moves (the allocation is leaked until
        // `free_callback`).
        unsafe { bindings::vgrs_fence_lock_init((*alloc).lock.get()) };
        // SAFETY: The module is alive (we run in it) and this reference is dropped only by
        // `free_callback`.
        unsafe { bindings::vgrs_module_get() };
        // SAFETY: `base` is uninitialised memory of a `dma_fence` that stays in place; the
        // ops are a `'static` constant whose release frees the allocation; the lock is
        // initialised and lives as long as the fence.
        unsafe {
            bindings::dma_fence_init(
                (*alloc).base.get(),
                &FenceOps::<N>::OPS,
                (*alloc).lock.get(),
                context,
                seqno,
            )
        };
        // SAFETY: `dma_fence_init` set the refcount to 1; that reference is the `FenceRef`'s.
        let base = unsafe { NonNull::new_unchecked((*alloc).base.get()) };
        Ok(Self(FenceRef(base)))
    }

    /// A reference to share (for a `sync_file`, a reservation object, a waiter).
    pub(crate) fn get(&self) -> FenceRef {
        self.0.clone()
    }

    /// The fence's context (timeline).
    pub(crate) fn context(&self) -> u64 {
        self.0.context()
    }

    /// The fence's sequence number.
    pub(crate) fn seqno(&self) -> u64 {
        // SAFETY: The fence is valid (invariant of `FenceRef`); `seqno` is constant.
        unsafe { (*self.0.as_raw()).seqno }
    }

    /// Signals the fence (wakes its waiters and runs its callbacks). Signalling twice does
    /// nothing.
    pub(crate) fn signal(&self) {
        // SAFETY: The fence is valid; `dma_fence_signal` may be called from any context.
        unsafe { bindings::dma_fence_signal(self.0.as_raw()) };
    }

    /// Signals the fence with an error (what its waiters see as its status).
    pub(crate) fn signal_error(&self, e: Error) {
        if !self.0.is_signaled() {
            // SAFETY: The fence is valid and not signalled, as `dma_fence_set_error` requires
            // (a race with another signaller only loses the error, never corrupts).
            unsafe { bindings::vgrs_dma_fence_set_error(self.0.as_raw(), e.to_errno()) };
        }
        self.signal();
    }
}

impl Drop for Fence {
    fn drop(&mut self) {
        if !self.0.is_signaled() {
            self.signal_error(errno::ecanceled());
        }
    }
}

/// A file descriptor number reserved for a `sync_file` (`get_unused_fd_flags`), given back
/// if it is not used.
///
/// # Invariants
///
/// `0` is a reserved, not yet installed descriptor of the current process.
pub(crate) struct FdReservation(i32);

impl FdReservation {
    /// Reserves a descriptor (close-on-exec, as the C driver's fence fds are).
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: `get_unused_fd_flags` has no requirements; it returns a reserved number or
        // an errno.
        let fd = unsafe { bindings::get_unused_fd_flags(bindings::O_CLOEXEC) };
        if fd < 0 {
            return Err(Error::from_errno(fd));
        }
        // INVARIANT: reserved just above.
        Ok(Self(fd))
    }

    /// Makes the descriptor a `sync_file` of `fence`; returns its number.
    pub(crate) fn install(self, fence: &FenceRef) -> Result<i32> {
        // SAFETY: `fence` is valid; `sync_file_create` takes its own reference.
        let sf = unsafe { bindings::sync_file_create(fence.as_raw()) };
        if sf.is_null() {
            return Err(ENOMEM);
        }
        let fd = self.0;
        core::mem::forget(self);
        // SAFETY: `fd` is reserved and not installed (type invariant, and `self` is
        // forgotten, so it is not given back); `sf->file` is the sync_file's file, whose
        // reference `fd_install` takes over.
        unsafe { bindings::fd_install(fd as u32, (*sf).file) };
        Ok(fd)
    }
}

impl Drop for FdReservation {
    fn drop(&mut self) {
        // SAFETY: The descriptor is reserved and not installed (type invariant).
        unsafe { bindings::put_unused_fd(self.0 as u32) };
    }
}
