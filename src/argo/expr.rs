//! Evaluator for Argo's `successCondition` / `failureCondition`: the subset of expr-lang
//! (github.com/expr-lang/expr, the language Argo's `utils/evaluate` uses) that conditions over
//! a JSON `result` need, plus Argo's `EvaluateResult` rules for turning two conditions into a
//! measurement phase. Anything outside the subset is an error naming the token and position,
//! so a condition never silently means something else than in Argo.
//!
//! Supported: literals (ints, floats, strings in '…' or "…", true/false, nil, `[a, b]`),
//! `result`, member access `a.b` / `a?.b`, index `a[0]` / `a["k"]` (negative index from the
//! end), `== != < <= > >=`, `&& || !` and `and or not`, `in`, `+ - * / %`, parentheses and
//! the functions `len`, `default`, `isNaN`, `isInf`, `asInt`, `asFloat`, `isNil`.
//! Difference from Argo: Argo's `default(x, d)` and `isNil(x)` ignore `x` and look at the whole
//! `result`; here they look at their argument (identical for the usual `default(result, 0)`).

use std::collections::BTreeMap;

use crate::stats::Verdict;

use super::types::Phase;

/// Why a condition could not be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExprError {
    /// The condition is not valid in the supported subset.
    #[error("syntax error at position {pos}: {msg}")]
    Syntax {
        /// 0-based character offset.
        pos: usize,
        /// What was found and what was expected.
        msg: String,
    },
    /// The condition is valid but failed when applied to `result`.
    #[error("{0}")]
    Runtime(String),
}

/// A runtime value: JSON values plus expr's distinction of int and float.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// `nil` / JSON null / a missing map key.
    Nil,
    /// Boolean.
    Bool(bool),
    /// Integer literal or `asInt` result.
    Int(i64),
    /// Float (every JSON number decodes to float64 in Argo).
    Float(f64),
    /// String.
    Str(String),
    /// Array.
    Array(Vec<Val>),
    /// Object.
    Map(BTreeMap<String, Val>),
}

impl Val {
    /// Converts JSON the way Go's `json.Unmarshal` into `any` does (numbers become float64).
    pub fn from_json(v: &serde_json::Value) -> Val {
        match v {
            serde_json::Value::Null => Val::Nil,
            serde_json::Value::Bool(b) => Val::Bool(*b),
            serde_json::Value::Number(n) => Val::Float(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Val::Str(s.clone()),
            serde_json::Value::Array(a) => Val::Array(a.iter().map(Val::from_json).collect()),
            serde_json::Value::Object(o) => Val::Map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Val::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Go type names, as expr's error messages use them.
    fn type_name(&self) -> &'static str {
        match self {
            Val::Nil => "nil",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Float(_) => "float64",
            Val::Str(_) => "string",
            Val::Array(_) => "[]interface {}",
            Val::Map(_) => "map[string]interface {}",
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(f) => Some(*f),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(i64),
    Float(f64),
    Str(String),
    Ident(String),
    Op(&'static str),
    Eof,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Int(i) => format!("number {i}"),
        Tok::Float(f) => format!("number {f}"),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Op(o) => format!("`{o}`"),
        Tok::Eof => "end of condition".to_string(),
    }
}

const OPERATORS: [&str; 22] = [
    "==", "!=", "<=", ">=", "&&", "||", "?.", "<", ">", "!", "+", "-", "*", "/", "%", "(", ")",
    "[", "]", ".", ",", "?",
];

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '_') {
                i += 1;
            }
            let mut is_float = false;
            if i < chars.len()
                && chars[i] == '.'
                && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())
            {
                is_float = true;
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    is_float = true;
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text: String = chars[start..i].iter().filter(|c| **c != '_').collect();
            let tok = if is_float {
                text.parse::<f64>().map(Tok::Float).ok()
            } else {
                text.parse::<i64>().map(Tok::Int).ok()
            };
            match tok {
                Some(t) => out.push((t, start)),
                None => {
                    return Err(ExprError::Syntax {
                        pos: start,
                        msg: format!("invalid number `{text}`"),
                    });
                }
            }
            continue;
        }
        if c == '\'' || c == '"' {
            let quote = c;
            i += 1;
            let mut s = String::new();
            loop {
                let Some(&ch) = chars.get(i) else {
                    return Err(ExprError::Syntax {
                        pos: start,
                        msg: "unterminated string literal".to_string(),
                    });
                };
                i += 1;
                if ch == quote {
                    break;
                }
                if ch == '\\' {
                    let Some(&esc) = chars.get(i) else {
                        return Err(ExprError::Syntax {
                            pos: start,
                            msg: "unterminated string literal".to_string(),
                        });
                    };
                    i += 1;
                    s.push(match esc {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '\\' => '\\',
                        '\'' => '\'',
                        '"' => '"',
                        other => {
                            return Err(ExprError::Syntax {
                                pos: i - 2,
                                msg: format!("unsupported escape `\\{other}`"),
                            });
                        }
                    });
                } else {
                    s.push(ch);
                }
            }
            out.push((Tok::Str(s), start));
            continue;
        }
        if c.is_alphabetic() || c == '_' || c == '$' {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), start));
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        match OPERATORS.iter().find(|op| rest.starts_with(**op)) {
            Some(op) => {
                out.push((Tok::Op(op), start));
                i += op.chars().count();
            }
            None => {
                return Err(ExprError::Syntax {
                    pos: start,
                    msg: format!("unexpected character `{c}`"),
                });
            }
        }
    }
    out.push((Tok::Eof, chars.len()));
    Ok(out)
}

