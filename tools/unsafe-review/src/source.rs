// SPDX-License-Identifier: GPL-2.0

//! A lexed source text with its bracket structure: which group each token is in, what kind of
//! group (function body, impl, macro, unsafe block, ...), where a statement starts, and the
//! documentation and comments in front of a token.

use crate::lex::{self, Comment, CommentStyle, Kind, Token};

/// No such token.
pub const NONE: usize = usize::MAX;

/// What a `{`/`(`/`[` group is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Group {
    /// The body of `fn NAME`.
    Fn(String),
    /// The body of an `impl`: self type (last path segment), trait (last segment), and the
    /// header as written (`impl<T: Driver> Send for Registration<T>`).
    Impl {
        ty: String,
        trait_: Option<String>,
        header: String,
    },
    Trait(String),
    Mod(String),
    /// The body of `macro_rules! NAME`.
    MacroRules(String),
    /// The arguments of a macro invocation `NAME!(..)`, `NAME![..]`, `NAME! {..}`.
    MacroCall(String),
    UnsafeBlock,
    ExternBlock,
    /// The fields of a `struct`, `enum` or `union`.
    Fields(String),
    Other,
}

/// Where a token is: the enclosing items and macros, innermost first where it matters.
#[derive(Clone, Debug, Default)]
pub struct Ctx {
    pub fn_name: Option<String>,
    pub impl_ty: Option<String>,
    pub impl_trait: Option<String>,
    pub trait_name: Option<String>,
    pub macro_rules: Option<String>,
    pub macro_call: Option<String>,
    pub in_extern_block: bool,
}

impl Ctx {
    /// `Type::method`, `Trait::method`, `function`, `impl Trait for Type`, or empty.
    pub fn label(&self) -> String {
        let owner = self.impl_ty.as_ref().or(self.trait_name.as_ref());
        match (owner, &self.fn_name) {
            (Some(o), Some(f)) => format!("{o}::{f}"),
            (None, Some(f)) => f.clone(),
            (Some(o), None) => match &self.impl_trait {
                Some(t) => format!("impl {t} for {o}"),
                None => o.clone(),
            },
            (None, None) => String::new(),
        }
    }
}

/// A documentation line and the source line it is on.
#[derive(Clone, Debug)]
pub struct DocLine {
    pub line: usize,
    pub text: String,
}

/// A `# Safety` or `# Invariants` section of an item's documentation.
#[derive(Clone, Debug)]
pub struct Section {
    /// `Safety` or `Invariants`.
    pub name: String,
    /// Line of the heading.
    pub line: usize,
    /// Last line of the section.
    pub end_line: usize,
    /// The section's text, blank lines at either end dropped.
    pub text: Vec<String>,
}

/// Finds the `# NAME` section in documentation lines.
pub fn doc_section(doc: &[DocLine], name: &str) -> Option<Section> {
    let mut in_fence = false;
    let mut start = None;
    let mut body: Vec<&DocLine> = Vec::new();
    for d in doc {
        let t = d.text.trim();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
        }
        let heading = !in_fence && t.starts_with('#') && {
            let h = t.trim_start_matches('#');
            h.starts_with(' ') || h.is_empty()
        };
        if heading {
            if start.is_some() {
                break;
            }
            if t.trim_start_matches('#').trim().eq_ignore_ascii_case(name) {
                start = Some(d.line);
            }
            continue;
        }
        if start.is_some() {
            body.push(d);
        }
    }
    let line = start?;
    while body.first().is_some_and(|d| d.text.trim().is_empty()) {
        body.remove(0);
    }
    while body.last().is_some_and(|d| d.text.trim().is_empty()) {
        body.pop();
    }
    Some(Section {
        name: name.to_string(),
        line,
        end_line: body.last().map_or(line, |d| d.line),
        text: body.iter().map(|d| d.text.clone()).collect(),
    })
}

