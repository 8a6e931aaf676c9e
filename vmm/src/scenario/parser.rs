//! Parsing scenario files into statements (grammar in docs/scenarios.md).

use super::lexer::{lex, Tok, Token};
use super::ScenarioError;

/// A binary operator.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Or,
    And,
    Shl,
    Shr,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Num(u64),
    /// A name (binding or constant) and where it was written.
    Name(String, u32, u32),
    Str(String),
    Bin(BinOp, Box<Expr>, Box<Expr>),
}

/// What a statement expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The result (or the byte read) equals this.
    Value(Expr),
    /// The call fails with this errno.
    Errno(u16),
    /// The access faults with this signal and si_code.
    Signal(u8, u8),
    /// The call succeeds (any non-error result).
    Ok,
}

/// One statement: `[name =] call(args) [= expect]`, or `fork { ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt {
    pub line: u32,
    pub col: u32,
    pub bind: Option<String>,
    pub call: String,
    pub args: Vec<Expr>,
    pub expect: Option<Expect>,
    pub block: Option<Vec<Stmt>>,
}

/// A parsed file.
#[derive(Clone, Debug)]
pub struct Ast {
    pub file: String,
    pub backings: Vec<String>,
    pub stmts: Vec<Stmt>,
}

/// The signals a scenario may expect: the synchronous ones the runner's
/// probes catch. Names and numbers are linux-abi's.
const FAULT_SIGNALS: [linux_abi::Signal; 5] = [
    linux_abi::Signal::SIGSEGV,
    linux_abi::Signal::SIGBUS,
    linux_abi::Signal::SIGILL,
    linux_abi::Signal::SIGTRAP,
    linux_abi::Signal::SIGFPE,
];

/// The si_code of signal `sig` named `name` (a code of that signal, or SI_KERNEL).
fn si_code(sig: linux_abi::Signal, name: &str) -> Option<u8> {
    (1..=8u8).chain([0x80]).find(|c| linux_abi::signal::si::name(sig.number(), *c as i32) == Some(name))
}

struct P<'a> {
    file: &'a str,
    toks: &'a [Token],
    i: usize,
}

impl<'a> P<'a> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i.min(self.toks.len() - 1)].tok
    }
    fn tok(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }
    fn err(&self, m: impl Into<String>) -> ScenarioError {
        let t = self.tok();
        ScenarioError::at(self.file, t.line, t.col, m.into())
    }
    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == t {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, t: Tok, what: &str) -> Result<(), ScenarioError> {
        if self.eat(&t) {
            Ok(())
        } else {
            Err(self.err(format!("expected {what}, found {}", describe(self.peek()))))
        }
    }

    fn expr(&mut self) -> Result<Expr, ScenarioError> {
        self.binary(0)
    }

    /// Precedence climbing: | < & < << >> < + - < * /.
    fn binary(&mut self, level: u8) -> Result<Expr, ScenarioError> {
        const LEVELS: [&[(Tok, BinOp)]; 4] = [
            &[(Tok::Pipe, BinOp::Or)],
            &[(Tok::Amp, BinOp::And)],
            &[(Tok::Shl, BinOp::Shl), (Tok::Shr, BinOp::Shr), (Tok::Plus, BinOp::Add), (Tok::Minus, BinOp::Sub)],
            &[(Tok::Star, BinOp::Mul), (Tok::Slash, BinOp::Div)],
        ];
        if level as usize == LEVELS.len() {
            return self.atom();
        }
        let mut lhs = self.binary(level + 1)?;
        'outer: loop {
            for (t, op) in LEVELS[level as usize] {
                if self.eat(t) {
                    let rhs = self.binary(level + 1)?;
                    lhs = Expr::Bin(*op, Box::new(lhs), Box::new(rhs));
                    continue 'outer;
                }
            }
            return Ok(lhs);
        }
    }

    fn atom(&mut self) -> Result<Expr, ScenarioError> {
        let t = self.tok().clone();
        match t.tok {
            Tok::Num(v) => {
                self.i += 1;
                Ok(Expr::Num(v))
            }
            Tok::Str(s) => {
                self.i += 1;
                Ok(Expr::Str(s))
            }
            Tok::Ident(n) => {
                self.i += 1;
                Ok(Expr::Name(n, t.line, t.col))
            }
            Tok::Minus => {
                self.i += 1;
                let e = self.atom()?;
                Ok(Expr::Bin(BinOp::Sub, Box::new(Expr::Num(0)), Box::new(e)))
            }
            Tok::LParen => {
                self.i += 1;
                let e = self.expr()?;
                self.expect(Tok::RParen, "')'")?;
                Ok(e)
            }
            other => Err(self.err(format!("expected a value, found {}", describe(&other)))),
        }
    }

    fn expectation(&mut self) -> Result<Expect, ScenarioError> {
        if let Tok::Ident(name) = self.peek().clone() {
            if let Some(e) = linux_abi::Errno::from_name(&name).filter(|e| !e.is_internal()) {
                self.i += 1;
                return Ok(Expect::Errno(e.code() as u16));
            }
            if name == "ok" {
                self.i += 1;
                return Ok(Expect::Ok);
            }
            if let Some(sig) = FAULT_SIGNALS.iter().copied().find(|s| s.name() == name) {
                self.i += 1;
                self.expect(Tok::Slash, "'/' and an si_code after the signal")?;
                let Tok::Ident(code) = self.peek().clone() else { return Err(self.err("expected an si_code such as SEGV_MAPERR")) };
                let Some(c) = si_code(sig, &code) else {
                    let known = FAULT_SIGNALS.iter().any(|s| si_code(*s, &code).is_some());
                    return Err(self.err(if known {
                        format!("{code} is not a code of {name}")
                    } else {
                        format!("unknown si_code '{code}'")
                    }));
                };
                self.i += 1;
                return Ok(Expect::Signal(sig.number(), c));
            }
        }
        Ok(Expect::Value(self.expr()?))
    }

    /// One statement up to the end of its line; `{` opens a block.
    fn stmt(&mut self) -> Result<Stmt, ScenarioError> {
        let start = self.tok().clone();
        let Tok::Ident(first) = start.tok.clone() else {
            return Err(self.err(format!("expected an operation, found {}", describe(&start.tok))));
        };
        self.i += 1;
        let (bind, call, call_tok) = if self.eat(&Tok::Eq) {
            let t = self.tok().clone();
            let Tok::Ident(c) = t.tok.clone() else { return Err(self.err("expected an operation after '='")) };
            self.i += 1;
            (Some(first), c, t)
        } else {
            (None, first, start.clone())
        };
        let mut args = Vec::new();
        // `repeat N { ... }`: the count may be written without parentheses.
        if call == "repeat" && !matches!(self.peek(), Tok::LParen | Tok::LBrace | Tok::Newline | Tok::Eq) {
            args.push(self.expr()?);
        } else if self.eat(&Tok::LParen) && !self.eat(&Tok::RParen) {
            loop {
                args.push(self.expr()?);
                if self.eat(&Tok::RParen) {
                    break;
                }
                self.expect(Tok::Comma, "',' or ')'")?;
            }
        }
        let expect = if self.eat(&Tok::Eq) { Some(self.expectation()?) } else { None };
        let block = if self.eat(&Tok::LBrace) {
            self.expect(Tok::Newline, "the end of the line after '{'")?;
            let mut body = Vec::new();
            loop {
                // peek() stays on the last token at the end: test the end first.
                if self.i >= self.toks.len() {
                    return Err(ScenarioError::at(self.file, call_tok.line, call_tok.col, "this block is never closed with '}'".into()));
                }
                match self.peek() {
                    Tok::Newline => {
                        self.i += 1;
                    }
                    Tok::RBrace => {
                        self.i += 1;
                        break;
                    }
                    _ => body.push(self.stmt()?),
                }
            }
            Some(body)
        } else {
            None
        };
        if !matches!(self.peek(), Tok::Newline) {
            return Err(self.err(format!("unexpected {} after the statement", describe(self.peek()))));
        }
        self.i += 1;
        Ok(Stmt { line: call_tok.line, col: call_tok.col, bind, call, args, expect, block })
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("'{s}'"),
        Tok::Num(n) => format!("number {n}"),
        Tok::Str(s) => format!("string \"{s}\""),
        Tok::Newline => "end of line".into(),
        other => format!("{other:?}"),
    }
}

