// SPDX-License-Identifier: GPL-2.0
//! The virtio-gpu driver ioctls (`include/uapi/drm/virtgpu_drm.h`), which `drm-ffi` does not
//! cover: `#[repr(C)]` mirrors of the uapi structs and one safe function per ioctl.
//!
//! All the raw calls go through [`iowr`], the one place that hands a struct to the kernel.
//! Structs without user pointers are passed as they are; for the ioctls whose structs carry
//! user pointers (GETPARAM, EXECBUFFER, GET_CAPS, RESOURCE_CREATE_BLOB, CONTEXT_INIT) the
//! wrappers here fill the pointer fields themselves from Rust borrows, so no caller can make
//! the kernel write to memory Rust does not expect to change.

use std::io;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};

use rustix::ioctl::{ioctl, opcode, Opcode, Updater};

/// `DRM_IOCTL_BASE`.
const DRM_BASE: u8 = b'd';
/// `DRM_COMMAND_BASE`: driver ioctls start here.
const CMD: u8 = 0x40;

pub const PARAM_NAMES: [&str; 8] = [
    "3d-features",
    "capset-query-fix",
    "resource-blob",
    "host-visible",
    "cross-device",
    "context-init",
    "supported-capset-ids",
    "explicit-debug-name",
];

pub const WAIT_NOWAIT: u32 = 1;
pub const BLOB_MEM_GUEST: u32 = 1;
pub const BLOB_FLAG_USE_MAPPABLE: u32 = 1;
pub const BLOB_FLAG_USE_SHAREABLE: u32 = 2;
pub const CONTEXT_PARAM_CAPSET_ID: u64 = 1;

/// `struct drm_virtgpu_map`.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct Map {
    pub offset: u64,
    pub handle: u32,
    pub pad: u32,
}

/// `struct drm_virtgpu_execbuffer`.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
struct Execbuffer {
    flags: u32,
    size: u32,
    command: u64,
    bo_handles: u64,
    num_bo_handles: u32,
    fence_fd: i32,
    ring_idx: u32,
    syncobj_stride: u32,
    num_in_syncobjs: u32,
    num_out_syncobjs: u32,
    in_syncobjs: u64,
    out_syncobjs: u64,
}

/// `struct drm_virtgpu_getparam`.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
struct Getparam {
    param: u64,
    value: u64,
}

/// `struct drm_virtgpu_resource_create`.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct ResourceCreate {
    pub target: u32,
    pub format: u32,
    pub bind: u32,
    pub width: u32,
    pub height: u32,
    pub depth: u32,
    pub array_size: u32,
    pub last_level: u32,
    pub nr_samples: u32,
    pub flags: u32,
    pub bo_handle: u32,
    pub res_handle: u32,
    pub size: u32,
    pub stride: u32,
}

/// `struct drm_virtgpu_resource_info`.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct ResourceInfo {
    pub bo_handle: u32,
    pub res_handle: u32,
    pub size: u32,
    pub blob_mem: u32,
}

/// `struct drm_virtgpu_3d_box`.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct Box3d {
    pub x: u32,
    pub y: u32,
    pub z: u32,
    pub w: u32,
    pub h: u32,
    pub d: u32,
}

/// `struct drm_virtgpu_3d_transfer_to_host` and `..._from_host` (same layout).
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct Transfer {
    pub bo_handle: u32,
    pub bx: Box3d,
    pub level: u32,
    pub offset: u32,
    pub stride: u32,
    pub layer_stride: u32,
}

/// `struct drm_virtgpu_3d_wait`.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct Wait {
    pub handle: u32,
    pub flags: u32,
}

/// `struct drm_virtgpu_get_caps`.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
struct GetCaps {
    cap_set_id: u32,
    cap_set_ver: u32,
    addr: u64,
    size: u32,
    pad: u32,
}

/// `struct drm_virtgpu_resource_create_blob`.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
struct ResourceCreateBlob {
    blob_mem: u32,
    blob_flags: u32,
    bo_handle: u32,
    res_handle: u32,
    size: u64,
    pad: u32,
    cmd_size: u32,
    cmd: u64,
    blob_id: u64,
}

/// `struct drm_virtgpu_context_set_param`.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct ContextSetParam {
    pub param: u64,
    pub value: u64,
}

/// `struct drm_virtgpu_context_init`.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
struct ContextInit {
    num_params: u32,
    pad: u32,
    ctx_set_params: u64,
}

