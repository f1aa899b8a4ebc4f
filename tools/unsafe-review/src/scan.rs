// SPDX-License-Identifier: GPL-2.0

//! Finds the unsafe sites of a source file, their justification and the unsafe operations
//! inside them.

use std::collections::HashSet;

use crate::index::{FnEntry, Index};
use crate::lex::{CommentStyle, Kind};
use crate::source::{doc_section, is_keyword, plain_comment_lines, DocLine, Group, Source, NONE};

/// What kind of unsafe site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SiteKind {
    Block,
    Fn,
    Impl,
    Trait,
    Extern,
    Attr,
    /// `unsafe` elsewhere in a macro body (e.g. in a matcher).
    Token,
}

impl SiteKind {
    pub fn label(self) -> &'static str {
        match self {
            SiteKind::Block => "unsafe-block",
            SiteKind::Fn => "unsafe-fn",
            SiteKind::Impl => "unsafe-impl",
            SiteKind::Trait => "unsafe-trait",
            SiteKind::Extern => "extern-block",
            SiteKind::Attr => "unsafe-attr",
            SiteKind::Token => "unsafe-token",
        }
    }
}

/// Where the site's code is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Code,
    /// In the body of `macro_rules! NAME`: expanded wherever the macro is used.
    MacroRules(String),
    /// In the arguments of a macro invocation `NAME!`.
    MacroCall(String),
    /// In a code block of documentation (a doc-test).
    DocTest,
}

impl Origin {
    pub fn label(&self) -> String {
        match self {
            Origin::Code => String::new(),
            Origin::MacroRules(n) => format!("macro_rules! {n}"),
            Origin::MacroCall(n) => format!("{n}!"),
            Origin::DocTest => "doc-test".to_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Missing,
    Todo,
    /// A trait method implementation: the contract is the trait's.
    Inherited(String),
    /// Nothing to justify (an `unsafe` token in a macro matcher).
    NotNeeded,
}

/// The comment or documentation that justifies a site.
#[derive(Clone, Debug)]
pub struct Justification {
    pub verdict: Verdict,
    /// `SAFETY` (a comment) or `# Safety` (documentation).
    pub what: &'static str,
    pub text: Vec<String>,
    /// First and last line of the justification.
    pub lines: Option<(usize, usize)>,
    /// A plain comment in front of the site that is not tagged `SAFETY:`.
    pub untagged: bool,
}

impl Justification {
    pub fn lacking(&self) -> bool {
        matches!(self.verdict, Verdict::Missing | Verdict::Todo)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// Call of an unsafe function found in the index or the standard library.
    UnsafeCall,
    /// Method call whose name is that of an unsafe method (receiver type not known).
    UnsafeMethod,
    /// Call of a foreign (C) function.
    Ffi,
    Deref,
    StaticMut,
    ExternStatic,
    UnionField,
    Asm,
    /// A call whose callee is not in the index: safe, or defined outside the indexed code.
    UnknownCall,
}

impl OpKind {
    pub fn label(self) -> &'static str {
        match self {
            OpKind::UnsafeCall => "call of unsafe fn",
            OpKind::UnsafeMethod => "call of unsafe method",
            OpKind::Ffi => "FFI call",
            OpKind::Deref => "raw-pointer deref",
            OpKind::StaticMut => "static mut access",
            OpKind::ExternStatic => "extern static access",
            OpKind::UnionField => "union field access",
            OpKind::Asm => "inline assembly",
            OpKind::UnknownCall => "call",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            OpKind::UnsafeCall => "unsafe-call",
            OpKind::UnsafeMethod => "unsafe-method",
            OpKind::Ffi => "ffi-call",
            OpKind::Deref => "deref",
            OpKind::StaticMut => "static-mut",
            OpKind::ExternStatic => "extern-static",
            OpKind::UnionField => "union-field",
            OpKind::Asm => "asm",
            OpKind::UnknownCall => "unresolved-call",
        }
    }
}

/// What an operation's callee is.
#[derive(Clone, Debug)]
pub struct Callee {
    pub name: String,
    pub file: String,
    pub line: usize,
    pub sig: String,
    pub safety: Option<Vec<String>>,
    /// Other functions the call may be (same name, not told apart syntactically).
    pub others: usize,
    /// For FFI calls: the C prototype.
    pub c_proto: Option<(String, usize, String)>,
}

/// One unsafe operation inside a site.
#[derive(Clone, Debug)]
pub struct Op {
    pub kind: OpKind,
    pub text: String,
    pub line: usize,
    /// Why the classification is a guess, when it is one.
    pub inferred: Option<String>,
    pub callee: Option<Callee>,
    /// Resolution key of the callee (`Owner::name` or `name`).
    pub callee_key: Option<(Option<String>, String)>,
}

/// One unsafe site.
#[derive(Clone, Debug)]
pub struct Site {
    pub kind: SiteKind,
    pub origin: Origin,
    /// Line of the `unsafe` keyword (of `#` for an attribute, of `extern` for an extern block).
    pub line: usize,
    pub end_line: usize,
    /// Last line of what the justification covers: the block, the fn's signature, the impl.
    pub head_end: usize,
    /// First line of the statement or item the site is part of.
    pub stmt_line: usize,
    /// `fn from_raw`, `Send for Registration<T>`, `extern "C"`, `#[unsafe(no_mangle)]`, or the
    /// block's first line of code.
    pub name: String,
    /// Enclosing item: `Registration::new`.
    pub within: String,
    pub impl_ty: Option<String>,
    /// For an unsafe fn or trait: its name (resolution key for doc edits).
    pub item_name: Option<String>,
    pub justification: Justification,
    pub ops: Vec<Op>,
    /// Notes for the reviewer.
    pub notes: Vec<String>,
}

impl Site {
    /// The justification mentions an invariant (of the enclosing type or another).
    pub fn relies_on_invariant(&self) -> bool {
        self.justification
            .text
            .iter()
            .any(|l| l.to_ascii_lowercase().contains("invariant"))
    }

    /// Types named in backticks in the justification.
    pub fn mentioned_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for l in &self.justification.text {
            for (n, part) in l.split('`').enumerate() {
                if n % 2 == 1 {
                    let ident: String = part
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !ident.is_empty() && !out.contains(&ident) {
                        out.push(ident);
                    }
                }
            }
        }
        out
    }
}

/// Standard library functions that are unsafe to call, by their last two path segments.
const STD_UNSAFE_FNS: &[&str] = &[
    "ptr::read",
    "ptr::write",
    "ptr::read_volatile",
    "ptr::write_volatile",
    "ptr::read_unaligned",
    "ptr::write_unaligned",
    "ptr::copy",
    "ptr::copy_nonoverlapping",
    "ptr::drop_in_place",
    "ptr::write_bytes",
    "ptr::swap",
    "ptr::replace",
    "mem::transmute",
    "mem::transmute_copy",
    "mem::zeroed",
    "slice::from_raw_parts",
    "slice::from_raw_parts_mut",
    "str::from_utf8_unchecked",
    "str::from_utf8_unchecked_mut",
    "Box::from_raw",
    "Arc::from_raw",
    "Rc::from_raw",
    "Vec::from_raw_parts",
    "String::from_raw_parts",
    "CString::from_raw",
    "CStr::from_ptr",
    "NonNull::new_unchecked",
    "Pin::new_unchecked",
    "Pin::get_unchecked_mut",
    "Pin::map_unchecked",
    "Pin::map_unchecked_mut",
    "hint::unreachable_unchecked",
    "hint::assert_unchecked",
    "alloc::alloc",
    "alloc::alloc_zeroed",
    "alloc::dealloc",
    "alloc::realloc",
    "ManuallyDrop::drop",
    "ManuallyDrop::take",
    "NonZeroU32::new_unchecked",
    "NonZeroUsize::new_unchecked",
];

/// Methods that are unsafe on the standard pointer and slice types.
const STD_UNSAFE_METHODS: &[&str] = &[
    "get_unchecked",
    "get_unchecked_mut",
    "offset",
    "add",
    "sub",
    "byte_add",
    "byte_sub",
    "byte_offset",
    "offset_from",
    "read",
    "write",
    "read_volatile",
    "write_volatile",
    "read_unaligned",
    "write_unaligned",
    "copy_to",
    "copy_from",
    "copy_to_nonoverlapping",
    "copy_from_nonoverlapping",
    "drop_in_place",
    "assume_init",
    "assume_init_ref",
    "assume_init_mut",
    "assume_init_read",
    "assume_init_drop",
    "unwrap_unchecked",
    "set_len",
    "as_mut_vec",
    "get_unchecked_mut",
    "map_unchecked",
    "map_unchecked_mut",
    "as_uninit_ref",
    "as_uninit_mut",
];

/// Methods that give a raw pointer (by convention of their name).
const RAW_PTR_METHODS: &[&str] = &[
    "as_ptr",
    "as_mut_ptr",
    "as_raw",
    "get",
    "cast",
    "cast_mut",
    "cast_const",
    "add",
    "sub",
    "offset",
    "wrapping_add",
    "wrapping_sub",
    "byte_add",
    "into_raw",
    "into_foreign",
    "raw_get",
];

/// The result of scanning one file.
pub struct Scanned {
    pub sites: Vec<Site>,
    /// `None` if the file parses; else the parse error (`line L: message`).
    pub parse_error: Option<String>,
    /// Lines using `bindings::` (for the layer policy), with the path text.
    pub bindings_uses: Vec<(usize, String)>,
    /// The file has `#![forbid(unsafe_code)]`.
    pub forbids_unsafe: bool,
    /// `# Safety` and `# Invariants` sections of items: (item, section).
    pub doc_sections: Vec<(DocItem, crate::source::Section)>,
}

/// An item with a `# Safety` or `# Invariants` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocItem {
    /// `fn`, `struct`, `enum`, `union`, `trait`.
    pub kind: String,
    pub name: String,
    /// Self type or trait of the enclosing impl, for fns.
    pub owner: Option<String>,
}

