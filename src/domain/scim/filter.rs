//! SCIM filters (RFC 7644 §3.4.2.2) and PATCH operation paths (RFC 7644 §3.5.2): text in, an
//! AST out. Pure code, no I/O; the grammar, its limits and where it departs from the RFC are
//! written down in `FILTER.md` beside this file.
//!
//! ```
//! use wharf::domain::scim::filter::{parse_filter, parse_path, CompareOp, Filter, Value};
//!
//! let f = parse_filter(r#"userName Eq "bjensen" and not (emails co "example.org")"#).unwrap();
//! let Filter::And(left, _) = &f else { panic!() };
//! let Filter::Compare { path, op, value } = &**left else { panic!() };
//! assert!(path.attr_is("username"));
//! assert_eq!(*op, CompareOp::Eq);
//! assert_eq!(*value, Value::String("bjensen".into()));
//! // The canonical text re-parses to the same AST.
//! assert_eq!(f.to_string(), r#"userName eq "bjensen" and not (emails co "example.org")"#);
//!
//! let p = parse_path(r#"emails[type eq "work"].value"#).unwrap();
//! assert!(p.attr.attr_is("emails") && p.value_filter.is_some());
//! assert_eq!(p.sub_attr.as_deref(), Some("value"));
//! ```
//!
//! Errors are [`FilterError`]s whose message names the offending token and its position; the
//! SCIM layer answers them with 400 `invalidFilter` (for a filter) or `invalidPath` (for a
//! PATCH path).

use std::fmt::{self, Write as _};

/// Longest filter or path accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting accepted: each `( … )`, `not ( … )` and `attr[ … ]` is one level.
pub const MAX_DEPTH: usize = 32;
/// Most attribute expressions (`attrPath op value` and `attrPath pr`) in one filter or path.
pub const MAX_COMPARISONS: usize = 64;

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attrPath op value`
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Value,
    },
    /// `attrPath pr`
    Present(AttrPath),
    /// `attr[filter]`: some value of the multi-valued complex attribute `attr` matches `filter`
    /// (whose attribute paths are relative to `attr`, i.e. sub-attribute names like `type`).
    ///
    /// The parser never puts a `ValuePath` inside another one, and `attr.sub_attr` is `None`.
    /// `emails[type eq "work"].value eq "x"` is parsed as
    /// `emails[type eq "work" and value eq "x"]`.
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
    },
}

/// An attribute path: `[schemaURN ":"] attr ["." subAttr]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// Schema URN prefix if written, e.g. `urn:ietf:params:scim:schemas:core:2.0:User` (case
    /// kept as written). For the text to re-parse, it must begin with `urn:`.
    pub schema: Option<String>,
    /// Attribute name as written (compare with [`AttrPath::attr_is`], case-insensitively).
    pub attr: String,
    /// Sub-attribute name as written (compare with [`AttrPath::sub_is`]).
    pub sub_attr: Option<String>,
}

/// A comparison operator (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison value (`compValue`): JSON `false`, `null`, `true`, a number or a string.
///
/// Numbers are `f64`: integers beyond 2^53 lose precision, and `1` and `1.0` are the same value.
/// The parser only produces finite numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Number(f64),
    Bool(bool),
    Null,
}

/// A PATCH operation's `path` (RFC 7644 §3.5.2: `PATH = attrPath / valuePath [subAttr]`).
///
/// From the parser: `name.givenName` is `attr: name.givenName` with no filter and no `sub_attr`;
/// `emails[type eq "work"].value` is `attr: emails`, `value_filter: type eq "work"`,
/// `sub_attr: value`. So `sub_attr` is only ever `Some` together with `value_filter`, and when
/// `value_filter` is `Some`, `attr.sub_attr` is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub value_filter: Option<Filter>,
    pub sub_attr: Option<String>,
}

/// Why a filter or path was refused; the message names the offending token and its position
/// (1-based, in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub message: String,
}

/// Parses a `filter` (RFC 7644 §3.4.2.2), e.g. `userName eq "bjensen"`.
pub fn parse_filter(text: &str) -> Result<Filter, FilterError> {
    let mut p = Parser::new(text, "filter")?;
    let filter = p.parse_or()?;
    if p.peek().tok != Tok::End {
        return Err(p.err_here("expected 'and', 'or' or the end of the filter"));
    }
    Ok(filter)
}

