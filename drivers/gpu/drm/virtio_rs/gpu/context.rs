// SPDX-License-Identifier: GPL-2.0

//! 3D contexts: one per open file, as in the C driver. With VIRGL negotiated, a file gets a
//! context id when it is opened; the host context is created on first use (the first
//! buffer object handle of the file, or a 3D ioctl), named after the task, and destroyed when
//! the file is closed. Every buffer object a file has a handle to is attached to its context
//! (`CTX_ATTACH_RESOURCE` when the handle is created, `CTX_DETACH_RESOURCE` when it goes):
//! the host refuses a context's use of a resource that is not attached to it.

#![forbid(unsafe_code)]

use kernel::{new_mutex, prelude::*, sync::Mutex, types::ARef};

use super::driver::{GpuDrmDevice, Hw};
use crate::glue;

/// A context id, allocated in the device's context id allocator until dropped (0: none).
struct CtxId {
    dev: ARef<GpuDrmDevice>,
    id: u32,
}

impl Drop for CtxId {
    fn drop(&mut self) {
        if self.id != 0 {
            self.dev.data().free_ctx_id(self.id);
        }
    }
}

/// Per-open-file state: the file's 3D context.
///
/// # Invariants
///
/// While `created` is true the host has context `ctx.id`, and the drop destroys it (before
/// the id is freed: fields drop after `drop`).
#[pin_data(PinnedDrop)]
pub(crate) struct GpuFile {
    ctx: CtxId,
    /// The host context exists.
    #[pin]
    created: Mutex<bool>,
}

impl GpuFile {
    /// The state of a file just opened on `dev`: a context id if the device runs 3D.
    pub(crate) fn new(dev: &GpuDrmDevice) -> Result<impl PinInit<Self, Error>> {
        let shared = dev.data();
        let id = if shared.has_virgl {
            shared.alloc_ctx_id().ok_or(ENOSPC)?
        } else {
            0
        };
        // Freed again if the file's state is never built.
        let ctx = CtxId {
            dev: ARef::from(dev),
            id,
        };
        // INVARIANT: no context exists yet.
        Ok(try_pin_init!(Self {
            ctx,
            created <- new_mutex!(false),
        }))
    }

    /// The file's context id, 0 if the device has no 3D.
    pub(crate) fn ctx_id(&self) -> u32 {
        self.ctx.id
    }

    /// Creates the host context if it does not exist yet (`CTX_CREATE`, named after the
    /// calling task, as the C driver does); `ENODEV` without 3D.
    pub(crate) fn ensure_context(&self, hw: &Hw<'_>) -> Result {
        if self.ctx.id == 0 {
            return Err(ENODEV);
        }
        let mut created = self.created.lock();
        if !*created {
            let comm = glue::current_comm();
            let len = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
            let name = comm.get(..len).unwrap_or(&[]);
            self.ctx
                .dev
                .data()
                .control
                .ctx_create(hw, self.ctx.id, 0, name)?;
            // INVARIANT: the host has the context from here on (the queue runs in order).
            *created = true;
        }
        Ok(())
    }

    /// Whether the host context exists.
    pub(crate) fn has_context(&self) -> bool {
        *self.created.lock()
    }
}

#[pinned_drop]
impl PinnedDrop for GpuFile {
    fn drop(self: Pin<&mut Self>) {
        if self.ctx.id == 0 {
            return;
        }
        if *self.created.lock() {
            // Without the device there is nothing to destroy (a reset destroyed everything).
            if let Some(hw) = self.ctx.dev.enter() {
                if let Err(e) = self.ctx.dev.data().control.ctx_destroy(&hw, self.ctx.id) {
                    pr_warn!("context {}: destroy failed: {:?}\n", self.ctx.id, e);
                }
            }
        }
        // The id is freed when `ctx` drops, after CTX_DESTROY was queued: a new context with
        // this id is created after it.
    }
}