impl DocItem {
    pub fn label(&self) -> String {
        match &self.owner {
            Some(o) => format!("{o}::{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Parses `text` with syn: the lines and columns of `*` tokens that are dereferences, or the
/// parse error.
pub fn syn_derefs(text: &str) -> Result<HashSet<(usize, usize)>, String> {
    use syn::visit::Visit;
    struct V(HashSet<(usize, usize)>);
    impl<'ast> Visit<'ast> for V {
        fn visit_expr_unary(&mut self, e: &'ast syn::ExprUnary) {
            if let syn::UnOp::Deref(star) = &e.op {
                let lc = star.spans[0].start();
                self.0.insert((lc.line, lc.column));
            }
            syn::visit::visit_expr_unary(self, e);
        }
    }
    match syn::parse_file(text) {
        Ok(f) => {
            let mut v = V(HashSet::new());
            v.visit_file(&f);
            Ok(v.0)
        }
        Err(e) => {
            let lc = e.span().start();
            Err(format!("line {}: {}", lc.line, e))
        }
    }
}

/// Scans a whole file: code, macro bodies and doc-tests.
pub fn scan_file(text: &str, index: &Index) -> Scanned {
    let src = Source::new(text);
    let (derefs, parse_error) = match syn_derefs(text) {
        Ok(d) => (Some(d), None),
        Err(e) => (None, Some(e)),
    };
    let mut sites = scan_source(&src, derefs.as_ref(), index, false);
    for (code, map) in doctests(&src) {
        let dsrc = Source::new(&code);
        let d = syn_derefs(&code).ok();
        for mut s in scan_source(&dsrc, d.as_ref(), index, true) {
            remap(&mut s, &map);
            s.origin = Origin::DocTest;
            sites.push(s);
        }
    }
    sites.sort_by_key(|s| (s.line, s.kind));
    let mut bindings_uses = Vec::new();
    for (i, t) in src.toks.iter().enumerate() {
        if t.is_ident("bindings")
            && (src.is_path_sep(i + 1) || (i >= 2 && src.is_punct(i - 1, ':')))
            && bindings_uses.last().map(|(l, _)| *l) != Some(t.line)
        {
            let a = (i.saturating_sub(6)..i)
                .rev()
                .take_while(|&j| src.toks[j].kind == Kind::Ident || src.is_punct(j, ':'))
                .last()
                .unwrap_or(i);
            let mut z = i;
            while src.is_path_sep(z + 1) && src.tok(z + 3).is_some() {
                z += 3;
            }
            bindings_uses.push((t.line, src.display(a, z)));
        }
    }
    let forbids_unsafe = src.toks.windows(8).any(|w| {
        w[0].is_punct('#')
            && w[1].is_punct('!')
            && w[3].is_ident("forbid")
            && w[5].is_ident("unsafe_code")
    }) || src.toks.windows(8).any(|w| {
        w[0].is_punct('#')
            && w[1].is_punct('!')
            && w[3].is_ident("forbid")
            && w[4].is("(")
            && w.iter().any(|x| x.is_ident("unsafe_code"))
    });
    let mut doc_sections = Vec::new();
    for (k, t) in src.toks.iter().enumerate() {
        if t.kind != Kind::Ident
            || !matches!(
                t.text.as_str(),
                "fn" | "struct" | "enum" | "union" | "trait"
            )
        {
            continue;
        }
        let Some(name) = src.tok(k + 1).filter(|x| x.kind == Kind::Ident) else {
            continue;
        };
        let docs = src.docs_before(k);
        if docs.is_empty() {
            continue;
        }
        let ctx = src.ctx(k);
        let owner = if t.text == "fn" {
            ctx.impl_ty.clone().or(ctx.trait_name.clone())
        } else {
            None
        };
        for sec in ["Safety", "Invariants"] {
            if let Some(s) = doc_section(&docs, sec) {
                doc_sections.push((
                    DocItem {
                        kind: t.text.clone(),
                        name: name.text.clone(),
                        owner: owner.clone(),
                    },
                    s,
                ));
            }
        }
    }
    Scanned {
        sites,
        parse_error,
        bindings_uses,
        forbids_unsafe,
        doc_sections,
    }
}

/// Maps the lines of a site found in extracted doc-test code back to the file.
fn remap(s: &mut Site, map: &[usize]) {
    let m = |l: usize| map.get(l.saturating_sub(1)).copied().unwrap_or(l);
    s.line = m(s.line);
    s.end_line = m(s.end_line);
    s.head_end = m(s.head_end);
    s.stmt_line = m(s.stmt_line);
    if let Some((a, b)) = s.justification.lines {
        s.justification.lines = Some((m(a), m(b)));
    }
    for o in &mut s.ops {
        o.line = m(o.line);
    }
}

/// The code blocks of the documentation comments: (code, source line of each code line).
pub fn doctests(src: &Source) -> Vec<(String, Vec<usize>)> {
    // Group consecutive doc comment lines of one style.
    let mut groups: Vec<Vec<DocLine>> = Vec::new();
    let mut last: Option<(CommentStyle, usize)> = None;
    for c in &src.comments {
        if c.style == CommentStyle::Plain {
            last = None;
            continue;
        }
        let lines = plain_comment_lines(c);
        let cont = matches!(last, Some((st, l)) if st == c.style && l + 1 == c.line)
            && c.text.starts_with("//");
        if !cont || groups.is_empty() {
            groups.push(Vec::new());
        }
        if let Some(g) = groups.last_mut() {
            g.extend(lines);
        }
        last = Some((c.style, c.end_line));
    }
    let mut out = Vec::new();
    for g in groups {
        let mut in_code: Option<bool> = None;
        let mut code = String::new();
        let mut map = Vec::new();
        for d in g {
            let t = d.text.trim_start();
            if t.starts_with("```") || t.starts_with("~~~") {
                match in_code {
                    None => {
                        let info = t.trim_start_matches(['`', '~']).trim();
                        in_code = Some(is_rust_info(info));
                    }
                    Some(rust) => {
                        if rust && !code.is_empty() {
                            out.push((std::mem::take(&mut code), std::mem::take(&mut map)));
                        }
                        code.clear();
                        map.clear();
                        in_code = None;
                    }
                }
                continue;
            }
            if in_code == Some(true) {
                // Hidden lines (`# code`) are compiled too.
                let l = if t == "#" {
                    ""
                } else if let Some(rest) = t.strip_prefix("# ") {
                    rest
                } else {
                    d.text.as_str()
                };
                code.push_str(l);
                code.push('\n');
                map.push(d.line);
            }
        }
    }
    out
}

fn is_rust_info(info: &str) -> bool {
    info.split([',', ' ']).filter(|w| !w.is_empty()).all(|w| {
        matches!(
            w,
            "rust" | "ignore" | "no_run" | "compile_fail" | "should_panic" | "test_harness"
        ) || w.starts_with("edition")
            || w.starts_with("ignore-")
    })
}

/// Finds the sites of one source text.
pub fn scan_source(
    src: &Source,
    derefs: Option<&HashSet<(usize, usize)>>,
    index: &Index,
    doctest: bool,
) -> Vec<Site> {
    let toks = &src.toks;
    let mut sites = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.kind != Kind::Ident {
            continue;
        }
        let (kind, anchor) = if t.is("unsafe") {
            match unsafe_kind(src, i) {
                Some(k) => k,
                None => continue,
            }
        } else if t.is("extern") && !(i > 0 && src.is_ident(i - 1, "unsafe")) {
            let mut k = i + 1;
            if src.tok(k).is_some_and(|x| x.kind == Kind::Literal) {
                k += 1;
            }
            if !src.is_open(k, "{") {
                continue;
            }
            (SiteKind::Extern, i)
        } else {
            continue;
        };
        let ctx = src.ctx(i);
        if kind == SiteKind::Fn && ctx.in_extern_block {
            continue;
        }
        let origin = if let Some(m) = &ctx.macro_rules {
            Origin::MacroRules(m.clone())
        } else if let Some(m) = &ctx.macro_call {
            Origin::MacroCall(m.clone())
        } else if doctest {
            Origin::DocTest
        } else {
            Origin::Code
        };
        sites.push(make_site(src, derefs, index, i, kind, anchor, origin, &ctx));
    }
    sites
}

/// What the `unsafe` at `i` introduces, and the token a justification must precede.
fn unsafe_kind(src: &Source, i: usize) -> Option<(SiteKind, usize)> {
    // #[unsafe(..)] or #![unsafe(..)]
    if i >= 2 && src.is_open(i - 1, "[") && src.is_open(i + 1, "(") {
        if src.is_punct(i - 2, '#') {
            return Some((SiteKind::Attr, i - 2));
        }
        if i >= 3 && src.is_punct(i - 2, '!') && src.is_punct(i - 3, '#') {
            return Some((SiteKind::Attr, i - 3));
        }
    }
    if src.is_open(i + 1, "{") {
        return Some((SiteKind::Block, i));
    }
    let mut k = i + 1;
    if src.is_ident(k, "extern") {
        k += 1;
        if src.tok(k).is_some_and(|x| x.kind == Kind::Literal) {
            k += 1;
        }
        if src.is_open(k, "{") {
            return Some((SiteKind::Extern, i));
        }
    }
    if src.is_ident(k, "fn") {
        let named = src
            .tok(k + 1)
            .is_some_and(|x| x.kind == Kind::Ident || x.is_punct('$'));
        return if named {
            Some((SiteKind::Fn, i))
        } else {
            None // a function pointer type
        };
    }
    if src.is_ident(i + 1, "impl") {
        return Some((SiteKind::Impl, i));
    }
    if src.is_ident(i + 1, "trait") || (src.is_ident(i + 1, "auto") && src.is_ident(i + 2, "trait"))
    {
        return Some((SiteKind::Trait, i));
    }
    if src.inside(i, |g| matches!(g, Group::MacroRules(_))) {
        return Some((SiteKind::Token, i));
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn make_site(
    src: &Source,
    derefs: Option<&HashSet<(usize, usize)>>,
    index: &Index,
    i: usize,
    kind: SiteKind,
    anchor: usize,
    origin: Origin,
    ctx: &crate::source::Ctx,
) -> Site {
    let toks = &src.toks;
    let item = !matches!(kind, SiteKind::Block);
    let b = src.boundary_before(anchor, !item);
    let stmt_line = src.start_line_after(b).unwrap_or(toks[i].line);
    let mut notes = Vec::new();
    let mut ops = Vec::new();
    let mut item_name = None;
    let mut head_end_tok = None;
    let mut self_ty = None;
    let (name, end, body) = match kind {
        SiteKind::Block => {
            let end = src.group_end(i + 1);
            let first = (i + 2 <= end).then(|| first_line_text(src, i + 2, end));
            (first.unwrap_or_default(), end, Some((i + 2, end)))
        }
        SiteKind::Fn => {
            let f = (i..toks.len())
                .find(|&k| toks[k].is_ident("fn"))
                .unwrap_or(i);
            let n = src.tok(f + 1).map(|x| x.text.clone()).unwrap_or_default();
            item_name = Some(n.clone());
            let mut e = f + 1;
            let mut body = None;
            while e < toks.len() {
                if src.is_open(e, "{") {
                    head_end_tok = Some(e);
                    body = Some((e + 1, src.group_end(e)));
                    e = src.group_end(e);
                    break;
                }
                if src.is_punct(e, ';') {
                    break;
                }
                if toks[e].kind == Kind::Open {
                    e = src.group_end(e);
                }
                e += 1;
            }
            (format!("fn {n}"), e.min(toks.len().saturating_sub(1)), body)
        }
        SiteKind::Impl | SiteKind::Trait | SiteKind::Extern => {
            let open = (i..toks.len()).find(|&k| src.is_open(k, "{") || src.is_punct(k, ';'));
            let (hdr_end, end) = match open {
                Some(o) if src.is_open(o, "{") => (o.saturating_sub(1), src.group_end(o)),
                Some(o) => (o.saturating_sub(1), o),
                None => (toks.len().saturating_sub(1), toks.len().saturating_sub(1)),
            };
            let start = if kind == SiteKind::Extern || src.is_ident(i, "unsafe") {
                i + 1
            } else {
                i
            };
            let start = if kind == SiteKind::Extern && !src.is_ident(i, "unsafe") {
                i
            } else {
                start
            };
            let n = src.display(start, hdr_end);
            if kind == SiteKind::Impl {
                if let Some(Group::Impl { ty, trait_, .. }) = open.and_then(|o| src.group(o)) {
                    item_name = trait_.clone().or(Some(ty.clone()));
                    self_ty = Some(ty.clone());
                }
            }
            if kind == SiteKind::Trait {
                head_end_tok = open;
                item_name = n.split_whitespace().nth(1).map(|s| {
                    s.chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect()
                });
            }
            if kind == SiteKind::Extern {
                if let Some(o) = open.filter(|&o| src.is_open(o, "{")) {
                    let fns = (o..end)
                        .filter(|&k| src.parent[k] == o && toks[k].is_ident("fn"))
                        .count();
                    let statics = (o..end)
                        .filter(|&k| src.parent[k] == o && toks[k].is_ident("static"))
                        .count();
                    notes.push(format!(
                        "declares {fns} foreign fn(s) and {statics} static(s): their Rust \
                         signatures must match the C definitions"
                    ));
                }
            }
            (n, end, None)
        }
        SiteKind::Attr => {
            let end = src.group_end(i - 1);
            (src.display(anchor, end), end, None)
        }
        SiteKind::Token => (src.display(i, (i + 3).min(toks.len() - 1)), i, None),
    };
    let justification = match kind {
        SiteKind::Fn | SiteKind::Trait => {
            let docs = src.docs_before(i);
            match doc_section(&docs, "Safety") {
                Some(s) => {
                    let verdict = text_verdict(&s.text);
                    Justification {
                        verdict,
                        what: "# Safety",
                        lines: Some((s.line, s.end_line)),
                        text: s.text,
                        untagged: false,
                    }
                }
                None => {
                    let inherited = match (&ctx.impl_trait, kind) {
                        (Some(t), SiteKind::Fn) => Some(format!("{t}::{}", name_of(&name))),
                        _ => None,
                    };
                    Justification {
                        verdict: inherited.map_or(Verdict::Missing, Verdict::Inherited),
                        what: "# Safety",
                        text: Vec::new(),
                        lines: None,
                        untagged: false,
                    }
                }
            }
        }
        SiteKind::Token => Justification {
            verdict: Verdict::NotNeeded,
            what: "SAFETY",
            text: Vec::new(),
            lines: None,
            untagged: false,
        },
        _ => {
            let mut j = safety_comment(src, src.after(b), toks[anchor].offset);
            if kind == SiteKind::Extern && j.verdict == Verdict::Missing {
                if let Some(s) = doc_section(&src.docs_before(i), "Safety") {
                    j = Justification {
                        verdict: text_verdict(&s.text),
                        what: "# Safety",
                        lines: Some((s.line, s.end_line)),
                        text: s.text,
                        untagged: false,
                    };
                }
            }
            j
        }
    };
    if let Some((a, z)) = body {
        let all = ops_in(src, derefs, index, a, z, ctx);
        if kind == SiteKind::Fn {
            ops = all
                .into_iter()
                .filter(|o| o.kind != OpKind::UnknownCall)
                .collect();
            if !ops.is_empty() {
                notes.push(format!(
                    "{} unsafe operation(s) in the body outside an unsafe block \
                     (unsafe_op_in_unsafe_fn)",
                    ops.len()
                ));
            }
        } else {
            ops = all;
        }
    }
    let end_line = src.tok(end).map_or(toks[i].line, |t| t.line);
    Site {
        kind,
        origin,
        line: toks[anchor].line,
        end_line,
        head_end: head_end_tok
            .and_then(|k| src.tok(k))
            .map_or(end_line, |t| t.line),
        stmt_line,
        name,
        within: ctx.label(),
        impl_ty: self_ty.or(ctx.impl_ty.clone()),
        item_name,
        justification,
        ops,
        notes,
    }
}

fn name_of(fn_label: &str) -> &str {
    fn_label.strip_prefix("fn ").unwrap_or(fn_label)
}

/// The code on the first line of tokens `a..=z`, shortened.
fn first_line_text(src: &Source, a: usize, z: usize) -> String {
    let line = src.toks[a].line;
    let mut e = a;
    while e < z && src.toks[e + 1].line == line {
        e += 1;
    }
    let mut s = src.display(a, e);
    if s.chars().count() > 60 {
        s = s.chars().take(57).collect::<String>() + "...";
    }
    s
}

fn text_verdict(text: &[String]) -> Verdict {
    let joined = text.join(" ");
    let t = joined.trim();
    let words: Vec<&str> = t
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if t.is_empty() || words.iter().any(|w| matches!(*w, "TODO" | "FIXME" | "XXX")) {
        Verdict::Todo
    } else {
        Verdict::Ok
    }
}

/// Finds the `// SAFETY:` comment among the plain comments between byte offsets `a` and `z`.
fn safety_comment(src: &Source, a: usize, z: usize) -> Justification {
    let comments: Vec<_> = src
        .comments_between(a, z)
        .filter(|c| c.style == CommentStyle::Plain)
        .collect();
    let lines: Vec<DocLine> = comments
        .iter()
        .flat_map(|c| plain_comment_lines(c))
        .collect();
    let tag = |t: &str| {
        let t = t.trim_start();
        t.len() >= 7 && t[..7].eq_ignore_ascii_case("safety:")
    };
    let Some(s) = lines.iter().rposition(|l| tag(&l.text)) else {
        return Justification {
            verdict: Verdict::Missing,
            what: "SAFETY",
            text: Vec::new(),
            lines: None,
            untagged: !lines.is_empty(),
        };
    };
    let first = lines[s].text.trim_start()[7..].trim().to_string();
    let mut text = if first.is_empty() {
        Vec::new()
    } else {
        vec![first]
    };
    let mut last = lines[s].line;
    for l in &lines[s + 1..] {
        let t = l.text.trim_start();
        if l.line > last + 1
            || ["INVARIANT:", "CAST:", "PANIC:"]
                .iter()
                .any(|p| t.starts_with(p))
        {
            break;
        }
        text.push(l.text.clone());
        last = l.line;
    }
    while text.last().is_some_and(|l| l.trim().is_empty()) {
        text.pop();
    }
    Justification {
        verdict: text_verdict(&text),
        what: "SAFETY",
        lines: Some((lines[s].line, last)),
        text,
        untagged: false,
    }
}

fn is_unary_star(src: &Source, i: usize) -> bool {
    if i == 0 {
        return true;
    }
    let p = &src.toks[i - 1];
    match p.kind {
        Kind::Literal | Kind::Lifetime => false,
        Kind::Ident => is_keyword(&p.text) && !matches!(p.text.as_str(), "self" | "Self"),
        Kind::Close => p.text == "}",
        Kind::Open => true,
        Kind::Punct => p.text != "?",
    }
}

/// The end (inclusive) of the operand expression starting at `j`: a path or group followed by
/// field accesses, method calls, indexing and `?`.
fn operand_end(src: &Source, j: usize, limit: usize) -> usize {
    let toks = &src.toks;
    let mut e = j;
    if j > limit {
        return limit;
    }
    if toks[j].kind == Kind::Open {
        e = src.group_end(j);
    } else {
        while src.is_path_sep(e + 1) && e + 3 <= limit {
            e += 2;
            if src.is_punct(e + 1, '<') {
                e = src.skip_angles(e + 1, limit + 1) - 1;
            } else {
                e += 1;
            }
        }
    }
    loop {
        let n = e + 1;
        if n > limit {
            break;
        }
        if src.is_punct(n, '.')
            && !src.is_punct(n + 1, '.')
            && src
                .tok(n + 1)
                .is_some_and(|t| matches!(t.kind, Kind::Ident | Kind::Literal))
        {
            e = n + 1;
            if src.is_path_sep(e + 1) && src.is_punct(e + 3, '<') {
                e = src.skip_angles(e + 3, limit + 1) - 1;
            }
            continue;
        }
        if src
            .tok(n)
            .is_some_and(|t| t.kind == Kind::Open && t.text != "{")
        {
            e = src.group_end(n);
            continue;
        }
        if src.is_punct(n, '?') {
            e = n;
            continue;
        }
        break;
    }
    e.min(limit)
}

/// Method names called along an operand `a..=z`, in order.
fn methods_of(src: &Source, a: usize, z: usize) -> Vec<String> {
    (a..z)
        .filter(|&k| {
            src.is_punct(k, '.')
                && src.tok(k + 1).is_some_and(|t| t.kind == Kind::Ident)
                && (src.is_open(k + 2, "(") || src.is_path_sep(k + 2))
                && src.parent.get(k + 1) == src.parent.get(a)
        })
        .map(|k| src.toks[k + 1].text.clone())
        .collect()
}

/// Whether field `field` of the `impl` type around token `at` is declared as a raw pointer
/// (`Some(true)`), as something else (`Some(false)`), or not found in this file.
fn field_is_pointer(src: &Source, at: usize, field: &str) -> Option<bool> {
    let ty = src.ctx(at).impl_ty?;
    let toks = &src.toks;
    let k = (0..toks.len()).find(|&k| {
        (toks[k].is_ident("struct") || toks[k].is_ident("union")) && src.is_ident(k + 1, &ty)
    })?;
    let open = (k + 2..toks.len()).find(|&o| src.is_open(o, "(") || src.is_open(o, "{"))?;
    let end = src.group_end(open);
    // The tokens of the field's type.
    let ty_start = if src.is_open(open, "(") {
        let n: usize = field.parse().ok()?;
        let mut idx = 0;
        let mut start = open + 1;
        for f in open + 1..end {
            if src.parent[f] == open && src.is_punct(f, ',') {
                if idx == n {
                    break;
                }
                idx += 1;
                start = f + 1;
            }
        }
        (idx == n).then_some(start)?
    } else {
        let f = (open + 1..end).find(|&f| {
            src.parent[f] == open && toks[f].is_ident(field) && src.is_punct(f + 1, ':')
        })?;
        f + 2
    };
    // Skip `pub`, `pub(crate)`.
    let mut s = ty_start;
    if src.is_ident(s, "pub") {
        s += 1;
        if src.is_open(s, "(") {
            s = src.group_end(s) + 1;
        }
    }
    Some(src.is_punct(s, '*'))
}

/// Whether `name` is declared with a raw pointer type (`Some(true)`), a reference
/// (`Some(false)`), or not known, within the enclosing function before token `before`.
fn declared_pointer(src: &Source, name: &str, before: usize) -> Option<bool> {
    // Search back to the start of the enclosing fn (or the file).
    let mut p = src.parent.get(before).copied().unwrap_or(NONE);
    let mut start = 0;
    while p != NONE {
        if matches!(src.group(p), Some(Group::Fn(_))) {
            start = src.boundary_before(p, false).wrapping_add(1);
            if start == NONE.wrapping_add(1) {
                start = 0;
            }
            break;
        }
        p = src.parent[p];
    }
    let toks = &src.toks;
    let mut found = None;
    for k in start..before {
        if !toks[k].is_ident(name) {
            continue;
        }
        // `name: *mut T` / `name: &T`
        if src.is_punct(k + 1, ':') && !src.is_punct(k + 2, ':') {
            if src.is_punct(k + 2, '*') {
                found = Some(true);
            } else if src.is_punct(k + 2, '&') {
                found = Some(false);
            }
            continue;
        }
        // `let name = <init>;`
        let is_let = k >= 1
            && (src.is_ident(k - 1, "let")
                || (src.is_ident(k - 1, "mut") && src.is_ident(k.saturating_sub(2), "let")));
        if is_let && src.is_punct(k + 1, '=') {
            let mut e = k + 2;
            while e < before && !src.is_punct(e, ';') {
                if toks[e].kind == Kind::Open {
                    e = src.group_end(e);
                }
                e += 1;
            }
            let init = k + 2..e.min(toks.len());
            let as_ptr = init
                .clone()
                .any(|x| toks[x].is_ident("as") && src.is_punct(x + 1, '*'));
            let meth = methods_of(src, k + 2, e.saturating_sub(1));
            let ptr_meth = meth
                .last()
                .is_some_and(|m| RAW_PTR_METHODS.contains(&m.as_str()));
            let refd = src.is_punct(k + 2, '&');
            found = if as_ptr || ptr_meth {
                Some(true)
            } else if refd {
                Some(false)
            } else {
                None
            };
        }
    }
    found
}

/// The unsafe operations in tokens `a..=z` (nested unsafe blocks and fns excluded).
fn ops_in(
    src: &Source,
    derefs: Option<&HashSet<(usize, usize)>>,
    index: &Index,
    a: usize,
    z: usize,
    ctx: &crate::source::Ctx,
) -> Vec<Op> {
    let toks = &src.toks;
    let mut ops: Vec<Op> = Vec::new();
    let in_macro = |k: usize| {
        src.inside(k, |g| {
            matches!(g, Group::MacroCall(_) | Group::MacroRules(_))
        })
    };
    let mut i = a;
    while i < z && i < toks.len() {
        let t = &toks[i];
        // Nested unsafe blocks and items are sites of their own.
        if t.is_ident("unsafe") && src.is_open(i + 1, "{") {
            i = src.group_end(i + 1) + 1;
            continue;
        }
        if t.is_ident("fn") && src.tok(i + 1).is_some_and(|x| x.kind == Kind::Ident) {
            let mut e = i;
            while e < z && !src.is_open(e, "{") && !src.is_punct(e, ';') {
                e += 1;
            }
            i = if src.is_open(e, "{") {
                src.group_end(e) + 1
            } else {
                e + 1
            };
            continue;
        }
        if t.is_punct('*') {
            let exact = derefs.filter(|_| !in_macro(i));
            let is_deref = match exact {
                Some(set) => set.contains(&(t.line, t.col)),
                None => {
                    is_unary_star(src, i)
                        && !src.is_ident(i + 1, "const")
                        && !src.is_ident(i + 1, "mut")
                }
            };
            if is_deref {
                if let Some(op) = deref_op(src, i, z, exact.is_none()) {
                    ops.push(op);
                }
            }
            i += 1;
            continue;
        }
        if t.kind == Kind::Ident && src.is_punct(i + 1, '!') && src.is_open(i + 2, "(")
            || src.is_open(i + 2, "{") && t.kind == Kind::Ident && src.is_punct(i + 1, '!')
        {
            if matches!(t.text.as_str(), "asm" | "global_asm" | "naked_asm") {
                ops.push(Op {
                    kind: OpKind::Asm,
                    text: format!("{}!(..)", t.text),
                    line: t.line,
                    inferred: None,
                    callee: None,
                    callee_key: None,
                });
            }
            i += 2;
            continue;
        }
        if t.kind == Kind::Ident && !is_keyword(&t.text) || t.is("self") || t.is("Self") {
            let prev_dot =
                i > 0 && src.is_punct(i - 1, '.') && !(i > 1 && src.is_punct(i - 2, '.'));
            // Turbofish: name::<..>(
            let mut call_at = i + 1;
            if src.is_path_sep(i + 1) && src.is_punct(i + 3, '<') {
                call_at = src.skip_angles(i + 3, toks.len());
            }
            let is_call = src.is_open(call_at, "(");
            let continues_path = src.is_path_sep(i + 1) && !src.is_punct(i + 3, '<');
            if prev_dot {
                if is_call {
                    if let Some(op) = method_op(src, index, i) {
                        ops.push(op);
                    }
                } else if let Some(unions) = index.union_fields.get(&t.text) {
                    ops.push(Op {
                        kind: OpKind::UnionField,
                        text: format!("{}.{}", src.display(path_start(src, i - 1), i - 2), t.text),
                        line: t.line,
                        inferred: Some(format!(
                            "a field named `{}` is in union {}",
                            t.text,
                            unions.join(", ")
                        )),
                        callee: None,
                        callee_key: None,
                    });
                }
            } else if is_call && !continues_path {
                let before_fn = i > 0 && src.is_ident(i - 1, "fn");
                let ctor = t.text.chars().next().is_some_and(|c| c.is_uppercase());
                if !before_fn && !ctor {
                    let op = call_op(src, index, i, ctx);
                    if !op.text.is_empty() {
                        ops.push(op);
                    }
                }
            } else if !continues_path && !src.is_punct(i + 1, '!') {
                let before_colon =
                    i > 0 && src.is_punct(i - 1, ':') && !src.is_punct(i.saturating_sub(2), ':');
                if let Some(st) = index.statics.get(&t.text).filter(|_| !before_colon) {
                    let decl =
                        i > 0 && (src.is_ident(i - 1, "mut") || src.is_ident(i - 1, "static"));
                    if !decl {
                        ops.push(Op {
                            kind: if st.is_extern {
                                OpKind::ExternStatic
                            } else {
                                OpKind::StaticMut
                            },
                            text: t.text.clone(),
                            line: t.line,
                            inferred: None,
                            callee: Some(Callee {
                                name: t.text.clone(),
                                file: st.file.clone(),
                                line: st.line,
                                sig: String::new(),
                                safety: None,
                                others: 0,
                                c_proto: None,
                            }),
                            callee_key: None,
                        });
                    }
                }
            }
        }
        i += 1;
    }
    ops
}

/// The start of the receiver expression ending at `e` (a path or a group), for display.
fn path_start(src: &Source, e: usize) -> usize {
    let mut s = e.saturating_sub(1);
    if src.tok(s).is_some_and(|t| t.kind == Kind::Close) {
        let m = src.mate[s];
        if m != NONE {
            s = m;
        }
    }
    while s >= 2 && (src.is_punct(s - 1, '.') || src.is_punct(s - 1, ':')) {
        let p = if src.is_punct(s - 1, ':') {
            s - 3
        } else {
            s - 2
        };
        if src.tok(p).is_some_and(|t| t.kind == Kind::Ident) {
            s = p;
        } else {
            break;
        }
        if s < 2 {
            break;
        }
    }
    s
}

fn deref_op(src: &Source, i: usize, z: usize, heuristic: bool) -> Option<Op> {
    let toks = &src.toks;
    let mut j = i + 1;
    while j < z && (src.is_punct(j, '*') || src.is_punct(j, '&') || src.is_ident(j, "mut")) {
        j += 1;
    }
    let metavar = src.is_punct(j, '$') && src.tok(j + 1).is_some_and(|t| t.kind == Kind::Ident);
    let e = operand_end(src, if metavar { j + 1 } else { j }, z);
    let methods = methods_of(src, j, e);
    let base = toks.get(j)?;
    // `self.field` / `self.0` of a struct whose field is declared as a raw pointer.
    let self_field = (base.is("self") && src.is_punct(j + 1, '.') && e == j + 2)
        .then(|| field_is_pointer(src, i, &toks[j + 2].text))
        .flatten();
    // Classify: raw pointer known, reference known (not an unsafe op), or not known.
    let mut inferred = None;
    if metavar {
        inferred = Some("a macro argument: its type is known only where the macro is used".into());
    } else if let Some(is_ptr) = self_field {
        if !is_ptr {
            return None;
        }
    } else if base.kind == Kind::Open {
        let inner = (j..=e).any(|k| toks[k].is_ident("as") && src.is_punct(k + 1, '*'));
        if !inner && methods.is_empty() {
            inferred = Some("pointer or reference: its type is not known".to_string());
        }
    } else if let Some(m) = methods.last() {
        if !RAW_PTR_METHODS.contains(&m.as_str()) {
            inferred = Some(format!(
                "`{m}()` may return a reference or a raw pointer: its type is not known"
            ));
        } else {
            inferred = Some(format!("`{m}()` returns a raw pointer by its name"));
        }
    } else if e == j || (j..=e).all(|k| toks[k].kind == Kind::Ident || src.is_punct(k, ':')) {
        if base.is("self") {
            return None;
        }
        match declared_pointer(src, &base.text, i) {
            Some(true) => {}
            Some(false) => return None,
            None => {
                inferred = Some(format!(
                    "`{}` is a pointer or a reference: its type is not known",
                    base.text
                ))
            }
        }
    } else {
        inferred = Some("pointer or reference: its type is not known".to_string());
    }
    if heuristic && inferred.is_none() {
        inferred = Some("not parsed: `*` taken as a dereference".to_string());
    }
    // Show the place: `(*vdev).priv_` and whether it is written.
    let mut a = i;
    let mut ze = e;
    let p = src.parent[i];
    let call_paren = p != NONE
        && p > 0
        && src.tok(p - 1).is_some_and(|t| {
            t.kind == Kind::Ident && !is_keyword(&t.text)
                || t.kind == Kind::Close
                || t.is_punct('>')
        });
    if p != NONE && src.is_open(p, "(") && p + 1 == i && src.mate[p] == e + 1 && !call_paren {
        a = p;
        ze = e + 1;
        while src.is_punct(ze + 1, '.')
            && src.tok(ze + 2).is_some_and(|t| t.kind == Kind::Ident)
            && !src.is_open(ze + 3, "(")
        {
            ze += 2;
        }
    }
    let mut text = src.display(a, ze);
    let writes = src.is_punct(ze + 1, '=') && !src.is_punct(ze + 2, '=')
        || src.tok(ze + 1).is_some_and(|t| {
            t.kind == Kind::Punct && t.joint && "+-*/%|&^".contains(t.text.as_str())
        }) && src.is_punct(ze + 2, '=');
    if writes {
        text.push_str(" (write)");
    } else if src.inside(
        i,
        |g| matches!(g, Group::MacroCall(n) if n == "addr_of" || n == "addr_of_mut"),
    ) || (a >= 2 && src.is_punct(a - 2, '&') && src.is_ident(a - 1, "raw"))
    {
        text.push_str(" (address only)");
    }
    Some(Op {
        kind: OpKind::Deref,
        text,
        line: toks[i].line,
        inferred,
        callee: None,
        callee_key: None,
    })
}

fn entry_callee(e: &FnEntry, others: usize, index: &Index) -> Callee {
    Callee {
        name: e.qualified(),
        file: e.file.clone(),
        line: e.line,
        sig: e.sig.clone(),
        safety: e.safety.as_ref().map(|s| s.text.clone()),
        others,
        c_proto: if e.is_extern {
            index
                .cdecls
                .get(&e.name)
                .map(|c| (c.file.clone(), c.line, c.proto.clone()))
        } else {
            None
        },
    }
}

fn method_op(src: &Source, index: &Index, i: usize) -> Option<Op> {
    let t = &src.toks[i];
    let name = t.text.as_str();
    let cands: Vec<&FnEntry> = index
        .fns
        .get(name)
        .map(|v| v.iter().filter(|e| e.has_self && !e.is_extern).collect())
        .unwrap_or_default();
    let recv = src.display(path_start(src, i - 1), i - 2);
    let text = format!("{recv}.{name}(..)");
    if let Some(first) = cands.first() {
        return Some(Op {
            kind: OpKind::UnsafeMethod,
            text,
            line: t.line,
            inferred: Some(format!(
                "by name: `{}` is an unsafe method; the receiver's type is not known",
                first.qualified()
            )),
            callee: Some(entry_callee(first, cands.len() - 1, index)),
            callee_key: Some((first.owner.clone(), name.to_string())),
        });
    }
    if STD_UNSAFE_METHODS.contains(&name) {
        return Some(Op {
            kind: OpKind::UnsafeMethod,
            text,
            line: t.line,
            inferred: Some(format!(
                "by name: `{name}` is unsafe on raw pointers/slices; the receiver's type is not known"
            )),
            callee: None,
            callee_key: None,
        });
    }
    None
}

/// A path call `a::b::name(..)` or `<T as Trait>::name(..)` at the `name` token `i`.
fn call_op(src: &Source, index: &Index, i: usize, ctx: &crate::source::Ctx) -> Op {
    let toks = &src.toks;
    let name = toks[i].text.clone();
    // Walk the path back.
    let mut segs: Vec<String> = Vec::new();
    let mut qual_trait: Option<String> = None;
    let mut qual_ty: Option<String> = None;
    let mut s = i;
    while s >= 3 && src.is_path_sep(s - 2) {
        let p = s - 3;
        if toks[p].kind == Kind::Ident {
            segs.insert(0, toks[p].text.clone());
            s = p;
        } else if toks[p].is_punct('>') {
            // `<T as Trait>` or `Type<..>`: find the matching `<`.
            let mut depth = 0i32;
            let mut k = p;
            loop {
                if toks[k].kind == Kind::Close {
                    let m = src.mate[k];
                    if m == NONE {
                        break;
                    }
                    k = m;
                } else if toks[k].is_punct('>') && !(k > 0 && src.is_punct(k - 1, '-')) {
                    depth += 1;
                } else if toks[k].is_punct('<') {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                if k == 0 {
                    break;
                }
                k -= 1;
            }
            let inner: Vec<usize> = (k + 1..p).collect();
            if let Some(pos) = inner
                .iter()
                .position(|&x| toks[x].is_ident("as") && src.parent[x] == src.parent[k])
            {
                let tr = inner[pos + 1..]
                    .iter()
                    .rev()
                    .find(|&&x| toks[x].kind == Kind::Ident)
                    .map(|&x| toks[x].text.clone());
                qual_trait = tr;
                qual_ty = inner.get(..pos).and_then(|v| {
                    v.iter()
                        .find(|&&x| toks[x].kind == Kind::Ident && toks[x].text != "dyn")
                        .map(|&x| toks[x].text.clone())
                });
                s = k;
                break;
            } else if k >= 1 && toks[k - 1].kind == Kind::Ident {
                segs.insert(0, toks[k - 1].text.clone());
                s = k - 1;
            } else {
                s = k;
                break;
            }
        } else {
            break;
        }
    }
    let text = format!("{}(..)", src.display(s, i));
    let line = toks[i].line;
    let is_bindings = segs.iter().any(|x| x == "bindings");
    let prev = segs.last().cloned();
    let owner: Option<String> = if let Some(t) = &qual_trait {
        Some(t.clone())
    } else {
        match prev.as_deref() {
            Some("Self") => ctx.impl_ty.clone().or(ctx.trait_name.clone()),
            Some(p) if p.chars().next().is_some_and(|c| c.is_uppercase()) => Some(p.to_string()),
            _ => None,
        }
    };
    let mut op = Op {
        kind: OpKind::UnknownCall,
        text,
        line,
        inferred: None,
        callee: None,
        callee_key: Some((owner.clone(), name.clone())),
    };
    if is_bindings {
        op.kind = OpKind::Ffi;
        let ext: Vec<&FnEntry> = index
            .fns
            .get(&name)
            .map(|v| v.iter().filter(|e| e.is_extern).collect())
            .unwrap_or_default();
        if let Some(e) = ext.first() {
            op.callee = Some(entry_callee(e, ext.len() - 1, index));
        } else if let Some(c) = index.cdecls.get(&name) {
            op.callee = Some(Callee {
                name: name.clone(),
                file: c.file.clone(),
                line: c.line,
                sig: String::new(),
                safety: None,
                others: 0,
                c_proto: Some((c.file.clone(), c.line, c.proto.clone())),
            });
        }
        op.callee_key = Some((None, name));
        return op;
    }
    let mut cands = index.lookup(&name, owner.as_deref());
    if cands.is_empty() {
        if let (Some(ty), true) = (&qual_ty, qual_trait.is_some()) {
            cands = index.lookup(&name, Some(ty));
        }
    }
    let generic = owner
        .as_deref()
        .is_some_and(|o| o.len() == 1 || ctx.impl_ty.as_deref() != Some(o) && cands.is_empty());
    if cands.is_empty() && generic {
        // `T::name` with `T` a type parameter: any trait method of that name.
        if let Some(all) = index.fns.get(&name) {
            cands = all
                .iter()
                .filter(|e| e.trait_.is_some() && !e.is_extern)
                .collect();
            if !cands.is_empty() {
                op.inferred = Some(format!(
                    "`{}` is not a type the index knows: matched by name",
                    owner.as_deref().unwrap_or_default()
                ));
            }
        }
    }
    if let Some(first) = cands.first() {
        op.kind = if first.is_extern {
            OpKind::Ffi
        } else {
            OpKind::UnsafeCall
        };
        op.callee = Some(entry_callee(first, cands.len() - 1, index));
        return op;
    }
    let key2 = match (&prev, &owner) {
        (Some(p), _) => format!("{p}::{name}"),
        (None, _) => name.clone(),
    };
    let std_path = segs
        .first()
        .is_some_and(|f| matches!(f.as_str(), "core" | "std" | "alloc"));
    if std_path && !STD_UNSAFE_FNS.contains(&key2.as_str()) {
        // Every unsafe function of the standard library that matters is in the table.
        op.kind = OpKind::Asm; // placeholder, filtered by the caller
        op.text.clear();
        return op;
    }
    if STD_UNSAFE_FNS.contains(&key2.as_str()) {
        op.kind = OpKind::UnsafeCall;
        op.callee = Some(Callee {
            name: key2,
            file: String::new(),
            line: 0,
            sig: String::new(),
            safety: None,
            others: 0,
            c_proto: None,
        });
        return op;
    }
    op
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites(src: &str) -> Vec<Site> {
        let idx = Index::default();
        scan_file(src, &idx).sites
    }

    #[test]
    fn kinds() {
        let s = sites(
            "// SAFETY: fine\nunsafe impl Send for X {}\n\
             /// # Safety\n/// none\nunsafe fn f() {}\n\
             unsafe trait T {}\n\
             extern \"C\" { fn g(); }\n\
             #[unsafe(no_mangle)]\nfn h() {}\n\
             fn k() { let x = unsafe { *p }; }\n",
        );
        let kinds: Vec<_> = s
            .iter()
            .map(|s| (s.kind, s.line, s.justification.verdict.clone()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (SiteKind::Impl, 2, Verdict::Ok),
                (SiteKind::Fn, 5, Verdict::Ok),
                (SiteKind::Trait, 6, Verdict::Missing),
                (SiteKind::Extern, 7, Verdict::Missing),
                (SiteKind::Attr, 8, Verdict::Missing),
                (SiteKind::Block, 10, Verdict::Missing),
            ]
        );
        assert_eq!(s[5].ops.len(), 1);
        assert_eq!(s[5].ops[0].kind, OpKind::Deref);
    }

    /// Every prefix and suffix of real code (unbalanced brackets, cut strings and comments)
    /// scans without a panic.
    #[test]
    fn truncated_code_does_not_crash() {
        let idx = Index::default();
        for text in [
            include_str!("../tests/fixtures/tree/virtio/mod.rs"),
            include_str!("../tests/fixtures/new-file.patch"),
            include_str!("../tests/fixtures/multiple-ops.patch"),
        ] {
            let cuts: Vec<usize> = (0..text.len())
                .filter(|&i| text.is_char_boundary(i))
                .collect();
            for &c in cuts.iter().step_by(3) {
                let _ = scan_file(&text[..c], &idx);
                let _ = scan_file(&text[c..], &idx);
            }
        }
    }

    #[test]
    fn fn_pointer_type_is_not_a_site() {
        assert!(sites("type F = Option<unsafe extern \"C\" fn(*mut u8)>;").is_empty());
    }

    #[test]
    fn comment_before_statement() {
        let s = sites("fn f() {\n    // SAFETY: a\n    // - b\n    let x = g(\n        1,\n        unsafe { h() },\n    );\n}\n");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].justification.verdict, Verdict::Ok);
        assert_eq!(
            s[0].justification.text,
            vec!["a".to_string(), "- b".to_string()]
        );
        assert_eq!(s[0].stmt_line, 4);
    }

    #[test]
    fn doctest_sites() {
        let s =
            sites("/// ```\n/// # fn main() {\n/// unsafe { f() };\n/// # }\n/// ```\nfn x() {}\n");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].origin, Origin::DocTest);
        assert_eq!(s[0].line, 3);
    }
}
