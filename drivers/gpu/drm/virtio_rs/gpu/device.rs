// SPDX-License-Identifier: GPL-2.0

//! The virtio-gpu virtio driver: probe, remove and configuration changes.

#![forbid(unsafe_code)]

use kernel::{c_str, new_mutex, prelude::*, sync::Mutex, types::ARef};

use super::{
    config::{self, Features},
    driver::{GpuDrm, GpuDrmDevice, GpuShared, Hw, SharedInit},
    hotplug::{Changes, Events},
    kms,
};
use crate::{drm, virtio};

/// Bits per pixel of the fbdev emulation's framebuffer.
const FBDEV_BPP: u32 = 32;

/// The virtio driver for virtio-gpu devices.
pub(crate) struct VirtioGpuDriver;

/// Index of the control queue.
const CONTROL_QUEUE: usize = 0;
/// Index of the cursor queue.
const CURSOR_QUEUE: usize = 1;

/// State of one bound virtio-gpu device.
///
/// # Invariants
///
/// Display events are handled by [`virtio::Driver::config_changed`], which the virtio
/// abstraction runs from a work item only between the end of probe and the start of remove
/// (`unbind` cancels the work, waiting for a running one, before it calls `remove`). So
/// while it runs the virtqueues are alive, the DRM device is registered (`ready` succeeded)
/// and `registration` is `Some`; `remove` unplugs the device only after the last run.
#[pin_data]
pub(crate) struct GpuDevice {
    /// The DRM device (allocated at probe, registered once the device is ready).
    drm: ARef<GpuDrmDevice>,
    /// The mode config and outputs (created at probe, before registration).
    kms: drm::kms::Kms<GpuDrm>,
    /// The DRM registration; taken (unplugging the DRM device) at remove.
    #[pin]
    registration: Mutex<Option<drm::Registration<GpuDrm>>>,
    /// The outputs' state saved by a suspend, until the restore commits it again.
    #[pin]
    suspended: Mutex<Option<drm::kms::Suspended>>,
}

/// Asks the host for its display configuration (and EDIDs) and records it; returns which
/// heads changed.
fn read_displays(hw: &Hw<'_>, shared: &GpuShared, name: &CStr) -> Result<Changes> {
    let info = shared.control.get_display_info(hw)?;
    let changes = shared.displays.update_info(&info);
    for (i, one) in info
        .pmodes
        .iter()
        .take(shared.num_scanouts as usize)
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
    if shared.has_edid {
        for i in 0..shared.num_scanouts {
            let edid = shared.control.get_edid(hw, i)?;
            shared.displays.update_edid(i, edid.bytes());
            pr_info!("{}: scanout {}: EDID {} bytes\n", name, i, edid.size);
        }
    }
    Ok(changes)
}

