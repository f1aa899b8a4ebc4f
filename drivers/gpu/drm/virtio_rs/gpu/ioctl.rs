// SPDX-License-Identifier: GPL-2.0

//! The virtgpu ioctls (`include/uapi/drm/virtgpu_drm.h`), with the 6.12 C driver's checks,
//! in its order, and its errnos.

#![forbid(unsafe_code)]

use kernel::{prelude::*, time::msecs_to_jiffies, types::ARef, uaccess::UserSlice};

use super::{
    ctxinit,
    driver::{self, create_resource, GpuDrm, GpuDrmDevice, GpuObject, Hw, ResourceArgs},
    dumb, params,
    protocol::{
        self, Box3d, CtrlHdr, Encode as _, Rect, ResourceCreate3d, Submit3d, FLAG_FENCE,
        FLAG_INFO_RING_IDX,
    },
};
use crate::{
    drm::{
        errno,
        event::PendingEvent,
        fence::{FdReservation, FenceRef},
        gem::{AllocImpl, Reservations},
        ioctl::Ioctl,
        syncobj::{self, FenceChain, SyncObj},
        File,
    },
    glue::uapi,
};

/// `VIRTGPU_EXECBUF_FENCE_FD_IN`: wait for the sync_file in `fence_fd` first.
const EXECBUF_FENCE_FD_IN: u32 = 0x1;
/// `VIRTGPU_EXECBUF_FENCE_FD_OUT`: return a sync_file of the submission's fence.
const EXECBUF_FENCE_FD_OUT: u32 = 0x2;
/// `VIRTGPU_EXECBUF_RING_IDX`: submit to ring `ring_idx` (context init only).
const EXECBUF_RING_IDX: u32 = 0x4;
/// `VIRTGPU_EXECBUF_FLAGS`: every flag there is.
const EXECBUF_FLAGS: u32 = EXECBUF_FENCE_FD_IN | EXECBUF_FENCE_FD_OUT | EXECBUF_RING_IDX;

/// `VIRTGPU_EXECBUF_SYNCOBJ_RESET`: reset an in-syncobj once its fence was taken.
const SYNCOBJ_RESET: u32 = 0x1;
/// `VIRTGPU_EXECBUF_SYNCOBJ_FLAGS`: every in-syncobj flag there is.
const SYNCOBJ_FLAGS: u32 = SYNCOBJ_RESET;
/// Size of `struct drm_virtgpu_execbuffer_syncobj` (handle, flags, point).
const SYNCOBJ_DESC_SIZE: usize = 16;
/// Most syncobjs of each direction one EXECBUFFER may name; more gets `ENOMEM` (the C
/// driver's answer when its array cannot be allocated).
const MAX_EXECBUF_SYNCOBJS: u32 = 1 << 16;

/// `VIRTGPU_WAIT_NOWAIT`: only ask whether the object is idle.
const WAIT_NOWAIT: u32 = 0x1;
/// How long `VIRTGPU_WAIT` waits (the C driver's 15 s); then `EBUSY`.
const WAIT_TIMEOUT_MS: u32 = 15_000;

/// Largest EXECBUFFER command stream: one `kmalloc` buffer holds the command (the C driver
/// takes up to `INT_MAX` bytes through `vmalloc`; Mesa's virgl writes at most 256 KiB).
/// Larger gets `ENOMEM`, the C driver's answer above `INT_MAX`.
const MAX_EXECBUF_SIZE: usize = 4 * 1024 * 1024 - Submit3d::SIZE;

/// Most buffer objects one EXECBUFFER may list; more gets `ENOMEM` (the C driver's answer
/// when its handle array cannot be allocated).
const MAX_EXECBUF_BOS: u32 = 1 << 16;

/// Texture target of a 2D resource (`PIPE_TEXTURE_2D`).
const TARGET_2D: u32 = 2;

type GpuFileRef = File<GpuDrm>;

/// IOCTL: `VIRTGPU_MAP`: the fake offset to `mmap` a buffer object at.
pub(crate) struct Map;

impl Ioctl<GpuDrm> for Map {
    type Arg = uapi::drm_virtgpu_map;
    fn handle(_dev: &GpuDrmDevice, arg: &mut Self::Arg, file: &GpuFileRef) -> Result<u32> {
        let obj = GpuObject::lookup(file, arg.handle)?;
        arg.offset = obj.mmap_offset()?;
        Ok(0)
    }
}

