// SPDX-License-Identifier: GPL-2.0

//! A minimal JSON writer (no dependency needed for output only).

/// A JSON value.
pub enum J {
    Null,
    Bool(bool),
    Num(i64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    pub fn str(s: impl Into<String>) -> J {
        J::Str(s.into())
    }

    pub fn num(n: usize) -> J {
        J::Num(i64::try_from(n).unwrap_or(i64::MAX))
    }

    pub fn opt_str(s: Option<impl Into<String>>) -> J {
        s.map_or(J::Null, |s| J::Str(s.into()))
    }

    pub fn strs(v: &[String]) -> J {
        J::Arr(v.iter().map(|s| J::Str(s.clone())).collect())
    }

    pub fn obj(fields: Vec<(&str, J)>) -> J {
        J::Obj(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    /// Pretty-printed text, two spaces per level.
    pub fn render(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, 0);
        s.push('\n');
        s
    }

    fn write(&self, out: &mut String, ind: usize) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => out.push_str(&n.to_string()),
            J::Str(s) => escape(s, out),
            J::Arr(v) if v.is_empty() => out.push_str("[]"),
            J::Obj(v) if v.is_empty() => out.push_str("{}"),
            J::Arr(v) => {
                out.push('[');
                for (n, x) in v.iter().enumerate() {
                    out.push_str(if n == 0 { "\n" } else { ",\n" });
                    out.push_str(&"  ".repeat(ind + 1));
                    x.write(out, ind + 1);
                }
                out.push('\n');
                out.push_str(&"  ".repeat(ind));
                out.push(']');
            }
            J::Obj(v) => {
                out.push('{');
                for (n, (k, x)) in v.iter().enumerate() {
                    out.push_str(if n == 0 { "\n" } else { ",\n" });
                    out.push_str(&"  ".repeat(ind + 1));
                    escape(k, out);
                    out.push_str(": ");
                    x.write(out, ind + 1);
                }
                out.push('\n');
                out.push_str(&"  ".repeat(ind));
                out.push('}');
            }
        }
    }
}

fn escape(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders() {
        let j = J::obj(vec![
            ("a", J::str("x\"\n")),
            ("b", J::Arr(vec![J::num(1), J::Null])),
        ]);
        assert_eq!(
            j.render(),
            "{\n  \"a\": \"x\\\"\\n\",\n  \"b\": [\n    1,\n    null\n  ]\n}\n"
        );
    }
}
