// SPDX-License-Identifier: GPL-2.0

//! What the host reports about its displays: preferred sizes, enabled state and EDIDs.

#![forbid(unsafe_code)]

use kernel::{new_mutex, prelude::*, sync::Mutex};

use super::{
    hotplug::{self, Changes, HeadState},
    protocol::{RespDisplayInfo, EDID_MAX, MAX_SCANOUTS},
};

/// One scanout as the host last described it.
#[derive(Clone, Copy)]
pub(crate) struct Head {
    /// Connected or not, and the preferred size (0x0 if the host has none).
    pub(crate) state: HeadState,
    /// Valid bytes of `edid`.
    pub(crate) edid_len: usize,
    /// The EDID blob.
    pub(crate) edid: [u8; EDID_MAX],
}

impl Head {
    const EMPTY: Head = Head {
        state: HeadState {
            enabled: false,
            width: 0,
            height: 0,
        },
        edid_len: 0,
        edid: [0; EDID_MAX],
    };
}

/// The heads of a device, updated at probe and on display-change events.
#[pin_data]
pub(crate) struct Displays {
    num_scanouts: u32,
    #[pin]
    heads: Mutex<KVec<Head>>,
}

impl Displays {
    /// Creates the state for `num_scanouts` heads (at most [`MAX_SCANOUTS`]).
    pub(crate) fn new(num_scanouts: u32) -> Result<impl PinInit<Self, Error>> {
        let n = (num_scanouts as usize).min(MAX_SCANOUTS);
        // One head at a time: the whole array would not fit on the kernel stack.
        let mut heads = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            heads.push(Head::EMPTY, GFP_KERNEL)?;
        }
        Ok(try_pin_init!(Self {
            num_scanouts,
            heads <- new_mutex!(heads),
        }))
    }

    /// Records a `GET_DISPLAY_INFO` response; returns which heads changed.
    pub(crate) fn update_info(&self, info: &RespDisplayInfo) -> Changes {
        let mut heads = self.heads.lock();
        hotplug::apply(
            heads
                .iter_mut()
                .take(self.num_scanouts as usize)
                .map(|h| &mut h.state),
            &info.pmodes,
        )
    }

    /// Records the EDID of scanout `i`.
    pub(crate) fn update_edid(&self, i: u32, edid: &[u8]) {
        let mut heads = self.heads.lock();
        if let Some(h) = heads.get_mut(i as usize) {
            let n = edid.len().min(EDID_MAX);
            h.edid[..n].copy_from_slice(&edid[..n]);
            h.edid_len = n;
        }
    }

    /// Runs `f` on head `i` (without copying its EDID); `None` if there is no such head.
    /// `f` runs under the heads' lock: it must not call back into [`Displays`].
    pub(crate) fn with_head<R>(&self, i: u32, f: impl FnOnce(&Head) -> R) -> Option<R> {
        if i >= self.num_scanouts {
            return None;
        }
        self.heads.lock().get(i as usize).map(f)
    }
}