/// IOCTL: `VIRTGPU_EXECBUFFER`: submits a command stream to the file's 3D context
/// (`SUBMIT_3D`, fenced), after the fences of the in-syncobjs and of `fence_fd` if asked; the
/// fence goes into every listed buffer object's reservation object, into the out-syncobjs
/// and, if asked, into a new sync_file returned in `fence_fd`. `ENOSYS` without 3D. The
/// checks, their order and their errnos are the 6.12 C driver's.
pub(crate) struct ExecBuffer;

impl Ioctl<GpuDrm> for ExecBuffer {
    type Arg = uapi::drm_virtgpu_execbuffer;
    fn handle(dev: &GpuDrmDevice, arg: &mut Self::Arg, file: &GpuFileRef) -> Result<u32> {
        let shared = dev.data();
        if !shared.has_virgl {
            return Err(errno::enosys());
        }
        if arg.flags & !EXECBUF_FLAGS != 0 {
            return Err(EINVAL);
        }
        // A ring exists only in a context with rings (context init); its fences are on the
        // ring's own timeline.
        let ring = if arg.flags & EXECBUF_RING_IDX != 0 {
            Some(file.inner().ring(arg.ring_idx)?)
        } else {
            None
        };
        let hw = dev.enter().ok_or(ENODEV)?;
        file.inner().ensure_live_context(&hw)?;
        // No device section is held while waiting for fences (an unplug waits for every
        // section to end): with in-fences this one ends here and `submit_tail` enters again
        // after the waits; without, it lasts to the end (one section, not two).
        let waits = arg.flags & EXECBUF_FENCE_FD_IN != 0 || arg.num_in_syncobjs != 0;
        let hw = if waits {
            drop(hw);
            None
        } else {
            Some(hw)
        };
        let objs = lookup_all(file, arg.bo_handles, arg.num_bo_handles)?;
        let size = arg.size as usize;
        if size > MAX_EXECBUF_SIZE {
            return Err(ENOMEM);
        }
        let cmd_ptr = usize::try_from(arg.command).map_err(|_| EFAULT)?;
        let mut cmds = KVec::with_capacity(size, GFP_KERNEL)?;
        UserSlice::new(cmd_ptr, size)
            .reader()
            .read_all(&mut cmds, GFP_KERNEL)?;
        let out_fd = if arg.flags & EXECBUF_FENCE_FD_OUT != 0 {
            Some(FdReservation::new()?)
        } else {
            None
        };
        let posts = out_syncobjs(file, arg)?;
        let resets = in_syncobjs(file, arg, shared.fences.context())?;
        // From here on the in-syncobjs with RESET are reset whatever happens (as in C).
        let sub = Submission {
            cmds: &cmds,
            ring,
            hw,
        };
        let r = submit_tail(dev, arg, file, &objs, sub, out_fd, posts);
        for s in resets.iter() {
            s.replace_fence(None);
        }
        r
    }
}

/// What one EXECBUFFER submits: the command stream, and the ring (its timeline and index) if
/// it names one; and the device section it is submitted in, if the caller holds one (no
/// in-fence to wait for first).
struct Submission<'a> {
    cmds: &'a [u8],
    ring: Option<(u64, u8)>,
    hw: Option<Hw<'a>>,
}

