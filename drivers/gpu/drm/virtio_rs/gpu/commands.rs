// SPDX-License-Identifier: GPL-2.0

//! Command submission on the control queue: one function per virtio-gpu command, each
//! encoding the command, waiting for the device, and validating the response before use.

#![forbid(unsafe_code)]

use kernel::{prelude::*, sync::Arc};

use super::capsets::CapsetInfo;
use super::driver::Hw;
use super::protocol::{
    self, CtrlHdr, CtrlType, CtxAttachResource, CtxCreate, CtxDestroy, CtxDetachResource, Encode,
    GetCapset, GetCapsetInfo, GetDisplayInfo, GetEdid, MemEntry, ProtoError, Rect,
    ResourceCreate2d, ResourceCreate3d, ResourceDetachBacking, ResourceFlush, ResourceUnref,
    RespCapsetInfo, RespDisplayInfo, RespEdid, SetScanout, TransferToHost2d, UpdateCursor,
};
use super::scanout;
use crate::virtio::{self, Check, Forget, Owned, Queue, Wait};

/// Maps a rejected response to the errno the caller returns.
fn to_errno(what: &str, e: ProtoError) -> Error {
    match e {
        ProtoError::Device(t) if t == CtrlType::RESP_ERR_OUT_OF_MEMORY => ENOMEM,
        ProtoError::Device(t) => {
            pr_warn!("{}: device error {:#x}\n", what, t.0);
            EINVAL
        }
        e => {
            pr_err!("{}: malformed response: {:?}\n", what, e);
            EIO
        }
    }
}

/// Checks the answer to a command queued by [`Control::send_nodata`].
pub(crate) fn check_reply(cmd: &[u8], resp: &[u8]) {
    if let (t, Err(e)) = protocol::check_nodata_reply(cmd, resp) {
        pr_warn!("command {:#x}: bad response: {:?}\n", t, e);
    }
}

/// A `TRANSFER_TO_HOST_2D` that reads only its resource's backing (sent waited for by
/// [`Control`], queued by [`Batch`] or polled by [`Control::panic_update`]): the only way to
/// send one.
///
/// # Invariants
///
/// For a 2D resource, the rows the host reads lie inside the resource's backing
/// ([`scanout::transfer_in_backing`]).
pub(crate) struct Transfer2d(TransferToHost2d);

impl Transfer2d {
    /// `TRANSFER_TO_HOST_2D` of rectangle `r` of resource `id`, first pixel at byte `offset`.
    /// `rows`: for a 2D resource, its width in pixels and the bytes of its backing; `EINVAL`
    /// if the host would read outside them. `None` for a 3D resource, whose transfers the
    /// host's renderer checks against its own layout.
    pub(crate) fn new(id: u32, r: Rect, offset: u64, rows: Option<(u32, u64)>) -> Result<Self> {
        if let Some((width, backing)) = rows {
            if !scanout::transfer_in_backing(width, backing, r, offset) {
                return Err(EINVAL);
            }
        }
        Ok(Self(TransferToHost2d {
            hdr: CtrlHdr::new(TransferToHost2d::TYPE),
            r,
            offset,
            resource_id: id,
            padding: 0,
        }))
    }
}

/// `RESOURCE_FLUSH` of rectangle `r` of resource `id`.
fn resource_flush(id: u32, r: Rect) -> ResourceFlush {
    ResourceFlush {
        hdr: CtrlHdr::new(ResourceFlush::TYPE),
        r,
        resource_id: id,
        padding: 0,
    }
}

/// `SET_SCANOUT` of rectangle `r` of resource `id` (0: none) on `scanout`.
fn set_scanout(scanout: u32, id: u32, r: Rect) -> SetScanout {
    SetScanout {
        hdr: CtrlHdr::new(SetScanout::TYPE),
        r,
        scanout_id: scanout,
        resource_id: id,
    }
}

/// The bytes of `cmd`, written into the queue's zeroed buffer.
pub(crate) fn encoder<C: Encode>(cmd: &C) -> impl FnOnce(&mut [u8]) -> Result + '_ {
    move |out| {
        cmd.encode(out);
        Ok(())
    }
}

/// The control queue. Every command takes a [`Hw`] token: proof that the caller entered a
/// device section (`drm_dev_enter`), so no command is sent after the device was unplugged.
pub(crate) struct Control {
    queue: Arc<Queue>,
}

