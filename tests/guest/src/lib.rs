// SPDX-License-Identifier: GPL-2.0
//! Shared parts of the guest test programs (`vgrs-uapi-test`, `vgrs-kms-test`): check
//! reporting, the C driver's expected answers, GEM mappings and the virtgpu ioctls.

pub mod expect;
pub mod mapping;
pub mod report;
pub mod virtgpu;