/// The rest of an EXECBUFFER once its dependencies are known: the in-fence, the submission,
/// the out-fence (sync_file and syncobjs).
fn submit_tail(
    dev: &GpuDrmDevice,
    arg: &mut uapi::drm_virtgpu_execbuffer,
    file: &GpuFileRef,
    objs: &[ARef<GpuObject>],
    sub: Submission<'_>,
    out_fd: Option<FdReservation>,
    posts: KVec<(SyncObj, Option<FenceChain>, u64)>,
) -> Result<u32> {
    let shared = dev.data();
    let f = file.inner();
    {
        if arg.flags & EXECBUF_FENCE_FD_IN != 0 {
            let fence = FenceRef::from_sync_file(arg.fence_fd)?;
            // Our own timeline runs in order on the host: no need to wait for it here.
            if fence.context() != shared.fences.context() {
                fence.wait(true)?;
            }
        }
        let hw = match sub.hw {
            Some(hw) => hw,
            None => dev.enter().ok_or(ENODEV)?,
        };
        let mut resv = Reservations::lock(objs)?;
        let ctx = f.ctx_id();
        let (cmds, ring) = (sub.cmds, sub.ring);
        let timeline = ring.map_or(shared.fences.context(), |(c, _)| c);
        // A ring the file polls: the fence's signal sends it an event (reserved now, so a
        // full event space fails the submission before anything is queued, as in C).
        let event = match ring {
            Some((_, idx)) if f.polls_ring(idx) => {
                Some(PendingEvent::reserve(dev, file, EVENT_FENCE_SIGNALED)?)
            }
            _ => None,
        };
        let fence = shared.fences.submit_on(
            timeline,
            event,
            shared.control.queue(&hw),
            protocol::submit_3d_size(cmds.len()).ok_or(ENOMEM)?,
            |out, id| {
                let mut hdr = CtrlHdr::new(Submit3d::TYPE);
                hdr.ctx_id = ctx;
                hdr.flags = FLAG_FENCE;
                hdr.fence_id = id;
                if let Some((_, idx)) = ring {
                    hdr.flags |= FLAG_INFO_RING_IDX;
                    hdr.ring_idx = idx;
                }
                protocol::encode_submit_3d(hdr, cmds, out).map_err(|_| EINVAL)
            },
        )?;
        resv.add_fence(&fence);
        drop(resv);
        if let Some(fd) = out_fd {
            arg.fence_fd = fd.install(&fence)?;
        }
        for (s, chain, point) in posts {
            match chain {
                Some(c) => s.add_point(c, &fence, point),
                None => s.replace_fence(Some(&fence)),
            }
        }
        Ok(0)
    }
}

/// Reads syncobj descriptor `i` of an array at `base` with `stride` bytes between entries
/// (the C driver reads `min(stride, 16)` bytes into a zeroed descriptor and never checks the
/// stride): (handle, flags, point).
fn syncobj_desc(base: u64, stride: u32, i: u32) -> Result<(u32, u32, u64)> {
    let mut d = [0u8; SYNCOBJ_DESC_SIZE];
    let len = (stride as usize).min(SYNCOBJ_DESC_SIZE);
    let addr = base
        .checked_add(u64::from(i) * u64::from(stride))
        .ok_or(EFAULT)?;
    let addr = usize::try_from(addr).map_err(|_| EFAULT)?;
    UserSlice::new(addr, len)
        .reader()
        .read_slice(&mut d[..len])?;
    let handle = u32::from_ne_bytes([d[0], d[1], d[2], d[3]]);
    let flags = u32::from_ne_bytes([d[4], d[5], d[6], d[7]]);
    let point = u64::from_ne_bytes([d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15]]);
    Ok((handle, flags, point))
}

/// The out-syncobjs: flags must be 0 (`EINVAL`), a timeline point gets a chain node now
/// (`ENOMEM`), an unknown handle is `EINVAL` (the C driver's answers).
fn out_syncobjs(
    file: &GpuFileRef,
    arg: &uapi::drm_virtgpu_execbuffer,
) -> Result<KVec<(SyncObj, Option<FenceChain>, u64)>> {
    let n = arg.num_out_syncobjs;
    if n > MAX_EXECBUF_SYNCOBJS {
        return Err(ENOMEM);
    }
    let mut out = KVec::with_capacity(n as usize, GFP_KERNEL)?;
    for i in 0..n {
        let (handle, flags, point) = syncobj_desc(arg.out_syncobjs, arg.syncobj_stride, i)?;
        if flags != 0 {
            return Err(EINVAL);
        }
        let chain = if point != 0 {
            Some(FenceChain::new()?)
        } else {
            None
        };
        let s = SyncObj::find(file, handle).ok_or(EINVAL)?;
        out.push((s, chain, point), GFP_KERNEL)?;
    }
    Ok(out)
}

