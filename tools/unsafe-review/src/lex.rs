// SPDX-License-Identifier: GPL-2.0

//! A lossless, error-tolerant Rust lexer.
//!
//! Every byte of the input ends up in a token, a comment or whitespace; nothing makes it fail:
//! an unterminated string or comment runs to the end of the input, and an unknown character
//! becomes a punctuation token. Lines are 1-based, columns 0-based and counted in characters
//! (as `proc-macro2` counts them).

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An identifier or keyword (`r#` raw identifiers keep their prefix in the text).
    Ident,
    /// `'a`.
    Lifetime,
    /// A string, character, byte or number literal.
    Literal,
    /// One punctuation character; `joint` tells whether the next one follows without a gap.
    Punct,
    /// `(`, `[` or `{`.
    Open,
    /// `)`, `]` or `}`.
    Close,
}

/// A token and where it is.
#[derive(Clone, Debug)]
pub struct Token {
    pub kind: Kind,
    pub text: String,
    /// Byte offset of the first byte.
    pub offset: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    pub line: usize,
    pub col: usize,
    /// Punctuation immediately followed by more punctuation (`::`, `->`, `*=`).
    pub joint: bool,
}

impl Token {
    pub fn is(&self, text: &str) -> bool {
        self.text == text
    }

    pub fn is_ident(&self, text: &str) -> bool {
        self.kind == Kind::Ident && self.text == text
    }

    pub fn is_punct(&self, c: char) -> bool {
        self.kind == Kind::Punct && self.text.len() == 1 && self.text.starts_with(c)
    }
}

/// The style of a comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommentStyle {
    /// `// ...` or `/* ... */`.
    Plain,
    /// `/// ...` or `/** ... */`: documents the next item.
    OuterDoc,
    /// `//! ...` or `/*! ... */`: documents the enclosing item.
    InnerDoc,
}

/// A comment and where it is.
#[derive(Clone, Debug)]
pub struct Comment {
    pub style: CommentStyle,
    /// The whole comment, markers included.
    pub text: String,
    pub offset: usize,
    pub end: usize,
    pub line: usize,
    pub end_line: usize,
}

impl Comment {
    /// The comment's text without its markers, one entry per line.
    pub fn body_lines(&self) -> Vec<String> {
        let t = self.text.as_str();
        if let Some(rest) = t.strip_prefix("//") {
            let rest = rest
                .strip_prefix('/')
                .or_else(|| rest.strip_prefix('!'))
                .unwrap_or(rest);
            return vec![rest
                .strip_prefix(' ')
                .unwrap_or(rest)
                .trim_end()
                .to_string()];
        }
        let inner = t.strip_prefix("/*").unwrap_or(t);
        let inner = inner.strip_suffix("*/").unwrap_or(inner);
        let inner = inner
            .strip_prefix('*')
            .or_else(|| inner.strip_prefix('!'))
            .unwrap_or(inner);
        inner
            .lines()
            .map(|l| {
                let l = l.trim();
                let l = l.strip_prefix("* ").unwrap_or(l);
                let l = if l == "*" { "" } else { l };
                l.to_string()
            })
            .collect()
    }
}

/// The tokens and comments of a source text.
#[derive(Clone, Debug, Default)]
pub struct Lexed {
    pub tokens: Vec<Token>,
    pub comments: Vec<Comment>,
    /// Something did not end where it should (unterminated string or comment).
    pub errors: Vec<String>,
}

