// SPDX-License-Identifier: GPL-2.0

//! What the unsafe operations of a block can be resolved against: the unsafe functions (with
//! their `# Safety` sections), extern declarations, `static mut`s, unions, types with
//! `# Invariants`, and C prototypes of the repository and, optionally, a kernel tree.

use std::collections::HashMap;

use crate::lex::Kind;
use crate::source::{doc_section, Group, Section, Source, NONE};

/// An unsafe or extern function.
#[derive(Clone, Debug)]
pub struct FnEntry {
    pub name: String,
    /// Self type of the enclosing `impl`, or the trait that declares it.
    pub owner: Option<String>,
    /// Trait of the enclosing `impl Trait for ..`, or the declaring trait.
    pub trait_: Option<String>,
    pub file: String,
    pub line: usize,
    pub safety: Option<Section>,
    /// The signature as written.
    pub sig: String,
    pub has_self: bool,
    /// Declared in an `extern` block (a foreign function).
    pub is_extern: bool,
}

impl FnEntry {
    pub fn qualified(&self) -> String {
        match &self.owner {
            Some(o) => format!("{o}::{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A type or trait with documentation sections a SAFETY comment may rely on.
#[derive(Clone, Debug)]
pub struct TypeEntry {
    pub name: String,
    pub file: String,
    pub invariants: Option<Section>,
    pub safety: Option<Section>,
}

/// A C function prototype from a header of the repository.
#[derive(Clone, Debug)]
pub struct CDecl {
    pub file: String,
    pub line: usize,
    pub proto: String,
}

/// A `static mut` or an extern static.
#[derive(Clone, Debug)]
pub struct StaticEntry {
    pub file: String,
    pub line: usize,
    pub is_extern: bool,
}

#[derive(Default)]
pub struct Index {
    pub fns: HashMap<String, Vec<FnEntry>>,
    pub types: HashMap<String, Vec<TypeEntry>>,
    pub statics: HashMap<String, StaticEntry>,
    /// Field name to the unions that have it.
    pub union_fields: HashMap<String, Vec<String>>,
    pub cdecls: HashMap<String, CDecl>,
    /// `type KBox<T> = Box<T, Kmalloc>`: alias to the aliased type's name.
    pub aliases: HashMap<String, String>,
}

impl Index {
    /// Adds the items of one Rust source file.
    pub fn add_source(&mut self, path: &str, src: &Source) {
        let toks = &src.toks;
        for (k, t) in toks.iter().enumerate() {
            if t.kind != Kind::Ident {
                continue;
            }
            match t.text.as_str() {
                "fn" => self.add_fn(path, src, k),
                "struct" | "enum" | "union" | "trait" => self.add_type(path, src, k),
                "type" => {
                    let Some(name) = src.tok(k + 1).filter(|x| x.kind == Kind::Ident) else {
                        continue;
                    };
                    let ctx = src.ctx(k);
                    if ctx.impl_ty.is_some() || ctx.trait_name.is_some() {
                        continue;
                    }
                    let Some(eq) = (k + 2..src.toks.len().min(k + 40))
                        .find(|&e| src.is_punct(e, '=') || src.is_punct(e, ';'))
                    else {
                        continue;
                    };
                    let target = (eq + 1..src.toks.len())
                        .take_while(|&e| !src.is_punct(e, '<') && !src.is_punct(e, ';'))
                        .filter(|&e| src.toks[e].kind == Kind::Ident)
                        .last();
                    if let (true, Some(tg)) = (src.is_punct(eq, '='), target) {
                        if src.toks[tg].text != name.text {
                            self.aliases
                                .insert(name.text.clone(), src.toks[tg].text.clone());
                        }
                    }
                }
                "static" => {
                    let is_mut = src.is_ident(k + 1, "mut");
                    let n = if is_mut { k + 2 } else { k + 1 };
                    let Some(name) = src.tok(n).filter(|x| x.kind == Kind::Ident) else {
                        continue;
                    };
                    let is_extern = src.ctx(k).in_extern_block;
                    if is_mut || is_extern {
                        self.statics.insert(
                            name.text.clone(),
                            StaticEntry {
                                file: path.to_string(),
                                line: t.line,
                                is_extern,
                            },
                        );
                    }
                }
                _ => {}
            }
        }
    }

    fn add_fn(&mut self, path: &str, src: &Source, k: usize) {
        let toks = &src.toks;
        let Some(name) = src.tok(k + 1).filter(|x| x.kind == Kind::Ident) else {
            return;
        };
        let b = src.boundary_before(k, false);
        let start = if b == NONE { 0 } else { b + 1 };
        let quals = &src.toks[start..k];
        let is_unsafe = quals.iter().any(|q| q.is_ident("unsafe"));
        let ctx = src.ctx(k);
        let is_extern = ctx.in_extern_block && !quals.iter().any(|q| q.is_ident("safe"));
        if !is_unsafe && !is_extern {
            return;
        }
        // The signature: from the first qualifier after the attributes to the body.
        let mut s = start;
        while src.is_punct(s, '#') {
            let mut o = s + 1;
            if src.is_punct(o, '!') {
                o += 1;
            }
            if !src.is_open(o, "[") {
                break;
            }
            s = src.group_end(o) + 1;
        }
        let mut e = k + 2;
        let mut has_self = false;
        while e < toks.len() {
            let x = &toks[e];
            if x.kind == Kind::Open && x.text == "(" && !has_self {
                let first = (e + 1..src.group_end(e)).find(|&i| {
                    !(toks[i].is_punct('&') || toks[i].kind == Kind::Lifetime || toks[i].is("mut"))
                });
                has_self = first.is_some_and(|i| toks[i].is("self"));
            }
            if x.kind == Kind::Open && x.text == "{" || x.is_punct(';') {
                break;
            }
            if x.kind == Kind::Open {
                e = src.group_end(e);
            }
            e += 1;
        }
        let sig = src.display(s.min(k), e.saturating_sub(1));
        let safety = doc_section(&src.docs_before(k), "Safety");
        let (owner, trait_) = if let Some(ty) = ctx.impl_ty.clone() {
            (Some(ty), ctx.impl_trait.clone())
        } else if let Some(tr) = ctx.trait_name.clone() {
            (Some(tr.clone()), Some(tr))
        } else {
            (None, None)
        };
        self.fns
            .entry(name.text.clone())
            .or_default()
            .push(FnEntry {
                name: name.text.clone(),
                owner,
                trait_,
                file: path.to_string(),
                line: toks[k].line,
                safety,
                sig,
                has_self,
                is_extern,
            });
    }

    fn add_type(&mut self, path: &str, src: &Source, k: usize) {
        let t = &src.toks[k];
        let Some(name) = src.tok(k + 1).filter(|x| x.kind == Kind::Ident) else {
            return;
        };
        if src.ctx(k).in_extern_block {
            return;
        }
        // `union` is a contextual keyword: `union Foo {` declares one.
        if t.text == "union" && !src.tok(k + 2).is_some_and(|x| x.is("{") || x.is("<")) {
            return;
        }
        let docs = src.docs_before(k);
        let invariants = doc_section(&docs, "Invariants");
        let safety = doc_section(&docs, "Safety");
        let b = src.boundary_before(k, false);
        let start = if b == NONE { 0 } else { b + 1 };
        let is_unsafe = src.toks[start..k].iter().any(|q| q.is_ident("unsafe"));
        if t.text == "union" {
            if let Some(open) = (k + 2..src.toks.len()).find(|&i| src.is_open(i, "{")) {
                // bindgen's anonymous unions are reached through `__bindgen_anon_N` fields;
                // matching their field names would flag ordinary struct fields.
                let generated = name.text.contains("__bindgen");
                if !generated && src.group(open) == Some(&Group::Fields(name.text.clone())) {
                    for f in open + 1..src.group_end(open) {
                        if src.parent[f] == open
                            && src.toks[f].kind == Kind::Ident
                            && src.is_punct(f + 1, ':')
                            && !src.is_punct(f + 2, ':')
                        {
                            self.union_fields
                                .entry(src.toks[f].text.clone())
                                .or_default()
                                .push(name.text.clone());
                        }
                    }
                }
            }
        }
        if invariants.is_none() && safety.is_none() && !is_unsafe {
            return;
        }
        self.types
            .entry(name.text.clone())
            .or_default()
            .push(TypeEntry {
                name: name.text.clone(),
                file: path.to_string(),
                invariants,
                safety,
            });
    }

    /// Adds the function prototypes of a C header or source file.
    pub fn add_c(&mut self, path: &str, text: &str) {
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let l = lines[i];
            let first = l.chars().next();
            let starts_decl = first.is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && !l.starts_with("static ")
                && l.contains('(');
            if starts_decl {
                let mut proto = l.trim().to_string();
                let mut j = i;
                while !proto.ends_with(';') && !proto.ends_with(')') && j + 1 < lines.len() {
                    j += 1;
                    proto.push(' ');
                    proto.push_str(lines[j].trim());
                }
                if let Some(open) = proto.find('(') {
                    let name: String = proto[..open]
                        .chars()
                        .rev()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    let is_header = path.ends_with(".h");
                    if !name.is_empty()
                        && (is_header || !self.cdecls.contains_key(&name))
                        && !proto.starts_with('#')
                    {
                        let proto = proto.trim_end_matches(';').to_string();
                        self.cdecls.insert(
                            name,
                            CDecl {
                                file: path.to_string(),
                                line: i + 1,
                                proto,
                            },
                        );
                    }
                }
                i = j + 1;
                continue;
            }
            i += 1;
        }
    }

    /// Unsafe functions named `name` declared by `owner` (a type or trait), best match first.
    pub fn lookup(&self, name: &str, owner: Option<&str>) -> Vec<&FnEntry> {
        let Some(all) = self.fns.get(name) else {
            return Vec::new();
        };
        let aliased = owner.and_then(|o| self.aliases.get(o)).map(String::as_str);
        let mut v: Vec<&FnEntry> = match owner {
            Some(o) => all
                .iter()
                .filter(|e| {
                    let ow = e.owner.as_deref();
                    ow == Some(o) || e.trait_.as_deref() == Some(o) || ow.is_some() && ow == aliased
                })
                .collect(),
            None => all.iter().filter(|e| e.owner.is_none()).collect(),
        };
        // The declaration itself (a trait's method, an inherent fn) and documented ones first.
        v.sort_by_key(|e| {
            let ow = e.owner.as_deref();
            (ow != owner && ow != aliased, e.safety.is_none())
        });
        v
    }

    /// The documented type or trait `name`, preferring one with the section asked for.
    pub fn type_with(&self, name: &str, invariants: bool) -> Option<&TypeEntry> {
        self.types.get(name)?.iter().find(|t| {
            if invariants {
                t.invariants.is_some()
            } else {
                t.safety.is_some()
            }
        })
    }
}
