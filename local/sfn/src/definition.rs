//! Loading a definition: JSON into typed states, with every check done once, up front.
//!
//! Anything the engine does not implement is refused here, with the construct and the state
//! named, so that an execution never meets a construct it would have to guess about.

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde_json::{Map, Value};

use crate::choice::{self, Choice};
use crate::clock::Timestamp;
use crate::intrinsics;
use crate::path::{Path, ReferencePath, Root};
use crate::template::{self, Template};

/// Why a definition was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the definition is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A valid ASL construct that this engine does not run (or JSONata, or an unknown field).
    #[error("{at}: not supported by the local engine: {construct}")]
    Unsupported { at: String, construct: String },
    /// A definition Step Functions itself would reject.
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
}

/// The state types this engine runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum StateType {
    Task,
    Pass,
    Choice,
    Wait,
    Succeed,
    Fail,
}

impl StateType {
    pub fn as_str(self) -> &'static str {
        match self {
            StateType::Task => "Task",
            StateType::Pass => "Pass",
            StateType::Choice => "Choice",
            StateType::Wait => "Wait",
            StateType::Succeed => "Succeed",
            StateType::Fail => "Fail",
        }
    }
}

/// InputPath / OutputPath: absent means `$`, `null` means `{}`.
#[derive(Clone, Debug)]
pub(crate) enum IoPath {
    Identity,
    Empty,
    Path(Path),
}

/// ResultPath: absent means `$` (replace), `null` discards the result.
#[derive(Clone, Debug)]
pub(crate) enum ResultPath {
    Discard,
    At(ReferencePath),
}

#[derive(Clone, Debug)]
pub(crate) enum Transition {
    Next(String),
    End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Jitter {
    None,
    Full,
}

#[derive(Clone, Debug)]
pub(crate) struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

#[derive(Clone, Debug)]
pub(crate) struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    pub result_path: ResultPath,
}

#[derive(Clone, Debug)]
pub(crate) enum WaitFor {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(Timestamp),
    TimestampPath(Path),
}

#[derive(Clone, Debug)]
pub(crate) enum Body {
    Task {
        resource: String,
        parameters: Option<Template>,
        result_selector: Option<Template>,
        result_path: ResultPath,
        timeout_seconds: Option<u64>,
        retry: Vec<Retrier>,
        catch: Vec<Catcher>,
        transition: Transition,
    },
    Pass {
        result: Option<Value>,
        parameters: Option<Template>,
        result_path: ResultPath,
        transition: Transition,
    },
    Choice {
        choices: Vec<Choice>,
        default: Option<String>,
    },
    Wait {
        wait: WaitFor,
        transition: Transition,
    },
    Succeed,
    Fail {
        error: Option<Text>,
        cause: Option<Text>,
    },
}

/// Fail's Error/Cause: a literal or a path to a string.
#[derive(Clone, Debug)]
pub(crate) enum Text {
    Literal(String),
    Path(Path),
}

#[derive(Clone, Debug)]
pub(crate) struct State {
    pub input_path: IoPath,
    pub output_path: IoPath,
    pub body: Body,
}

impl State {
    pub(crate) fn state_type(&self) -> StateType {
        match self.body {
            Body::Task { .. } => StateType::Task,
            Body::Pass { .. } => StateType::Pass,
            Body::Choice { .. } => StateType::Choice,
            Body::Wait { .. } => StateType::Wait,
            Body::Succeed => StateType::Succeed,
            Body::Fail { .. } => StateType::Fail,
        }
    }

    fn targets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        match &self.body {
            Body::Task { transition, catch, .. } => {
                if let Transition::Next(n) = transition {
                    out.push(n);
                }
                out.extend(catch.iter().map(|c| c.next.as_str()));
            }
            Body::Pass { transition, .. } | Body::Wait { transition, .. } => {
                if let Transition::Next(n) = transition {
                    out.push(n);
                }
            }
            Body::Choice { choices, default } => {
                out.extend(choices.iter().map(|c| c.next.as_str()));
                out.extend(default.as_deref());
            }
            Body::Succeed | Body::Fail { .. } => {}
        }
        out
    }
}

