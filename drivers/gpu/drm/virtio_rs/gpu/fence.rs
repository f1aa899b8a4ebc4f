// SPDX-License-Identifier: GPL-2.0

//! Fences of the control queue, as the C driver has them without context init: one timeline
//! (`controlq`) whose sequence numbers are the fence ids sent in fenced commands' headers.
//!
//! A fenced command gets the next fence id and is queued while the submission lock is held,
//! so ids reach the ring in increasing order. The host answers a fenced command when its work
//! is done, echoing the id; QEMU may answer several at once, and answers unfenced commands
//! queued later first. An answer signals the fence with its id and every earlier one still
//! pending on the same timeline, in order, but only if a pending fence has exactly that id
//! (the C driver's rule: an id the driver never sent signals nothing). With context init, a
//! context's rings are timelines of their own (their fences are answered per ring); fence
//! ids are global, so they increase on each timeline. At remove, whatever is pending is signalled
//! with `ENODEV`.

#![forbid(unsafe_code)]

use kernel::{c_str, new_mutex, prelude::*, sync::Arc, sync::Mutex};

use super::driver::GpuDrm;
use super::protocol::{self, CtrlHdr, Encode, FLAG_FENCE};
use super::timeline;
use crate::{
    drm::event::PendingEvent,
    drm::fence::{self, Fence, FenceNames, FenceRef},
    virtio::{Handled, Handler, Queue},
};

/// What the driver's fences are called (as the C driver's).
pub(crate) struct GpuFenceNames;

impl FenceNames for GpuFenceNames {
    const DRIVER: &'static CStr = c_str!("virtio_gpu");
    const TIMELINE: &'static CStr = c_str!("controlq");
}

/// A fence waiting for its answer, and the event its signal sends to a file (fences of a
/// ring the file polls, `VIRTGPU_EVENT_FENCE_SIGNALED`).
struct Pending {
    fence: Fence,
    event: Option<PendingEvent<GpuDrm>>,
}

impl timeline::Seq for Pending {
    fn seqno(&self) -> u64 {
        self.fence.seqno()
    }

    fn context(&self) -> u64 {
        self.fence.context()
    }
}

impl Pending {
    /// Signals the fence (with `err`, if given), then sends the event.
    fn finish(self, err: Option<Error>) {
        match err {
            Some(e) => self.fence.signal_error(e),
            None => self.fence.signal(),
        }
        if let Some(e) = self.event {
            e.send();
        }
    }
}

/// The fences of fenced control-queue commands.
#[pin_data]
pub(crate) struct FenceDriver {
    /// The fence context (timeline).
    context: u64,
    /// The next fence id; held while a fenced command is given its id and queued.
    #[pin]
    next: Mutex<u64>,
    /// Fences not yet signalled (`None`: a free slot).
    #[pin]
    pending: Mutex<KVec<Option<Pending>>>,
}

impl FenceDriver {
    /// A fence driver with a timeline of its own.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                context: fence::alloc_contexts(1),
                next <- new_mutex!(1),
                pending <- new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )
    }

    /// The timeline's context: fences of another context are waited for before submission.
    pub(crate) fn context(&self) -> u64 {
        self.context
    }

    /// Queues a fenced command of `out_len` bytes on `queue`: `encode` writes it, given the
    /// fence id to put in its header (with [`FLAG_FENCE`]). Returns the command's fence,
    /// signalled when the host answers it.
    pub(crate) fn submit(
        self: &Arc<Self>,
        queue: &Queue,
        out_len: usize,
        encode: impl FnOnce(&mut [u8], u64) -> Result,
    ) -> Result<FenceRef> {
        self.submit_on(self.context, None, queue, out_len, encode)
    }

    /// [`FenceDriver::submit`] with the fence on timeline `context` (a ring of a context with
    /// rings; the caller puts the ring in the header) and `event` sent when it signals. Fence
    /// ids stay global, so they increase on every timeline too.
    pub(crate) fn submit_on(
        self: &Arc<Self>,
        context: u64,
        event: Option<PendingEvent<GpuDrm>>,
        queue: &Queue,
        out_len: usize,
        encode: impl FnOnce(&mut [u8], u64) -> Result,
    ) -> Result<FenceRef> {
        let mut next = self.next.lock();
        let id = *next;
        let fence = Fence::new::<GpuFenceNames>(context, id)?;
        let shared = fence.get();
        self.add(Pending { fence, event })?;
        let handler: Arc<dyn Handler> = self.clone();
        match queue.submit(
            out_len,
            CtrlHdr::SIZE,
            |out| encode(out, id),
            Handled(handler),
        ) {
            Ok(()) => {
                *next = id.wrapping_add(1);
                Ok(shared)
            }
            Err(e) => {
                // Never queued: nobody will answer it.
                if let Some(f) = self.take(id) {
                    f.finish(Some(e));
                }
                Err(e)
            }
        }
    }

    /// Keeps `fence` until its answer comes.
    fn add(&self, fence: Pending) -> Result {
        let mut p = self.pending.lock();
        if let Err(fence) = timeline::insert(&mut p, fence) {
            p.push(Some(fence), GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Takes the pending fence with id `id`, if any.
    fn take(&self, id: u64) -> Option<Pending> {
        timeline::take(&mut self.pending.lock(), id)
    }

    /// The host finished the fenced command with id `id`: signals its fence and every earlier
    /// pending one on its timeline, oldest first; nothing if no pending fence has this id
    /// ([`timeline::signal_upto`]).
    pub(crate) fn signal_upto(&self, id: u64) {
        timeline::signal_upto(&mut self.pending.lock(), id, |f| f.finish(None));
    }

    /// The device is gone: signals every pending fence with `ENODEV`, oldest first.
    pub(crate) fn fail_all(&self) {
        timeline::drain(&mut self.pending.lock(), |f| f.finish(Some(ENODEV)));
    }
}

impl Handler for FenceDriver {
    /// An answer to a fenced command: logs a device error, signals by the echoed fence id.
    fn done(&self, out: &[u8], resp: &[u8]) {
        let (t, verdict) = protocol::check_nodata_reply(out, resp);
        if let Err(e) = verdict {
            pr_warn!("fenced command {:#x}: {:?}\n", t, e);
        }
        // An error answer ends the command too: its fence must not wait forever.
        if let Some(hdr) = protocol::response_header(resp) {
            if hdr.flags & FLAG_FENCE != 0 {
                self.signal_upto(hdr.fence_id);
            }
        }
    }

    /// A fenced command will never be answered (the device was reset or removed): no answer
    /// can come for any pending fence, so all fail, oldest first.
    fn failed(&self) {
        self.fail_all();
    }
}