struct Cursor<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    col: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.col = 0;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn eat_while(&mut self, f: impl Fn(char) -> bool) {
        while let Some(c) = self.peek() {
            if !f(c) {
                break;
            }
            self.bump();
        }
    }

    fn starts_with(&self, s: &str) -> bool {
        self.src[self.pos..].starts_with(s)
    }
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Lexes `src`. Never fails.
pub fn lex(src: &str) -> Lexed {
    let mut out = Lexed::default();
    let mut c = Cursor {
        src,
        pos: 0,
        line: 1,
        col: 0,
    };
    while let Some(ch) = c.peek() {
        let (start, line, col) = (c.pos, c.line, c.col);
        if ch == '\n' {
            c.bump();
            continue;
        }
        if ch.is_whitespace() {
            c.bump();
            continue;
        }
        if c.starts_with("//") {
            c.eat_while(|x| x != '\n');
            let text = &src[start..c.pos];
            let style = if text.starts_with("///") && !text.starts_with("////") {
                CommentStyle::OuterDoc
            } else if text.starts_with("//!") {
                CommentStyle::InnerDoc
            } else {
                CommentStyle::Plain
            };
            out.comments.push(Comment {
                style,
                text: text.to_string(),
                offset: start,
                end: c.pos,
                line,
                end_line: line,
            });
            continue;
        }
        if c.starts_with("/*") {
            c.bump();
            c.bump();
            let mut depth = 1;
            while depth > 0 {
                if c.starts_with("/*") {
                    c.bump();
                    c.bump();
                    depth += 1;
                } else if c.starts_with("*/") {
                    c.bump();
                    c.bump();
                    depth -= 1;
                } else if c.bump().is_none() {
                    out.errors
                        .push(format!("line {line}: unterminated block comment"));
                    break;
                }
            }
            let text = &src[start..c.pos];
            let style = if text.starts_with("/**") && !text.starts_with("/***") && text != "/**/" {
                CommentStyle::OuterDoc
            } else if text.starts_with("/*!") {
                CommentStyle::InnerDoc
            } else {
                CommentStyle::Plain
            };
            out.comments.push(Comment {
                style,
                text: text.to_string(),
                offset: start,
                end: c.pos,
                line,
                end_line: c.line,
            });
            continue;
        }
        let kind = lex_token(&mut c, &mut out.errors);
        let end = c.pos;
        let joint = kind == Kind::Punct && c.peek().is_some_and(|n| n.is_ascii_punctuation());
        out.tokens.push(Token {
            kind,
            text: src[start..end].to_string(),
            offset: start,
            end,
            line,
            col,
            joint,
        });
    }
    out
}

/// Lexes one token at the cursor (not whitespace, not a comment) and says what it was.
fn lex_token(c: &mut Cursor<'_>, errors: &mut Vec<String>) -> Kind {
    let line = c.line;
    let ch = match c.peek() {
        Some(ch) => ch,
        None => return Kind::Punct,
    };
    // Raw strings and prefixed literals: r"..", r#".."#, b"..", br"..", c"..", cr#".."#, b'x'.
    let raw_prefix = |c: &Cursor<'_>| -> Option<usize> {
        for p in ["br", "cr", "r"] {
            if c.starts_with(p) {
                let rest = &c.src[c.pos + p.len()..];
                let hashes = rest.chars().take_while(|&x| x == '#').count();
                if rest[hashes..].starts_with('"') {
                    return Some(p.len());
                }
            }
        }
        None
    };
    if let Some(plen) = raw_prefix(c) {
        for _ in 0..plen {
            c.bump();
        }
        let mut hashes = 0;
        while c.peek() == Some('#') {
            c.bump();
            hashes += 1;
        }
        c.bump(); // opening quote
        let closing: String = std::iter::once('"')
            .chain(std::iter::repeat_n('#', hashes))
            .collect();
        loop {
            if c.starts_with(&closing) {
                for _ in 0..closing.chars().count() {
                    c.bump();
                }
                break;
            }
            if c.bump().is_none() {
                errors.push(format!("line {line}: unterminated raw string"));
                break;
            }
        }
        eat_suffix(c);
        return Kind::Literal;
    }
    if (ch == 'b' || ch == 'c') && c.peek_at(1) == Some('"') {
        c.bump();
        lex_quoted(c, '"', errors);
        return Kind::Literal;
    }
    if ch == 'b' && c.peek_at(1) == Some('\'') {
        c.bump();
        lex_quoted(c, '\'', errors);
        return Kind::Literal;
    }
    if ch == 'r' && c.peek_at(1) == Some('#') && c.peek_at(2).is_some_and(is_ident_start) {
        c.bump();
        c.bump();
        c.eat_while(is_ident_continue);
        return Kind::Ident;
    }
    if is_ident_start(ch) {
        c.eat_while(is_ident_continue);
        return Kind::Ident;
    }
    if ch.is_ascii_digit() {
        lex_number(c);
        return Kind::Literal;
    }
    if ch == '"' {
        lex_quoted(c, '"', errors);
        return Kind::Literal;
    }
    if ch == '\'' {
        // Character literal or lifetime/label.
        let n1 = c.peek_at(1);
        let n2 = c.peek_at(2);
        if n1 == Some('\\') || (n1.is_some() && n2 == Some('\'')) {
            lex_quoted(c, '\'', errors);
            return Kind::Literal;
        }
        if n1.is_some_and(is_ident_start) {
            c.bump();
            c.eat_while(is_ident_continue);
            return Kind::Lifetime;
        }
        c.bump();
        return Kind::Punct;
    }
    c.bump();
    match ch {
        '(' | '[' | '{' => Kind::Open,
        ')' | ']' | '}' => Kind::Close,
        _ => Kind::Punct,
    }
}

