// SPDX-License-Identifier: GPL-2.0

//! A spinlock that can also be *tried*: for the one caller that must never wait for a lock
//! (drm_panic, on a CPU that may have been stopped while another held it).
//!
//! 6.12's `kernel::sync::SpinLock` has no `try_lock`, and its raw lock is private, so this is
//! a small lock of its own over a `spinlock_t`, with the same guard discipline. All such locks
//! share one lockdep class (initialised at one call site in `glue/helpers.c`).
//!
//! C header: [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h)

use core::{
    cell::UnsafeCell,
    marker::{PhantomData, PhantomPinned},
    ops::{Deref, DerefMut},
};

use kernel::{prelude::*, types::Opaque};

use crate::glue::bindings;

/// A spinlock protecting a `T`, with [`TryLock::try_lock`].
///
/// # Invariants
///
/// `lock` was initialised by `vgrs_spin_lock_init` and is not moved afterwards (pinned); `data`
/// is only accessed through a [`TryGuard`], which exists only while `lock` is held.
#[pin_data]
pub(crate) struct TryLock<T> {
    #[pin]
    lock: Opaque<bindings::spinlock>,
    data: UnsafeCell<T>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: The lock hands `T` to one thread at a time, so the lock may be sent where `T` may.
unsafe impl<T: Send> Send for TryLock<T> {}

// SAFETY: Sharing the lock only gives `&mut T` under the lock, one holder at a time: `T: Send`
// is what that needs.
unsafe impl<T: Send> Sync for TryLock<T> {}

impl<T> TryLock<T> {
    /// A lock around `data`.
    pub(crate) fn new(data: T) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is the lock's pinned, uninitialised place; `vgrs_spin_lock_init`
            // initialises it (and registers its lockdep class) without other requirements.
            lock <- Opaque::ffi_init(|slot| unsafe { bindings::vgrs_spin_lock_init(slot) }),
            data: UnsafeCell::new(data),
            _pin: PhantomPinned,
        })
    }

    /// Takes the lock, spinning while someone else holds it. Not for drm_panic's paths.
    pub(crate) fn lock(&self) -> TryGuard<'_, T> {
        // SAFETY: `lock` is initialised (type invariant); `spin_lock` has no other requirement.
        unsafe { kernel::bindings::spin_lock(self.lock.get()) };
        // INVARIANT: we hold the lock.
        TryGuard {
            lock: self,
            _not_send: PhantomData,
        }
    }

    /// Takes the lock if nobody holds it, without waiting; `None` if someone does.
    pub(crate) fn try_lock(&self) -> Option<TryGuard<'_, T>> {
        // SAFETY: `lock` is initialised (type invariant).
        let taken = unsafe { bindings::vgrs_spin_trylock(self.lock.get()) };
        // INVARIANT: we hold the lock when `spin_trylock` said so.
        taken.then_some(TryGuard {
            lock: self,
            _not_send: PhantomData,
        })
    }
}

/// The lock of a [`TryLock`], held until dropped.
///
/// # Invariants
///
/// The holder of a `TryGuard` holds `lock.lock`.
pub(crate) struct TryGuard<'a, T> {
    lock: &'a TryLock<T>,
    /// Not `Send`: a spinlock is released by the CPU that took it.
    _not_send: PhantomData<*mut ()>,
}

impl<T> Deref for TryGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: We hold the lock (type invariant), so nobody else accesses `data`.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for TryGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: We hold the lock (type invariant) and `&mut self` is unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for TryGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: We hold the lock (type invariant) and give it up here, once.
        unsafe { kernel::bindings::spin_unlock(self.lock.lock.get()) };
    }
}
