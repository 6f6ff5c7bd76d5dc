//! template.yaml as JSON: CloudFormation's short-form tags become their long forms (`!Sub x` ->
//! `{"Fn::Sub": x}`, `!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`, `!Ref x` -> `{"Ref": x}`), exactly the
//! equivalence CloudFormation defines, and the line of every node is kept so that an error can say where.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {path}: {message}")]
pub struct TemplateError {
    pub file: String,
    /// 1-based; 0 when the place is not in the file (a parameter override).
    pub line: usize,
    /// e.g. `Resources.StartJobFunction.Properties.Policies[0].Statement[1].Resource`.
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub file: String,
    pub root: Value,
    lines: HashMap<String, usize>,
}

/// The intrinsic functions that have a short form, by tag.
const SHORT_FORMS: &[(&str, &str)] = &[
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    ("Sub", "Fn::Sub"),
    ("GetAtt", "Fn::GetAtt"),
    ("Join", "Fn::Join"),
    ("If", "Fn::If"),
    ("Equals", "Fn::Equals"),
    ("And", "Fn::And"),
    ("Or", "Fn::Or"),
    ("Not", "Fn::Not"),
    ("Select", "Fn::Select"),
    ("Split", "Fn::Split"),
    ("FindInMap", "Fn::FindInMap"),
    ("Base64", "Fn::Base64"),
    ("Cidr", "Fn::Cidr"),
    ("GetAZs", "Fn::GetAZs"),
    ("ImportValue", "Fn::ImportValue"),
    ("Transform", "Fn::Transform"),
    ("Length", "Fn::Length"),
    ("ToJsonString", "Fn::ToJsonString"),
];

impl Template {
    pub fn parse(file: &str, text: &str) -> Result<Template, TemplateError> {
        let err =
            |line, path: &str, message: String| TemplateError { file: file.into(), line, path: path.into(), message };
        let docs = MarkedYaml::load_from_str(text).map_err(|e| err(e.marker().line(), "", e.info().to_string()))?;
        let [doc] = docs.as_slice() else {
            return Err(err(1, "", format!("expected one YAML document, found {}", docs.len())));
        };
        let mut lines = HashMap::new();
        let root = convert(doc, "", &mut lines).map_err(|(line, path, message)| err(line, &path, message))?;
        if !root.is_object() {
            return Err(err(1, "", "the template must be a mapping".into()));
        }
        Ok(Template { file: file.into(), root, lines })
    }

    /// The line of the node at `path`, or of its nearest ancestor that has one.
    pub fn line_of(&self, path: &str) -> usize {
        let mut p = path;
        loop {
            if let Some(line) = self.lines.get(p) {
                return *line;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return 0,
            }
        }
    }

    /// An error at `path`, with its line.
    pub fn error(&self, path: &str, message: impl Into<String>) -> TemplateError {
        TemplateError { file: self.file.clone(), line: self.line_of(path), path: path.into(), message: message.into() }
    }
}

type Failure = (usize, String, String);