impl Control {
    /// Wraps the device's control queue.
    pub(crate) fn new(queue: Arc<Queue>) -> Self {
        Self { queue }
    }

    /// Starts a batch of commands queued without waiting (see [`Batch`]).
    pub(crate) fn batch<'a>(&'a self, _hw: &'a Hw<'_>) -> Batch<'a> {
        Batch(self.queue.batch())
    }

    /// Sends `cmd` and waits for an answer of at most `resp_len` bytes.
    fn call<C: Encode>(&self, cmd: &C, resp_len: usize) -> Result<virtio::Reply> {
        self.queue
            .submit(C::SIZE, resp_len, encoder(cmd), Wait)?
            .wait()
    }

    /// Sends a command that answers `RESP_OK_NODATA`.
    fn call_nodata<C: Encode>(&self, what: &str, hdr: &CtrlHdr, cmd: &C) -> Result {
        let resp = self.call(cmd, CtrlHdr::SIZE)?;
        protocol::parse_nodata(&resp, hdr).map_err(|e| to_errno(what, e))
    }

    /// `GET_DISPLAY_INFO`: the scanouts' preferred sizes and enabled state.
    pub(crate) fn get_display_info(&self, _hw: &Hw<'_>) -> Result<KBox<RespDisplayInfo>> {
        let cmd = GetDisplayInfo {
            hdr: CtrlHdr::new(GetDisplayInfo::TYPE),
        };
        let resp = self.call(&cmd, RespDisplayInfo::SIZE)?;
        let info =
            RespDisplayInfo::parse(&resp, &cmd.hdr).map_err(|e| to_errno("display info", e))?;
        Ok(KBox::new(info, GFP_KERNEL)?)
    }

    /// `GET_EDID` for `scanout`.
    pub(crate) fn get_edid(&self, _hw: &Hw<'_>, scanout: u32) -> Result<KBox<RespEdid>> {
        let cmd = GetEdid {
            hdr: CtrlHdr::new(GetEdid::TYPE),
            scanout,
            padding: 0,
        };
        let resp = self.call(&cmd, RespEdid::SIZE)?;
        let edid = RespEdid::parse(&resp, &cmd.hdr).map_err(|e| to_errno("get edid", e))?;
        Ok(KBox::new(edid, GFP_KERNEL)?)
    }

    /// `GET_CAPSET_INFO` for capset `index`.
    pub(crate) fn get_capset_info(&self, _hw: &Hw<'_>, index: u32) -> Result<CapsetInfo> {
        let cmd = GetCapsetInfo {
            hdr: CtrlHdr::new(GetCapsetInfo::TYPE),
            capset_index: index,
            padding: 0,
        };
        let resp = self.call(&cmd, RespCapsetInfo::SIZE)?;
        let info =
            RespCapsetInfo::parse(&resp, &cmd.hdr).map_err(|e| to_errno("capset info", e))?;
        Ok(CapsetInfo {
            id: info.capset_id,
            max_version: info.capset_max_version,
            max_size: info.capset_max_size,
        })
    }

    /// `GET_CAPSET`: the data of capset `info.id` at `version` (`info.max_size` bytes).
    pub(crate) fn get_capset(
        &self,
        _hw: &Hw<'_>,
        info: &CapsetInfo,
        version: u32,
    ) -> Result<KVec<u8>> {
        let cmd = GetCapset {
            hdr: CtrlHdr::new(GetCapset::TYPE),
            capset_id: info.id,
            capset_version: version,
        };
        let size = info.max_size as usize;
        let resp = self.call(&cmd, CtrlHdr::SIZE + size)?;
        let data =
            protocol::parse_capset(&resp, &cmd.hdr, size).map_err(|e| to_errno("capset", e))?;
        let mut out = KVec::with_capacity(data.len(), GFP_KERNEL)?;
        out.extend_from_slice(data, GFP_KERNEL)?;
        Ok(out)
    }

    /// Queues a command that answers `RESP_OK_NODATA` without waiting for it (the answer is
    /// checked when it comes back): for commands whose failure the caller could do nothing
    /// about, as the C driver queues them.
    fn queue_nodata<C: Encode>(&self, cmd: &C) -> Result {
        self.queue
            .submit(C::SIZE, CtrlHdr::SIZE, encoder(cmd), Check(check_reply))
    }

    /// `CTX_CREATE` of 3D context `ctx` for capset `capset_id` (0: the default), named
    /// `name` (queued).
    pub(crate) fn ctx_create(&self, _hw: &Hw<'_>, ctx: u32, capset_id: u32, name: &[u8]) -> Result {
        self.queue_nodata(&CtxCreate::new(ctx, capset_id, name))
    }

    /// `CTX_DESTROY` of 3D context `ctx` (queued).
    pub(crate) fn ctx_destroy(&self, _hw: &Hw<'_>, ctx: u32) -> Result {
        let mut hdr = CtrlHdr::new(CtxDestroy::TYPE);
        hdr.ctx_id = ctx;
        self.queue_nodata(&CtxDestroy { hdr })
    }

    /// `CTX_ATTACH_RESOURCE`: context `ctx` may use resource `id` (queued).
    pub(crate) fn ctx_attach(&self, _hw: &Hw<'_>, ctx: u32, id: u32) -> Result {
        let mut hdr = CtrlHdr::new(CtxAttachResource::TYPE);
        hdr.ctx_id = ctx;
        self.queue_nodata(&CtxAttachResource {
            hdr,
            resource_id: id,
            padding: 0,
        })
    }

    /// `CTX_DETACH_RESOURCE`: context `ctx` may no longer use resource `id` (queued).
    pub(crate) fn ctx_detach(&self, _hw: &Hw<'_>, ctx: u32, id: u32) -> Result {
        let mut hdr = CtrlHdr::new(CtxDetachResource::TYPE);
        hdr.ctx_id = ctx;
        self.queue_nodata(&CtxDetachResource {
            hdr,
            resource_id: id,
            padding: 0,
        })
    }

    /// `RESOURCE_CREATE_3D` (`cmd` complete, header included), waited for.
    pub(crate) fn resource_create_3d(&self, _hw: &Hw<'_>, cmd: &ResourceCreate3d) -> Result {
        self.call_nodata("resource create 3d", &cmd.hdr, cmd)
    }

    /// The control queue (for fenced submissions, see [`super::fence::FenceDriver`]).
    pub(crate) fn queue(&self, _hw: &Hw<'_>) -> &Queue {
        &self.queue
    }

    /// `RESOURCE_CREATE_2D` (queued, as the C driver queues it: the arguments were checked
    /// by the caller, and the host's answer is checked when it comes). The device is notified
    /// at once, not with the backing as the C driver does: the host then creates its side of
    /// the resource while the guest lists the pages and queues the attach (one notification
    /// for both made the dumb buffer benchmark 3-5 % slower, with the host create before the
    /// page allocation and after it: results.md, stop 20).
    pub(crate) fn resource_create_2d(
        &self,
        _hw: &Hw<'_>,
        id: u32,
        format: u32,
        width: u32,
        height: u32,
    ) -> Result {
        self.queue_nodata(&ResourceCreate2d {
            hdr: CtrlHdr::new(ResourceCreate2d::TYPE),
            resource_id: id,
            format,
            width,
            height,
        })
    }

    /// `RESOURCE_UNREF`, queued, as the C driver queues it: nobody waits for the answer.
    /// `then` (what the host may still use until it answered: the resource's pages) gets
    /// the answer, or hears that none will come (the device was reset, which drops every
    /// host resource), and is dropped after; if the command cannot be queued it is dropped
    /// at once.
    pub(crate) fn resource_unref(&self, _hw: &Hw<'_>, id: u32, then: Owned) -> Result {
        let cmd = ResourceUnref {
            hdr: CtrlHdr::new(ResourceUnref::TYPE),
            resource_id: id,
            padding: 0,
        };
        self.queue
            .submit(ResourceUnref::SIZE, CtrlHdr::SIZE, encoder(&cmd), then)
    }

    /// `RESOURCE_DETACH_BACKING`.
    #[allow(dead_code)] // For blob resources and suspend, which come later.
    pub(crate) fn resource_detach_backing(&self, _hw: &Hw<'_>, id: u32) -> Result {
        let cmd = ResourceDetachBacking {
            hdr: CtrlHdr::new(ResourceDetachBacking::TYPE),
            resource_id: id,
            padding: 0,
        };
        self.call_nodata("detach backing", &cmd.hdr, &cmd)
    }

    /// `RESOURCE_ATTACH_BACKING` with the given memory entries (queued, as the C driver
    /// queues it; the answer is checked when it comes). The pages stay alive: the object
    /// that owns them is freed only once the host answered its `RESOURCE_UNREF`, which the
    /// host handles after this ([`Control::resource_unref`]).
    pub(crate) fn resource_attach_backing(
        &self,
        _hw: &Hw<'_>,
        id: u32,
        entries: impl ExactSizeIterator<Item = MemEntry>,
    ) -> Result {
        let size = protocol::attach_backing_size(entries.len()).ok_or(EINVAL)?;
        let encode =
            |out: &mut [u8]| protocol::encode_attach_backing(id, entries, out).map_err(|_| EINVAL);
        self.queue
            .submit(size, CtrlHdr::SIZE, encode, Check(check_reply))
    }

    /// `TRANSFER_TO_HOST_2D`.
    pub(crate) fn transfer_to_host_2d(&self, _hw: &Hw<'_>, t: &Transfer2d) -> Result {
        self.call_nodata("transfer to host", &t.0.hdr, &t.0)
    }

    /// `SET_SCANOUT`: show rectangle `r` of resource `id` on `scanout` (0 disables it).
    pub(crate) fn set_scanout(&self, _hw: &Hw<'_>, scanout: u32, id: u32, r: Rect) -> Result {
        let cmd = set_scanout(scanout, id, r);
        self.call_nodata("set scanout", &cmd.hdr, &cmd)
    }

    /// drm_panic's update: `TRANSFER_TO_HOST_2D` `t` and `RESOURCE_FLUSH` of `flush`, then
    /// polls until the device did both, for at most [`PANIC_POLL_US`]. Sleeps, allocates and
    /// waits for no lock: it uses the queue's reserved requests ([`virtio::AtomicBatch`]),
    /// without answer buffers, so the answers are not checked. `EBUSY` if another CPU holds
    /// the ring or an earlier panic update is still with the device.
    pub(crate) fn panic_update(&self, _hw: &Hw<'_>, t: &Transfer2d, flush: Rect) -> Result {
        let mut batch = self.queue.atomic()?;
        let id = t.0.resource_id;
        batch.submit(TransferToHost2d::SIZE, encoder(&t.0))?;
        batch.submit(ResourceFlush::SIZE, encoder(&resource_flush(id, flush)))?;
        batch.finish(PANIC_POLL_US)
    }
}