/// A lexed text with its structure.
pub struct Source {
    pub toks: Vec<Token>,
    pub comments: Vec<Comment>,
    /// For an opening or closing bracket: its partner, or [`NONE`].
    pub mate: Vec<usize>,
    /// The innermost open bracket around each token, or [`NONE`].
    pub parent: Vec<usize>,
    /// For each opening bracket: what the group is.
    groups: Vec<Option<Group>>,
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "yield", "union",
];

pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

impl Source {
    pub fn new(text: &str) -> Self {
        let lexed = lex::lex(text);
        let toks = lexed.tokens;
        let n = toks.len();
        let mut mate = vec![NONE; n];
        let mut parent = vec![NONE; n];
        let mut stack: Vec<usize> = Vec::new();
        for (i, t) in toks.iter().enumerate() {
            match t.kind {
                Kind::Open => {
                    parent[i] = stack.last().copied().unwrap_or(NONE);
                    stack.push(i);
                }
                Kind::Close => {
                    let want = match t.text.as_str() {
                        ")" => "(",
                        "]" => "[",
                        _ => "{",
                    };
                    if let Some(pos) = stack.iter().rposition(|&o| toks[o].text == want) {
                        // Brackets left open inside the group stay unmatched.
                        let o = stack[pos];
                        stack.truncate(pos);
                        mate[o] = i;
                        mate[i] = o;
                    }
                    parent[i] = stack.last().copied().unwrap_or(NONE);
                }
                _ => parent[i] = stack.last().copied().unwrap_or(NONE),
            }
        }
        let mut src = Source {
            toks,
            comments: lexed.comments,
            mate,
            parent,
            groups: Vec::new(),
        };
        src.groups = (0..n)
            .map(|i| (src.toks[i].kind == Kind::Open).then(|| src.classify(i)))
            .collect();
        src
    }

    pub fn tok(&self, i: usize) -> Option<&Token> {
        self.toks.get(i)
    }

    pub fn is_ident(&self, i: usize, s: &str) -> bool {
        self.tok(i).is_some_and(|t| t.is_ident(s))
    }

    pub fn is_punct(&self, i: usize, c: char) -> bool {
        self.tok(i).is_some_and(|t| t.is_punct(c))
    }

    pub fn is_open(&self, i: usize, s: &str) -> bool {
        self.tok(i)
            .is_some_and(|t| t.kind == Kind::Open && t.text == s)
    }

    /// `::` at `i` (two joint colons).
    pub fn is_path_sep(&self, i: usize) -> bool {
        self.is_punct(i, ':') && self.toks[i].joint && self.is_punct(i + 1, ':')
    }

    pub fn group(&self, open: usize) -> Option<&Group> {
        self.groups.get(open).and_then(|g| g.as_ref())
    }

    /// The last token of the group opened at `open` (its closing bracket, or the last token
    /// of the text when it is never closed).
    pub fn group_end(&self, open: usize) -> usize {
        match self.mate.get(open) {
            Some(&m) if m != NONE => m,
            _ => self.toks.len().saturating_sub(1),
        }
    }

    /// The source text of tokens `a..=b`, each run of whitespace and comments made one space.
    pub fn display(&self, a: usize, b: usize) -> String {
        let mut s = String::new();
        let b = b.min(self.toks.len().saturating_sub(1));
        for i in a..=b {
            let Some(t) = self.toks.get(i) else { break };
            let prev = (i > a).then(|| &self.toks[i - 1]);
            let tight = prev.is_some_and(|p| p.kind == Kind::Open)
                || t.kind == Kind::Close
                || t.is_punct(',');
            if prev.is_some_and(|p| t.offset > p.end) && !tight {
                s.push(' ');
            }
            s.push_str(&t.text);
        }
        s
    }

    /// Walks back from `i` (exclusive) over tokens of the same group, jumping over bracketed
    /// groups, to the token that ends the previous statement or item (`;`, `}`, `,` or the
    /// group's opening bracket). With `cross`, leaves `(..)` and `[..]` groups outwards, so the
    /// statement found is the one the expression at `i` is part of. Returns [`NONE`] at the
    /// start of the text.
    pub fn boundary_before(&self, i: usize, cross: bool) -> usize {
        self.boundary_before_ext(i, cross, true)
    }