/// A loaded state machine definition (JSONPath flavour).
#[derive(Clone, Debug)]
pub struct Definition {
    pub(crate) start_at: String,
    pub(crate) timeout_seconds: Option<u64>,
    pub(crate) states: BTreeMap<String, State>,
}

/// Fields that exist in ASL but that this engine does not run, so the error can say so.
const KNOWN_UNSUPPORTED: &[&str] = &[
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "TimeoutSecondsPath",
    "Credentials",
    "Arguments",
    "Output",
    "Assign",
    "Branches",
    "Iterator",
    "ItemProcessor",
    "ItemReader",
    "ItemSelector",
    "ItemsPath",
    "Items",
    "ItemBatcher",
    "ResultWriter",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "Label",
];

struct Fields {
    at: String,
    map: Map<String, Value>,
}

impl Fields {
    fn invalid(&self, message: impl Into<String>) -> LoadError {
        LoadError::Invalid { at: self.at.clone(), message: message.into() }
    }

    fn unsupported(&self, construct: impl Into<String>) -> LoadError {
        LoadError::Unsupported { at: self.at.clone(), construct: construct.into() }
    }

    fn take(&mut self, k: &str) -> Option<Value> {
        self.map.remove(k)
    }

    fn string(&mut self, k: &str) -> Result<Option<String>, LoadError> {
        match self.take(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(format!("'{k}' must be a string"))),
        }
    }

    fn uint(&mut self, k: &str, min: u64) -> Result<Option<u64>, LoadError> {
        match self.take(k) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n >= min => Ok(Some(n)),
                _ => Err(self.invalid(format!("'{k}' must be an integer >= {min}, got {v}"))),
            },
        }
    }

    fn path(&mut self, k: &str) -> Result<Option<Path>, LoadError> {
        match self.string(k)? {
            None => Ok(None),
            Some(s) if s.starts_with("States.") => Err(self.unsupported(format!("intrinsic function in '{k}'"))),
            Some(s) => Path::parse(&s).map(Some).map_err(|e| self.invalid(format!("{k}: {e}"))),
        }
    }

    fn io_path(&mut self, k: &str) -> Result<IoPath, LoadError> {
        match self.map.get(k) {
            None => Ok(IoPath::Identity),
            Some(Value::Null) => {
                self.take(k);
                Ok(IoPath::Empty)
            }
            Some(_) => {
                let p = self.path(k)?.unwrap_or_else(|| unreachable!("checked present"));
                if p.root() == Root::Context {
                    return Err(self.unsupported(format!("a context path ($$) in '{k}'")));
                }
                Ok(IoPath::Path(p))
            }
        }
    }

    fn result_path(&mut self) -> Result<ResultPath, LoadError> {
        match self.take("ResultPath") {
            None => Ok(ResultPath::At(ReferencePath::parse("$").expect("'$' parses"))),
            Some(Value::Null) => Ok(ResultPath::Discard),
            Some(Value::String(s)) => {
                ReferencePath::parse(&s).map(ResultPath::At).map_err(|e| self.invalid(format!("ResultPath: {e}")))
            }
            Some(_) => Err(self.invalid("'ResultPath' must be a string or null")),
        }
    }

    fn template(&mut self, k: &str) -> Result<Option<Template>, LoadError> {
        match self.take(k) {
            None => Ok(None),
            Some(v) => template::compile(&v).map(Some).map_err(|e| match e {
                intrinsics::ParseError::Unsupported(c) => self.unsupported(format!("{c} in '{k}'")),
                intrinsics::ParseError::Invalid(m) => self.invalid(format!("{k}: {m}")),
            }),
        }
    }

    fn transition(&mut self) -> Result<Transition, LoadError> {
        let next = self.string("Next")?;
        let end = self.take("End");
        match (next, end) {
            (Some(n), None) => Ok(Transition::Next(n)),
            (None, Some(Value::Bool(true))) => Ok(Transition::End),
            (None, None) => Err(self.invalid("needs either 'Next' or 'End': true")),
            (Some(_), Some(_)) => Err(self.invalid("has both 'Next' and 'End'")),
            (None, Some(_)) => Err(self.invalid("'End' must be true")),
        }
    }

    fn error_equals(&self, v: &Map<String, Value>, what: &str) -> Result<Vec<String>, LoadError> {
        let list: Vec<String> = match v.get("ErrorEquals") {
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .map(|e| e.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| self.invalid(format!("{what}: ErrorEquals must hold strings")))?,
            _ => return Err(self.invalid(format!("{what}: needs a non-empty ErrorEquals"))),
        };
        if list.len() > 1 && list.iter().any(|e| e == "States.ALL") {
            return Err(self.invalid(format!("{what}: States.ALL must appear alone in ErrorEquals")));
        }
        Ok(list)
    }

    /// Leftover keys are refused: a field of another ASL state type, an ASL field this engine
    /// does not implement, or an unknown field.
    fn finish(self, type_name: &str) -> Result<(), LoadError> {
        let Some(k) = self.map.keys().next() else {
            return Ok(());
        };
        if KNOWN_UNSUPPORTED.contains(&k.as_str()) {
            return Err(self.unsupported(format!("field '{k}'")));
        }
        Err(self.unsupported(format!("field '{k}' (not a known field of a {type_name} state)")))
    }
}

