// SPDX-License-Identifier: GPL-2.0

//! Display hotplug rules: which device events to act on, and what changed between two
//! display-info snapshots.
//!
//! Pure (`core` only): also compiled and tested on the host by `tests/host`.

#![forbid(unsafe_code)]

use super::{
    config::EVENT_DISPLAY,
    protocol::{DisplayOne, MAX_SCANOUTS},
};

/// What to do about the `events_read` word of a configuration change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Events {
    /// The display configuration changed: read the display info (and EDIDs) again and tell
    /// userspace.
    pub(crate) display: bool,
    /// Bits of events the driver does not know. They are left pending, as by the C driver,
    /// in case a later driver understands them.
    pub(crate) unknown: u32,
    /// What to write to `events_clear`: the events that are handled (0: write nothing).
    pub(crate) clear: u32,
}

impl Events {
    /// The events the driver handles.
    pub(crate) const KNOWN: u32 = EVENT_DISPLAY;

    /// Decides what to do about `events_read` as the device reported it.
    pub(crate) fn decode(events_read: u32) -> Self {
        let known = events_read & Self::KNOWN;
        Self {
            display: known & EVENT_DISPLAY != 0,
            unknown: events_read & !Self::KNOWN,
            clear: known,
        }
    }
}

/// One head as the driver sees it: connected or not, and the host's preferred size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HeadState {
    /// A display is connected (the scanout is enabled).
    pub(crate) enabled: bool,
    /// Preferred width (0: the host has none).
    pub(crate) width: u32,
    /// Preferred height (0: the host has none).
    pub(crate) height: u32,
}

impl HeadState {
    /// The state of one scanout in a `GET_DISPLAY_INFO` response. Any nonzero `enabled` is
    /// enabled (the C driver tests it the same way); the flags are ignored (none defined).
    pub(crate) fn from_wire(one: &DisplayOne) -> Self {
        Self {
            enabled: one.enabled != 0,
            width: one.r.width,
            height: one.r.height,
        }
    }
}

/// What happened to one head between two snapshots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// Nothing that userspace can see (a disconnected head's size does not count).
    Unchanged,
    /// A display was connected, with this preferred size.
    Connected {
        /// Preferred width.
        width: u32,
        /// Preferred height.
        height: u32,
    },
    /// The display was disconnected.
    Disconnected,
    /// The display stayed connected and its preferred size changed.
    Resized {
        /// Old preferred width and height.
        from: (u32, u32),
        /// New preferred width and height.
        to: (u32, u32),
    },
}

/// What changed for one head, from `old` to `new`.
pub(crate) fn change(old: HeadState, new: HeadState) -> Change {
    match (old.enabled, new.enabled) {
        (false, true) => Change::Connected {
            width: new.width,
            height: new.height,
        },
        (true, false) => Change::Disconnected,
        (true, true) if (old.width, old.height) != (new.width, new.height) => Change::Resized {
            from: (old.width, old.height),
            to: (new.width, new.height),
        },
        _ => Change::Unchanged,
    }
}

/// The heads that changed in one update, as bit masks (bit `i` = scanout `i`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Heads that got a display.
    pub(crate) connected: u16,
    /// Heads that lost their display.
    pub(crate) disconnected: u16,
    /// Connected heads with a new preferred size.
    pub(crate) resized: u16,
}

impl Changes {
    /// Adds the change of head `index` (heads past [`MAX_SCANOUTS`] are ignored).
    pub(crate) fn record(&mut self, index: usize, change: Change) {
        if index >= MAX_SCANOUTS {
            return;
        }
        let bit = 1u16 << index;
        match change {
            Change::Unchanged => {}
            Change::Connected { .. } => self.connected |= bit,
            Change::Disconnected => self.disconnected |= bit,
            Change::Resized { .. } => self.resized |= bit,
        }
    }

    /// Something changed that userspace can see.
    pub(crate) fn any(&self) -> bool {
        self.connected | self.disconnected | self.resized != 0
    }
}

/// Applies the scanouts of a `GET_DISPLAY_INFO` response to `heads`, in order (a device
/// with fewer scanouts passes only that many heads: the response's other entries are
/// ignored), and returns what changed.
pub(crate) fn apply<'a>(
    heads: impl IntoIterator<Item = &'a mut HeadState>,
    info: &[DisplayOne; MAX_SCANOUTS],
) -> Changes {
    let mut changes = Changes::default();
    for (i, (head, one)) in heads.into_iter().zip(info.iter()).enumerate() {
        let new = HeadState::from_wire(one);
        changes.record(i, change(*head, new));
        *head = new;
    }
    changes
}
