// SPDX-License-Identifier: GPL-2.0

//! Fuzzes `gpu/protocol.rs`: device answers through every response parser, and arbitrary
//! entries and buffer sizes through the attach-backing encoder.
//!
//! Structure-aware: byte 0 picks a response kind (no data, display info, EDID, capset info,
//! capset) and what is wrong with it; the rest fills its fields. The target builds a valid
//! answer of that kind, then breaks it (cut short, grown, another type, an error type, another
//! fence id, the raw input instead) and checks the verdict the parser must give: a valid
//! answer is accepted with its fields read back, each broken one refused with the error that
//! names the fault. Whatever the bytes, every parser must not panic, and whatever it accepts
//! must satisfy what it promises.

#![no_main]

#[path = "../../../../drivers/gpu/drm/virtio_rs/gpu/protocol.rs"]
#[allow(dead_code, clippy::manual_is_multiple_of)]
mod protocol;

use libfuzzer_sys::fuzz_target;
use protocol::*;

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

/// Reads the input as a stream of bytes, zeros once it runs out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        *b
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | u64::from(self.u32()) << 32
    }
}

/// The response kinds a command of the driver waits for.
#[derive(Clone, Copy, Debug)]
enum Kind {
    NoData,
    DisplayInfo,
    Edid,
    CapsetInfo,
    Capset(usize),
}

impl Kind {
    fn ty(self) -> CtrlType {
        match self {
            Kind::NoData => CtrlType::RESP_OK_NODATA,
            Kind::DisplayInfo => CtrlType::RESP_OK_DISPLAY_INFO,
            Kind::Edid => CtrlType::RESP_OK_EDID,
            Kind::CapsetInfo => CtrlType::RESP_OK_CAPSET_INFO,
            Kind::Capset(_) => CtrlType::RESP_OK_CAPSET,
        }
    }
    fn size(self) -> usize {
        match self {
            Kind::NoData => CtrlHdr::SIZE,
            Kind::DisplayInfo => RespDisplayInfo::SIZE,
            Kind::Edid => RespEdid::SIZE,
            Kind::CapsetInfo => RespCapsetInfo::SIZE,
            Kind::Capset(n) => CtrlHdr::SIZE + n,
        }
    }
    /// Runs the kind's parser: `Ok` with a check of the fields read, or its error.
    fn parse(self, resp: &[u8], cmd: &CtrlHdr) -> Result<(), ProtoError> {
        match self {
            Kind::NoData => parse_nodata(resp, cmd),
            Kind::DisplayInfo => RespDisplayInfo::parse(resp, cmd).map(|d| {
                for (i, p) in d.pmodes.iter().enumerate() {
                    assert_eq!(p.r.x, u32_at(resp, 24 + 24 * i));
                    assert_eq!(p.r.height, u32_at(resp, 24 + 24 * i + 12));
                    assert_eq!(p.enabled, u32_at(resp, 24 + 24 * i + 16));
                    assert_eq!(p.flags, u32_at(resp, 24 + 24 * i + 20));
                }
            }),
            Kind::Edid => RespEdid::parse(resp, cmd).map(|e| {
                assert!(e.size as usize <= EDID_MAX && e.size % 128 == 0);
                assert_eq!(e.bytes(), &resp[32..32 + e.size as usize]);
            }),
            Kind::CapsetInfo => RespCapsetInfo::parse(resp, cmd).map(|c| {
                assert!((1..=63).contains(&c.capset_id));
                assert!(c.capset_max_size <= CAPSET_MAX_SIZE);
                assert_eq!(c.capset_max_version, u32_at(resp, 28));
            }),
            Kind::Capset(n) => parse_capset(resp, cmd, n).map(|d| {
                assert_eq!(d, &resp[CtrlHdr::SIZE..CtrlHdr::SIZE + n]);
            }),
        }
    }
}

