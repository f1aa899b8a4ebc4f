// SPDX-License-Identifier: GPL-2.0

//! Driver events for a DRM file (`read()` on the file returns them): reserved in the file's
//! event space when the work that will send them is submitted, sent later from any context
//! (a fence's answer), or cancelled.
//!
//! C header: [`include/drm/drm_file.h`](srctree/include/drm/drm_file.h)

use core::ptr::NonNull;

use kernel::{prelude::*, types::ARef};

use super::{driver::Driver, file::File, Device};
use crate::glue::bindings;

/// The allocation DRM hands back to `kfree` once the event is read or dropped: the pending
/// event first, its payload (an event with no data beyond the header) after it.
#[repr(C)]
struct EventAlloc {
    base: bindings::drm_pending_event,
    event: bindings::drm_event,
}

/// A DRM event of type `ty` reserved for a file, to be sent once.
///
/// # Invariants
///
/// While `alloc` is `Some`, it is a `kmalloc` allocation whose `base` was set up by
/// `drm_event_reserve_init` for `dev` and is neither sent nor cancelled yet; this value owns
/// it (DRM frees it once it is sent and read, or cancelled). `dev` keeps the device alive for
/// that.
pub(crate) struct PendingEvent<T: Driver> {
    dev: ARef<Device<T>>,
    alloc: Option<NonNull<EventAlloc>>,
}

// SAFETY: The event is only handed to DRM functions that take `dev->event_lock`; they may be
// called from any thread.
unsafe impl<T: Driver> Send for PendingEvent<T> {}

// SAFETY: No method takes `&self` to touch the event.
unsafe impl<T: Driver> Sync for PendingEvent<T> {}

impl<T: Driver> PendingEvent<T> {
    /// Reserves an event of type `ty` (no payload) in `file`'s event space: `ENOMEM` if the
    /// file's space is used up (DRM's answer) or the allocation fails.
    pub(crate) fn reserve(dev: &Device<T>, file: &File<T>, ty: u32) -> Result<Self> {
        let alloc = KBox::new(
            EventAlloc {
                // Zeroed, as `kzalloc` gives the C driver.
                base: bindings::drm_pending_event::default(),
                event: bindings::drm_event {
                    type_: ty,
                    length: core::mem::size_of::<bindings::drm_event>() as u32,
                },
            },
            GFP_KERNEL,
        )?;
        let raw = KBox::into_raw(alloc);
        let ptr = NonNull::new(raw).ok_or(ENOMEM)?;
        // SAFETY: `raw` is a valid, exclusively owned allocation; `file` is an open file of
        // `dev`; `base` and `event` live in the same allocation, which DRM frees through `base`
        // (its first field) with `kfree`, matching `KBox`'s allocator.
        let r = unsafe {
            bindings::drm_event_reserve_init(
                dev.as_raw(),
                file.as_raw(),
                &raw mut (*raw).base,
                &raw mut (*raw).event,
            )
        };
        if r != 0 {
            // SAFETY: Not reserved: DRM keeps no pointer to it; `raw` came from `into_raw`.
            drop(unsafe { KBox::from_raw(raw) });
            return Err(Error::from_errno(r));
        }
        // INVARIANT: reserved just now, owned by this value.
        Ok(Self {
            dev: ARef::from(dev),
            alloc: Some(ptr),
        })
    }

    /// Sends the event to its file (freed by DRM once read; at once if the file is closed).
    pub(crate) fn send(mut self) {
        if let Some(a) = self.alloc.take() {
            // SAFETY: By the type invariant the event is reserved for this device and not
            // sent; DRM owns it from here on (`alloc` is `None` now: the drop does not cancel).
            unsafe { bindings::drm_send_event(self.dev.as_raw(), &raw mut (*a.as_ptr()).base) };
        }
    }
}

impl<T: Driver> Drop for PendingEvent<T> {
    fn drop(&mut self) {
        if let Some(a) = self.alloc.take() {
            // SAFETY: By the type invariant the event is reserved and not sent; cancelling
            // gives its space back to the file (if still open) and frees it.
            unsafe {
                bindings::drm_event_cancel_free(self.dev.as_raw(), &raw mut (*a.as_ptr()).base)
            };
        }
    }
}