// The uapi struct sizes (they are encoded in the ioctl numbers; a mismatch would make every
// call fail with ENOTTY or EINVAL rather than corrupt anything, but catch it at build time).
const _: () = {
    use std::mem::size_of;
    assert!(size_of::<Map>() == 16);
    assert!(size_of::<Execbuffer>() == 64);
    assert!(size_of::<Getparam>() == 16);
    assert!(size_of::<ResourceCreate>() == 56);
    assert!(size_of::<ResourceInfo>() == 16);
    assert!(size_of::<Transfer>() == 44);
    assert!(size_of::<Wait>() == 8);
    assert!(size_of::<GetCaps>() == 24);
    assert!(size_of::<ResourceCreateBlob>() == 48);
    assert!(size_of::<ContextSetParam>() == 16);
    assert!(size_of::<ContextInit>() == 16);
};

/// `DRM_IOWR(DRM_COMMAND_BASE + nr, T)`.
const fn op<T>(nr: u8) -> Opcode {
    opcode::read_write::<T>(DRM_BASE, CMD + nr)
}

/// Issues the read-write ioctl `OP` with `arg`.
///
/// # Safety
/// `OP` must be the virtgpu ioctl whose uapi struct `T` mirrors, and every user-pointer field
/// of `arg` must be 0 or point to memory that stays valid, and that Rust allows to be read
/// (and, where the kernel writes through it, written) for the duration of the call.
unsafe fn iowr<const OP: Opcode, T>(fd: BorrowedFd<'_>, arg: &mut T) -> io::Result<()> {
    // SAFETY: the caller guarantees OP and T match (so the kernel copies exactly
    // size_of::<T>() bytes in and out of `arg`, which is a valid exclusive borrow) and that
    // the pointers inside `arg` are sound to hand to the kernel.
    unsafe { ioctl(fd, Updater::<OP, T>::new(arg)) }.map_err(io::Error::from)
}

/// Generates a safe wrapper for an ioctl whose struct has no user pointers.
macro_rules! plain_ioctl {
    ($(#[$m:meta])* $name:ident, $nr:expr, $ty:ty) => {
        $(#[$m])*
        pub fn $name(fd: BorrowedFd<'_>, arg: &mut $ty) -> io::Result<()> {
            const OP: Opcode = op::<$ty>($nr);
            // SAFETY: OP is built from this ioctl's number and `$ty`, the #[repr(C)] mirror of
            // its uapi struct (sizes asserted above); the struct holds no user pointers.
            unsafe { iowr::<OP, $ty>(fd, arg) }
        }
    };
}

plain_ioctl!(
    /// DRM_IOCTL_VIRTGPU_MAP: the fake mmap offset of a GEM object.
    map, 0x01, Map
);
plain_ioctl!(
    /// DRM_IOCTL_VIRTGPU_RESOURCE_CREATE.
    resource_create, 0x04, ResourceCreate
);
plain_ioctl!(
    /// DRM_IOCTL_VIRTGPU_RESOURCE_INFO.
    resource_info, 0x05, ResourceInfo
);
plain_ioctl!(
    /// DRM_IOCTL_VIRTGPU_TRANSFER_FROM_HOST.
    transfer_from_host, 0x06, Transfer
);
plain_ioctl!(
    /// DRM_IOCTL_VIRTGPU_TRANSFER_TO_HOST.
    transfer_to_host, 0x07, Transfer
);
plain_ioctl!(
    /// DRM_IOCTL_VIRTGPU_WAIT.
    wait, 0x08, Wait
);

/// DRM_IOCTL_VIRTGPU_GETPARAM: the kernel writes an `int` through `value`.
pub fn getparam(fd: BorrowedFd<'_>, param: u64) -> io::Result<i32> {
    let mut value: i32 = 0;
    let mut arg = Getparam {
        param,
        value: &mut value as *mut i32 as u64,
    };
    const OP: Opcode = op::<Getparam>(0x03);
    // SAFETY: OP matches Getparam; `value` points to a live, exclusively borrowed i32, exactly
    // the `int` the kernel copies out.
    unsafe { iowr::<OP, Getparam>(fd, &mut arg) }?;
    Ok(value)
}

/// DRM_IOCTL_VIRTGPU_EXECBUFFER with an empty command stream and no buffers or syncobjs.
pub fn execbuffer_empty(fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut arg = Execbuffer {
        fence_fd: -1,
        ..Default::default()
    };
    const OP: Opcode = op::<Execbuffer>(0x02);
    // SAFETY: OP matches Execbuffer; every pointer field is 0 and every count is 0, so the
    // kernel dereferences no user memory.
    unsafe { iowr::<OP, Execbuffer>(fd, &mut arg) }
}

/// `struct drm_virtgpu_execbuffer_syncobj`.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct ExecSyncobj {
    pub handle: u32,
    pub flags: u32,
    pub point: u64,
}

pub const EXECBUF_FENCE_FD_IN: u32 = 1;
pub const EXECBUF_FENCE_FD_OUT: u32 = 2;
pub const EXECBUF_RING_IDX: u32 = 4;
pub const EXECBUF_SYNCOBJ_RESET: u32 = 1;

/// What one EXECBUFFER submits; [`execbuffer`] fills the struct's pointers from the borrows.
#[derive(Default, Clone, Copy)]
pub struct Exec<'a> {
    pub flags: u32,
    pub cmds: &'a [u8],
    pub bos: &'a [u32],
    pub fence_fd: i32,
    pub ring_idx: u32,
    pub ins: &'a [ExecSyncobj],
    pub outs: &'a [ExecSyncobj],
}