/// A valid answer of `kind` to `cmd`, its fields from `b`.
fn valid(kind: Kind, cmd: &CtrlHdr, b: &mut Bytes<'_>) -> Vec<u8> {
    let mut v = Vec::with_capacity(kind.size());
    v.extend_from_slice(&kind.ty().0.to_le_bytes());
    v.extend_from_slice(&(cmd.flags | u32::from(b.u8() & 2)).to_le_bytes());
    let fence = if cmd.flags & FLAG_FENCE != 0 {
        cmd.fence_id
    } else {
        b.u64()
    };
    v.extend_from_slice(&fence.to_le_bytes());
    v.extend_from_slice(&b.u32().to_le_bytes()); // ctx_id
    v.extend_from_slice(&[b.u8(), 0, 0, 0]); // ring_idx, padding
    match kind {
        Kind::Edid => {
            v.extend_from_slice(&(u32::from(b.u8() % 9) * 128).to_le_bytes());
            v.extend_from_slice(&0u32.to_le_bytes());
        }
        Kind::CapsetInfo => {
            v.extend_from_slice(&(u32::from(b.u8() % 63) + 1).to_le_bytes());
            v.extend_from_slice(&b.u32().to_le_bytes());
            v.extend_from_slice(&(b.u32() % (CAPSET_MAX_SIZE + 1)).to_le_bytes());
            v.extend_from_slice(&b.u32().to_le_bytes());
        }
        _ => {}
    }
    while v.len() < kind.size() {
        v.push(b.u8());
    }
    v
}

/// What is wrong with the answer, and the verdict the parser must give.
fn structured(data: &[u8]) {
    let mut b = Bytes(data);
    let sel = b.u8();
    let kind = match sel % 5 {
        0 => Kind::NoData,
        1 => Kind::DisplayInfo,
        2 => Kind::Edid,
        3 => Kind::CapsetInfo,
        _ => Kind::Capset(usize::from(b.u8()) * 8),
    };
    let mut cmd = CtrlHdr::new(CtrlType::GET_DISPLAY_INFO);
    if b.u8() & 1 != 0 {
        cmd.flags = FLAG_FENCE;
        cmd.fence_id = b.u64();
    }
    // The fault's parameters come before the answer's fields, which may use the rest.
    let mut arg = Bytes(b.0.get(..8).unwrap_or(b.0));
    b.0 = b.0.get(8..).unwrap_or(&[]);
    let mut resp = valid(kind, &cmd, &mut b);
    let b = &mut arg;
    let fault = (sel / 5) % 7;
    match fault {
        0 => {
            assert_eq!(
                kind.parse(&resp, &cmd),
                Ok(()),
                "{kind:?}: a valid answer refused"
            );
        }
        1 => {
            // Cut short.
            let cut = usize::from(b.u8()) * 4 % kind.size();
            resp.truncate(cut);
            assert!(
                matches!(kind.parse(&resp, &cmd), Err(ProtoError::Short { got, .. }) if got == cut),
                "{kind:?}: {cut} bytes not refused as short"
            );
        }
        2 => {
            // Grown: the device wrote more than the type needs; the extra is ignored.
            let extra = usize::from(b.u8());
            resp.extend(std::iter::repeat_n(0xa5, extra));
            assert_eq!(
                kind.parse(&resp, &cmd),
                Ok(()),
                "{kind:?}: {extra} extra bytes"
            );
        }
        3 => {
            // Another success type (or an unknown one).
            let t = 0x1100 + u32::from(b.u8() % 0x10);
            if t != kind.ty().0 {
                resp[..4].copy_from_slice(&t.to_le_bytes());
                assert_eq!(
                    kind.parse(&resp, &cmd),
                    Err(ProtoError::UnexpectedType(CtrlType(t)))
                );
            }
        }
        4 => {
            // An error answer; it may be short as error answers are.
            let t = 0x1200 + u32::from(b.u8());
            resp[..4].copy_from_slice(&t.to_le_bytes());
            resp.truncate(CtrlHdr::SIZE);
            assert_eq!(
                kind.parse(&resp, &cmd),
                Err(ProtoError::Device(CtrlType(t)))
            );
        }
        5 => {
            // Another fence id, or the fence flag dropped, for a fenced command.
            if cmd.flags & FLAG_FENCE != 0 {
                if b.u8() & 1 != 0 {
                    resp[4..8].copy_from_slice(&0u32.to_le_bytes());
                } else {
                    let other = cmd.fence_id ^ b.u64().max(1);
                    resp[8..16].copy_from_slice(&other.to_le_bytes());
                }
                assert_eq!(kind.parse(&resp, &cmd), Err(ProtoError::FenceMismatch));
            }
        }
        _ => {
            // Out-of-range values the parser must refuse.
            match kind {
                Kind::Edid => {
                    // Odd, half a block, more than the buffer holds.
                    let size = match b.u8() % 3 {
                        0 => b.u32() | 1,
                        1 => 64 + 128 * u32::from(b.u8() % 8),
                        _ => 1024 + 128 * (1 + u32::from(b.u8())),
                    };
                    resp[24..28].copy_from_slice(&size.to_le_bytes());
                    assert_eq!(kind.parse(&resp, &cmd), Err(ProtoError::BadValue));
                }
                Kind::CapsetInfo => {
                    let (id, size) = match b.u8() % 3 {
                        0 => (0, 0),
                        1 => (64 + u32::from(b.u8()), 0),
                        _ => (1, CAPSET_MAX_SIZE + 1 + b.u32() % 1024),
                    };
                    resp[24..28].copy_from_slice(&id.to_le_bytes());
                    resp[32..36].copy_from_slice(&size.to_le_bytes());
                    assert_eq!(kind.parse(&resp, &cmd), Err(ProtoError::BadValue));
                }
                _ => {}
            }
        }
    }
    // The broken answer through every other parser too.
    raw(&resp, &cmd, sel);
}

