//! The intrinsic functions this engine runs. Parsed at load so that an unknown or unimplemented
//! function is refused before any execution starts.

use serde_json::Value;

use crate::path::Path;

/// The intrinsic functions ASL defines that this engine does not run; named so the load error
/// can say "not implemented" rather than "unknown".
const NOT_IMPLEMENTED: &[&str] = &[
    "States.ArrayPartition",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayUnique",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
    "States.JsonMerge",
    "States.MathRandom",
    "States.StringSplit",
    "States.UUID",
];

#[derive(Clone, Debug)]
pub(crate) enum Arg {
    Literal(Value),
    Path(Path),
    Call(Box<Intrinsic>),
}

#[derive(Clone, Debug)]
pub(crate) enum FormatPiece {
    Text(String),
    Hole,
}

#[derive(Clone, Debug)]
pub(crate) enum Intrinsic {
    Format(Vec<FormatPiece>, Vec<Arg>),
    StringToJson(Arg),
    JsonToString(Arg),
    Array(Vec<Arg>),
    MathAdd(Arg, Arg),
}

/// Why an intrinsic could not be loaded: `Unsupported` names a construct the engine refuses.
#[derive(Debug)]
pub(crate) enum ParseError {
    Unsupported(String),
    Invalid(String),
}

pub(crate) fn parse(text: &str) -> Result<Intrinsic, ParseError> {
    let mut p = Parser { s: text.as_bytes(), src: text, pos: 0 };
    let call = p.call()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.invalid("unexpected text after the closing parenthesis"));
    }
    Ok(call)
}

enum Token {
    Str(Vec<(char, bool)>),
    Other(Arg),
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn invalid(&self, what: &str) -> ParseError {
        ParseError::Invalid(format!("intrinsic function '{}': {what} at offset {}", self.src, self.pos))
    }

    fn skip_ws(&mut self) {
        while self.s.get(self.pos).is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn call(&mut self) -> Result<Intrinsic, ParseError> {
        self.skip_ws();
        let start = self.pos;
        while self.s.get(self.pos).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.') {
            self.pos += 1;
        }
        let name = &self.src[start..self.pos];
        if self.s.get(self.pos) != Some(&b'(') {
            return Err(self.invalid("expected '(' after the function name"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b')') {
            self.pos += 1;
        } else {
            loop {
                args.push(self.arg()?);
                self.skip_ws();
                match self.s.get(self.pos) {
                    Some(b',') => self.pos += 1,
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.invalid("expected ',' or ')'")),
                }
            }
        }
        build(name, args)
    }

    fn arg(&mut self) -> Result<Token, ParseError> {
        self.skip_ws();
        match self.s.get(self.pos) {
            Some(b'\'') => self.string().map(Token::Str),
            Some(b'$') => {
                // A path runs to the next ',' or ')' outside brackets and quotes.
                let start = self.pos;
                let (mut depth, mut quote) = (0i32, None::<u8>);
                while let Some(&c) = self.s.get(self.pos) {
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, b'\'' | b'"') => quote = Some(c),
                        (None, b'[' | b'(') => depth += 1,
                        (None, b']') => depth -= 1,
                        (None, b')') if depth > 0 => depth -= 1,
                        (None, b',' | b')') => break,
                        _ => {}
                    }
                    self.pos += 1;
                }
                let text = self.src[start..self.pos].trim_end();
                Path::parse(text).map(|p| Token::Other(Arg::Path(p))).map_err(|e| self.invalid(&e))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let rest = &self.src[self.pos..];
                for (word, v) in [("true", Value::Bool(true)), ("false", Value::Bool(false)), ("null", Value::Null)] {
                    if rest.starts_with(word) && !rest[word.len()..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
                        self.pos += word.len();
                        return Ok(Token::Other(Arg::Literal(v)));
                    }
                }
                Ok(Token::Other(Arg::Call(Box::new(self.call()?))))
            }
            Some(c) if c.is_ascii_digit() || *c == b'-' => {
                let start = self.pos;
                self.pos += 1;
                while self
                    .s
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    self.pos += 1;
                }
                let n: serde_json::Number =
                    self.src[start..self.pos].parse().map_err(|_| self.invalid("invalid number"))?;
                Ok(Token::Other(Arg::Literal(Value::Number(n))))
            }
            _ => Err(self.invalid("expected an argument")),
        }
    }

    /// A single-quoted literal; each char carries whether it was escaped, which States.Format
    /// needs to tell `\{` from a placeholder.
    fn string(&mut self) -> Result<Vec<(char, bool)>, ParseError> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut chars = self.src[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\'' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, e @ ('\'' | '{' | '}' | '\\'))) => out.push((e, true)),
                    _ => return Err(self.invalid("invalid escape in string literal")),
                },
                c => out.push((c, false)),
            }
        }
        Err(self.invalid("unterminated string literal"))
    }
}