/// Parses a scenario file.
pub fn parse(file: &str, src: &str) -> Result<Ast, ScenarioError> {
    let toks = lex(file, src)?;
    let mut p = P { file, toks: &toks, i: 0 };
    let mut backings = Vec::new();
    let mut stmts = Vec::new();
    while p.i < toks.len() {
        match p.peek().clone() {
            Tok::Newline => p.i += 1,
            Tok::RBrace => return Err(p.err("'}' without an open block")),
            Tok::Ident(w) if w == "backing" && stmts.is_empty() && matches!(toks.get(p.i + 1).map(|t| &t.tok), Some(Tok::Ident(_))) => {
                p.i += 1;
                while let Tok::Ident(b) = p.peek().clone() {
                    if !matches!(b.as_str(), "anon" | "shmem" | "file") {
                        return Err(p.err(format!("unknown backing '{b}' (anon, shmem or file)")));
                    }
                    backings.push(b);
                    p.i += 1;
                }
                p.expect(Tok::Newline, "the end of the backing line")?;
            }
            _ => stmts.push(p.stmt()?),
        }
    }
    Ok(Ast { file: file.to_string(), backings, stmts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_bindings_expectations_and_blocks() {
        let src = "backing anon shmem\na = map(4*PAGE, PROT_READ|PROT_WRITE)\nread(a + 3*PAGE) = SIGSEGV/SEGV_MAPERR\nmadvise(a, PAGE, 9999) = EINVAL\nfork {\n  write(a, 1)\n}\nmaps\n";
        let ast = parse("t", src).unwrap();
        assert_eq!(ast.backings, vec!["anon", "shmem"]);
        assert_eq!(ast.stmts.len(), 5);
        assert_eq!(ast.stmts[0].bind.as_deref(), Some("a"));
        assert_eq!(ast.stmts[1].expect, Some(Expect::Signal(11, 1)));
        assert_eq!(ast.stmts[2].expect, Some(Expect::Errno(22)));
        assert_eq!(ast.stmts[3].block.as_ref().unwrap().len(), 1);
        assert_eq!(ast.stmts[4].call, "maps");
    }

    #[test]
    fn precedence_is_conventional() {
        let ast = parse("t", "x(1 + 2 * 3 | 8)\n").unwrap();
        let Expr::Bin(BinOp::Or, l, _) = &ast.stmts[0].args[0] else { panic!() };
        assert!(matches!(**l, Expr::Bin(BinOp::Add, _, _)));
    }

    #[test]
    fn malformed_files_report_line_and_column() {
        for (src, line, col) in
            [("read(a\n", 1, 7), ("fork {\n read(1)\n", 1, 1), ("}\n", 1, 1), ("a = \n", 1, 5), ("read(1) = SIGSEGV/BUS_ADRERR\n", 1, 19)]
        {
            let e = parse("bad.scn", src).unwrap_err();
            assert_eq!((e.line, e.col), (line, col), "{src:?}: {e}");
        }
    }
}
