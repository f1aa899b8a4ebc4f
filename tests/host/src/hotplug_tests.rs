// SPDX-License-Identifier: GPL-2.0

//! Tests of the display hotplug rules (`gpu/hotplug.rs`): which `events_read` bits the driver
//! acts on and clears, and what changed between display-info snapshots, fed by a fake device
//! that answers `GET_DISPLAY_INFO` with real wire bytes.

use crate::config::{EVENT_DISPLAY, MAX_SCANOUTS as CONFIG_MAX_SCANOUTS};
use crate::hotplug::{apply, change, Change, Changes, Events, HeadState};
use crate::modes::{preferred, Preferred};
use crate::protocol::{CtrlHdr, CtrlType, ProtoError, RespDisplayInfo, MAX_SCANOUTS};
use crate::protocol_tests::resp;

fn head(enabled: bool, width: u32, height: u32) -> HeadState {
    HeadState {
        enabled,
        width,
        height,
    }
}

#[test]
fn no_event_bits_means_nothing_to_do() {
    assert_eq!(
        Events::decode(0),
        Events {
            display: false,
            unknown: 0,
            clear: 0
        }
    );
}

#[test]
fn display_event_is_handled_and_cleared() {
    assert_eq!(EVENT_DISPLAY, 1, "VIRTIO_GPU_EVENT_DISPLAY");
    assert_eq!(
        Events::decode(EVENT_DISPLAY),
        Events {
            display: true,
            unknown: 0,
            clear: EVENT_DISPLAY
        }
    );
}

#[test]
fn unknown_event_bits_are_reported_and_left_pending() {
    let e = Events::decode(0x8000_0002);
    assert!(!e.display);
    assert_eq!(e.unknown, 0x8000_0002);
    assert_eq!(e.clear, 0, "only events the driver handled are cleared");

    let e = Events::decode(u32::MAX);
    assert!(e.display);
    assert_eq!(e.unknown, !EVENT_DISPLAY);
    assert_eq!(e.clear, EVENT_DISPLAY);
}

#[test]
fn event_decision_partitions_every_word() {
    // Every bit alone, and a spread of mixed words (device input is any u32).
    let words = (0..32).map(|b| 1u32 << b).chain([
        0,
        u32::MAX,
        0xdead_beef,
        0x5555_5555,
        0xaaaa_aaaa,
        3,
        0xffff_fffe,
    ]);
    for w in words {
        let e = Events::decode(w);
        assert_eq!(
            e.clear | e.unknown,
            w,
            "{w:#x}: every bit handled or reported"
        );
        assert_eq!(e.clear & e.unknown, 0, "{w:#x}: no bit both");
        assert_eq!(
            e.clear & !Events::KNOWN,
            0,
            "{w:#x}: clears only known events"
        );
        assert_eq!(e.display, w & EVENT_DISPLAY != 0, "{w:#x}");
    }
}

#[test]
fn head_changes() {
    let off = head(false, 0, 0);
    let a = head(true, 1024, 768);
    let b = head(true, 1000, 675);
    assert_eq!(change(off, off), Change::Unchanged);
    assert_eq!(change(a, a), Change::Unchanged);
    assert_eq!(
        change(off, a),
        Change::Connected {
            width: 1024,
            height: 768
        }
    );
    assert_eq!(change(a, off), Change::Disconnected);
    assert_eq!(
        change(a, b),
        Change::Resized {
            from: (1024, 768),
            to: (1000, 675)
        }
    );
    // Only the width, only the height.
    assert!(matches!(
        change(a, head(true, 1024, 600)),
        Change::Resized { .. }
    ));
    assert!(matches!(
        change(a, head(true, 800, 768)),
        Change::Resized { .. }
    ));
    // The size of a head without a display is nobody's business.
    assert_eq!(change(off, head(false, 800, 600)), Change::Unchanged);
}

#[test]
fn changes_record_each_head_once_and_ignore_out_of_range() {
    let mut c = Changes::default();
    assert!(!c.any());
    c.record(0, Change::Unchanged);
    assert!(!c.any());
    c.record(
        1,
        Change::Connected {
            width: 1,
            height: 1,
        },
    );
    c.record(2, Change::Disconnected);
    c.record(
        15,
        Change::Resized {
            from: (1, 1),
            to: (2, 2),
        },
    );
    c.record(16, Change::Disconnected);
    c.record(usize::MAX, Change::Disconnected);
    assert_eq!(
        c,
        Changes {
            connected: 1 << 1,
            disconnected: 1 << 2,
            resized: 1 << 15,
        }
    );
    assert!(c.any());
}

/// A fake virtio-gpu that answers `GET_DISPLAY_INFO` with the wire bytes of its heads.
struct FakeDevice {
    heads: [(u32, u32, u32, u32); MAX_SCANOUTS], // enabled (raw), width, height, flags
    /// The `events_read` config field; writing `events_clear` clears its bits (as QEMU).
    events_read: u32,
}