/// The in-syncobjs: flags other than RESET are `EINVAL`; the fence of each (at its point:
/// `ENOENT` for an unknown handle, `EINVAL` without a fence) is waited for unless it is on our
/// own timeline `ours`; returns those to reset afterwards.
fn in_syncobjs(
    file: &GpuFileRef,
    arg: &uapi::drm_virtgpu_execbuffer,
    ours: u64,
) -> Result<KVec<SyncObj>> {
    let n = arg.num_in_syncobjs;
    if n > MAX_EXECBUF_SYNCOBJS {
        return Err(ENOMEM);
    }
    let mut resets = KVec::new();
    for i in 0..n {
        let (handle, flags, point) = syncobj_desc(arg.in_syncobjs, arg.syncobj_stride, i)?;
        if flags & !SYNCOBJ_FLAGS != 0 {
            return Err(EINVAL);
        }
        let fence = syncobj::find_fence(file, handle, point)?;
        if fence.context() != ours {
            fence.wait(true)?;
        }
        if flags & SYNCOBJ_RESET != 0 {
            resets.push(SyncObj::find(file, handle).ok_or(EINVAL)?, GFP_KERNEL)?;
        }
    }
    Ok(resets)
}

/// Looks up `count` buffer object handles at user address `ptr` (`u32`s): `EFAULT` if they
/// cannot be read, `ENOENT` if one is not an object of the file (the C driver's errnos).
fn lookup_all(file: &GpuFileRef, ptr: u64, count: u32) -> Result<KVec<ARef<GpuObject>>> {
    if count == 0 {
        return Ok(KVec::new());
    }
    if count > MAX_EXECBUF_BOS {
        return Err(ENOMEM);
    }
    let n = count as usize;
    let ptr = usize::try_from(ptr).map_err(|_| EFAULT)?;
    let mut reader = UserSlice::new(ptr, n * 4).reader();
    // All handles are read before any is looked up (EFAULT before ENOENT, as in C); a
    // submission's few handles on the stack, without an allocation.
    let mut small = [0u8; 4 * SMALL_BO_LIST];
    let mut heap = KVec::new();
    let raw: &[u8] = if n <= SMALL_BO_LIST {
        let buf = &mut small[..n * 4];
        reader.read_slice(buf)?;
        buf
    } else {
        // `read_all` reserves the room itself.
        reader.read_all(&mut heap, GFP_KERNEL)?;
        &heap
    };
    let mut objs = KVec::with_capacity(n, GFP_KERNEL).map_err(|_| ENOENT)?;
    for h in raw.chunks_exact(4) {
        let handle = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]);
        objs.push(GpuObject::lookup(file, handle)?, GFP_KERNEL)?;
    }
    Ok(objs)
}

/// How many buffer object handles [`lookup_all`] reads into a buffer on the stack.
const SMALL_BO_LIST: usize = 16;

/// IOCTL: `VIRTGPU_GETPARAM`: writes one capability value (an `int`) to `arg.value`.
pub(crate) struct GetParam;

impl Ioctl<GpuDrm> for GetParam {
    type Arg = uapi::drm_virtgpu_getparam;
    fn handle(dev: &GpuDrmDevice, arg: &mut Self::Arg, _file: &GpuFileRef) -> Result<u32> {
        let value = params::getparam(&dev.data().params(), arg.param).ok_or(EINVAL)?;
        let ptr = usize::try_from(arg.value).map_err(|_| EFAULT)?;
        let mut writer = UserSlice::new(ptr, core::mem::size_of::<i32>()).writer();
        writer.write_slice(&value.to_ne_bytes())?;
        Ok(0)
    }
}

/// IOCTL: `VIRTGPU_RESOURCE_CREATE`: a buffer object with a host resource. Without 3D only
/// plain 2D resources (target 2, one level, one layer, no multisampling) are accepted.
pub(crate) struct ResourceCreate;

impl Ioctl<GpuDrm> for ResourceCreate {
    type Arg = uapi::drm_virtgpu_resource_create;
    fn handle(dev: &GpuDrmDevice, arg: &mut Self::Arg, file: &GpuFileRef) -> Result<u32> {
        if dev.data().has_virgl {
            return resource_create_3d(dev, arg, file);
        }
        if arg.depth > 1
            || arg.nr_samples > 1
            || arg.last_level > 1
            || arg.target != TARGET_2D
            || arg.array_size > 1
        {
            return Err(EINVAL);
        }
        let size = if arg.size == 0 {
            dumb::PAGE_SIZE
        } else {
            u64::from(arg.size)
        };
        let obj = create_resource(
            dev,
            size,
            ResourceArgs::Simple {
                format: arg.format,
                width: arg.width,
                height: arg.height,
                dumb: false,
            },
        )?;
        arg.bo_handle = obj.create_handle(file)?;
        arg.res_handle = obj.data().id();
        Ok(0)
    }
}

