// SPDX-License-Identifier: GPL-2.0

//! Tests of `gpu/timeline.rs`: which fences an answer signals, and in what order.

use crate::fence_model::{Fake, FenceSim};
use crate::timeline;

#[test]
fn an_answer_signals_its_fence_and_older_ones_of_its_timeline() {
    let mut s = FenceSim::new();
    let a = s.submit(0);
    let b = s.submit(1);
    let c = s.submit(0);
    let d = s.submit(0);
    s.answer(c); // signals a and c, oldest first; b (other timeline) and d stay
    assert_eq!(s.pending_ids(), vec![b, d]);
    assert_eq!(s.signalled, 2);
    let _ = a;
}

#[test]
fn answers_out_of_order_repeated_or_unknown_signal_nothing_more() {
    let mut s = FenceSim::new();
    let a = s.submit(0);
    let b = s.submit(0);
    s.answer(b);
    assert!(s.pending_ids().is_empty());
    s.answer(a); // late: already signalled
    s.answer(b); // repeated
    s.answer(0); // never given
    s.answer(u64::MAX);
    s.answer(s.next_id()); // not given yet
    assert_eq!(s.signalled, 2);
}

#[test]
fn an_id_nobody_has_signals_nothing_even_with_older_fences_pending() {
    let mut s = FenceSim::new();
    let a = s.submit(0);
    let b = s.submit(0);
    s.unqueue(b); // failed to queue: taken back
    s.answer(b); // the C driver's rule: no pending fence has b, so a stays
    assert_eq!(s.pending_ids(), vec![a]);
}

#[test]
fn drain_fails_every_fence_oldest_first() {
    let mut s = FenceSim::new();
    for ctx in [3, 1, 2, 1, 0] {
        s.submit(ctx);
    }
    s.drain();
    assert!(s.pending_ids().is_empty());
}

#[test]
fn slots_are_reused_before_the_table_grows() {
    let mut slots = vec![None, Some(Fake { id: 1, ctx: 0 }), None];
    assert!(timeline::insert(&mut slots, Fake { id: 2, ctx: 0 }).is_ok());
    assert!(timeline::insert(&mut slots, Fake { id: 3, ctx: 0 }).is_ok());
    let full = timeline::insert(&mut slots, Fake { id: 4, ctx: 0 });
    assert_eq!(full, Err(Fake { id: 4, ctx: 0 }));
    let mut order = Vec::new();
    assert_eq!(timeline::drain(&mut slots, |f| order.push(f.id)), 3);
    assert_eq!(order, vec![1, 2, 3]);
}

#[test]
fn a_long_pseudo_random_run_keeps_the_rules() {
    // xorshift: the same sequence every run.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut ops = Vec::new();
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ops.push(x as u8);
    }
    let mut s = FenceSim::new();
    s.run(&ops);
    assert!(s.signalled > 10_000, "signalled {}", s.signalled);
}
