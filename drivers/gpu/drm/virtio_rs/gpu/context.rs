// SPDX-License-Identifier: GPL-2.0

//! 3D contexts: one per open file, as in the C driver. With VIRGL negotiated, a file gets a
//! context id when it is opened; the host context is created on first use (the first
//! buffer object handle of the file, or a 3D ioctl), named after the task, and destroyed when
//! the file is closed. Every buffer object a file has a handle to is attached to its context
//! (`CTX_ATTACH_RESOURCE` when the handle is created, `CTX_DETACH_RESOURCE` when it goes):
//! the host refuses a context's use of a resource that is not attached to it.
//!
//! With context init (`VIRTGPU_CONTEXT_INIT`, before first use) a file picks its context type
//! (capset id), a number of rings (each its own fence timeline) and a debug name; see
//! `ctxinit.rs` for the rules.
//!
//! A suspend and resume resets the device, which destroys every host context. A file whose
//! context existed before is *lost*: its context is created again when it is next needed, so
//! buffer handles and 2D use go on, but every later `EXECBUFFER` fails with `ENODEV` (its
//! shaders, state and resource bindings are gone from the host; Mesa reports a lost device
//! and the client has to open the device again).

#![forbid(unsafe_code)]

use kernel::{new_mutex, prelude::*, sync::Mutex, types::ARef};

use super::ctxinit::{self, ContextParams, InitError};
use super::driver::{GpuDrmDevice, Hw};
use crate::{drm::fence, glue};

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

/// The state of a file's context.
#[derive(Default)]
struct CtxState {
    /// The host context exists.
    created: bool,
    /// What `VIRTGPU_CONTEXT_INIT` set (defaults without it).
    params: ContextParams,
    /// The fence context of ring 0 (ring `i` has `base_fence_ctx + i`); 0 without rings.
    base_fence_ctx: u64,
    /// The device's restore generation when the host context was created.
    generation: u32,
    /// A host context of this file was destroyed by a suspend.
    lost: bool,
}

impl CtxState {
    /// Whether the host has the context: created in the current generation `now`.
    fn exists(&self, now: u32) -> bool {
        self.created && self.generation == now
    }
}

/// Per-open-file state: the file's 3D context.
///
/// # Invariants
///
/// While `state.created` is true and `state.generation` is the device's current generation
/// the host has context `ctx.id`, and the drop destroys it (before the id is freed: fields
/// drop after `drop`).
#[pin_data(PinnedDrop)]
pub(crate) struct GpuFile {
    ctx: CtxId,
    #[pin]
    state: Mutex<CtxState>,
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
            state <- new_mutex!(CtxState::default()),
        }))
    }

    /// The file's context id, 0 if the device has no 3D.
    pub(crate) fn ctx_id(&self) -> u32 {
        self.ctx.id
    }

    /// Creates the host context if it does not exist yet (`CTX_CREATE` with the context type
    /// and name `VIRTGPU_CONTEXT_INIT` set, else the default type named after the calling
    /// task, as the C driver does); `ENODEV` without 3D.
    pub(crate) fn ensure_context(&self, hw: &Hw<'_>) -> Result {
        let mut st = self.state.lock();
        self.create_locked(hw, &mut st)
    }

    /// [`GpuFile::ensure_context`] for a submission: `ENODEV` if a suspend destroyed a host
    /// context of this file (see the module documentation), whose submissions fail from then
    /// on; one lock for both.
    pub(crate) fn ensure_live_context(&self, hw: &Hw<'_>) -> Result {
        let mut st = self.state.lock();
        let now = self.ctx.dev.data().generation();
        if st.lost || (st.created && st.generation != now) {
            return Err(ENODEV);
        }
        self.create_locked(hw, &mut st)
    }

    fn create_locked(&self, hw: &Hw<'_>, st: &mut CtxState) -> Result {
        if self.ctx.id == 0 {
            return Err(ENODEV);
        }
        let now = self.ctx.dev.data().generation();
        if st.created && st.generation != now {
            // Destroyed by a suspend: created again below, and lost for submissions.
            st.created = false;
            st.lost = true;
        }
        if !st.created {
            let comm = glue::current_comm();
            let len = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
            let name = match st.params.name() {
                Some(n) => n,
                None => comm.get(..len).unwrap_or(&[]),
            };
            self.ctx.dev.data().control.ctx_create(
                hw,
                self.ctx.id,
                st.params.context_init(),
                name,
            )?;
            // INVARIANT: the host has the context from here on (the queue runs in order).
            st.created = true;
            st.generation = now;
        }
        Ok(())
    }

    /// `VIRTGPU_CONTEXT_INIT` with the `(param, value)` pairs `params` (the caller checked
    /// their number): `EEXIST` once the context exists, the rules of `ctxinit::parse`
    /// otherwise (the debug name read with `read_name`); then the context is created.
    pub(crate) fn init_context(
        &self,
        hw: &Hw<'_>,
        params: &[(u64, u64)],
        read_name: impl FnMut(u64) -> Option<[u8; ctxinit::DEBUG_NAME_MAX_LEN]>,
    ) -> Result {
        let mut st = self.state.lock();
        if st.created || st.lost {
            return Err(EEXIST);
        }
        let mask = self.ctx.dev.data().capset_mask();
        let p = ctxinit::parse(params, mask, read_name).map_err(|e| match e {
            InitError::Invalid => EINVAL,
            InitError::Fault => EFAULT,
        })?;
        st.base_fence_ctx = match p.num_rings {
            Some(n) if n > 0 => fence::alloc_contexts(n),
            _ => 0,
        };
        st.params = p;
        self.create_locked(hw, &mut st)
    }

    /// The fence context and ring index for a submission to ring `ring_idx`: `EINVAL` if the
    /// context has no such ring.
    pub(crate) fn ring(&self, ring_idx: u32) -> Result<(u64, u8)> {
        let st = self.state.lock();
        let ring = ctxinit::check_ring(&st.params, ring_idx).ok_or(EINVAL)?;
        if st.base_fence_ctx == 0 {
            return Err(EINVAL);
        }
        Ok((st.base_fence_ctx + u64::from(ring), ring as u8))
    }

    /// Whether fences of ring `ring` send `VIRTGPU_EVENT_FENCE_SIGNALED` to the file.
    pub(crate) fn polls_ring(&self, ring: u8) -> bool {
        ring < 64 && self.state.lock().params.poll_rings_mask & (1u64 << ring) != 0
    }

    /// Whether the host context exists.
    pub(crate) fn has_context(&self) -> bool {
        self.state.lock().exists(self.ctx.dev.data().generation())
    }
}

#[pinned_drop]
impl PinnedDrop for GpuFile {
    fn drop(self: Pin<&mut Self>) {
        if self.ctx.id == 0 {
            return;
        }
        if self.has_context() {
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