/// `VIRTGPU_RESOURCE_CREATE` with VIRGL: the host checks the description (the C driver
/// passes it on unchecked), `RESOURCE_CREATE_3D` with the object's pages as backing.
fn resource_create_3d(
    dev: &GpuDrmDevice,
    arg: &mut uapi::drm_virtgpu_resource_create,
    file: &GpuFileRef,
) -> Result<u32> {
    {
        let hw = dev.enter().ok_or(ENODEV)?;
        file.inner().ensure_context(&hw)?;
    }
    let size = if arg.size == 0 {
        dumb::PAGE_SIZE
    } else {
        u64::from(arg.size)
    };
    let cmd = ResourceCreate3d {
        hdr: CtrlHdr::default(),
        resource_id: 0,
        target: arg.target,
        format: arg.format,
        bind: arg.bind,
        width: arg.width,
        height: arg.height,
        depth: arg.depth,
        array_size: arg.array_size,
        last_level: arg.last_level,
        nr_samples: arg.nr_samples,
        flags: arg.flags,
        padding: 0,
    };
    let obj = create_resource(dev, size, ResourceArgs::Virgl(cmd))?;
    arg.bo_handle = obj.create_handle(file)?;
    arg.res_handle = obj.data().id();
    Ok(0)
}

/// IOCTL: `VIRTGPU_RESOURCE_INFO`: size and host resource id of a buffer object.
pub(crate) struct ResourceInfo;

impl Ioctl<GpuDrm> for ResourceInfo {
    type Arg = uapi::drm_virtgpu_resource_info;
    fn handle(_dev: &GpuDrmDevice, arg: &mut Self::Arg, file: &GpuFileRef) -> Result<u32> {
        let obj = GpuObject::lookup(file, arg.bo_handle)?;
        arg.size = u32::try_from(obj.size()).map_err(|_| EINVAL)?;
        arg.res_handle = obj.data().id();
        arg.blob_mem = 0;
        Ok(0)
    }
}

/// IOCTL: `VIRTGPU_TRANSFER_FROM_HOST`: copies a box of the host resource into the object's
/// pages (`TRANSFER_FROM_HOST_3D`, fenced: `VIRTGPU_WAIT` waits for it). `ENOSYS` without 3D.
pub(crate) struct TransferFromHost;

impl Ioctl<GpuDrm> for TransferFromHost {
    type Arg = uapi::drm_virtgpu_3d_transfer_from_host;
    fn handle(dev: &GpuDrmDevice, arg: &mut Self::Arg, file: &GpuFileRef) -> Result<u32> {
        if !dev.data().has_virgl {
            return Err(errno::enosys());
        }
        let hw = dev.enter().ok_or(ENODEV)?;
        file.inner().ensure_context(&hw)?;
        let obj = GpuObject::lookup(file, arg.bo_handle)?;
        // Only host-3D blobs take strides (the driver has no blobs).
        if arg.stride != 0 || arg.layer_stride != 0 {
            return Err(EINVAL);
        }
        let t = Transfer3d::from_uapi(&arg.box_, arg.level, arg.offset);
        transfer_3d(
            dev,
            &hw,
            file,
            obj,
            t,
            protocol::CtrlType::TRANSFER_FROM_HOST_3D,
        )
    }
}

/// The fields of a 3D transfer.
struct Transfer3d {
    box_: Box3d,
    level: u32,
    offset: u64,
}

impl Transfer3d {
    fn from_uapi(b: &uapi::drm_virtgpu_3d_box, level: u32, offset: u32) -> Self {
        Self {
            box_: Box3d {
                x: b.x,
                y: b.y,
                z: b.z,
                w: b.w,
                h: b.h,
                d: b.d,
            },
            level,
            offset: u64::from(offset),
        }
    }
}