    /// [`Source::boundary_before`], with `commas` telling whether a `,` ends a statement (not
    /// in an item header: `where A: X, B: Y {`).
    pub fn boundary_before_ext(&self, i: usize, cross: bool, commas: bool) -> usize {
        let mut level = self.parent.get(i).copied().unwrap_or(NONE);
        // Depth in generics (`Result<(), (A, B)>`, `impl<A, B>`), walking backwards: their
        // commas are not boundaries.
        let mut angle = 0i32;
        let mut j = i;
        while j > 0 {
            j -= 1;
            let t = &self.toks[j];
            if t.is_punct('>') {
                let arrow = j > 0
                    && (self.is_punct(j - 1, '-') || self.is_punct(j - 1, '='))
                    && self.toks[j - 1].joint;
                let cmp = t.joint && self.is_punct(j + 1, '=');
                if !arrow && !cmp {
                    angle += 1;
                }
                continue;
            }
            if t.is_punct('<') {
                angle = (angle - 1).max(0);
                continue;
            }
            match t.kind {
                // `let Foo { a, b } = ..`: a pattern, not the end of a statement.
                Kind::Close
                    if t.text == "}"
                        && self.mate[j] != NONE
                        && (self.is_punct(j + 1, '=') && !self.is_punct(j + 2, '=')
                            || self.is_punct(j + 1, ':') && !self.is_punct(j + 2, ':')) =>
                {
                    j = self.mate[j];
                }
                Kind::Close if t.text == "}" => return j,
                Kind::Close => {
                    let m = self.mate[j];
                    if m == NONE {
                        return j;
                    }
                    j = m;
                }
                Kind::Open => {
                    if cross && t.text != "{" {
                        level = self.parent[j];
                        continue;
                    }
                    return j;
                }
                Kind::Punct if t.text == ";" => return j,
                Kind::Punct if t.text == "," => {
                    // Arguments of a call are one expression when crossing outwards.
                    let in_parens = level != NONE && self.toks[level].text != "{";
                    if commas && !(cross && in_parens) && angle == 0 {
                        return j;
                    }
                }
                _ => {}
            }
        }
        NONE
    }

    /// Byte offset just past the boundary token (0 for [`NONE`]).
    pub fn after(&self, b: usize) -> usize {
        if b == NONE {
            0
        } else {
            self.toks[b].end
        }
    }

    /// What kind of group the bracket at `open` opens.
    fn classify(&self, open: usize) -> Group {
        let is_brace = self.toks[open].text == "{";
        if open >= 1 && self.is_ident(open - 1, "unsafe") && is_brace {
            return Group::UnsafeBlock;
        }
        if open >= 3
            && self.is_punct(open - 2, '!')
            && self.is_ident(open - 3, "macro_rules")
            && self.toks[open - 1].kind == Kind::Ident
        {
            return Group::MacroRules(self.toks[open - 1].text.clone());
        }
        if open >= 2 && self.is_punct(open - 1, '!') && self.toks[open - 2].kind == Kind::Ident {
            return Group::MacroCall(self.toks[open - 2].text.clone());
        }
        if !is_brace {
            return Group::Other;
        }
        let b = self.boundary_before_ext(open, false, false);
        let hs = if b == NONE { 0 } else { b + 1 };
        let mut k = hs;
        while k < open {
            let t = &self.toks[k];
            if t.kind == Kind::Open {
                k = self.mate[k].max(k) + 1;
                continue;
            }
            if t.kind == Kind::Ident {
                let next_name = || {
                    self.tok(k + 1)
                        .filter(|n| n.kind == Kind::Ident)
                        .map(|n| n.text.clone())
                };
                match t.text.as_str() {
                    "fn" => {
                        if let Some(n) = next_name() {
                            return Group::Fn(n);
                        }
                    }
                    "impl" => return self.impl_group(k, open),
                    "trait" => return Group::Trait(next_name().unwrap_or_default()),
                    "mod" => return Group::Mod(next_name().unwrap_or_default()),
                    "struct" | "enum" | "union" => {
                        if let Some(n) = next_name() {
                            return Group::Fields(n);
                        }
                    }
                    "extern" => {
                        let mut e = k + 1;
                        if self.tok(e).is_some_and(|x| x.kind == Kind::Literal) {
                            e += 1;
                        }
                        if e == open {
                            return Group::ExternBlock;
                        }
                    }
                    // An expression statement such as `let x = ..` or `match`: its braces are
                    // not an item's.
                    "let" | "match" | "if" | "while" | "for" | "loop" | "return" => {
                        return Group::Other
                    }
                    _ => {}
                }
            }
            k += 1;
        }
        Group::Other
    }

