// SPDX-License-Identifier: GPL-2.0

//! A reference model of the fence driver's table (`gpu/fence.rs` over `gpu/timeline.rs`):
//! fences submitted on several timelines, answers in any order, for any id. Used by the host
//! tests and by the `fences` fuzz target; every step checks the driver's functions against
//! the rules written out here.

use std::collections::BTreeMap;

use crate::timeline::{self, Seq};

/// A pending fence: its id and timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fake {
    /// Fence id.
    pub id: u64,
    /// Timeline.
    pub ctx: u64,
}

impl Seq for Fake {
    fn seqno(&self) -> u64 {
        self.id
    }
    fn context(&self) -> u64 {
        self.ctx
    }
}

/// The table as the driver keeps it, and what the model expects of it.
#[derive(Default)]
pub struct FenceSim {
    /// The driver's slots (grown by push when full, as `FenceDriver::add` does).
    slots: Vec<Option<Fake>>,
    /// The next fence id (ids are global, starting at 1 as in the driver).
    next: u64,
    /// Model: pending fences by id.
    pending: BTreeMap<u64, u64>,
    /// Model: the last id signalled on each timeline.
    last: BTreeMap<u64, u64>,
    /// Fences signalled so far.
    pub signalled: usize,
}

impl FenceSim {
    /// An empty table.
    pub fn new() -> Self {
        Self {
            next: 1,
            ..Self::default()
        }
    }

    /// Ids pending now, oldest first.
    pub fn pending_ids(&self) -> Vec<u64> {
        self.pending.keys().copied().collect()
    }

    /// The id the next submission gets.
    pub fn next_id(&self) -> u64 {
        self.next
    }

    /// A fenced submission on timeline `ctx`; returns its id.
    pub fn submit(&mut self, ctx: u64) -> u64 {
        let f = Fake { id: self.next, ctx };
        if let Err(f) = timeline::insert(&mut self.slots, f) {
            self.slots.push(Some(f));
        }
        self.pending.insert(f.id, ctx);
        self.next += 1;
        f.id
    }

    /// A submission that failed to queue: its fence is taken back by id.
    pub fn unqueue(&mut self, id: u64) {
        let got = timeline::take(&mut self.slots, id);
        let want = self.pending.remove(&id).map(|ctx| Fake { id, ctx });
        assert_eq!(got, want, "take({id})");
        self.check_table();
    }

    /// The device answers fence id `id` (which may be pending, old, unknown or repeated).
    pub fn answer(&mut self, id: u64) {
        let want: Vec<Fake> = match self.pending.get(&id) {
            Some(&ctx) => self
                .pending
                .range(..=id)
                .filter(|(_, &c)| c == ctx)
                .map(|(&id, &ctx)| Fake { id, ctx })
                .collect(),
            None => Vec::new(),
        };
        let mut got = Vec::new();
        let n = timeline::signal_upto(&mut self.slots, id, |f| got.push(f));
        assert_eq!(n, got.len());
        assert_eq!(
            got, want,
            "answer {id}: signalled {got:?}, expected {want:?}"
        );
        for f in &got {
            self.pending.remove(&f.id);
            let last = self.last.entry(f.ctx).or_insert(0);
            assert!(
                f.id > *last,
                "timeline {} went back: {} after {}",
                f.ctx,
                f.id,
                last
            );
            *last = f.id;
        }
        self.signalled += got.len();
        self.check_table();
    }

    /// The device goes away: every pending fence fails, oldest first.
    pub fn drain(&mut self) {
        let mut got = Vec::new();
        timeline::drain(&mut self.slots, |f| got.push(f));
        let want: Vec<Fake> = self
            .pending
            .iter()
            .map(|(&id, &ctx)| Fake { id, ctx })
            .collect();
        assert_eq!(got, want, "drain");
        self.pending.clear();
        self.check_table();
    }

    /// The driver's slots hold exactly the model's pending fences, each once.
    pub fn check_table(&self) {
        let mut held: Vec<Fake> = self.slots.iter().flatten().copied().collect();
        held.sort_by_key(|f| f.id);
        let want: Vec<Fake> = self
            .pending
            .iter()
            .map(|(&id, &ctx)| Fake { id, ctx })
            .collect();
        assert_eq!(held, want, "table");
    }

    /// Runs the operations `ops` encodes (two bytes each), as the fuzz target does:
    /// submit on one of four timelines, answer a pending id, answer an id near the last one
    /// given (old, repeated or never given), take a fence back, or drain.
    pub fn run(&mut self, ops: &[u8]) {
        for op in ops.chunks(2) {
            let (a, b) = (op[0], op.get(1).copied().unwrap_or(0));
            match a % 8 {
                0..=2 => {
                    self.submit(u64::from(b % 4));
                }
                3 | 4 => {
                    let ids = self.pending_ids();
                    if !ids.is_empty() {
                        self.answer(ids[usize::from(b) % ids.len()]);
                    }
                }
                5 => {
                    // Around the ids given so far: old ones, the next one, later ones.
                    let id = self.next.wrapping_add(u64::from(b)).wrapping_sub(128);
                    self.answer(id);
                }
                6 => {
                    let id = if b & 0x80 != 0 {
                        u64::MAX - u64::from(b & 3)
                    } else {
                        u64::from(b)
                    };
                    if b & 1 != 0 {
                        self.answer(id);
                    } else {
                        self.unqueue(id);
                    }
                }
                _ => {
                    if b == 0xff {
                        self.drain();
                    }
                }
            }
        }
        self.check_table();
    }
}
