//! Tokens of the scenario language, with positions for error messages.

use super::ScenarioError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    Ident(String),
    Num(u64),
    Str(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Eq,
    Plus,
    Minus,
    Star,
    Slash,
    Pipe,
    Amp,
    Shl,
    Shr,
    Newline,
}

/// A token and where it starts (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub line: u32,
    pub col: u32,
}

/// Splits `src` into tokens; comments (`#` to end of line) are dropped.
pub fn lex(file: &str, src: &str) -> Result<Vec<Token>, ScenarioError> {
    let mut out = Vec::new();
    for (ln, text) in src.lines().enumerate() {
        let line = ln as u32 + 1;
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let col = i as u32 + 1;
            let err = |m: String| ScenarioError::at(file, line, col, m);
            let mut push = |tok| out.push(Token { tok, line, col });
            match c {
                ' ' | '\t' | '\r' => {
                    i += 1;
                    continue;
                }
                '#' => break,
                '(' => push(Tok::LParen),
                ')' => push(Tok::RParen),
                '{' => push(Tok::LBrace),
                '}' => push(Tok::RBrace),
                ',' => push(Tok::Comma),
                '=' => push(Tok::Eq),
                '+' => push(Tok::Plus),
                '-' => push(Tok::Minus),
                '*' => push(Tok::Star),
                '/' => push(Tok::Slash),
                '|' => push(Tok::Pipe),
                '&' => push(Tok::Amp),
                '<' | '>' => {
                    if chars.get(i + 1) != Some(&c) {
                        return Err(err(format!("unexpected '{c}' (did you mean '{c}{c}'?)")));
                    }
                    push(if c == '<' { Tok::Shl } else { Tok::Shr });
                    i += 2;
                    continue;
                }
                '"' => {
                    let start = i + 1;
                    let Some(end) = chars[start..].iter().position(|c| *c == '"') else {
                        return Err(err("unterminated string".into()));
                    };
                    push(Tok::Str(chars[start..start + end].iter().collect()));
                    i = start + end + 1;
                    continue;
                }
                c if c.is_ascii_digit() => {
                    let start = i;
                    while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                        i += 1;
                    }
                    let word: String = chars[start..i].iter().filter(|c| **c != '_').collect();
                    let v = if let Some(h) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
                        u64::from_str_radix(h, 16)
                    } else {
                        word.parse()
                    };
                    let v = v.map_err(|_| err(format!("bad number '{word}'")))?;
                    push(Tok::Num(v));
                    continue;
                }
                c if c.is_ascii_alphabetic() || c == '_' => {
                    let start = i;
                    while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                        i += 1;
                    }
                    push(Tok::Ident(chars[start..i].iter().collect()));
                    continue;
                }
                other => return Err(err(format!("unexpected character '{other}'"))),
            }
            i += 1;
        }
        out.push(Token { tok: Tok::Newline, line, col: chars.len() as u32 + 1 });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_names_strings_and_operators() {
        let t = lex("f", "a = mmap(0, 2*PAGE, 0x3) # c\n<< \"x y\"").unwrap();
        let toks: Vec<Tok> = t.into_iter().map(|t| t.tok).collect();
        assert_eq!(toks[0], Tok::Ident("a".into()));
        assert!(toks.contains(&Tok::Num(0x3)));
        assert!(toks.contains(&Tok::Shl));
        assert!(toks.contains(&Tok::Str("x y".into())));
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = lex("t.scn", "ok\n  a = 12z\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 7));
        assert!(e.to_string().starts_with("t.scn:2:7:"));
        assert!(lex("t.scn", "a < b").is_err());
        assert!(lex("t.scn", "\"open").is_err());
    }
}