    /// Parses `impl<..> Trait for Type<..> where .. {` starting at the `impl` token `k`.
    fn impl_group(&self, k: usize, open: usize) -> Group {
        let mut i = k + 1;
        // Generics of the impl.
        if self.is_punct(i, '<') {
            i = self.skip_angles(i, open);
        }
        let header = self.display(k, open.saturating_sub(1));
        let mut first: Vec<usize> = Vec::new();
        let mut second: Vec<usize> = Vec::new();
        let mut seen_for = false;
        let mut depth = 0i32;
        while i < open {
            let t = &self.toks[i];
            if t.kind == Kind::Open {
                i = self.mate[i].max(i) + 1;
                continue;
            }
            if depth == 0 && t.is_ident("where") {
                break;
            }
            if t.is_punct('<') {
                depth += 1;
            } else if t.is_punct('>') && !(i > 0 && self.is_punct(i - 1, '-')) {
                depth -= 1;
            } else if depth == 0 && t.is_ident("for") {
                seen_for = true;
            } else if depth == 0 && t.kind == Kind::Ident {
                if seen_for {
                    second.push(i);
                } else {
                    first.push(i);
                }
            }
            i += 1;
        }
        let last = |v: &[usize]| {
            v.iter()
                .rev()
                .map(|&x| self.toks[x].text.clone())
                .find(|s| !matches!(s.as_str(), "dyn" | "mut" | "const" | "unsafe"))
                .unwrap_or_default()
        };
        if seen_for {
            Group::Impl {
                ty: last(&second),
                trait_: Some(last(&first)),
                header,
            }
        } else {
            Group::Impl {
                ty: last(&first),
                trait_: None,
                header,
            }
        }
    }