/// Parses a PATCH operation's `path` (RFC 7644 §3.5.2), e.g. `members[value eq "2819c223"]`
/// or `emails[type eq "work"].value`.
pub fn parse_path(text: &str) -> Result<PatchPath, FilterError> {
    let mut p = Parser::new(text, "path")?;
    let start = p.peek().start;
    let Some(word) = p.peek_word() else {
        return Err(p.err_here("expected an attribute path"));
    };
    let attr = p.attr_path(word, start)?;
    p.bump();
    let mut value_filter = None;
    let mut sub_attr = None;
    if p.peek().tok == Tok::LBracket {
        value_filter = Some(p.bracket(&attr)?);
        p.leave();
        if let Some(word) = p.peek_word().filter(|w| w.starts_with('.')) {
            sub_attr = Some(p.sub_attr_after_bracket(word)?);
            p.bump();
        }
    }
    if p.peek().tok != Tok::End {
        return Err(p.err_here(if value_filter.is_some() {
            "expected '.subAttribute' or the end of the path"
        } else {
            "expected '[' or the end of the path"
        }));
    }
    Ok(PatchPath {
        attr,
        value_filter,
        sub_attr,
    })
}

impl AttrPath {
    /// A path naming `attr`, without schema or sub-attribute.
    pub fn new(attr: impl Into<String>) -> Self {
        AttrPath {
            schema: None,
            attr: attr.into(),
            sub_attr: None,
        }
    }

    /// This path with sub-attribute `sub`.
    pub fn with_sub(mut self, sub: impl Into<String>) -> Self {
        self.sub_attr = Some(sub.into());
        self
    }

    /// This path with schema URN `schema`.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Whether the attribute is `name`, ignoring ASCII case (attribute names are
    /// case-insensitive, RFC 7643 §2.1).
    pub fn attr_is(&self, name: &str) -> bool {
        self.attr.eq_ignore_ascii_case(name)
    }

    /// Whether there is a sub-attribute and it is `name`, ignoring ASCII case.
    pub fn sub_is(&self, name: &str) -> bool {
        self.sub_attr
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(name))
    }

    /// Whether a schema URN was written and it is `urn`, ignoring ASCII case.
    pub fn schema_is(&self, urn: &str) -> bool {
        self.schema
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(urn))
    }
}

impl CompareOp {
    /// Whether `actual`, a JSON value of a resource, compares to `expected` with this
    /// operator: text without regard to case, booleans by `eq`/`ne`, numbers by value; a
    /// value of another type matches only `ne`.
    pub fn matches(self, actual: &serde_json::Value, expected: &Value) -> bool {
        use serde_json::Value as Json;
        let op = self;

        match (actual, expected) {
            (Json::String(a), Value::String(e)) => {
                let (a, e) = (a.to_lowercase(), e.to_lowercase());
                match op {
                    CompareOp::Eq => a == e,
                    CompareOp::Ne => a != e,
                    CompareOp::Co => a.contains(&e),
                    CompareOp::Sw => a.starts_with(&e),
                    CompareOp::Ew => a.ends_with(&e),
                    CompareOp::Gt => a > e,
                    CompareOp::Ge => a >= e,
                    CompareOp::Lt => a < e,
                    CompareOp::Le => a <= e,
                }
            }
            (Json::Bool(a), Value::Bool(e)) => match op {
                CompareOp::Eq => a == e,
                CompareOp::Ne => a != e,
                _ => false,
            },
            (Json::Number(a), Value::Number(e)) => {
                let a = a.as_f64().unwrap_or(f64::NAN);
                match op {
                    CompareOp::Eq => a == *e,
                    CompareOp::Ne => a != *e,
                    CompareOp::Gt => a > *e,
                    CompareOp::Ge => a >= *e,
                    CompareOp::Lt => a < *e,
                    CompareOp::Le => a <= *e,
                    _ => false,
                }
            }
            _ => op == CompareOp::Ne,
        }
    }
    /// The operator as written in canonical text: `eq`, `ne`, …
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    fn from_keyword(word: &str) -> Option<Self> {
        const ALL: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        ALL.into_iter().find(|op| word.eq_ignore_ascii_case(op.as_str()))
    }
}