fn plain(s: Vec<(char, bool)>) -> Arg {
    Arg::Literal(Value::String(s.into_iter().map(|(c, _)| c).collect()))
}

fn into_arg(t: Token) -> Arg {
    match t {
        Token::Str(s) => plain(s),
        Token::Other(a) => a,
    }
}

fn build(name: &str, args: Vec<Token>) -> Result<Intrinsic, ParseError> {
    let got = args.len();
    let arity = |n: usize| {
        if got == n { Ok(()) } else { Err(ParseError::Invalid(format!("{name} takes {n} argument(s), got {got}"))) }
    };
    let mut it = args.into_iter();
    match name {
        "States.Format" => {
            let Some(Token::Str(template)) = it.next() else {
                return Err(ParseError::Invalid(
                    "States.Format needs a string literal template as its first argument".into(),
                ));
            };
            let mut pieces = Vec::new();
            let mut text = String::new();
            let mut chars = template.into_iter().peekable();
            while let Some((c, escaped)) = chars.next() {
                if c == '{' && !escaped && chars.peek() == Some(&('}', false)) {
                    chars.next();
                    pieces.push(FormatPiece::Text(std::mem::take(&mut text)));
                    pieces.push(FormatPiece::Hole);
                } else {
                    text.push(c);
                }
            }
            pieces.push(FormatPiece::Text(text));
            let args: Vec<Arg> = it.map(into_arg).collect();
            let holes = pieces.iter().filter(|p| matches!(p, FormatPiece::Hole)).count();
            if holes != args.len() {
                return Err(ParseError::Invalid(format!(
                    "States.Format template has {holes} placeholder(s) but {} argument(s)",
                    args.len()
                )));
            }
            Ok(Intrinsic::Format(pieces, args))
        }
        "States.StringToJson" => {
            arity(1)?;
            Ok(Intrinsic::StringToJson(into_arg(it.next().unwrap_or_else(null_token))))
        }
        "States.JsonToString" => {
            arity(1)?;
            Ok(Intrinsic::JsonToString(into_arg(it.next().unwrap_or_else(null_token))))
        }
        "States.Array" => Ok(Intrinsic::Array(it.map(into_arg).collect())),
        "States.MathAdd" => {
            arity(2)?;
            let a = into_arg(it.next().unwrap_or_else(null_token));
            let b = into_arg(it.next().unwrap_or_else(null_token));
            Ok(Intrinsic::MathAdd(a, b))
        }
        n if NOT_IMPLEMENTED.contains(&n) => {
            Err(ParseError::Unsupported(format!("intrinsic function {n} (not implemented by the local engine)")))
        }
        n => Err(ParseError::Unsupported(format!("unknown intrinsic function {n}"))),
    }
}

fn null_token() -> Token {
    Token::Other(Arg::Literal(Value::Null))
}

