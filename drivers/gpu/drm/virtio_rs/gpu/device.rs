// SPDX-License-Identifier: GPL-2.0

//! The virtio-gpu virtio driver: probe, remove and configuration changes.

#![forbid(unsafe_code)]

use kernel::{c_str, prelude::*};

use super::config::{self, Features};
use crate::virtio;

/// The virtio driver for virtio-gpu devices.
pub(crate) struct VirtioGpuDriver;

/// State of one bound virtio-gpu device.
pub(crate) struct GpuDevice {
    /// Number of scanouts (heads) the device has, 1 to 16.
    num_scanouts: u32,
    /// Number of 3D capability sets the device offers.
    num_capsets: u32,
}

impl virtio::Driver for VirtioGpuDriver {
    type Data = GpuDevice;

    const NAME: &'static CStr = c_str!("virtio_gpu_rs");
    const DEVICE_ID: u32 = config::VIRTIO_ID_GPU;
    const FEATURES: &'static [u32] = &config::DRIVER_FEATURES;

    fn probe(dev: &virtio::Device) -> Result<Pin<KBox<GpuDevice>>> {
        let name = dev.name();
        if !dev.has_feature(config::F_VERSION_1) {
            pr_err!("{}: legacy (pre-1.0) virtio device, not supported\n", name);
            return Err(ENODEV);
        }
        let features = Features(dev.features());
        pr_info!("{}: features: {}\n", name, features);
        let raw = dev.config_read_u32(config::NUM_SCANOUTS);
        let Some(num_scanouts) = config::check_num_scanouts(raw) else {
            pr_err!(
                "{}: device reports {} scanouts, expected 1 to 16\n",
                name,
                raw
            );
            return Err(EINVAL);
        };
        let num_capsets = dev.config_read_u32(config::NUM_CAPSETS);
        pr_info!(
            "{}: number of scanouts: {}, capsets: {}\n",
            name,
            num_scanouts,
            num_capsets
        );
        let gpu = KBox::pin(
            GpuDevice {
                num_scanouts,
                num_capsets,
            },
            GFP_KERNEL,
        )?;
        pr_info!("{}: bound\n", name);
        Ok(gpu)
    }

    fn remove(dev: &virtio::Device, data: Pin<KBox<GpuDevice>>) {
        pr_info!(
            "{}: unbound ({} scanouts, {} capsets)\n",
            dev.name(),
            data.num_scanouts,
            data.num_capsets
        );
    }

    fn config_changed(dev: &virtio::Device, _data: &GpuDevice) {
        let events = dev.config_read_u32(config::EVENTS_READ);
        if events & config::EVENT_DISPLAY != 0 {
            pr_info!("{}: display configuration changed\n", dev.name());
        }
        dev.config_write_u32(config::EVENTS_CLEAR, events);
    }
}