    /// From a `<` at `i`, the index after its matching `>` (not past `limit`).
    pub fn skip_angles(&self, i: usize, limit: usize) -> usize {
        let mut depth = 0i32;
        let mut j = i;
        while j < limit {
            let t = &self.toks[j];
            if t.kind == Kind::Open {
                j = self.mate[j].max(j) + 1;
                continue;
            }
            if t.is_punct('<') {
                depth += 1;
            } else if t.is_punct('>') && !(j > 0 && self.is_punct(j - 1, '-')) {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            j += 1;
        }
        limit
    }

    /// The enclosing items and macros of token `i`.
    pub fn ctx(&self, i: usize) -> Ctx {
        let mut c = Ctx::default();
        let mut p = self.parent.get(i).copied().unwrap_or(NONE);
        while p != NONE {
            match self.group(p) {
                Some(Group::Fn(n)) if c.fn_name.is_none() && c.impl_ty.is_none() => {
                    c.fn_name = Some(n.clone())
                }
                Some(Group::Impl { ty, trait_, .. }) if c.impl_ty.is_none() => {
                    c.impl_ty = Some(ty.clone());
                    c.impl_trait = trait_.clone();
                }
                Some(Group::Trait(n)) if c.trait_name.is_none() && c.impl_ty.is_none() => {
                    c.trait_name = Some(n.clone())
                }
                Some(Group::MacroRules(n)) if c.macro_rules.is_none() => {
                    c.macro_rules = Some(n.clone())
                }
                Some(Group::MacroCall(n)) if c.macro_call.is_none() => {
                    c.macro_call = Some(n.clone())
                }
                Some(Group::ExternBlock) => c.in_extern_block = true,
                _ => {}
            }
            p = self.parent[p];
        }
        c
    }

    /// Whether token `i` is inside a group of kind `pred`.
    pub fn inside(&self, i: usize, pred: impl Fn(&Group) -> bool) -> bool {
        let mut p = self.parent.get(i).copied().unwrap_or(NONE);
        while p != NONE {
            if self.group(p).is_some_and(&pred) {
                return true;
            }
            p = self.parent[p];
        }
        false
    }

    /// Comments between byte offsets `a` and `b`.
    pub fn comments_between(&self, a: usize, b: usize) -> impl Iterator<Item = &Comment> {
        self.comments
            .iter()
            .filter(move |c| c.offset >= a && c.end <= b)
    }

    /// The outer documentation of the item whose first keyword (after attributes and
    /// qualifiers) is token `k`.
    pub fn docs_before(&self, k: usize) -> Vec<DocLine> {
        let b = self.boundary_before(k, false);
        let (a, z) = (self.after(b), self.toks.get(k).map_or(0, |t| t.offset));
        let mut out = Vec::new();
        for c in self.comments_between(a, z) {
            if c.style != CommentStyle::OuterDoc {
                continue;
            }
            for (n, l) in c.body_lines().into_iter().enumerate() {
                out.push(DocLine {
                    line: c.line + n,
                    text: l,
                });
            }
        }
        out
    }

    /// Line of the first token of the item or statement that ends just before `k`'s boundary:
    /// the first token after the boundary, skipping nothing.
    pub fn start_line_after(&self, b: usize) -> Option<usize> {
        let i = if b == NONE { 0 } else { b + 1 };
        self.tok(i).map(|t| t.line)
    }
}

/// Splits a comment's lines into text, for the justification finder.
pub fn plain_comment_lines(c: &Comment) -> Vec<DocLine> {
    c.body_lines()
        .into_iter()
        .enumerate()
        .map(|(n, text)| DocLine {
            line: c.line + n,
            text,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_ctx() {
        let s = Source::new(
            "impl<T: Driver> Send for Registration<T> { fn new() -> Self { foo(unsafe { x }) } }\n\
             macro_rules! m { () => { unsafe { y } } }",
        );
        let u = s.toks.iter().position(|t| t.is("unsafe")).unwrap_or(0);
        let c = s.ctx(u);
        assert_eq!(c.label(), "Registration::new");
        assert_eq!(c.impl_trait.as_deref(), Some("Send"));
        let b = s.boundary_before(u, true);
        assert!(s.toks[b].is("{"));
        let u2 = s.toks.iter().rposition(|t| t.is("unsafe")).unwrap_or(0);
        assert_eq!(s.ctx(u2).macro_rules.as_deref(), Some("m"));
    }

    #[test]
    fn sections() {
        let doc: Vec<DocLine> = [
            "Does x.",
            "",
            "# Safety",
            "",
            "`p` is valid.",
            "```",
            "# hidden",
            "```",
            "# Invariants",
            "x",
        ]
        .iter()
        .enumerate()
        .map(|(i, t)| DocLine {
            line: i + 1,
            text: t.to_string(),
        })
        .collect();
        let s = doc_section(&doc, "Safety").expect("section");
        assert_eq!(s.line, 3);
        assert_eq!(s.end_line, 8);
        assert_eq!(s.text[0], "`p` is valid.");
        assert_eq!(
            doc_section(&doc, "Invariants").map(|s| s.text),
            Some(vec!["x".into()])
        );
    }
}