fn query_language(f: &mut Fields) -> Result<(), LoadError> {
    match f.take("QueryLanguage") {
        None => Ok(()),
        Some(Value::String(s)) if s == "JSONPath" => Ok(()),
        Some(v) => Err(f.unsupported(format!("QueryLanguage {v} (only JSONPath is implemented)"))),
    }
}

fn parse_state(name: &str, v: Value) -> Result<State, LoadError> {
    let at = format!("state '{name}'");
    let Value::Object(map) = v else {
        return Err(LoadError::Invalid { at, message: "a state must be an object".into() });
    };
    let mut f = Fields { at, map };
    f.take("Comment");
    query_language(&mut f)?;
    let type_name = f.string("Type")?.ok_or_else(|| f.invalid("missing 'Type'"))?;
    let (input_path, output_path) = if type_name == "Fail" {
        (IoPath::Identity, IoPath::Identity)
    } else {
        (f.io_path("InputPath")?, f.io_path("OutputPath")?)
    };
    let body = match type_name.as_str() {
        "Task" => parse_task(&mut f)?,
        "Pass" => {
            let result = f.take("Result");
            let parameters = f.template("Parameters")?;
            Body::Pass { result, parameters, result_path: f.result_path()?, transition: f.transition()? }
        }
        "Choice" => {
            let choices = match f.take("Choices") {
                Some(Value::Array(a)) if !a.is_empty() => {
                    a.iter().map(choice::parse_choice).collect::<Result<Vec<_>, _>>().map_err(|m| {
                        match m.strip_prefix("unsupported: ") {
                            Some(c) => f.unsupported(c),
                            None => f.invalid(format!("Choices: {m}")),
                        }
                    })?
                }
                _ => return Err(f.invalid("needs a non-empty 'Choices' array")),
            };
            Body::Choice { choices, default: f.string("Default")? }
        }
        "Wait" => {
            let mut found = Vec::new();
            if let Some(s) = f.uint("Seconds", 0)? {
                found.push(WaitFor::Seconds(s));
            }
            if let Some(p) = f.path("SecondsPath")? {
                found.push(WaitFor::SecondsPath(p));
            }
            if let Some(s) = f.string("Timestamp")? {
                let t = Timestamp::parse_rfc3339(&s)
                    .ok_or_else(|| f.invalid(format!("'Timestamp' is not an RFC 3339 time: {s}")))?;
                found.push(WaitFor::Timestamp(t));
            }
            if let Some(p) = f.path("TimestampPath")? {
                found.push(WaitFor::TimestampPath(p));
            }
            if found.len() != 1 {
                return Err(f.invalid("needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath"));
            }
            Body::Wait { wait: found.remove(0), transition: f.transition()? }
        }
        "Succeed" => Body::Succeed,
        "Fail" => {
            let mut text = |lit: &str, path: &str| -> Result<Option<Text>, LoadError> {
                match (f.string(lit)?, f.path(path)?) {
                    (Some(_), Some(_)) => Err(f.invalid(format!("has both '{lit}' and '{path}'"))),
                    (Some(s), None) => Ok(Some(Text::Literal(s))),
                    (None, Some(p)) => Ok(Some(Text::Path(p))),
                    (None, None) => Ok(None),
                }
            };
            let error = text("Error", "ErrorPath")?;
            let cause = text("Cause", "CausePath")?;
            Body::Fail { error, cause }
        }
        "Parallel" | "Map" => {
            return Err(f.unsupported(format!("state type {type_name}")));
        }
        other => return Err(f.invalid(format!("unknown state type '{other}'"))),
    };
    f.finish(&type_name)?;
    Ok(State { input_path, output_path, body })
}