/// How long [`Control::panic_update`] waits for the device, in microseconds.
pub(crate) const PANIC_POLL_US: u32 = 200_000;

/// Commands queued without waiting for the device, as the C driver queues plane updates; the
/// device is notified once, when the batch is dropped. The control queue is handled in order,
/// so a later command's answer (e.g. the `RESOURCE_UNREF` whose answer a resource's pages
/// wait for before they are freed) also means these were done. Answers are checked when they
/// come back; a failure can only be logged then.
pub(crate) struct Batch<'a>(virtio::Batch<'a>);

impl Batch<'_> {
    /// Queues a command that answers `RESP_OK_NODATA`.
    fn send_nodata<C: Encode>(&self, cmd: &C) -> Result {
        self.0
            .submit(C::SIZE, CtrlHdr::SIZE, encoder(cmd), Check(check_reply))
    }

    /// `TRANSFER_TO_HOST_2D`.
    pub(crate) fn transfer_to_host_2d(&self, t: &Transfer2d) -> Result {
        self.send_nodata(&t.0)
    }

    /// `RESOURCE_FLUSH` of rectangle `r`.
    pub(crate) fn resource_flush(&self, id: u32, r: Rect) -> Result {
        self.send_nodata(&resource_flush(id, r))
    }

    /// `SET_SCANOUT`: show rectangle `r` of resource `id` on `scanout`.
    pub(crate) fn set_scanout(&self, scanout: u32, id: u32, r: Rect) -> Result {
        self.send_nodata(&set_scanout(scanout, id, r))
    }
}

/// The cursor queue: commands without an answer. As [`Control`], gated by a [`Hw`] token.
pub(crate) struct Cursor {
    queue: Arc<Queue>,
}

impl Cursor {
    /// Wraps the device's cursor queue.
    pub(crate) fn new(queue: Arc<Queue>) -> Self {
        Self { queue }
    }

    /// Sends `UPDATE_CURSOR` or `MOVE_CURSOR` (the header's type says which).
    pub(crate) fn send(&self, _hw: &Hw<'_>, cmd: &UpdateCursor) -> Result {
        self.queue
            .submit(UpdateCursor::SIZE, 0, encoder(cmd), Forget)
    }
}