impl FakeDevice {
    fn new() -> Self {
        Self {
            heads: [(0, 0, 0, 0); MAX_SCANOUTS],
            events_read: 0,
        }
    }

    /// The host changes a display: sets the event (and would raise a config interrupt).
    fn host_changes(&mut self, i: usize, enabled: u32, width: u32, height: u32) {
        self.set(i, enabled, width, height);
        self.events_read |= EVENT_DISPLAY;
    }

    fn write_events_clear(&mut self, v: u32) {
        self.events_read &= !v;
    }

    fn set(&mut self, i: usize, enabled: u32, width: u32, height: u32) {
        self.heads[i] = (enabled, width, height, 0);
    }

    /// The response bytes (`struct virtio_gpu_resp_display_info`, 408 bytes).
    fn display_info(&self) -> Vec<u8> {
        let mut b = resp(0x1101, 0, 0, RespDisplayInfo::SIZE);
        for (i, &(enabled, w, h, flags)) in self.heads.iter().enumerate() {
            let off = 24 + 24 * i;
            for (k, v) in [7 * i as u32, 3 * i as u32, w, h, enabled, flags]
                .into_iter()
                .enumerate()
            {
                b[off + 4 * k..off + 4 * k + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        b
    }
}

fn cmd() -> CtrlHdr {
    CtrlHdr::new(CtrlType::GET_DISPLAY_INFO)
}

/// What the driver does with one response: parse it and, if valid, apply it to its heads
/// (`num_scanouts` of them). `None` when the response is rejected (heads untouched).
fn driver_reads(heads: &mut [HeadState], bytes: &[u8]) -> Option<Changes> {
    let info = RespDisplayInfo::parse(bytes, &cmd()).ok()?;
    Some(apply(heads.iter_mut(), &info.pmodes))
}

#[test]
fn fake_device_sequence_of_display_changes() {
    let mut dev = FakeDevice::new();
    let mut heads = [HeadState::default(); 2];

    // Boot: QEMU enables head 0 at 640x480 only.
    dev.set(0, 1, 640, 480);
    let c = driver_reads(&mut heads, &dev.display_info()).unwrap();
    assert_eq!(
        c,
        Changes {
            connected: 1,
            ..Changes::default()
        }
    );
    assert_eq!(heads, [head(true, 640, 480), head(false, 0, 0)]);

    // The window grows: the drawing area is the window less the menu bar.
    dev.set(0, 1, 1000, 675);
    let c = driver_reads(&mut heads, &dev.display_info()).unwrap();
    assert_eq!(
        c,
        Changes {
            resized: 1,
            ..Changes::default()
        }
    );
    assert_eq!(heads[0], head(true, 1000, 675));

    // The same answer again (gtk sends the size twice): an event, no change.
    let c = driver_reads(&mut heads, &dev.display_info()).unwrap();
    assert!(!c.any());

    // A second display appears while the first one shrinks.
    dev.set(0, 1, 800, 575);
    dev.set(1, 1, 1280, 800);
    let c = driver_reads(&mut heads, &dev.display_info()).unwrap();
    assert_eq!(
        c,
        Changes {
            connected: 0b10,
            resized: 0b01,
            disconnected: 0
        }
    );

    // Head 0 goes away; head 1 stays.
    dev.set(0, 0, 800, 575);
    let c = driver_reads(&mut heads, &dev.display_info()).unwrap();
    assert_eq!(
        c,
        Changes {
            disconnected: 1,
            ..Changes::default()
        }
    );
    assert_eq!(heads, [head(false, 800, 575), head(true, 1280, 800)]);
}

#[test]
fn scanouts_past_the_device_count_are_ignored() {
    let mut dev = FakeDevice::new();
    let mut heads = [HeadState::default(); 1];
    dev.set(0, 1, 1024, 768);
    for i in 1..MAX_SCANOUTS {
        dev.set(i, 1, 4000 + i as u32, 3000);
    }
    let c = driver_reads(&mut heads, &dev.display_info()).unwrap();
    assert_eq!(
        c,
        Changes {
            connected: 1,
            ..Changes::default()
        }
    );
    assert_eq!(heads, [head(true, 1024, 768)]);

    // All 16 (the protocol's maximum, the config's limit too).
    assert_eq!(CONFIG_MAX_SCANOUTS as usize, MAX_SCANOUTS);
    let mut heads = [HeadState::default(); MAX_SCANOUTS];
    let c = driver_reads(&mut heads, &dev.display_info()).unwrap();
    assert_eq!(c.connected, 0xffff);
}

#[test]
fn odd_values_from_the_device() {
    let mut dev = FakeDevice::new();
    let mut heads = [HeadState::default(); 3];
    // Any nonzero `enabled` is enabled, as in the C driver.
    dev.set(0, 0xdead_beef, 1920, 1080);
    // Enabled without a size: connected, and the modes fall back to 1024x768.
    dev.set(1, 1, 0, 0);
    // Sizes far beyond the mode limits: recorded as reported; the mode rules cap them.
    dev.set(2, 1, u32::MAX, u32::MAX);
    dev.heads[2].3 = u32::MAX; // Undefined flags are ignored.
    let c = driver_reads(&mut heads, &dev.display_info()).unwrap();
    assert_eq!(c.connected, 0b111);
    assert_eq!(heads[0], head(true, 1920, 1080));
    assert_eq!(heads[1], head(true, 0, 0));
    assert_eq!(
        preferred(heads[1].width, heads[1].height),
        Preferred::Default
    );
    assert_eq!(heads[2], head(true, u32::MAX, u32::MAX));
}

#[test]
fn malformed_responses_leave_the_heads_alone() {
    let mut dev = FakeDevice::new();
    let mut heads = [HeadState::default(); 1];
    dev.set(0, 1, 1024, 768);
    driver_reads(&mut heads, &dev.display_info()).unwrap();
    let before = heads;

    dev.set(0, 1, 640, 480);
    let good = dev.display_info();
    let mut wrong_type = good.clone();
    wrong_type[0..4].copy_from_slice(&0x1100u32.to_le_bytes()); // RESP_OK_NODATA
    let mut error = good.clone();
    error[0..4].copy_from_slice(&0x1200u32.to_le_bytes()); // RESP_ERR_UNSPEC
    let cases: [(&str, &[u8]); 5] = [
        ("empty", &[]),
        ("header only", &good[..24]),
        ("one byte short", &good[..good.len() - 1]),
        ("wrong type", &wrong_type),
        ("error response", &error),
    ];
    for (what, bytes) in cases {
        assert_eq!(driver_reads(&mut heads, bytes), None, "{what}");
        assert_eq!(heads, before, "{what}: heads unchanged");
    }
    assert_eq!(
        RespDisplayInfo::parse(&good[..good.len() - 1], &cmd()),
        Err(ProtoError::Short {
            got: 407,
            need: 408
        })
    );

    // A longer buffer than needed is fine (the device wrote less than the buffer holds).
    let mut long = good.clone();
    long.extend_from_slice(&[0xff; 16]);
    let c = driver_reads(&mut heads, &long);
    assert_eq!(
        c,
        Some(Changes {
            resized: 1,
            ..Changes::default()
        })
    );
}

/// One run of the driver's config-change work, as `GpuDevice::config_changed` does it: read
/// `events_read`, acknowledge what is handled, then read the display info. `during_read`
/// runs between the acknowledgement and the `GET_DISPLAY_INFO` answer (a host change racing
/// the work). Returns whether a hotplug event was sent.
fn config_changed_work(
    dev: &mut FakeDevice,
    heads: &mut [HeadState],
    during_read: impl FnOnce(&mut FakeDevice),
) -> bool {
    let events = Events::decode(dev.events_read);
    if events.clear != 0 {
        dev.write_events_clear(events.clear);
    }
    if !events.display {
        return false;
    }
    during_read(dev);
    let bytes = dev.display_info();
    driver_reads(heads, &bytes);
    true
}

#[test]
fn a_change_during_the_work_is_not_lost() {
    let mut dev = FakeDevice::new();
    let mut heads = [HeadState::default(); 1];
    dev.host_changes(0, 1, 640, 480);
    // The host changes the display again after the work acknowledged the event but before
    // it read the display info: the event bit is set again, so the next config interrupt's
    // work runs and sees the newest state. (Clearing after the read, as the C driver does,
    // would clear this second event unseen.)
    let sent = config_changed_work(&mut dev, &mut heads, |d| d.host_changes(0, 1, 1000, 675));
    assert!(sent);
    assert_eq!(dev.events_read, EVENT_DISPLAY, "second event still pending");
    assert!(config_changed_work(&mut dev, &mut heads, |_| {}));
    assert_eq!(heads[0], head(true, 1000, 675));
    assert_eq!(dev.events_read, 0);
    // A config interrupt without a display event (or a spurious one) does nothing.
    assert!(!config_changed_work(&mut dev, &mut heads, |_| {}));
}

#[test]
fn unknown_events_stay_pending_and_do_not_block_display_events() {
    let mut dev = FakeDevice::new();
    let mut heads = [HeadState::default(); 1];
    dev.events_read = 0x100;
    assert!(!config_changed_work(&mut dev, &mut heads, |_| {}));
    assert_eq!(
        dev.events_read, 0x100,
        "unknown event left for whoever understands it"
    );
    dev.host_changes(0, 1, 800, 600);
    assert!(config_changed_work(&mut dev, &mut heads, |_| {}));
    assert_eq!(dev.events_read, 0x100);
    assert_eq!(heads[0], head(true, 800, 600));
}