fn parse_task(f: &mut Fields) -> Result<Body, LoadError> {
    let resource = f.string("Resource")?.ok_or_else(|| f.invalid("a Task needs 'Resource'"))?;
    if resource.ends_with(".waitForTaskToken") {
        return Err(f.unsupported(format!("the .waitForTaskToken integration pattern (Resource {resource})")));
    }
    let parameters = f.template("Parameters")?;
    let result_selector = f.template("ResultSelector")?;
    let result_path = f.result_path()?;
    let timeout_seconds = f.uint("TimeoutSeconds", 1)?;
    let mut retry = Vec::new();
    match f.take("Retry") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, r) in items.iter().enumerate() {
                retry.push(parse_retrier(f, r, i)?);
            }
        }
        Some(_) => return Err(f.invalid("'Retry' must be an array")),
    }
    let mut catch = Vec::new();
    match f.take("Catch") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, c) in items.iter().enumerate() {
                let what = format!("Catch[{i}]");
                let Value::Object(m) = c else {
                    return Err(f.invalid(format!("{what} must be an object")));
                };
                let mut cf = Fields { at: format!("{} {what}", f.at), map: m.clone() };
                let error_equals = cf.error_equals(m, &what)?;
                cf.take("ErrorEquals");
                cf.take("Comment");
                let next = cf.string("Next")?.ok_or_else(|| cf.invalid("needs 'Next'"))?;
                let result_path = cf.result_path()?;
                cf.finish("Catcher")?;
                catch.push(Catcher { error_equals, next, result_path });
            }
        }
        Some(_) => return Err(f.invalid("'Catch' must be an array")),
    }
    for (what, lists) in [
        ("Retry", retry.iter().map(|r| &r.error_equals).collect::<Vec<_>>()),
        ("Catch", catch.iter().map(|c| &c.error_equals).collect()),
    ] {
        if let Some(pos) = lists.iter().position(|l| l.iter().any(|e| e == "States.ALL"))
            && pos + 1 != lists.len()
        {
            return Err(f.invalid(format!("States.ALL must be in the last {what} entry")));
        }
    }
    Ok(Body::Task {
        resource,
        parameters,
        result_selector,
        result_path,
        timeout_seconds,
        retry,
        catch,
        transition: f.transition()?,
    })
}