/// Any bytes through every parser: no panic, and what is accepted is what was promised.
fn raw(resp: &[u8], cmd: &CtrlHdr, sel: u8) {
    let fence_ok = |b: &[u8]| {
        cmd.flags & FLAG_FENCE == 0
            || (u32_at(b, 4) & FLAG_FENCE != 0 && b[8..16] == cmd.fence_id.to_le_bytes())
    };
    for kind in [
        Kind::NoData,
        Kind::DisplayInfo,
        Kind::Edid,
        Kind::CapsetInfo,
        Kind::Capset(usize::from(sel) * 3),
    ] {
        if kind.parse(resp, cmd).is_ok() {
            assert!(resp.len() >= kind.size());
            assert_eq!(u32_at(resp, 0), kind.ty().0);
            assert!(fence_ok(resp));
        }
    }
    if let Some(h) = response_header(resp) {
        assert_eq!(h.type_, u32_at(resp, 0));
    }
    let (_, verdict) = check_nodata_reply(&[], resp);
    assert!(verdict.is_err());

    // Any expected type and size taken from the input itself.
    let expect = CtrlType(u32::from(sel) << 4 | 0x1100);
    let size = usize::from(sel) * 5;
    if let Ok(h) = CtrlHdr::parse_response(resp, cmd, expect, size) {
        assert!(resp.len() >= size.max(CtrlHdr::SIZE));
        assert_eq!(h.type_, expect.0);
    }

    // The same bytes as attach-backing entries, into a buffer whose size the input picks.
    let entries: Vec<MemEntry> = resp
        .chunks_exact(12)
        .map(|c| MemEntry {
            addr: u64::from_le_bytes(c[..8].try_into().unwrap()),
            length: u32_at(c, 8),
            padding: 0,
        })
        .collect();
    let need = attach_backing_size(entries.len()).unwrap();
    let len = (need + 16).saturating_sub(usize::from(sel) % 32);
    let mut out = vec![0xa5; len];
    let r = encode_attach_backing(cmd.fence_id as u32, entries.iter().copied(), &mut out);
    assert_eq!(r.is_ok(), len >= need);
    if r.is_ok() {
        assert_eq!(u32_at(&out, 0), CtrlType::RESOURCE_ATTACH_BACKING.0);
        assert_eq!(u32_at(&out, 28) as usize, entries.len());
        assert!(out[need..].iter().all(|&b| b == 0xa5));
    } else {
        assert!(out.iter().all(|&b| b == 0xa5));
    }
}

fuzz_target!(|data: &[u8]| {
    // The high bit of byte 0 chooses: a structured answer, or the raw bytes as the answer.
    match data.split_first() {
        Some((&sel, rest)) if sel & 0x80 != 0 => {
            let mut cmd = CtrlHdr::new(CtrlType::GET_DISPLAY_INFO);
            let resp = if sel & 1 != 0 && rest.len() >= 8 {
                let (f, r) = rest.split_at(8);
                cmd.flags = FLAG_FENCE;
                cmd.fence_id = u64::from_le_bytes(f.try_into().unwrap());
                r
            } else {
                rest
            };
            raw(resp, &cmd, sel);
        }
        _ => structured(data),
    }
});