/// DRM_IOCTL_VIRTGPU_EXECBUFFER of `e`; returns the `fence_fd` the kernel left (the out
/// fence's sync_file with `EXECBUF_FENCE_FD_OUT`).
pub fn execbuffer(fd: BorrowedFd<'_>, e: &Exec<'_>) -> io::Result<i32> {
    let len32 =
        |n: usize| u32::try_from(n).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
    let mut arg = Execbuffer {
        flags: e.flags,
        size: len32(e.cmds.len())?,
        command: e.cmds.as_ptr() as u64,
        bo_handles: e.bos.as_ptr() as u64,
        num_bo_handles: len32(e.bos.len())?,
        fence_fd: e.fence_fd,
        ring_idx: e.ring_idx,
        syncobj_stride: std::mem::size_of::<ExecSyncobj>() as u32,
        num_in_syncobjs: len32(e.ins.len())?,
        num_out_syncobjs: len32(e.outs.len())?,
        in_syncobjs: e.ins.as_ptr() as u64,
        out_syncobjs: e.outs.as_ptr() as u64,
    };
    const OP: Opcode = op::<Execbuffer>(0x02);
    // SAFETY: OP matches Execbuffer; every pointer field points to a slice borrowed for the
    // call with the count beside it, which the kernel only reads.
    unsafe { iowr::<OP, Execbuffer>(fd, &mut arg) }?;
    Ok(arg.fence_fd)
}

/// DRM_IOCTL_VIRTGPU_EXECBUFFER of `e` with `EXECBUF_FENCE_FD_OUT` added: the out fence's
/// sync_file, owned.
pub fn execbuffer_fence_out(fd: BorrowedFd<'_>, e: &Exec<'_>) -> io::Result<OwnedFd> {
    let e = Exec {
        flags: e.flags | EXECBUF_FENCE_FD_OUT,
        ..*e
    };
    let raw = execbuffer(fd, &e)?;
    // SAFETY: with FENCE_FD_OUT the kernel installed `raw` as a new descriptor of this
    // process, owned by nothing else; the OwnedFd closes it once.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// DRM_IOCTL_VIRTGPU_EXECBUFFER whose command stream of `size` bytes lies at the first page of
/// the address space (never mapped), so reading it must fail (or the size be refused first).
pub fn execbuffer_unmapped(fd: BorrowedFd<'_>, size: u32) -> io::Result<()> {
    let mut arg = Execbuffer {
        size,
        command: 8,
        fence_fd: -1,
        ..Default::default()
    };
    const OP: Opcode = op::<Execbuffer>(0x02);
    // SAFETY: OP matches Execbuffer; the kernel only reads the command, at an address in the
    // first page, which is never mapped: no memory of ours is involved.
    unsafe { iowr::<OP, Execbuffer>(fd, &mut arg) }
}

/// `struct sync_fence_info`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SyncFenceInfo {
    pub obj_name: [u8; 32],
    pub driver_name: [u8; 32],
    pub status: i32,
    pub flags: u32,
    pub timestamp_ns: u64,
}

/// `struct sync_file_info`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct SyncFileInfo {
    name: [u8; 32],
    status: i32,
    flags: u32,
    num_fences: u32,
    pad: u32,
    sync_fence_info: u64,
}

/// SYNC_IOC_FILE_INFO on a sync_file with one fence: the file's status and its fence's info.
pub fn sync_file_info(fd: BorrowedFd<'_>) -> io::Result<(i32, SyncFenceInfo)> {
    let mut fence = SyncFenceInfo {
        obj_name: [0; 32],
        driver_name: [0; 32],
        status: 0,
        flags: 0,
        timestamp_ns: 0,
    };
    let mut arg = SyncFileInfo {
        name: [0; 32],
        status: 0,
        flags: 0,
        num_fences: 1,
        pad: 0,
        sync_fence_info: &mut fence as *mut SyncFenceInfo as u64,
    };
    const OP: Opcode = opcode::read_write::<SyncFileInfo>(b'>', 4);
    // SAFETY: OP is SYNC_IOC_FILE_INFO with its struct; `sync_fence_info` points to one live,
    // exclusively borrowed `SyncFenceInfo` and `num_fences` says one, so the kernel writes at
    // most that one entry.
    unsafe { ioctl(fd, Updater::<OP, SyncFileInfo>::new(&mut arg)) }.map_err(io::Error::from)?;
    Ok((arg.status, fence))
}

