// SPDX-License-Identifier: GPL-2.0

//! DRM abstractions: devices, drivers, open files, GEM objects and ioctls.
//!
//! Shaped like the upstream `kernel::drm` (6.15+) so a port to it is a rename: a `Driver`
//! trait with a const `drm_driver` vtable, `Device<T>`, `File<T>`, GEM objects with `ARef`,
//! and an ioctl table macro with compile-time size checks. The 6.12 differences are in
//! `device.rs`: the `drm_device` is allocated by `drm_dev_alloc` (the embedding allocator is
//! not exported in 6.12) and the driver data hangs off `dev_private`.
//!
//! C header: [`include/drm/drm_drv.h`](srctree/include/drm/drm_drv.h)

pub(crate) mod device;
pub(crate) mod driver;
pub(crate) mod event;
pub(crate) mod fence;
pub(crate) mod file;
pub(crate) mod gem;
pub(crate) mod ioctl;
pub(crate) mod kms;
pub(crate) mod syncobj;

pub(crate) use device::{Device, Registration};
pub(crate) use driver::{Driver, DriverInfo};
pub(crate) use file::File;

pub(crate) use crate::glue::errno;
