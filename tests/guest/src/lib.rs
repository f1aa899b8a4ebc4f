// SPDX-License-Identifier: GPL-2.0
//! Shared parts of the guest test programs (`vgrs-uapi-test`, `vgrs-kms-test`): check
//! reporting, the C driver's expected answers, GEM mappings, `/proc/meminfo` figures, the
//! virtgpu ioctls and the vblank ioctl drm-ffi lacks.

pub mod expect;
pub mod mapping;
pub mod meminfo;
pub mod report;
pub mod vblank;
pub mod virtgpu;
