// SPDX-License-Identifier: GPL-2.0

//! The virtgpu ioctls (`include/uapi/drm/virtgpu_drm.h`), as the C driver behaves without 3D.

#![forbid(unsafe_code)]

use kernel::{prelude::*, uaccess::UserSlice};

use super::{
    driver::{create_resource, GpuDrm, GpuDrmDevice, GpuObject, ResourceArgs},
    dumb, params,
    protocol::Rect,
};
use crate::{
    drm::{errno, ioctl::Ioctl, File},
    glue::uapi,
};

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

/// IOCTL: `VIRTGPU_EXECBUFFER`: 3D command submission; `ENOSYS` without 3D.
pub(crate) struct ExecBuffer;

impl Ioctl<GpuDrm> for ExecBuffer {
    type Arg = uapi::drm_virtgpu_execbuffer;
    fn handle(_dev: &GpuDrmDevice, _arg: &mut Self::Arg, _file: &GpuFileRef) -> Result<u32> {
        Err(errno::enosys())
    }
}

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
            ResourceArgs {
                format: arg.format,
                width: arg.width,
                height: arg.height,
            },
        )?;
        arg.bo_handle = obj.create_handle(file)?;
        arg.res_handle = obj.data().id();
        Ok(0)
    }
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

/// IOCTL: `VIRTGPU_TRANSFER_FROM_HOST`: 3D only; `ENOSYS` without 3D.
pub(crate) struct TransferFromHost;

impl Ioctl<GpuDrm> for TransferFromHost {
    type Arg = uapi::drm_virtgpu_3d_transfer_from_host;
    fn handle(_dev: &GpuDrmDevice, _arg: &mut Self::Arg, _file: &GpuFileRef) -> Result<u32> {
        Err(errno::enosys())
    }
}

/// IOCTL: `VIRTGPU_TRANSFER_TO_HOST`: copies a box of the object's memory to its host
/// resource (2D: `TRANSFER_TO_HOST_2D` of the box's x, y, width and height).
pub(crate) struct TransferToHost;

impl Ioctl<GpuDrm> for TransferToHost {
    type Arg = uapi::drm_virtgpu_3d_transfer_to_host;
    fn handle(dev: &GpuDrmDevice, arg: &mut Self::Arg, file: &GpuFileRef) -> Result<u32> {
        let obj = GpuObject::lookup(file, arg.bo_handle)?;
        let hw = dev.enter().ok_or(ENODEV)?;
        let r = Rect {
            x: arg.box_.x,
            y: arg.box_.y,
            width: arg.box_.w,
            height: arg.box_.h,
        };
        dev.data()
            .control
            .transfer_to_host_2d(&hw, obj.data().id(), r, u64::from(arg.offset))?;
        Ok(0)
    }
}

/// IOCTL: `VIRTGPU_WAIT`: waits until the object is idle. Every command the driver sends
/// completes before its ioctl returns, so objects are always idle.
pub(crate) struct Wait;

impl Ioctl<GpuDrm> for Wait {
    type Arg = uapi::drm_virtgpu_3d_wait;
    fn handle(_dev: &GpuDrmDevice, arg: &mut Self::Arg, file: &GpuFileRef) -> Result<u32> {
        // Idle either way, so `VIRTGPU_WAIT_NOWAIT` makes no difference.
        let _obj = GpuObject::lookup(file, arg.handle)?;
        Ok(0)
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

/// IOCTL: `VIRTGPU_CONTEXT_INIT`: `EINVAL` without context init support.
pub(crate) struct ContextInit;

impl Ioctl<GpuDrm> for ContextInit {
    type Arg = uapi::drm_virtgpu_context_init;
    fn handle(_dev: &GpuDrmDevice, _arg: &mut Self::Arg, _file: &GpuFileRef) -> Result<u32> {
        Err(EINVAL)
    }
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