fn child(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn convert(node: &MarkedYaml, path: &str, lines: &mut HashMap<String, usize>) -> Result<Value, Failure> {
    let line = node.span.start.line();
    // A mapping's entry has its key's line already: a block value starts on the line after its key.
    if line > 0 {
        lines.entry(path.to_string()).or_insert(line);
    }
    Ok(match &node.data {
        YamlData::Value(scalar) => scalar_value(scalar),
        YamlData::Representation(text, _, _) => Value::String(text.to_string()),
        YamlData::Sequence(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| convert(item, &format!("{path}[{i}]"), lines))
                .collect::<Result<_, _>>()?,
        ),
        YamlData::Mapping(map) => {
            let mut out = Map::new();
            for (key_node, value) in map {
                let key = match &key_node.data {
                    YamlData::Value(scalar) => match scalar_value(scalar) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    },
                    YamlData::Representation(text, _, _) => text.to_string(),
                    _ => {
                        return Err((
                            key_node.span.start.line(),
                            path.to_string(),
                            "a mapping key must be a scalar".into(),
                        ));
                    }
                };
                let child_path = child(path, &key);
                lines.insert(child_path.clone(), key_node.span.start.line());
                let value = convert(value, &child_path, lines)?;
                out.insert(key, value);
            }
            Value::Object(out)
        }
        YamlData::Tagged(tag, inner) => {
            let Some((_, long)) = SHORT_FORMS.iter().find(|(short, _)| tag.handle == "!" && *short == tag.suffix)
            else {
                return Err((
                    line,
                    path.to_string(),
                    format!("unknown tag {}{}: not a CloudFormation intrinsic function", tag.handle, tag.suffix),
                ));
            };
            let inner_path = child(path, long);
            let mut value = convert(inner, &inner_path, lines)?;
            if *long == "Fn::GetAtt"
                && let Value::String(dotted) = &value
            {
                // `!GetAtt Resource.Attribute` (the attribute may itself contain dots).
                let Some((resource, attribute)) = dotted.split_once('.') else {
                    return Err((line, inner_path, format!("!GetAtt {dotted}: expected Resource.Attribute")));
                };
                value = Value::Array(vec![resource.into(), attribute.into()]);
            }
            let mut map = Map::new();
            map.insert(long.to_string(), value);
            Value::Object(map)
        }
        YamlData::Alias(_) => {
            return Err((line, path.to_string(), "YAML aliases are not supported by CloudFormation".into()));
        }
        YamlData::BadValue => return Err((line, path.to_string(), "a value YAML cannot read".into())),
    })
}

fn scalar_value(scalar: &Scalar) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Number((*i).into()),
        Scalar::FloatingPoint(f) => Number::from_f64(f.into_inner()).map_or(Value::Null, Value::Number),
        Scalar::String(s) => Value::String(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms_become_long_forms() {
        let t = Template::parse(
            "t.yaml",
            "A:\n  - !Ref X\n  - !Sub 'arn:${AWS::Partition}:s3:::b'\n  - !GetAtt Role.Arn\n  - !Sub\n    - '${a}'\n    - a: !GetAtt [T, TopicName]\n  - !Join [':', [a, b]]\n  - !If [C, 1, !Ref AWS::NoValue]\n",
        )
        .unwrap();
        assert_eq!(
            t.root,
            json!({"A": [{"Ref": "X"}, {"Fn::Sub": "arn:${AWS::Partition}:s3:::b"}, {"Fn::GetAtt": ["Role", "Arn"]},
                {"Fn::Sub": ["${a}", {"a": {"Fn::GetAtt": ["T", "TopicName"]}}]}, {"Fn::Join": [":", ["a", "b"]]},
                {"Fn::If": ["C", 1, {"Ref": "AWS::NoValue"}]}]})
        );
    }

    #[test]
    fn lines_are_kept_for_errors() {
        let t = Template::parse("t.yaml", "Resources:\n  R:\n    Properties:\n      P: !Ref X\n").unwrap();
        assert_eq!(t.line_of("Resources.R.Properties.P"), 4);
        assert_eq!(t.line_of("Resources.R.Properties.P.Ref"), 4);
        assert_eq!(t.line_of("Resources.R.Properties.Missing[3]"), 3, "falls back to the nearest ancestor");
        assert_eq!(t.line_of("Resources.R"), 2, "an entry is at its key's line");
        let e = Template::parse("t.yaml", "A:\n  B: !Frobnicate x\n").unwrap_err();
        assert_eq!((e.line, e.path.as_str()), (2, "A.B"));
        assert!(e.message.contains("!Frobnicate"), "{e}");
        let e = Template::parse("t.yaml", "A: [\n").unwrap_err();
        assert!(e.line >= 1, "{e}");
    }
}
