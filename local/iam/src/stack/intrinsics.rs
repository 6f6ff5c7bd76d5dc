//! CloudFormation intrinsic functions (Ref, Fn::GetAtt, Fn::Sub, Fn::If, conditions, ...) resolved as
//! CloudFormation resolves them.

use super::{Resolver, Result, scalar_text};
use serde_json::{Map, Value};

impl Resolver<'_> {
    /// Resolves every intrinsic in `value`; `None` is `AWS::NoValue` (the property is dropped).
    pub(super) fn resolve(&self, value: &Value, path: &str) -> Result<Option<Value>> {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().expect("one entry");
                let inner = format!("{path}.{key}");
                match key.as_str() {
                    "Ref" => {
                        let name = arg.as_str().ok_or_else(|| self.err(&inner, "Ref takes a name"))?;
                        if name == "AWS::NoValue" {
                            return Ok(None);
                        }
                        self.reference(name, &inner).map(Some)
                    }
                    "Fn::GetAtt" => {
                        let (res, att) = match arg {
                            Value::Array(a) if a.len() == 2 => (a[0].as_str(), self.string(&a[1], &inner).ok()),
                            _ => (None, None),
                        };
                        let (Some(res), Some(att)) = (res, att) else {
                            return Err(self.err(&inner, "Fn::GetAtt takes [Resource, Attribute]"));
                        };
                        self.get_att(res, &att, &inner).map(Some)
                    }
                    "Fn::Sub" => self.sub(arg, &inner).map(|s| Some(Value::String(s))),
                    "Fn::Join" => {
                        let Some([delimiter, list]) = arg.as_array().map(Vec::as_slice) else {
                            return Err(self.err(&inner, "Fn::Join takes [delimiter, [values]]"));
                        };
                        let delimiter =
                            delimiter.as_str().ok_or_else(|| self.err(&inner, "the delimiter must be a string"))?;
                        let list = self.list(list, &format!("{inner}[1]"))?;
                        let parts = list
                            .iter()
                            .enumerate()
                            .map(|(i, v)| self.string(v, &format!("{inner}[1][{i}]")))
                            .collect::<Result<Vec<_>>>()?;
                        Ok(Some(Value::String(parts.join(delimiter))))
                    }
                    "Fn::If" => {
                        let Some([condition, yes, no]) = arg.as_array().map(Vec::as_slice) else {
                            return Err(self.err(&inner, "Fn::If takes [condition, value if true, value if false]"));
                        };
                        let name = condition.as_str().ok_or_else(|| self.err(&inner, "Fn::If names a condition"))?;
                        if self.condition(name, &inner)? {
                            self.resolve(yes, &format!("{inner}[1]"))
                        } else {
                            self.resolve(no, &format!("{inner}[2]"))
                        }
                    }
                    "Fn::Select" => {
                        let Some([index, list]) = arg.as_array().map(Vec::as_slice) else {
                            return Err(self.err(&inner, "Fn::Select takes [index, [values]]"));
                        };
                        let index: usize = self
                            .string(index, &format!("{inner}[0]"))?
                            .parse()
                            .map_err(|_| self.err(&inner, "the index must be a number"))?;
                        let list = self.list(list, &format!("{inner}[1]"))?;
                        list.get(index).cloned().map(Some).ok_or_else(|| {
                            self.err(&inner, format!("index {index} is past the list's {} values", list.len()))
                        })
                    }
                    "Fn::Split" => {
                        let Some([delimiter, text]) = arg.as_array().map(Vec::as_slice) else {
                            return Err(self.err(&inner, "Fn::Split takes [delimiter, string]"));
                        };
                        let delimiter =
                            delimiter.as_str().ok_or_else(|| self.err(&inner, "the delimiter must be a string"))?;
                        let text = self.string(text, &format!("{inner}[1]"))?;
                        Ok(Some(Value::Array(text.split(delimiter).map(|s| Value::String(s.into())).collect())))
                    }
                    k if k.starts_with("Fn::") => {
                        Err(self.err(&inner, format!("{k} is not resolved by the local cloud")))
                    }
                    _ => self.resolve_object(map, path).map(Some),
                }
            }
            Value::Object(map) => self.resolve_object(map, path).map(Some),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(v) = self.resolve(item, &format!("{path}[{i}]"))? {
                        out.push(v);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            scalar => Ok(Some(scalar.clone())),
        }
    }

    pub(super) fn resolve_object(&self, map: &Map<String, Value>, path: &str) -> Result<Value> {
        let mut out = Map::new();
        for (key, value) in map {
            let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            if let Some(v) = self.resolve(value, &child)? {
                out.insert(key.clone(), v);
            }
        }
        Ok(Value::Object(out))
    }

    /// A value that must resolve to a string (numbers count as their text).
    pub(super) fn string(&self, value: &Value, path: &str) -> Result<String> {
        let resolved = self
            .resolve(value, path)?
            .ok_or_else(|| self.err(path, "resolves to AWS::NoValue where a value is needed"))?;
        scalar_text(&resolved).ok_or_else(|| self.err(path, format!("expected a string, found {resolved}")))
    }

    pub(super) fn list(&self, value: &Value, path: &str) -> Result<Vec<Value>> {
        match self.resolve(value, path)? {
            Some(Value::Array(items)) => Ok(items),
            other => Err(self.err(path, format!("expected a list, found {}", other.unwrap_or(Value::Null)))),
        }
    }

    /// `Ref` of a parameter, pseudo parameter or resource.
    pub(super) fn reference(&self, name: &str, path: &str) -> Result<Value> {
        let s = self.settings;
        let pseudo = match name {
            "AWS::AccountId" => Some(s.account.clone()),
            "AWS::Region" => Some(s.region.clone()),
            "AWS::Partition" => Some(s.partition.clone()),
            "AWS::StackName" => Some(s.stack_name.clone()),
            "AWS::URLSuffix" => Some(if s.partition == "aws-cn" { "amazonaws.com.cn" } else { "amazonaws.com" }.into()),
            "AWS::StackId" => Some(format!(
                "arn:{}:cloudformation:{}:{}:stack/{}/local",
                s.partition, s.region, s.account, s.stack_name
            )),
            _ => None,
        };
        if let Some(value) = pseudo {
            return Ok(Value::String(value));
        }
        if let Some(value) = self.parameters.get(name) {
            return Ok(value.clone());
        }
        self.ref_value(name, path)
    }

    /// `Fn::Sub`, both forms: `${Name}` (parameter, pseudo parameter, resource Ref or variable),
    /// `${Resource.Attribute}`, and `${!Literal}`.
    pub(super) fn sub(&self, arg: &Value, path: &str) -> Result<String> {
        let (text, variables) = match arg {
            Value::String(text) => (text.as_str(), None),
            Value::Array(pair) if pair.len() == 2 && pair[0].is_string() && pair[1].is_object() => {
                (pair[0].as_str().expect("checked"), pair[1].as_object())
            }
            _ => return Err(self.err(path, "Fn::Sub takes a string or [string, {variables}]")),
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| self.err(path, format!("unclosed ${{ in {text:?}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.and_then(|v| v.get(name)) {
                out.push_str(&self.string(value, &format!("{path}[1].{name}"))?);
            } else if let Some((resource, attribute)) = name.split_once('.')
                && !name.starts_with("AWS::")
            {
                let value = self.get_att(resource, attribute, path)?;
                out.push_str(value.as_str().unwrap_or_default());
            } else {
                let value = self.reference(name, path)?;
                out.push_str(
                    &scalar_text(&value)
                        .ok_or_else(|| self.err(path, format!("${{{name}}} is a list, not a string")))?,
                );
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    pub(super) fn condition(&self, name: &str, path: &str) -> Result<bool> {
        let definition = self
            .template
            .root
            .get("Conditions")
            .and_then(|c| c.get(name))
            .ok_or_else(|| self.err(path, format!("condition {name} is not defined under Conditions")))?;
        self.condition_value(definition, &format!("Conditions.{name}"))
    }

    pub(super) fn condition_value(&self, value: &Value, path: &str) -> Result<bool> {
        let Some((key, arg)) = value.as_object().filter(|m| m.len() == 1).and_then(|m| m.iter().next()) else {
            return Err(self.err(path, "a condition must be one of Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition"));
        };
        let inner = format!("{path}.{key}");
        let list = || arg.as_array().ok_or_else(|| self.err(&inner, format!("{key} takes a list")));
        match key.as_str() {
            "Condition" => self.condition(arg.as_str().ok_or_else(|| self.err(&inner, "names a condition"))?, &inner),
            "Fn::Equals" => {
                let [a, b] = list()?.as_slice() else { return Err(self.err(&inner, "Fn::Equals takes two values")) };
                Ok(self.string(a, &format!("{inner}[0]"))? == self.string(b, &format!("{inner}[1]"))?)
            }
            "Fn::Not" => {
                let [a] = list()?.as_slice() else { return Err(self.err(&inner, "Fn::Not takes one condition")) };
                Ok(!self.condition_value(a, &format!("{inner}[0]"))?)
            }
            "Fn::And" | "Fn::Or" => {
                let mut results =
                    list()?.iter().enumerate().map(|(i, c)| self.condition_value(c, &format!("{inner}[{i}]")));
                if key == "Fn::And" {
                    results.try_fold(true, |acc, r| Ok(acc && r?))
                } else {
                    results.try_fold(false, |acc, r| Ok(acc || r?))
                }
            }
            other => Err(self.err(&inner, format!("{other} is not a condition function"))),
        }
    }
}