impl Intrinsic {
    /// Runs the function; the error becomes States.IntrinsicFailure.
    pub(crate) fn eval(&self, input: &Value, ctx: &Value) -> Result<Value, String> {
        match self {
            Intrinsic::Format(pieces, args) => {
                let mut vals = args.iter().map(|a| a.eval(input, ctx));
                let mut out = String::new();
                for p in pieces {
                    match p {
                        FormatPiece::Text(t) => out.push_str(t),
                        FormatPiece::Hole => match vals.next().transpose()? {
                            Some(Value::String(s)) => out.push_str(&s),
                            Some(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => out.push_str(&v.to_string()),
                            Some(_) => {
                                return Err("States.Format arguments must be strings, numbers, booleans or null".into());
                            }
                            None => return Err("States.Format: missing argument".into()),
                        },
                    }
                }
                Ok(Value::String(out))
            }
            Intrinsic::StringToJson(a) => match a.eval(input, ctx)? {
                Value::String(s) => {
                    serde_json::from_str(&s).map_err(|e| format!("States.StringToJson: invalid JSON: {e}"))
                }
                _ => Err("States.StringToJson needs a string argument".into()),
            },
            Intrinsic::JsonToString(a) => Ok(Value::String(a.eval(input, ctx)?.to_string())),
            Intrinsic::Array(args) => {
                args.iter().map(|a| a.eval(input, ctx)).collect::<Result<Vec<_>, _>>().map(Value::Array)
            }
            Intrinsic::MathAdd(a, b) => {
                let int = |v: Value| v.as_i64().ok_or_else(|| format!("States.MathAdd needs integers, got {v}"));
                let (x, y) = (int(a.eval(input, ctx)?)?, int(b.eval(input, ctx)?)?);
                x.checked_add(y).map(Value::from).ok_or_else(|| "States.MathAdd overflowed".into())
            }
        }
    }
}

impl Arg {
    fn eval(&self, input: &Value, ctx: &Value) -> Result<Value, String> {
        match self {
            Arg::Literal(v) => Ok(v.clone()),
            Arg::Path(p) => p.eval(input, ctx).ok_or_else(|| format!("the path '{}' matched nothing", p.as_str())),
            Arg::Call(c) => c.eval(input, ctx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(text: &str, input: Value) -> Result<Value, String> {
        parse(text).map_err(|e| format!("{e:?}"))?.eval(&input, &json!({"Execution": {"Name": "exec"}}))
    }

    #[test]
    fn format_with_escapes_paths_and_context() {
        assert_eq!(
            run(
                r"States.Format('Hello {} \{x\} {} {}, it\'s {}', $.name, 3, true, $$.Execution.Name)",
                json!({"name": "Ann"})
            ),
            Ok(json!("Hello Ann {x} 3 true, it's exec"))
        );
        assert!(matches!(parse("States.Format('{} {}', $.a)"), Err(ParseError::Invalid(_))));
        assert!(run("States.Format('{}', $.o)", json!({"o": {}})).is_err());
    }

    #[test]
    fn json_array_and_math() {
        assert_eq!(run("States.StringToJson($.s)", json!({"s": "{\"a\":[1]}"})), Ok(json!({"a": [1]})));
        assert!(run("States.StringToJson($.s)", json!({"s": "{"})).is_err());
        assert_eq!(run("States.JsonToString($.o)", json!({"o": {"a": 1}})), Ok(json!("{\"a\":1}")));
        assert_eq!(
            run("States.Array(1, 'two', $.x, States.MathAdd($.x, -1), null)", json!({"x": 5})),
            Ok(json!([1, "two", 5, 4, null]))
        );
        assert_eq!(run("States.Array()", json!({})), Ok(json!([])));
        assert!(run("States.MathAdd($.x, 1.5)", json!({"x": 1})).is_err());
        assert!(run("States.MathAdd($.missing, 1)", json!({})).is_err());
    }

    #[test]
    fn refuses_unimplemented_and_unknown_functions() {
        match parse("States.UUID()") {
            Err(ParseError::Unsupported(m)) => assert!(m.contains("States.UUID"), "{m}"),
            other => panic!("{other:?}"),
        }
        match parse("States.Array(States.Hash($.a, 'SHA-256'))") {
            Err(ParseError::Unsupported(m)) => assert!(m.contains("States.Hash"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse("States.Nope(1)"), Err(ParseError::Unsupported(_))));
        assert!(matches!(parse("States.Array(1"), Err(ParseError::Invalid(_))));
    }
}