/// Sends a fenced 3D transfer (`TRANSFER_TO_HOST_3D` or `TRANSFER_FROM_HOST_3D`, type `t`)
/// of `obj` for the file's context, the fence in the object's reservation object.
fn transfer_3d(
    dev: &GpuDrmDevice,
    hw: &super::driver::Hw<'_>,
    file: &GpuFileRef,
    obj: ARef<GpuObject>,
    tr: Transfer3d,
    t: protocol::CtrlType,
) -> Result<u32> {
    let shared = dev.data();
    let objs = [obj];
    let mut resv = Reservations::lock(&objs)?;
    let mut hdr = CtrlHdr::new(t);
    hdr.ctx_id = file.inner().ctx_id();
    hdr.flags = FLAG_FENCE;
    let cmd = protocol::TransferToHost3d {
        hdr,
        box_: tr.box_,
        offset: tr.offset,
        resource_id: objs[0].data().id(),
        level: tr.level,
        stride: 0,
        layer_stride: 0,
    };
    let fence = shared.fences.submit(
        shared.control.queue(hw),
        protocol::TransferToHost3d::SIZE,
        |out, id| {
            let mut c = cmd;
            c.hdr.fence_id = id;
            // Both transfers have this layout; the header's type says which.
            c.encode(out);
            Ok(())
        },
    )?;
    resv.add_fence(&fence);
    Ok(0)
}

/// IOCTL: `VIRTGPU_TRANSFER_TO_HOST`: copies a box of the object's memory to its host
/// resource (2D: `TRANSFER_TO_HOST_2D` of the box's x, y, width and height).
pub(crate) struct TransferToHost;

impl Ioctl<GpuDrm> for TransferToHost {
    type Arg = uapi::drm_virtgpu_3d_transfer_to_host;
    fn handle(dev: &GpuDrmDevice, arg: &mut Self::Arg, file: &GpuFileRef) -> Result<u32> {
        let obj = GpuObject::lookup(file, arg.bo_handle)?;
        // Only host-3D blobs take strides (the driver has no blobs).
        if arg.stride != 0 || arg.layer_stride != 0 {
            return Err(EINVAL);
        }
        let hw = dev.enter().ok_or(ENODEV)?;
        if dev.data().has_virgl {
            file.inner().ensure_context(&hw)?;
            let t = Transfer3d::from_uapi(&arg.box_, arg.level, arg.offset);
            return transfer_3d(
                dev,
                &hw,
                file,
                obj,
                t,
                protocol::CtrlType::TRANSFER_TO_HOST_3D,
            );
        }
        let r = Rect {
            x: arg.box_.x,
            y: arg.box_.y,
            width: arg.box_.w,
            height: arg.box_.h,
        };
        // Unlike the C driver, which hands any offset to the host: rows past the object's
        // pages stop QEMU 7.2.
        let t = driver::transfer_2d(&obj, r, u64::from(arg.offset))?;
        dev.data().control.transfer_to_host_2d(&hw, &t)?;
        Ok(0)
    }
}

/// IOCTL: `VIRTGPU_WAIT`: waits (interruptibly, 15 s at most, then `EBUSY`) until the
/// object's fences signalled; with `NOWAIT`, `EBUSY` at once if it is busy. Other flags are
/// ignored, as by the C driver.
pub(crate) struct Wait;

impl Ioctl<GpuDrm> for Wait {
    type Arg = uapi::drm_virtgpu_3d_wait;
    fn handle(_dev: &GpuDrmDevice, arg: &mut Self::Arg, file: &GpuFileRef) -> Result<u32> {
        let obj = GpuObject::lookup(file, arg.handle)?;
        if arg.flags & WAIT_NOWAIT != 0 {
            return if obj.is_idle() { Ok(0) } else { Err(EBUSY) };
        }
        match obj.wait_idle(msecs_to_jiffies(WAIT_TIMEOUT_MS))? {
            true => Ok(0),
            false => Err(EBUSY),
        }
    }
}

/// IOCTL: `VIRTGPU_GET_CAPS`: copies a capset to `addr` (at most `size` bytes); `ENOSYS`
/// when the host has none, `EINVAL` for a zero size or a capset id and version the host does
/// not offer (C order).
pub(crate) struct GetCaps;

impl Ioctl<GpuDrm> for GetCaps {
    type Arg = uapi::drm_virtgpu_get_caps;
    fn handle(dev: &GpuDrmDevice, arg: &mut Self::Arg, _file: &GpuFileRef) -> Result<u32> {
        let hw = dev.enter().ok_or(ENODEV)?;
        let addr = usize::try_from(arg.addr).map_err(|_| EFAULT)?;
        dev.data()
            .get_caps(&hw, arg.cap_set_id, arg.cap_set_ver, arg.size, |data| {
                UserSlice::new(addr, data.len()).writer().write_slice(data)
            })?;
        Ok(0)
    }
}