impl FilterError {
    fn new(message: impl Into<String>) -> Self {
        FilterError {
            message: message.into(),
        }
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FilterError {}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Parentheses exactly where precedence (not > and > or, both left-associative) needs
        // them, so that the text parses back to this very tree.
        match self {
            Filter::Or(l, r) => {
                write!(f, "{l} or ")?;
                write_group(f, r, matches!(**r, Filter::Or(..)))
            }
            Filter::And(l, r) => {
                write_group(f, l, matches!(**l, Filter::Or(..)))?;
                f.write_str(" and ")?;
                write_group(f, r, matches!(**r, Filter::Or(..) | Filter::And(..)))
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::ValuePath { attr, filter } => write!(f, "{attr}[{filter}]"),
        }
    }
}

fn write_group(f: &mut fmt::Formatter<'_>, filter: &Filter, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({filter})")
    } else {
        write!(f, "{filter}")
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => write_json_string(f, s),
            Value::Number(n) => write_number(f, *n),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Null => f.write_str("null"),
        }
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.value_filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// The shorter of the plain and the exponent form; both are the shortest digits that read back
/// as the same `f64`, and both are JSON numbers.
fn write_number(f: &mut fmt::Formatter<'_>, n: f64) -> fmt::Result {
    if !n.is_finite() {
        // Not a JSON number; the parser never produces one. serde_json writes `null` too.
        return f.write_str("null");
    }
    let plain = format!("{n}");
    let exp = format!("{n:e}");
    f.write_str(if exp.len() < plain.len() { &exp } else { &plain })
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// A JSON string, unescaped.
    Str(String),
    /// Anything else between whitespace, brackets, parentheses and quotes: an attribute path,
    /// an operator or keyword, a number, `.subAttr` after `]`.
    Word(&'a str),
    End,
}

#[derive(Debug, Clone)]
struct Token<'a> {
    tok: Tok<'a>,
    /// Byte offset in the text (always on a character boundary).
    start: usize,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_delimiter(b: u8) -> bool {
    is_space(b) || matches!(b, b'(' | b')' | b'[' | b']' | b'"')
}

fn lex(text: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let bytes = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        let tok = match b {
            _ if is_space(b) => {
                i += 1;
                continue;
            }
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'[' => Tok::LBracket,
            b']' => Tok::RBracket,
            b'"' => {
                let (s, next) = lex_string(text, start)?;
                i = next;
                toks.push(Token {
                    tok: Tok::Str(s),
                    start,
                });
                continue;
            }
            _ => {
                // Delimiters are ASCII, so a word ends on a character boundary.
                while bytes.get(i).is_some_and(|&c| !is_delimiter(c)) {
                    i += 1;
                }
                let word = text
                    .get(start..i)
                    .ok_or_else(|| error_at(text, start, "invalid text"))?;
                toks.push(Token {
                    tok: Tok::Word(word),
                    start,
                });
                continue;
            }
        };
        i += 1;
        toks.push(Token { tok, start });
    }
    Ok(toks)
}

/// Reads the JSON string whose opening quote is at byte `open`; returns it unescaped and the
/// byte offset just past its closing quote.
fn lex_string(text: &str, open: usize) -> Result<(String, usize), FilterError> {
    let body_start = open + 1;
    let rest = text.get(body_start..).unwrap_or("");
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((off, c)) = chars.next() {
        let at = body_start + off;
        match c {
            '"' => return Ok((out, at + 1)),
            '\\' => {
                let Some((_, escape)) = chars.next() else { break };
                match escape {
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    '/' => out.push('/'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => out.push(unicode_escape(text, at, &mut chars)?),
                    other => {
                        return Err(error_at(
                            text,
                            at,
                            format!("invalid escape '\\{other}' in string (JSON escapes only)"),
                        ))
                    }
                }
            }
            c if u32::from(c) < 0x20 => {
                return Err(error_at(
                    text,
                    at,
                    "control character in string (escape it, e.g. \\n, \\t or \\u0001)",
                ))
            }
            c => out.push(c),
        }
    }
    Err(error_at(text, open, "unterminated string (missing closing '\"')"))
}

/// The character of a `\uXXXX` escape (the `\u` already read), with its low surrogate
/// `\uXXXX` if it is a high surrogate.
fn unicode_escape(text: &str, at: usize, chars: &mut std::str::CharIndices<'_>) -> Result<char, FilterError> {
    let bad_hex = || error_at(text, at, "invalid \\u escape: expected four hexadecimal digits");
    let high = hex4(chars).ok_or_else(bad_hex)?;
    let c = if (0xD800..0xDC00).contains(&high) {
        let backslash_u =
            chars.next().map(|(_, c)| c) == Some('\\') && chars.next().map(|(_, c)| c) == Some('u');
        let low = if backslash_u { hex4(chars) } else { None };
        match low {
            Some(low) if (0xDC00..0xE000).contains(&low) => {
                char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            }
            _ => None,
        }
    } else {
        // None for a lone low surrogate.
        char::from_u32(high)
    };
    c.ok_or_else(|| error_at(text, at, "invalid \\u escape: unpaired UTF-16 surrogate"))
}

fn hex4(chars: &mut std::str::CharIndices<'_>) -> Option<u32> {
    let mut n = 0;
    for _ in 0..4 {
        let (_, c) = chars.next()?;
        n = n * 16 + c.to_digit(16)?;
    }
    Some(n)
}

/// 1-based character position of byte offset `byte`.
fn position(text: &str, byte: usize) -> usize {
    text.get(..byte).map_or(0, |prefix| prefix.chars().count()) + 1
}

fn error_at(text: &str, byte: usize, message: impl fmt::Display) -> FilterError {
    FilterError::new(format!("{message} at position {}", position(text, byte)))
}

fn describe(tok: &Tok<'_>) -> String {
    fn shorten(s: &str) -> String {
        const MAX: usize = 40;
        if s.chars().count() > MAX {
            format!("{}…", s.chars().take(MAX).collect::<String>())
        } else {
            s.to_string()
        }
    }
    match tok {
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::LBracket => "'['".into(),
        Tok::RBracket => "']'".into(),
        Tok::Str(s) => format!("the string {}", Value::String(shorten(s))),
        Tok::Word(w) => format!("'{}'", shorten(w)),
        Tok::End => "the end of the input".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent, one function per precedence level.
//
//   or   = and *("or" and)
//   and  = unary *("and" unary)
//   unary = "not" "(" or ")" / "(" or ")" / attrExp
//   attrExp = attrPath ("pr" / compareOp compValue / "[" or "]" ["." subAttr ("pr" / compareOp compValue)])

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token<'a>>,
    pos: usize,
    end: Token<'a>,
    depth: usize,
    comparisons: usize,
    in_value_filter: bool,
}

type Parsed<T> = Result<T, FilterError>;

impl<'a> Parser<'a> {
    fn new(text: &'a str, what: &str) -> Parsed<Self> {
        if text.len() > MAX_FILTER_LEN {
            return Err(FilterError::new(format!(
                "{what} is too long: {} bytes, at most {MAX_FILTER_LEN} allowed",
                text.len()
            )));
        }
        let toks = lex(text)?;
        if toks.is_empty() {
            return Err(FilterError::new(format!("{what} is empty")));
        }
        Ok(Parser {
            text,
            toks,
            pos: 0,
            end: Token {
                tok: Tok::End,
                start: text.len(),
            },
            depth: 0,
            comparisons: 0,
            in_value_filter: false,
        })
    }

    fn peek(&self) -> &Token<'a> {
        self.toks.get(self.pos).unwrap_or(&self.end)
    }

    fn peek_second(&self) -> &Token<'a> {
        self.toks.get(self.pos + 1).unwrap_or(&self.end)
    }

    fn peek_word(&self) -> Option<&'a str> {
        match self.peek().tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        self.peek_word().is_some_and(|w| w.eq_ignore_ascii_case(keyword))
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    fn err_here(&self, expected: impl fmt::Display) -> FilterError {
        let t = self.peek();
        error_at(
            self.text,
            t.start,
            format!("{expected}, found {}", describe(&t.tok)),
        )
    }

    fn enter(&mut self, at: usize) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.too_deep(at));
        }
        Ok(())
    }

    fn too_deep(&self, at: usize) -> FilterError {
        error_at(
            self.text,
            at,
            format!("nested too deeply (at most {MAX_DEPTH} levels of '(', 'not (' and '[')"),
        )
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn count_comparison(&mut self, at: usize) -> Parsed<()> {
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(error_at(
                self.text,
                at,
                format!("too many comparisons (at most {MAX_COMPARISONS})"),
            ));
        }
        Ok(())
    }

    /// Consumes `close` (`)` or `]`) matching the opener at byte `open`.
    fn close(&mut self, close: Tok<'static>, open: usize) -> Parsed<()> {
        if self.peek().tok == close {
            self.bump();
            return Ok(());
        }
        let (closer, opener) = if close == Tok::RParen {
            ("')'", "'('")
        } else {
            ("']'", "'['")
        };
        Err(self.err_here(format!(
            "expected 'and', 'or' or {closer} to close the {opener} at position {}",
            position(self.text, open)
        )))
    }

    fn parse_or(&mut self) -> Parsed<Filter> {
        let mut left = self.parse_and()?;
        while self.is_keyword("or") {
            self.bump();
            let right = self.parse_and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Parsed<Filter> {
        let mut left = self.parse_unary()?;
        while self.is_keyword("and") {
            self.bump();
            let right = self.parse_unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_unary(&mut self) -> Parsed<Filter> {
        let start = self.peek().start;
        match self.peek().tok {
            Tok::Word(w) if w.eq_ignore_ascii_case("not") && self.peek_second().tok == Tok::LParen => {
                let open = self.peek_second().start;
                self.bump();
                self.bump();
                self.enter(start)?;
                let inner = self.parse_or()?;
                self.close(Tok::RParen, open)?;
                self.leave();
                Ok(Filter::Not(Box::new(inner)))
            }
            Tok::LParen => {
                self.bump();
                self.enter(start)?;
                let inner = self.parse_or()?;
                self.close(Tok::RParen, start)?;
                self.leave();
                Ok(inner)
            }
            Tok::Word(w) => self.parse_attr_exp(w, start),
            _ => Err(self.err_here("expected an attribute path, '(' or 'not ('")),
        }
    }

    /// `attrPath pr`, `attrPath op value` or `attr[filter]` (optionally `.sub op value`); the
    /// attribute path is the current token, `word` at byte `start`.
    fn parse_attr_exp(&mut self, word: &'a str, start: usize) -> Parsed<Filter> {
        let path = self.attr_path(word, start)?;
        self.bump();
        if self.peek().tok != Tok::LBracket {
            return self.comparison(path, word, start);
        }
        let mut filter = self.bracket(&path)?;
        // Extension: `emails[type eq "work"].value eq "x"` = `emails[type eq "work" and value eq "x"]`.
        if let Some(sub_word) = self.peek_word().filter(|w| w.starts_with('.')) {
            let sub_start = self.peek().start;
            let sub = self.sub_attr_after_bracket(sub_word)?;
            // Written back, an `or` inside the brackets needs parentheses: one more level.
            if matches!(filter, Filter::Or(..)) && self.depth + 1 > MAX_DEPTH {
                return Err(self.too_deep(sub_start));
            }
            self.bump();
            let tail = self.comparison(AttrPath::new(sub), sub_word, sub_start)?;
            filter = Filter::And(Box::new(filter), Box::new(tail));
        }
        self.leave();
        Ok(Filter::ValuePath {
            attr: path,
            filter: Box::new(filter),
        })
    }

    /// `[ filter ]` after the attribute path `path`, the `[` being the current token. Leaves
    /// the nesting level entered (the caller calls `leave`).
    fn bracket(&mut self, path: &AttrPath) -> Parsed<Filter> {
        let open = self.peek().start;
        if self.in_value_filter {
            return Err(error_at(
                self.text,
                open,
                "a value filter cannot contain another value filter",
            ));
        }
        if path.sub_attr.is_some() {
            return Err(error_at(
                self.text,
                open,
                format!(
                    "a value filter applies to a multi-valued attribute, not to the sub-attribute '{path}'"
                ),
            ));
        }
        self.bump();
        self.enter(open)?;
        self.in_value_filter = true;
        let filter = self.parse_or()?;
        self.in_value_filter = false;
        self.close(Tok::RBracket, open)?;
        Ok(filter)
    }

    /// The name in `.sub` written after `]` (the current token, `word`).
    fn sub_attr_after_bracket(&self, word: &str) -> Parsed<String> {
        let start = self.peek().start;
        let name = word.strip_prefix('.').unwrap_or(word);
        if !is_attr_name(name) {
            return Err(error_at(self.text, start, invalid_name("sub-attribute", name)));
        }
        Ok(name.to_string())
    }

    /// `pr` or `op value` after the attribute path `path` (written as `word` at `start`).
    fn comparison(&mut self, path: AttrPath, word: &str, start: usize) -> Parsed<Filter> {
        let expected_op = || {
            if word.eq_ignore_ascii_case("not") {
                "expected '(' after 'not'".to_string()
            } else {
                format!("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after '{path}'")
            }
        };
        let Some(op_word) = self.peek_word() else {
            return Err(self.err_here(expected_op()));
        };
        if op_word.eq_ignore_ascii_case("pr") {
            self.bump();
            self.count_comparison(start)?;
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_keyword(op_word) else {
            return Err(self.err_here(expected_op()));
        };
        let op_start = self.peek().start;
        self.bump();
        let value = self.value(op)?;
        let fits = match op {
            CompareOp::Eq | CompareOp::Ne => true,
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => matches!(value, Value::String(_)),
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
                matches!(value, Value::String(_) | Value::Number(_))
            }
        };
        if !fits {
            let needs = match op {
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "a string",
                _ => "a string or a number",
            };
            return Err(error_at(
                self.text,
                op_start,
                format!("operator '{op}' needs {needs}, not {value}"),
            ));
        }
        self.count_comparison(start)?;
        Ok(Filter::Compare { path, op, value })
    }

    /// `compValue`: a JSON string, number, `true`, `false` or `null`.
    fn value(&mut self, op: CompareOp) -> Parsed<Value> {
        let t = self.peek();
        let value = match &t.tok {
            Tok::Str(s) => Value::String(s.clone()),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Value::Null,
            Tok::Word(w) if w.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => {
                if !is_json_number(w) {
                    return Err(error_at(self.text, t.start, format!("invalid number '{w}'")));
                }
                match w.parse::<f64>() {
                    Ok(n) if n.is_finite() => Value::Number(n),
                    _ => {
                        return Err(error_at(
                            self.text,
                            t.start,
                            format!("number '{w}' is out of range"),
                        ))
                    }
                }
            }
            _ => {
                return Err(self.err_here(format!(
                    "expected a value after '{op}' (a string in double quotes, a number, true, false or null)"
                )))
            }
        };
        self.bump();
        Ok(value)
    }

    /// `[urn ":"] attr ["." sub]`, written as `word` at byte `start`.
    fn attr_path(&self, word: &str, start: usize) -> Parsed<AttrPath> {
        let fail = |msg: String| Err(error_at(self.text, start, msg));
        let (schema, rest) = if word.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
            // URNs contain ':' and '.' (`…:core:2.0:User`): the schema runs to the last ':'.
            let Some((schema, rest)) = word.rsplit_once(':') else {
                return fail(format!("invalid attribute path '{word}'"));
            };
            if schema.len() <= 4 {
                return fail(format!("missing schema URN in '{word}'"));
            }
            if !schema.chars().all(is_urn_char) {
                return fail(format!("invalid character in schema URN '{schema}'"));
            }
            (Some(schema.to_string()), rest)
        } else if word.contains(':') {
            return fail(format!(
                "invalid attribute path '{word}': a schema prefix must be a URN beginning with 'urn:'"
            ));
        } else {
            (None, word)
        };
        let (attr, sub_attr) = match rest.split_once('.') {
            Some((attr, sub)) => (attr, Some(sub)),
            None => (rest, None),
        };
        if !is_attr_name(attr) {
            return fail(invalid_name("attribute", attr));
        }
        if let Some(sub) = sub_attr {
            if sub.contains('.') {
                return fail(format!(
                    "invalid attribute path '{word}': at most one sub-attribute ('attr.sub')"
                ));
            }
            if !is_attr_name(sub) {
                return fail(invalid_name("sub-attribute", sub));
            }
        }
        Ok(AttrPath {
            schema,
            attr: attr.to_string(),
            sub_attr: sub_attr.map(str::to_string),
        })
    }
}

/// `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA`, and `$ref`.
fn is_attr_name(name: &str) -> bool {
    if name.eq_ignore_ascii_case("$ref") {
        return true;
    }
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn invalid_name(what: &str, name: &str) -> String {
    if name.is_empty() {
        format!("missing {what} name")
    } else {
        format!("invalid {what} name '{name}' (a letter, then letters, digits, '-' or '_'; or '$ref')")
    }
}

/// Characters allowed in a schema URN: RFC 8141's, less those the filter syntax uses.
fn is_urn_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:+%!$&'*,;=/?@".contains(c)
}

/// JSON's number grammar: `-? (0 / [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(w: &str) -> bool {
    let b = w.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > from
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