/// Handles a display event: reads the display configuration again and tells userspace and
/// the DRM clients (fbdev), which probe the connectors again.
fn display_changed(dev: &virtio::Device, gpu: &GpuDevice) {
    let name = dev.name();
    {
        let Some(hw) = gpu.drm.enter() else {
            return;
        };
        match read_displays(&hw, &gpu.drm.data(), name) {
            Ok(c) if !c.any() => pr_info!("{}: display event, nothing changed\n", name),
            Ok(c) => pr_info!(
                "{}: display change: connected {:#x}, disconnected {:#x}, resized {:#x}\n",
                name,
                c.connected,
                c.disconnected,
                c.resized
            ),
            // Tell userspace anyway, as the C driver does: the heads that were read are
            // up to date, and a probe of the others gives what the driver last knew.
            Err(e) => pr_warn!("{}: reading the display configuration: {:?}\n", name, e),
        }
    }
    // Not a device access: outside the section, so the probes and commits that userspace and
    // fbdev start from here never wait for it.
    if let Some(reg) = gpu.registration.lock().as_ref() {
        gpu.kms.hotplug_event(reg);
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
        let features = Features(dev.features());
        if !features.has(config::F_VERSION_1) {
            pr_err!("{}: legacy (pre-1.0) virtio device, not supported\n", name);
            return Err(ENODEV);
        }
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
        let shared = GpuShared::new(SharedInit {
            num_scanouts,
            num_capsets,
            has_edid: features.has(config::F_EDID),
            has_virgl: features.has(config::F_VIRGL),
            has_context_init: features.has(config::F_CONTEXT_INIT),
            use_dma: !dev.has_dma_quirk(),
            control: queues.get(CONTROL_QUEUE).ok_or(EINVAL)?.clone(),
            cursor: queues.get(CURSOR_QUEUE).ok_or(EINVAL)?.clone(),
        })?;
        let drm = GpuDrmDevice::new(dev, shared)?;
        let kms = kms::init(&drm)?;
        KBox::pin_init(
            pin_init!(GpuDevice {
                drm,
                kms,
                registration <- new_mutex!(None),
                suspended <- new_mutex!(None),
            }),
            GFP_KERNEL,
        )
    }

    fn ready(dev: &virtio::Device, gpu: &GpuDevice) -> Result {
        {
            let hw = gpu.drm.enter().ok_or(ENODEV)?;
            let shared = gpu.drm.data();
            read_displays(&hw, &shared, dev.name())?;
            // Without capsets the driver works on (as the C driver does): only GET_CAPS and
            // 3D need them.
            if let Err(e) = shared.read_capsets(&hw) {
                pr_warn!(
                    "{}: reading the capsets: {:?}; none offered\n",
                    dev.name(),
                    e
                );
            }
        }
        let reg = drm::Registration::new(gpu.drm.clone())?;
        gpu.drm.add_fault_knobs();
        gpu.kms.fbdev_shmem_setup(&reg, FBDEV_BPP);
        *gpu.registration.lock() = Some(reg);
        pr_info!("{}: bound, DRM device registered\n", dev.name());
        Ok(())
    }

    fn remove(dev: &virtio::Device, gpu: Pin<KBox<GpuDevice>>) {
        // No display event is handled any more: the abstraction cancelled the config-change
        // work (waiting for a running one) before calling this. Then unplug: new DRM calls
        // fail with ENODEV and running ones finish their device accesses before the queues
        // are torn down (right after this returns).
        drop(gpu.registration.lock().take());
        // Switch the outputs off (no device access any more: it is unplugged), so no plane
        // holds a framebuffer when the device is released.
        gpu.kms.shutdown();
        let shared = gpu.drm.data();
        // No answer comes any more (the queues are reset next): nobody may wait for one.
        shared.fences.fail_all();
        pr_info!(
            "{}: unbound ({} scanouts, {} capsets)\n",
            dev.name(),
            shared.num_scanouts,
            shared.num_capsets
        );
    }

    /// Suspend: the outputs' state is saved and every output disabled (a commit, while the
    /// queues still run); the abstraction then lets the device finish what is in flight,
    /// resets it and deletes the queues.
    fn freeze(dev: &virtio::Device, gpu: &GpuDevice) -> Result {
        let reg = gpu.registration.lock();
        let reg = reg.as_ref().ok_or(ENODEV)?;
        let token = gpu.kms.suspend(reg)?;
        *gpu.suspended.lock() = Some(token);
        pr_info!("{}: suspended\n", dev.name());
        Ok(())
    }

    /// Resume, on a device the virtio core reset (every host resource and context is gone)
    /// and whose queues the abstraction found again: each resource is created again with its
    /// backing, then the saved output state is committed, which sets the scanouts and uploads
    /// what they show. 3D contexts are lost (see `context.rs`).
    fn restore(dev: &virtio::Device, gpu: &GpuDevice) -> Result {
        let created = match gpu.drm.enter() {
            Some(hw) => gpu.drm.data().restore_resources(&hw),
            None => Err(ENODEV),
        };
        // The outputs are resumed even if a resource failed, so no saved state is left behind.
        // Taken in a statement of its own: the guard must not live on while the registration
        // lock is taken (freeze takes them in the other order).
        let token = gpu.suspended.lock().take();
        let resumed = match token {
            Some(token) => match gpu.registration.lock().as_ref() {
                Some(reg) => gpu.kms.resume(reg, token),
                None => Err(ENODEV),
            },
            None => Err(EINVAL),
        };
        match (&created, &resumed) {
            (Ok(n), Ok(())) => pr_info!(
                "{}: resumed: {} host resources created again\n",
                dev.name(),
                n
            ),
            _ => pr_err!(
                "{}: resume: resources {:?}, outputs {:?}\n",
                dev.name(),
                created,
                resumed
            ),
        }
        created.and(resumed)
    }

    fn config_changed(dev: &virtio::Device, gpu: &GpuDevice) {
        let events = {
            let Some(_guard) = gpu.drm.enter() else {
                return;
            };
            let events = Events::decode(dev.config_read_u32(config::EVENTS_READ));
            // Acknowledged before it is handled (the C driver clears it afterwards): an event
            // that comes while the display info is read sets the bit again and queues another
            // run, instead of being cleared unseen.
            if events.clear != 0 {
                dev.config_write_u32(config::EVENTS_CLEAR, events.clear);
            }
            events
        };
        if events.unknown != 0 {
            pr_info!(
                "{}: ignoring unknown device events {:#x}\n",
                dev.name(),
                events.unknown
            );
        }
        if events.display {
            display_changed(dev, gpu);
        }
    }
}