/// IOCTL: `VIRTGPU_RESOURCE_CREATE_BLOB`: `EINVAL` without blob support.
pub(crate) struct ResourceCreateBlob;

impl Ioctl<GpuDrm> for ResourceCreateBlob {
    type Arg = uapi::drm_virtgpu_resource_create_blob;
    fn handle(_dev: &GpuDrmDevice, _arg: &mut Self::Arg, _file: &GpuFileRef) -> Result<u32> {
        Err(EINVAL)
    }
}

/// IOCTL: `VIRTGPU_CONTEXT_INIT`: sets the file's context type, rings and debug name and
/// creates the context, with the 6.12 C driver's checks and errnos (`EINVAL` without context
/// init or 3D, or with more than four parameters; `EFAULT` for unreadable parameters; `EEXIST`
/// once the context exists; `ctxinit::parse` for the rest).
pub(crate) struct ContextInit;

/// `VIRTGPU_EVENT_FENCE_SIGNALED`: the DRM event a polled ring's fence sends when it signals.
const EVENT_FENCE_SIGNALED: u32 = 0x9000_0000;

/// Size of `struct drm_virtgpu_context_set_param` (param, value).
const CONTEXT_PARAM_SIZE: usize = 16;

impl Ioctl<GpuDrm> for ContextInit {
    type Arg = uapi::drm_virtgpu_context_init;
    fn handle(dev: &GpuDrmDevice, arg: &mut Self::Arg, file: &GpuFileRef) -> Result<u32> {
        let shared = dev.data();
        if !shared.has_context_init || !shared.has_virgl {
            return Err(EINVAL);
        }
        if arg.num_params > ctxinit::MAX_PARAMS {
            return Err(EINVAL);
        }
        let n = arg.num_params as usize;
        let mut raw = [0u8; CONTEXT_PARAM_SIZE * ctxinit::MAX_PARAMS as usize];
        let len = n * CONTEXT_PARAM_SIZE;
        let ptr = usize::try_from(arg.ctx_set_params).map_err(|_| EFAULT)?;
        UserSlice::new(ptr, len)
            .reader()
            .read_slice(&mut raw[..len])?;
        let mut params = [(0u64, 0u64); ctxinit::MAX_PARAMS as usize];
        for (i, p) in params.iter_mut().take(n).enumerate() {
            let at = |o: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&raw[i * CONTEXT_PARAM_SIZE + o..][..8]);
                u64::from_ne_bytes(b)
            };
            *p = (at(0), at(8));
        }
        let params = &params[..n];
        let hw = dev.enter().ok_or(ENODEV)?;
        file.inner().init_context(&hw, params, read_debug_name)?;
        Ok(0)
    }
}

/// Reads a zero-terminated name of at most 63 bytes from user address `addr`, as
/// `strncpy_from_user` does (a longer one is cut); `None` if it cannot be read.
fn read_debug_name(addr: u64) -> Option<[u8; ctxinit::DEBUG_NAME_MAX_LEN]> {
    let mut name = [0u8; ctxinit::DEBUG_NAME_MAX_LEN];
    let base = usize::try_from(addr).ok()?;
    for (i, c) in name
        .iter_mut()
        .enumerate()
        .take(ctxinit::DEBUG_NAME_MAX_LEN - 1)
    {
        let mut b = [0u8; 1];
        UserSlice::new(base.checked_add(i)?, 1)
            .reader()
            .read_slice(&mut b)
            .ok()?;
        if b[0] == 0 {
            break;
        }
        *c = b[0];
    }
    Some(name)
}

/// A handler whose argument type is not plain data (`bool` is not valid for every byte):
/// `make check` builds the module with `--cfg vgrs_bad_ioctl_arg` and expects the compiler to
/// refuse this (E0277, `FromBytes` not implemented), which shows that `Ioctl::Arg` is bounded
/// in the real trait, not in a copy of it.
#[cfg(vgrs_bad_ioctl_arg)]
pub(crate) struct BadArg;

#[cfg(vgrs_bad_ioctl_arg)]
impl Ioctl<GpuDrm> for BadArg {
    type Arg = [bool; 8];
    fn handle(_dev: &GpuDrmDevice, _arg: &mut Self::Arg, _file: &GpuFileRef) -> Result<u32> {
        Ok(0)
    }
}
