// SPDX-License-Identifier: GPL-2.0

//! The virtio-gpu virtio driver: probe, remove and configuration changes.

#![forbid(unsafe_code)]

use kernel::{c_str, prelude::*, sync::Arc};

use super::{
    commands::Control,
    config::{self, Features},
    display::Displays,
};
use crate::virtio;

/// The virtio driver for virtio-gpu devices.
pub(crate) struct VirtioGpuDriver;

/// Index of the control queue.
const CONTROL_QUEUE: usize = 0;
/// Index of the cursor queue.
const CURSOR_QUEUE: usize = 1;

/// State of one bound virtio-gpu device.
#[pin_data]
pub(crate) struct GpuDevice {
    /// Number of scanouts (heads) the device has, 1 to 16.
    num_scanouts: u32,
    /// Number of 3D capability sets the device offers.
    num_capsets: u32,
    /// Whether the device answers `GET_EDID`.
    has_edid: bool,
    /// The control queue.
    control: Control,
    /// The cursor queue (used by the display pipeline).
    _cursor: Arc<virtio::Queue>,
    /// What the host reported about its displays.
    #[pin]
    displays: Displays,
}

impl GpuDevice {
    /// Asks the host for its display configuration (and EDIDs) and records it.
    fn read_displays(&self, name: &CStr) -> Result {
        let info = self.control.get_display_info()?;
        self.displays.update_info(&info);
        for (i, one) in info
            .pmodes
            .iter()
            .take(self.num_scanouts as usize)
            .enumerate()
        {
            pr_info!(
                "{}: scanout {}: {}x{}{}\n",
                name,
                i,
                one.r.width,
                one.r.height,
                if one.enabled != 0 { " enabled" } else { "" }
            );
        }
        if self.has_edid {
            for i in 0..self.num_scanouts {
                let edid = self.control.get_edid(i)?;
                self.displays.update_edid(i, edid.bytes());
                pr_info!("{}: scanout {}: EDID {} bytes\n", name, i, edid.size);
            }
        }
        Ok(())
    }
}

impl virtio::Driver for VirtioGpuDriver {
    type Data = GpuDevice;

    const NAME: &'static CStr = c_str!("virtio_gpu_rs");
    const DEVICE_ID: u32 = config::VIRTIO_ID_GPU;
    const FEATURES: &'static [u32] = &config::DRIVER_FEATURES;
    const QUEUES: &'static [&'static CStr] = &[c_str!("control"), c_str!("cursor")];

    fn probe(
        dev: &virtio::Device,
        queues: Option<&virtio::Queues>,
    ) -> Result<Pin<KBox<GpuDevice>>> {
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
        let queues = queues.ok_or(EINVAL)?;
        let control = queues.get(CONTROL_QUEUE).ok_or(EINVAL)?.clone();
        let cursor = queues.get(CURSOR_QUEUE).ok_or(EINVAL)?.clone();
        let displays = Displays::new(num_scanouts)?;
        let gpu = KBox::pin_init(
            try_pin_init!(GpuDevice {
                displays <- displays,
                num_scanouts,
                num_capsets,
                has_edid: features.has(config::F_EDID),
                control: Control::new(control),
                _cursor: cursor,
            }),
            GFP_KERNEL,
        )?;
        Ok(gpu)
    }

    fn ready(dev: &virtio::Device, gpu: &GpuDevice) -> Result {
        gpu.read_displays(dev.name())?;
        pr_info!("{}: bound\n", dev.name());
        Ok(())
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