/// Parsed condition.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Lit(Val),
    Result,
    Array(Vec<Node>),
    Member {
        target: Box<Node>,
        name: String,
        optional: bool,
    },
    Index {
        target: Box<Node>,
        index: Box<Node>,
    },
    Unary {
        op: &'static str,
        operand: Box<Node>,
    },
    Binary {
        op: &'static str,
        left: Box<Node>,
        right: Box<Node>,
    },
    Call {
        func: String,
        args: Vec<Node>,
        pos: usize,
    },
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
    depth: usize,
}

/// Binary operator and its precedence, as expr-lang's parser orders them.
fn binary_op(t: &Tok) -> Option<(&'static str, u8)> {
    Some(match t {
        Tok::Op("||") => ("||", 10),
        Tok::Ident(s) if s == "or" => ("||", 10),
        Tok::Op("&&") => ("&&", 15),
        Tok::Ident(s) if s == "and" => ("&&", 15),
        Tok::Op(o @ ("==" | "!=" | "<" | ">" | "<=" | ">=")) => (o, 20),
        Tok::Ident(s) if s == "in" => ("in", 20),
        Tok::Op(o @ ("+" | "-")) => (o, 30),
        Tok::Op(o @ ("*" | "/" | "%")) => (o, 60),
        _ => return None,
    })
}

const FUNCTIONS: [&str; 7] = [
    "len", "default", "isNaN", "isInf", "asInt", "asFloat", "isNil",
];

