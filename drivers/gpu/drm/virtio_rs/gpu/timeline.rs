// SPDX-License-Identifier: GPL-2.0

//! The order in which pending fences are signalled, as pure functions over the fence driver's
//! table of slots (`None`: a free slot), so that the host can test and fuzz it with answers
//! the device sends late, twice, out of order or for ids it was never given.
//!
//! The rules (the C driver's, `virtio_gpu_fence_event_process`): an answer names a fence id;
//! if a pending fence has exactly that id, it and every older pending fence of the same
//! timeline are signalled, oldest first; an id no pending fence has signals nothing. Fence
//! ids are global and increase, so each timeline's ids increase too.

#![forbid(unsafe_code)]

/// What the table needs to know of a pending fence.
pub(crate) trait Seq {
    /// The fence id (the fence's sequence number).
    fn seqno(&self) -> u64;
    /// The timeline (fence context) the fence is on.
    fn context(&self) -> u64;
}

/// Puts `item` in the first free slot; gives it back if there is none (the caller grows the
/// table).
pub(crate) fn insert<T>(slots: &mut [Option<T>], item: T) -> Result<(), T> {
    match slots.iter_mut().find(|s| s.is_none()) {
        Some(slot) => {
            *slot = Some(item);
            Ok(())
        }
        None => Err(item),
    }
}

/// Takes the pending fence with id `id`, if any.
pub(crate) fn take<T: Seq>(slots: &mut [Option<T>], id: u64) -> Option<T> {
    slots
        .iter_mut()
        .find(|s| s.as_ref().is_some_and(|f| f.seqno() == id))?
        .take()
}

/// Takes the oldest pending fence for which `pick` holds.
fn take_oldest<T: Seq>(slots: &mut [Option<T>], pick: impl Fn(&T) -> bool) -> Option<T> {
    slots
        .iter_mut()
        .filter(|s| s.as_ref().is_some_and(&pick))
        .min_by_key(|s| s.as_ref().map_or(u64::MAX, Seq::seqno))?
        .take()
}

/// The device answered fence id `id`: hands the pending fence with that id and every older
/// one on its timeline to `signal`, oldest first, and returns how many. Nothing if no pending
/// fence has this id.
pub(crate) fn signal_upto<T: Seq>(
    slots: &mut [Option<T>],
    id: u64,
    mut signal: impl FnMut(T),
) -> usize {
    let Some(context) = slots
        .iter()
        .flatten()
        .find(|f| f.seqno() == id)
        .map(Seq::context)
    else {
        return 0;
    };
    let mut n = 0;
    while let Some(f) = take_oldest(slots, |f| f.context() == context && f.seqno() <= id) {
        signal(f);
        n += 1;
    }
    n
}

/// Hands every pending fence to `fail`, oldest first (the device is gone), and returns how
/// many.
pub(crate) fn drain<T: Seq>(slots: &mut [Option<T>], mut fail: impl FnMut(T)) -> usize {
    let mut n = 0;
    while let Some(f) = take_oldest(slots, |_| true) {
        fail(f);
        n += 1;
    }
    n
}