fn lex_quoted(c: &mut Cursor<'_>, quote: char, errors: &mut Vec<String>) {
    let line = c.line;
    c.bump();
    loop {
        match c.bump() {
            None => {
                errors.push(format!("line {line}: unterminated literal"));
                return;
            }
            Some('\\') => {
                c.bump();
            }
            Some(x) if x == quote => break,
            Some(_) => {}
        }
    }
    eat_suffix(c);
}

fn eat_suffix(c: &mut Cursor<'_>) {
    if c.peek().is_some_and(is_ident_start) {
        c.eat_while(is_ident_continue);
    }
}

fn lex_number(c: &mut Cursor<'_>) {
    let hex = c.starts_with("0x") || c.starts_with("0X");
    c.bump();
    loop {
        match c.peek() {
            Some(x) if x.is_ascii_alphanumeric() || x == '_' => {
                let exp = !hex && (x == 'e' || x == 'E');
                c.bump();
                if exp && matches!(c.peek(), Some('+') | Some('-')) {
                    c.bump();
                }
            }
            // `1.5` is a float; `1..2` is a range and `1.max(2)` a method call.
            Some('.')
                if !hex
                    && c.peek_at(1) != Some('.')
                    && !c.peek_at(1).is_some_and(is_ident_start) =>
            {
                c.bump();
            }
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<String> {
        lex(src).tokens.into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn literals_and_lifetimes() {
        assert_eq!(
            texts(r##"let x: &'a str = r#"unsafe { "#; 'c' b'x' 1..2 1.5e-3 x.0"##),
            vec![
                "let",
                "x",
                ":",
                "&",
                "'a",
                "str",
                "=",
                "r#\"unsafe { \"#",
                ";",
                "'c'",
                "b'x'",
                "1",
                ".",
                ".",
                "2",
                "1.5e-3",
                "x",
                ".",
                "0"
            ]
        );
    }

    #[test]
    fn comments() {
        let l = lex("a // SAFETY: x\n/// doc\n//! inner\n/* b /* nested */ */ c");
        assert_eq!(l.tokens.len(), 2);
        assert_eq!(l.comments.len(), 4);
        assert_eq!(l.comments[0].style, CommentStyle::Plain);
        assert_eq!(l.comments[1].style, CommentStyle::OuterDoc);
        assert_eq!(l.comments[2].style, CommentStyle::InnerDoc);
        assert_eq!(l.comments[0].body_lines(), vec!["SAFETY: x"]);
    }

    #[test]
    fn unterminated() {
        let l = lex("let s = \"abc\nunsafe {");
        assert_eq!(l.tokens.len(), 4);
        assert_eq!(l.errors.len(), 1);
    }
}