impl Parser {
    fn peek(&self) -> &Tok {
        self.toks.get(self.at).map(|(t, _)| t).unwrap_or(&Tok::Eof)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.at).map(|(_, p)| *p).unwrap_or(0)
    }

    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.at < self.toks.len() {
            self.at += 1;
        }
        t
    }

    fn unexpected(&self, expected: &str) -> ExprError {
        ExprError::Syntax {
            pos: self.pos(),
            msg: format!("unexpected {}, expected {expected}", describe(self.peek())),
        }
    }

    fn expect(&mut self, op: &'static str) -> Result<(), ExprError> {
        if self.peek() == &Tok::Op(op) {
            self.next();
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{op}`")))
        }
    }

    fn expression(&mut self, min_prec: u8) -> Result<Node, ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::Syntax {
                pos: self.pos(),
                msg: format!("condition nests more than {MAX_DEPTH} levels deep"),
            });
        }
        let node = self.expression_inner(min_prec);
        self.depth -= 1;
        node
    }

    fn expression_inner(&mut self, min_prec: u8) -> Result<Node, ExprError> {
        let mut left = self.unary()?;
        while let Some((op, prec)) = binary_op(self.peek()) {
            if prec < min_prec {
                break;
            }
            self.next();
            let right = self.expression(prec + 1)?;
            left = Node::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        match self.peek().clone() {
            Tok::Op("!") => {
                self.next();
                let operand = self.expression(50)?;
                Ok(Node::Unary {
                    op: "!",
                    operand: Box::new(operand),
                })
            }
            Tok::Ident(s) if s == "not" => {
                self.next();
                let operand = self.expression(50)?;
                Ok(Node::Unary {
                    op: "!",
                    operand: Box::new(operand),
                })
            }
            Tok::Op(op @ ("-" | "+")) => {
                self.next();
                let operand = self.expression(90)?;
                Ok(Node::Unary {
                    op,
                    operand: Box::new(operand),
                })
            }
            _ => self.postfix(),
        }
    }

    fn postfix(&mut self) -> Result<Node, ExprError> {
        let mut node = self.primary()?;
        loop {
            match self.peek() {
                Tok::Op(op @ ("." | "?.")) => {
                    let optional = *op == "?.";
                    self.next();
                    match self.next() {
                        Tok::Ident(name) => {
                            node = Node::Member {
                                target: Box::new(node),
                                name,
                                optional,
                            }
                        }
                        _ => {
                            self.at -= 1;
                            return Err(self.unexpected("a field name"));
                        }
                    }
                }
                Tok::Op("[") => {
                    self.next();
                    let index = self.expression(0)?;
                    self.expect("]")?;
                    node = Node::Index {
                        target: Box::new(node),
                        index: Box::new(index),
                    };
                }
                _ => return Ok(node),
            }
        }
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let pos = self.pos();
        match self.next() {
            Tok::Int(i) => Ok(Node::Lit(Val::Int(i))),
            Tok::Float(f) => Ok(Node::Lit(Val::Float(f))),
            Tok::Str(s) => Ok(Node::Lit(Val::Str(s))),
            Tok::Op("(") => {
                let inner = self.expression(0)?;
                self.expect(")")?;
                Ok(inner)
            }
            Tok::Op("[") => {
                let mut items = Vec::new();
                if self.peek() != &Tok::Op("]") {
                    loop {
                        items.push(self.expression(0)?);
                        if self.peek() == &Tok::Op(",") {
                            self.next();
                        } else {
                            break;
                        }
                    }
                }
                self.expect("]")?;
                Ok(Node::Array(items))
            }
            Tok::Ident(name) => match name.as_str() {
                "true" => Ok(Node::Lit(Val::Bool(true))),
                "false" => Ok(Node::Lit(Val::Bool(false))),
                "nil" => Ok(Node::Lit(Val::Nil)),
                "result" => Ok(Node::Result),
                f if self.peek() == &Tok::Op("(") => {
                    if !FUNCTIONS.contains(&f) {
                        return Err(ExprError::Syntax {
                            pos,
                            msg: format!(
                                "unknown function `{f}` (supported: {})",
                                FUNCTIONS.join(", ")
                            ),
                        });
                    }
                    self.next();
                    let mut args = Vec::new();
                    if self.peek() != &Tok::Op(")") {
                        loop {
                            args.push(self.expression(0)?);
                            if self.peek() == &Tok::Op(",") {
                                self.next();
                            } else {
                                break;
                            }
                        }
                    }
                    self.expect(")")?;
                    Ok(Node::Call {
                        func: name,
                        args,
                        pos,
                    })
                }
                other => Err(ExprError::Syntax {
                    pos,
                    msg: format!("unknown name `{other}` (only `result` is defined)"),
                }),
            },
            other => {
                self.at -= 1;
                Err(ExprError::Syntax {
                    pos,
                    msg: format!("unexpected {}", describe(&other)),
                })
            }
        }
    }
}

/// A parsed condition, ready to evaluate against many results.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    root: Node,
}

impl Condition {
    /// Parses `src`; errors name the offending token and its position.
    pub fn parse(src: &str) -> Result<Condition, ExprError> {
        let toks = lex(src)?;
        let mut p = Parser {
            toks,
            at: 0,
            depth: 0,
        };
        let root = p.expression(0)?;
        if p.peek() != &Tok::Eof {
            return Err(p.unexpected("an operator or end of condition"));
        }
        Ok(Condition { root })
    }

    /// Evaluates to any value.
    pub fn eval(&self, result: &Val) -> Result<Val, ExprError> {
        eval(&self.root, result, 0)
    }

    /// Evaluates and requires a bool, as Argo's `EvalCondition` does.
    pub fn eval_bool(&self, result: &Val) -> Result<bool, ExprError> {
        match self.eval(result)? {
            Val::Bool(b) => Ok(b),
            other => Err(ExprError::Runtime(format!(
                "expected bool, but got {}",
                other.type_name()
            ))),
        }
    }
}

fn rt(msg: String) -> ExprError {
    ExprError::Runtime(msg)
}

/// Deep equality with int/float compared numerically; different kinds are unequal.
fn equal(a: &Val, b: &Val) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => match (a, b) {
            (Val::Array(x), Val::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
            }
            (Val::Map(x), Val::Map(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
            }
            _ => a == b,
        },
    }
}

const MAX_DEPTH: usize = 200;

fn eval(node: &Node, result: &Val, depth: usize) -> Result<Val, ExprError> {
    if depth > MAX_DEPTH {
        return Err(rt("condition nests too deeply".to_string()));
    }
    let ev = |n: &Node| eval(n, result, depth + 1);
    match node {
        Node::Lit(v) => Ok(v.clone()),
        Node::Result => Ok(result.clone()),
        Node::Array(items) => Ok(Val::Array(items.iter().map(ev).collect::<Result<_, _>>()?)),
        Node::Member {
            target,
            name,
            optional,
        } => match ev(target)? {
            Val::Map(m) => Ok(m.get(name).cloned().unwrap_or(Val::Nil)),
            Val::Nil if *optional => Ok(Val::Nil),
            other => Err(rt(format!(
                "cannot fetch {name} from {}",
                other.type_name()
            ))),
        },
        Node::Index { target, index } => {
            let t = ev(target)?;
            let i = ev(index)?;
            match (&t, &i) {
                (Val::Map(m), Val::Str(k)) => Ok(m.get(k).cloned().unwrap_or(Val::Nil)),
                (Val::Array(_) | Val::Str(_), idx) if idx.as_f64().is_some() => {
                    let raw = match idx {
                        Val::Int(n) => *n,
                        Val::Float(f) if f.fract() == 0.0 && f.is_finite() => *f as i64,
                        _ => {
                            return Err(rt(format!(
                                "index must be an integer, got {}",
                                idx.type_name()
                            )));
                        }
                    };
                    let items: Vec<Val> = match &t {
                        Val::Str(s) => s.chars().map(|c| Val::Str(c.to_string())).collect(),
                        Val::Array(a) => a.clone(),
                        _ => Vec::new(),
                    };
                    let len = items.len() as i64;
                    let at = if raw < 0 {
                        raw.saturating_add(len)
                    } else {
                        raw
                    };
                    usize::try_from(at)
                        .ok()
                        .and_then(|at| items.get(at).cloned())
                        .ok_or_else(|| {
                            rt(format!("index out of range: {raw} (array length is {len})"))
                        })
                }
                _ => Err(rt(format!(
                    "cannot index {} with {}",
                    t.type_name(),
                    i.type_name()
                ))),
            }
        }
        Node::Unary { op, operand } => {
            let v = ev(operand)?;
            match (*op, &v) {
                ("!", Val::Bool(b)) => Ok(Val::Bool(!b)),
                ("-", Val::Int(i)) => Ok(Val::Int(i.wrapping_neg())),
                ("-", Val::Float(f)) => Ok(Val::Float(-f)),
                ("+", Val::Int(_) | Val::Float(_)) => Ok(v),
                _ => Err(rt(format!("invalid operation: {op} ({})", v.type_name()))),
            }
        }
        Node::Binary { op, left, right } => {
            if *op == "&&" || *op == "||" {
                let l = match ev(left)? {
                    Val::Bool(b) => b,
                    other => {
                        return Err(rt(format!(
                            "invalid operation: {op} on {} (needs bool)",
                            other.type_name()
                        )));
                    }
                };
                if (*op == "&&" && !l) || (*op == "||" && l) {
                    return Ok(Val::Bool(l));
                }
                return match ev(right)? {
                    Val::Bool(b) => Ok(Val::Bool(b)),
                    other => Err(rt(format!(
                        "invalid operation: {op} on {} (needs bool)",
                        other.type_name()
                    ))),
                };
            }
            let l = ev(left)?;
            let r = ev(right)?;
            binary(op, &l, &r)
        }
        Node::Call { func, args, pos } => {
            let vals = args.iter().map(ev).collect::<Result<Vec<_>, _>>()?;
            call(func, &vals, *pos)
        }
    }
}

fn binary(op: &str, l: &Val, r: &Val) -> Result<Val, ExprError> {
    let mismatch = || {
        rt(format!(
            "invalid operation: {op} (mismatched types {} and {})",
            l.type_name(),
            r.type_name()
        ))
    };
    match op {
        "==" => Ok(Val::Bool(equal(l, r))),
        "!=" => Ok(Val::Bool(!equal(l, r))),
        "<" | "<=" | ">" | ">=" => {
            let ord = match (l, r) {
                (Val::Str(a), Val::Str(b)) => a.partial_cmp(b),
                _ => match (l.as_f64(), r.as_f64()) {
                    (Some(a), Some(b)) => a.partial_cmp(&b),
                    _ => return Err(mismatch()),
                },
            };
            use std::cmp::Ordering::*;
            Ok(Val::Bool(match (op, ord) {
                (_, None) => false, // NaN compares false, as in Go
                ("<", Some(o)) => o == Less,
                ("<=", Some(o)) => o != Greater,
                (">", Some(o)) => o == Greater,
                (_, Some(o)) => o != Less,
            }))
        }
        "in" => match r {
            Val::Array(items) => Ok(Val::Bool(items.iter().any(|x| equal(x, l)))),
            Val::Map(m) => match l {
                Val::Str(k) => Ok(Val::Bool(m.contains_key(k))),
                _ => Err(mismatch()),
            },
            Val::Nil => Ok(Val::Bool(false)),
            _ => Err(mismatch()),
        },
        "+" if matches!((l, r), (Val::Str(_), Val::Str(_))) => match (l, r) {
            (Val::Str(a), Val::Str(b)) => Ok(Val::Str(format!("{a}{b}"))),
            _ => Err(mismatch()),
        },
        "+" | "-" | "*" | "/" | "%" => match (l, r) {
            (Val::Int(a), Val::Int(b)) => match op {
                "+" => Ok(Val::Int(a.wrapping_add(*b))),
                "-" => Ok(Val::Int(a.wrapping_sub(*b))),
                "*" => Ok(Val::Int(a.wrapping_mul(*b))),
                "/" => Ok(Val::Float(*a as f64 / *b as f64)),
                _ => {
                    if *b == 0 {
                        Err(rt("integer divide by zero".to_string()))
                    } else {
                        Ok(Val::Int(a.wrapping_rem(*b)))
                    }
                }
            },
            _ => match (l.as_f64(), r.as_f64()) {
                (Some(a), Some(b)) => match op {
                    "+" => Ok(Val::Float(a + b)),
                    "-" => Ok(Val::Float(a - b)),
                    "*" => Ok(Val::Float(a * b)),
                    "/" => Ok(Val::Float(a / b)),
                    _ => Err(mismatch()),
                },
                _ => Err(mismatch()),
            },
        },
        _ => Err(rt(format!("unknown operator {op}"))),
    }
}

fn call(func: &str, args: &[Val], pos: usize) -> Result<Val, ExprError> {
    let arity = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(rt(format!(
                "{func}() at position {pos} takes {n} argument(s), got {}",
                args.len()
            )))
        }
    };
    let number = |v: &Val| {
        v.as_f64()
            .ok_or_else(|| rt(format!("{func}() needs a number, got {}", v.type_name())))
    };
    match func {
        "len" => {
            arity(1)?;
            match &args[0] {
                Val::Str(s) => Ok(Val::Int(s.chars().count() as i64)),
                Val::Array(a) => Ok(Val::Int(a.len() as i64)),
                Val::Map(m) => Ok(Val::Int(m.len() as i64)),
                other => Err(rt(format!(
                    "invalid argument for len (type {})",
                    other.type_name()
                ))),
            }
        }
        "default" => {
            arity(2)?;
            Ok(if args[0] == Val::Nil {
                args[1].clone()
            } else {
                args[0].clone()
            })
        }
        "isNil" => {
            arity(1)?;
            Ok(Val::Bool(args[0] == Val::Nil))
        }
        "isNaN" => {
            arity(1)?;
            Ok(Val::Bool(number(&args[0])?.is_nan()))
        }
        "isInf" => {
            arity(1)?;
            Ok(Val::Bool(number(&args[0])?.is_infinite()))
        }
        "asInt" => {
            arity(1)?;
            match &args[0] {
                Val::Int(i) => Ok(Val::Int(*i)),
                // Go's int64(f) truncates toward zero; NaN/Inf are not representable.
                Val::Float(f) if f.is_finite() => Ok(Val::Int(f.trunc() as i64)),
                Val::Str(s) => s
                    .parse::<i64>()
                    .map(Val::Int)
                    .map_err(|_| rt(format!("asInt(): cannot parse {s:?} as an integer"))),
                other => Err(rt(format!(
                    "asInt() not supported on {}",
                    other.type_name()
                ))),
            }
        }
        "asFloat" => {
            arity(1)?;
            match &args[0] {
                Val::Int(i) => Ok(Val::Float(*i as f64)),
                Val::Float(f) => Ok(Val::Float(*f)),
                Val::Str(s) => s
                    .trim()
                    .parse::<f64>()
                    .map(Val::Float)
                    .map_err(|_| rt(format!("asFloat(): cannot parse {s:?} as a number"))),
                other => Err(rt(format!(
                    "asFloat() not supported on {}",
                    other.type_name()
                ))),
            }
        }
        other => Err(rt(format!("unknown function {other}"))),
    }
}

/// Argo's `EvaluateResult` (utils/evaluate/evaluate.go) with canary-judge's own rule for two
/// empty conditions: the phase follows the verdict instead of always being Successful.
///
/// Order and rules as in Argo: success condition is evaluated first, then failure (an error
/// in either ⇒ Error); only success set ⇒ Failed when false; only failure set ⇒ Successful
/// when false; both set ⇒ failure wins, then success, else Inconclusive.
pub fn evaluate_result(
    result: &serde_json::Value,
    success_condition: &str,
    failure_condition: &str,
    verdict: Verdict,
) -> Result<Phase, ExprError> {
    let value = Val::from_json(result);
    let success = if success_condition.is_empty() {
        false
    } else {
        Condition::parse(success_condition)?.eval_bool(&value)?
    };
    let failure = if failure_condition.is_empty() {
        false
    } else {
        Condition::parse(failure_condition)?.eval_bool(&value)?
    };
    let (success, failure) = match (success_condition.is_empty(), failure_condition.is_empty()) {
        (true, true) => {
            return Ok(match verdict {
                Verdict::Pass => Phase::Successful,
                Verdict::Fail => Phase::Failed,
                Verdict::Inconclusive => Phase::Inconclusive,
            });
        }
        (false, true) => (success, !success),
        (true, false) => (!failure, failure),
        (false, false) => (success, failure),
    };
    Ok(if failure {
        Phase::Failed
    } else if !success {
        Phase::Inconclusive
    } else {
        Phase::Successful
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval_on(src: &str, result: serde_json::Value) -> Result<Val, ExprError> {
        Condition::parse(src)?.eval(&Val::from_json(&result))
    }

    fn truth(src: &str, result: serde_json::Value) -> bool {
        Condition::parse(src)
            .unwrap()
            .eval_bool(&Val::from_json(&result))
            .unwrap()
    }

    fn sample() -> serde_json::Value {
        json!({"verdict": "pass", "score": 0.8, "count": 3,
               "metrics": {"latency": {"verdict": "fail", "effect": 12.5}},
               "list": [1, 2, 3], "nothing": null})
    }

    #[test]
    fn literals() {
        assert_eq!(eval_on("42", json!(null)), Ok(Val::Int(42)));
        assert_eq!(eval_on("1.5e3", json!(null)), Ok(Val::Float(1500.0)));
        assert_eq!(eval_on("'a\\'b'", json!(null)), Ok(Val::Str("a'b".into())));
        assert_eq!(eval_on("\"x\"", json!(null)), Ok(Val::Str("x".into())));
        assert_eq!(eval_on("true", json!(null)), Ok(Val::Bool(true)));
        assert_eq!(eval_on("nil", json!(null)), Ok(Val::Nil));
        assert_eq!(
            eval_on("[1, 'a']", json!(null)),
            Ok(Val::Array(vec![Val::Int(1), Val::Str("a".into())]))
        );
    }

    #[test]
    fn member_and_index_access() {
        assert!(truth("result.verdict == 'pass'", sample()));
        assert!(truth("result[\"score\"] > 0.5", sample()));
        assert!(truth("result.metrics.latency.verdict == 'fail'", sample()));
        assert!(truth("result.metrics['latency'].effect == 12.5", sample()));
        assert!(truth(
            "result.list[0] == 1 && result.list[-1] == 3",
            sample()
        ));
        assert!(truth("result.missing == nil", sample()));
        assert!(truth("result.missing?.deeper == nil", sample()));
        let err = eval_on("result.list[5]", sample()).unwrap_err();
        assert_eq!(err.to_string(), "index out of range: 5 (array length is 3)");
        let err = eval_on("result.missing.deeper", sample()).unwrap_err();
        assert_eq!(err.to_string(), "cannot fetch deeper from nil");
        assert!(truth("result == 3", json!(3)));
    }

    #[test]
    fn comparisons() {
        assert!(truth("result.count == 3", sample())); // float64 vs int literal
        assert!(truth("result.count != 4", sample()));
        assert!(truth("result.score < 1 && result.score <= 0.8", sample()));
        assert!(truth("result.score > 0.7 && result.score >= 0.8", sample()));
        assert!(truth("'a' < 'b'", sample()));
        assert!(truth("result.verdict != 1", sample())); // mixed kinds are unequal
        let err = eval_on("result.verdict < 1", sample()).unwrap_err();
        assert!(
            err.to_string().contains("mismatched types string and int"),
            "{err}"
        );
        assert!(!truth("asFloat('NaN') < 1", sample()));
    }

    #[test]
    fn logic_words_and_symbols() {
        assert!(truth("true and not false", sample()));
        assert!(truth("false or !false", sample()));
        assert!(truth("!(result.score > 1) || false", sample()));
        // Short-circuit: the right side would fail.
        assert!(!truth("false && result.missing.x", sample()));
        assert!(truth("true || result.missing.x", sample()));
        let err = eval_on("1 && true", sample()).unwrap_err();
        assert!(err.to_string().contains("needs bool"), "{err}");
    }

    #[test]
    fn arithmetic_and_precedence() {
        assert_eq!(eval_on("1 + 2 * 3", json!(null)), Ok(Val::Int(7)));
        assert_eq!(eval_on("(1 + 2) * 3", json!(null)), Ok(Val::Int(9)));
        assert_eq!(eval_on("7 / 2", json!(null)), Ok(Val::Float(3.5)));
        assert_eq!(eval_on("7 % 4 - -1", json!(null)), Ok(Val::Int(4)));
        assert_eq!(eval_on("'a' + 'b'", json!(null)), Ok(Val::Str("ab".into())));
        assert!(truth("result.score * 10 == 8", sample()));
        assert!(truth("1 + 1 == 2 && 3 > 2", sample()));
    }

    #[test]
    fn membership() {
        assert!(truth(
            "result.verdict in ['pass', 'inconclusive']",
            sample()
        ));
        assert!(truth("'latency' in result.metrics", sample()));
        assert!(!truth("4 in result.list", sample()));
    }

    #[test]
    fn functions() {
        assert!(truth(
            "len(result.list) == 3 && len('héllo') == 5",
            sample()
        ));
        assert!(truth("len(result.metrics) == 1", sample()));
        assert!(truth("default(result.nothing, 0) == 0", sample()));
        assert!(truth("default(result.score, 0) == 0.8", sample()));
        assert!(truth("isNil(result.nothing) && !isNil(result)", sample()));
        assert!(truth(
            "isNaN(asFloat('NaN')) && !isNaN(result.score)",
            sample()
        ));
        assert!(truth("isInf(asFloat('inf')) && !isInf(1)", sample()));
        assert_eq!(
            eval_on("asInt(result.score * 10)", sample()),
            Ok(Val::Int(8))
        );
        assert_eq!(eval_on("asInt('-12')", sample()), Ok(Val::Int(-12)));
        assert_eq!(eval_on("asFloat('2.5')", sample()), Ok(Val::Float(2.5)));
        assert!(eval_on("asInt('x')", sample()).is_err());
        assert!(eval_on("len(1)", sample()).is_err());
        assert!(eval_on("isNaN('a')", sample()).is_err());
        let err = eval_on("len()", sample()).unwrap_err();
        assert!(err.to_string().contains("takes 1 argument"), "{err}");
    }

    #[test]
    fn errors_name_token_and_position() {
        let err = Condition::parse("result.score > 0.5 &").unwrap_err();
        assert_eq!(
            err.to_string(),
            "syntax error at position 19: unexpected character `&`"
        );
        let err = Condition::parse("result.score ~ 1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "syntax error at position 13: unexpected character `~`"
        );
        let err = Condition::parse("foo > 1").unwrap_err();
        assert!(
            err.to_string().contains("position 0: unknown name `foo`"),
            "{err}"
        );
        let err = Condition::parse("now() > 1").unwrap_err();
        assert!(err.to_string().contains("unknown function `now`"), "{err}");
        let err = Condition::parse("(1 + 2").unwrap_err();
        assert_eq!(
            err.to_string(),
            "syntax error at position 6: unexpected end of condition, expected `)`"
        );
        let err = Condition::parse("1 2").unwrap_err();
        assert!(
            err.to_string().contains("position 2: unexpected number 2"),
            "{err}"
        );
        let err = Condition::parse("'open").unwrap_err();
        assert!(err.to_string().contains("unterminated string"), "{err}");
        let err = Condition::parse("result.").unwrap_err();
        assert!(err.to_string().contains("expected a field name"), "{err}");
        let err = Condition::parse("result.score")
            .unwrap()
            .eval_bool(&Val::from_json(&sample()));
        assert_eq!(
            err.unwrap_err().to_string(),
            "expected bool, but got float64"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
        let err = Condition::parse(&src).unwrap_err();
        assert!(err.to_string().contains("levels deep"), "{err}");
        assert!(truth("((((1)))) == 1", sample()));
    }

    #[test]
    fn evaluate_result_matches_argo_rules() {
        use Phase::*;
        let r = json!({"verdict": "pass", "score": 0.9});
        let ev = |s: &str, f: &str, v| evaluate_result(&r, s, f, v).unwrap();
        // canary-judge rule for two empty conditions: follow the verdict.
        assert_eq!(ev("", "", Verdict::Pass), Successful);
        assert_eq!(ev("", "", Verdict::Fail), Failed);
        assert_eq!(ev("", "", Verdict::Inconclusive), Inconclusive);
        // Only success: false ⇒ Failed.
        assert_eq!(ev("result.score > 0.5", "", Verdict::Fail), Successful);
        assert_eq!(ev("result.score > 0.95", "", Verdict::Pass), Failed);
        // Only failure: false ⇒ Successful.
        assert_eq!(ev("", "result.score < 0.5", Verdict::Fail), Successful);
        assert_eq!(ev("", "result.score < 0.95", Verdict::Pass), Failed);
        // Both: failure first, neither ⇒ Inconclusive.
        assert_eq!(
            ev("result.score > 0.5", "result.score > 0.5", Verdict::Pass),
            Failed
        );
        assert_eq!(
            ev("result.score > 0.95", "result.score < 0.5", Verdict::Pass),
            Inconclusive
        );
        assert_eq!(
            ev("result.score > 0.5", "result.score < 0.5", Verdict::Fail),
            Successful
        );
        // Errors.
        assert!(evaluate_result(&r, "result.score >", "", Verdict::Pass).is_err());
        assert!(evaluate_result(&r, "", "result.verdict", Verdict::Pass).is_err());
    }
}