fn parse_retrier(f: &Fields, r: &Value, i: usize) -> Result<Retrier, LoadError> {
    let what = format!("Retry[{i}]");
    let Value::Object(m) = r else {
        return Err(f.invalid(format!("{what} must be an object")));
    };
    let mut rf = Fields { at: format!("{} {what}", f.at), map: m.clone() };
    let error_equals = rf.error_equals(m, &what)?;
    rf.take("ErrorEquals");
    rf.take("Comment");
    let interval_seconds = rf.uint("IntervalSeconds", 1)?.unwrap_or(1);
    let max_attempts = rf.uint("MaxAttempts", 0)?.unwrap_or(3);
    let backoff_rate = match rf.take("BackoffRate") {
        None => 2.0,
        Some(v) => match v.as_f64() {
            Some(b) if b >= 1.0 => b,
            _ => return Err(rf.invalid(format!("BackoffRate must be a number >= 1.0, got {v}"))),
        },
    };
    let max_delay_seconds = rf.uint("MaxDelaySeconds", 1)?;
    let jitter = match rf.string("JitterStrategy")?.as_deref() {
        None | Some("NONE") => Jitter::None,
        Some("FULL") => Jitter::Full,
        Some(other) => return Err(rf.invalid(format!("JitterStrategy must be FULL or NONE, got {other}"))),
    };
    rf.finish("Retrier")?;
    Ok(Retrier { error_equals, interval_seconds, max_attempts, backoff_rate, max_delay_seconds, jitter })
}

impl Definition {
    /// Parses and validates a definition (after any DefinitionSubstitutions).
    pub fn parse(json: &str) -> Result<Definition, LoadError> {
        let value: Value = serde_json::from_str(json)?;
        let Value::Object(map) = value else {
            return Err(LoadError::Invalid {
                at: "top level".into(),
                message: "the definition must be a JSON object".into(),
            });
        };
        let mut f = Fields { at: "top level".into(), map };
        f.take("Comment");
        f.take("Version");
        query_language(&mut f)?;
        let start_at = f.string("StartAt")?.ok_or_else(|| f.invalid("missing 'StartAt'"))?;
        let timeout_seconds = f.uint("TimeoutSeconds", 1)?;
        let raw_states = match f.take("States") {
            Some(Value::Object(m)) if !m.is_empty() => m,
            _ => return Err(f.invalid("'States' must be a non-empty object")),
        };
        f.finish("state machine")?;
        let mut states = BTreeMap::new();
        for (name, v) in raw_states {
            if name.is_empty() || name.chars().count() > 80 {
                return Err(LoadError::Invalid {
                    at: format!("state '{name}'"),
                    message: "state names must be 1 to 80 characters".into(),
                });
            }
            let s = parse_state(&name, v)?;
            states.insert(name, s);
        }
        let def = Definition { start_at, timeout_seconds, states };
        def.check_transitions()?;
        Ok(def)
    }

    fn check_transitions(&self) -> Result<(), LoadError> {
        if !self.states.contains_key(&self.start_at) {
            return Err(LoadError::Invalid {
                at: "top level".into(),
                message: format!("StartAt '{}' is not a state", self.start_at),
            });
        }
        for (name, s) in &self.states {
            for t in s.targets() {
                if !self.states.contains_key(t) {
                    return Err(LoadError::Invalid {
                        at: format!("state '{name}'"),
                        message: format!("transition to '{t}', which is not a state"),
                    });
                }
            }
        }
        // Step Functions refuses states that nothing can reach; so do we.
        let mut seen = HashSet::from([self.start_at.as_str()]);
        let mut queue = VecDeque::from([self.start_at.as_str()]);
        while let Some(n) = queue.pop_front() {
            for t in self.states[n].targets() {
                if seen.insert(t) {
                    queue.push_back(t);
                }
            }
        }
        if let Some(n) = self.states.keys().find(|n| !seen.contains(n.as_str())) {
            return Err(LoadError::Invalid {
                at: format!("state '{n}'"),
                message: "is not reachable from StartAt".into(),
            });
        }
        Ok(())
    }

    pub fn start_at(&self) -> &str {
        &self.start_at
    }

    /// The machine-level TimeoutSeconds, if set.
    pub fn timeout_seconds(&self) -> Option<u64> {
        self.timeout_seconds
    }

    /// State names, sorted.
    pub fn state_names(&self) -> impl Iterator<Item = &str> {
        self.states.keys().map(String::as_str)
    }

    pub fn state_type(&self, name: &str) -> Option<StateType> {
        self.states.get(name).map(State::state_type)
    }
}