/// DRM_IOCTL_VIRTGPU_GET_CAPS into `buf`.
pub fn get_caps(fd: BorrowedFd<'_>, cap_set_id: u32, ver: u32, buf: &mut [u8]) -> io::Result<()> {
    let mut arg = GetCaps {
        cap_set_id,
        cap_set_ver: ver,
        addr: buf.as_mut_ptr() as u64,
        size: u32::try_from(buf.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
        pad: 0,
    };
    const OP: Opcode = op::<GetCaps>(0x09);
    // SAFETY: OP matches GetCaps; `addr` is `buf`, exclusively borrowed for the call, and the
    // kernel copies at most `size` = buf.len() bytes into it.
    unsafe { iowr::<OP, GetCaps>(fd, &mut arg) }
}

/// DRM_IOCTL_VIRTGPU_GET_CAPS with `size` bytes to be written at the first page of the
/// address space (never mapped: `vm.mmap_min_addr`), so the kernel's copy must fail.
pub fn get_caps_unmapped(
    fd: BorrowedFd<'_>,
    cap_set_id: u32,
    ver: u32,
    size: u32,
) -> io::Result<()> {
    let mut arg = GetCaps {
        cap_set_id,
        cap_set_ver: ver,
        addr: 8,
        size,
        pad: 0,
    };
    const OP: Opcode = op::<GetCaps>(0x09);
    // SAFETY: OP matches GetCaps; `addr` lies in the first page, which is never mapped in a
    // user process, so the kernel's copy faults (EFAULT) and no memory of ours changes.
    unsafe { iowr::<OP, GetCaps>(fd, &mut arg) }
}

/// DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB without a command buffer; returns the
/// (bo handle, resource handle).
pub fn resource_create_blob(
    fd: BorrowedFd<'_>,
    blob_mem: u32,
    blob_flags: u32,
    size: u64,
) -> io::Result<(u32, u32)> {
    let mut arg = ResourceCreateBlob {
        blob_mem,
        blob_flags,
        size,
        ..Default::default()
    };
    const OP: Opcode = op::<ResourceCreateBlob>(0x0a);
    // SAFETY: OP matches ResourceCreateBlob; its only user pointer (`cmd`) is 0 with size 0.
    unsafe { iowr::<OP, ResourceCreateBlob>(fd, &mut arg) }?;
    Ok((arg.bo_handle, arg.res_handle))
}

/// DRM_IOCTL_VIRTGPU_CONTEXT_INIT with `params`.
pub fn context_init(fd: BorrowedFd<'_>, params: &[ContextSetParam]) -> io::Result<()> {
    let mut arg = ContextInit {
        num_params: u32::try_from(params.len())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
        pad: 0,
        ctx_set_params: params.as_ptr() as u64,
    };
    const OP: Opcode = op::<ContextInit>(0x0b);
    // SAFETY: OP matches ContextInit; `ctx_set_params` points to `params`, borrowed for the
    // call, and the kernel only reads num_params = params.len() entries from it (a DEBUG_NAME
    // value is a string pointer the kernel also only reads; a bad one yields EFAULT).
    unsafe { iowr::<OP, ContextInit>(fd, &mut arg) }
}

/// DRM_IOCTL_PRIME_HANDLE_TO_FD (read-write, close-on-exec): the object's dma-buf, owned.
pub fn prime_export(fd: BorrowedFd<'_>, handle: u32) -> io::Result<OwnedFd> {
    let flags = drm_ffi::DRM_CLOEXEC | drm_ffi::DRM_RDWR;
    let p = drm_ffi::gem::handle_to_fd(fd, handle, flags)?;
    // SAFETY: the ioctl succeeded, so the kernel installed `p.fd` as a new descriptor of this
    // process, owned by nothing else; the OwnedFd closes it once.
    Ok(unsafe { OwnedFd::from_raw_fd(p.fd) })
}

/// DRM_IOCTL_PRIME_FD_TO_HANDLE: the handle of `dmabuf`'s object in the file `fd`.
pub fn prime_import(fd: BorrowedFd<'_>, dmabuf: BorrowedFd<'_>) -> io::Result<u32> {
    Ok(drm_ffi::gem::fd_to_handle(fd, dmabuf)?.handle)
}
