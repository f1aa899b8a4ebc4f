// SPDX-License-Identifier: GPL-2.0

//! DRM sync objects (`drm_syncobj`, binary and timeline), as a submission uses them: the fence
//! of a handle (at a timeline point) to wait for, and a new fence to put in (replacing the
//! binary fence, or as a new timeline point).
//!
//! C header: [`include/drm/drm_syncobj.h`](srctree/include/drm/drm_syncobj.h)

use core::ptr::NonNull;

use kernel::prelude::*;

use super::{driver::Driver, fence::FenceRef, File};
use crate::glue::bindings;

/// A sync object of an open file.
///
/// # Invariants
///
/// `0` is a valid `drm_syncobj` this value holds a reference to.
pub(crate) struct SyncObj(NonNull<bindings::drm_syncobj>);

// SAFETY: Sync objects are refcounted and locked internally; usable from any thread.
unsafe impl Send for SyncObj {}

// SAFETY: As above; `&SyncObj` only replaces fences and adds points, which lock internally.
unsafe impl Sync for SyncObj {}

impl SyncObj {
    /// The sync object behind `handle` in `file`, if there is one.
    pub(crate) fn find<T: Driver>(file: &File<T>, handle: u32) -> Option<Self> {
        // SAFETY: `file` is a valid open file; `drm_syncobj_find` returns a new reference or
        // null.
        let p = unsafe { bindings::drm_syncobj_find(file.as_raw(), handle) };
        // INVARIANT: a reference from `drm_syncobj_find`.
        NonNull::new(p).map(Self)
    }

    /// Makes `fence` (or none) the sync object's fence.
    pub(crate) fn replace_fence(&self, fence: Option<&FenceRef>) {
        let f = fence.map_or(core::ptr::null_mut(), FenceRef::as_raw);
        // SAFETY: The sync object is valid (type invariant); `f` is null or a valid fence,
        // of which `drm_syncobj_replace_fence` takes its own reference.
        unsafe { bindings::drm_syncobj_replace_fence(self.0.as_ptr(), f) };
    }

    /// Adds `fence` as timeline point `point`, using the preallocated `chain` node.
    pub(crate) fn add_point(&self, chain: FenceChain, fence: &FenceRef, point: u64) {
        let c = chain.0.as_ptr();
        core::mem::forget(chain);
        // SAFETY: The sync object and the fence are valid; `c` is an unused chain node whose
        // ownership `drm_syncobj_add_point` takes (it is not freed here: forgotten above).
        unsafe { bindings::drm_syncobj_add_point(self.0.as_ptr(), c, fence.as_raw(), point) };
    }
}

impl Drop for SyncObj {
    fn drop(&mut self) {
        // SAFETY: We own one reference (type invariant), given up here.
        unsafe { bindings::vgrs_drm_syncobj_put(self.0.as_ptr()) };
    }
}

/// The fence of sync object `handle` of `file` at timeline point `point` (0: the binary
/// fence), without waiting for it to be submitted: `ENOENT` for an unknown handle, `EINVAL`
/// if there is no fence (yet) at that point (`drm_syncobj_find_fence`'s answers).
pub(crate) fn find_fence<T: Driver>(file: &File<T>, handle: u32, point: u64) -> Result<FenceRef> {
    let mut f: *mut bindings::dma_fence = core::ptr::null_mut();
    // SAFETY: `file` is a valid open file; `f` is a valid place for the result, a new
    // reference when the call succeeds.
    kernel::error::to_result(unsafe {
        bindings::drm_syncobj_find_fence(file.as_raw(), handle, point, 0, &mut f)
    })?;
    let f = NonNull::new(f).ok_or(EINVAL)?;
    // SAFETY: `drm_syncobj_find_fence` succeeded: `f` is a fence we hold a reference to.
    Ok(unsafe { FenceRef::from_raw(f) })
}

/// A fence chain node allocated ahead, for [`SyncObj::add_point`] (which cannot fail).
///
/// # Invariants
///
/// `0` is an unused `dma_fence_chain` from `dma_fence_chain_alloc`, owned by this value.
pub(crate) struct FenceChain(NonNull<bindings::dma_fence_chain>);

// SAFETY: An unused chain node is plain memory.
unsafe impl Send for FenceChain {}

impl FenceChain {
    /// Allocates a node; `ENOMEM` if that fails.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: `dma_fence_chain_alloc` only allocates.
        let c = unsafe { bindings::vgrs_dma_fence_chain_alloc() };
        // INVARIANT: a new, unused node.
        Ok(Self(NonNull::new(c).ok_or(ENOMEM)?))
    }
}

impl Drop for FenceChain {
    fn drop(&mut self) {
        // SAFETY: The node is unused and ours (type invariant).
        unsafe { bindings::vgrs_dma_fence_chain_free(self.0.as_ptr()) };
    }
}
