//! One validation record -> what the models are asked and what they should answer.
//!
//! The record's shape is recognised from its fields, not from the configured format, so every dataset
//! format that has an answer works: prompt/completion; `bedrock-conversation-2024` and Claude messages
//! (the conversation up to the last assistant turn, whose text is the reference); OpenAI chat messages
//! with `reference_answer` (RFT). Continued pre-training records (`{"input": ...}`) carry no answer.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub role: Role,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub system: Vec<String>,
    /// Starts with a user turn, roles alternate (Converse requires both).
    pub turns: Vec<Turn>,
    pub reference: String,
}

impl Sample {
    /// The prompt as one readable text, for predictions.jsonl.
    pub fn prompt_text(&self) -> String {
        if self.system.is_empty() && self.turns.len() == 1 {
            return self.turns[0].text.clone();
        }
        let system = self.system.iter().map(|s| format!("system: {s}"));
        let turns = self.turns.iter().map(|t| match t.role {
            Role::User => format!("user: {}", t.text),
            Role::Assistant => format!("assistant: {}", t.text),
        });
        system.chain(turns).collect::<Vec<_>>().join("\n")
    }

    /// For models whose Converse has no system prompt (Titan): the system text leads the first turn.
    pub fn fold_system_into_first_turn(&mut self) {
        if self.system.is_empty() {
            return;
        }
        let system = std::mem::take(&mut self.system).join("\n");
        if let Some(first) = self.turns.first_mut() {
            first.text = format!("{system}\n\n{}", first.text);
        }
    }
}

/// Why a line gives no sample (counted as skipped, never fatal: the validator already vetted the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    NotJson,
    NoAnswer,
    NoPrompt,
}

pub fn parse_line(line: &str) -> Result<Sample, Skip> {
    let value: Value = serde_json::from_str(line).map_err(|_| Skip::NotJson)?;
    let obj = value.as_object().ok_or(Skip::NotJson)?;
    if let (Some(Value::String(prompt)), Some(completion)) = (obj.get("prompt"), obj.get("completion")) {
        let reference = text_of(completion).ok_or(Skip::NoAnswer)?;
        return Ok(Sample { system: vec![], turns: vec![Turn { role: Role::User, text: prompt.clone() }], reference });
    }
    let messages = obj.get("messages").and_then(Value::as_array).ok_or(Skip::NoAnswer)?;
    let mut system: Vec<String> = match obj.get("system") {
        Some(Value::String(s)) if !s.trim().is_empty() => vec![s.clone()],
        Some(Value::Array(blocks)) => {
            blocks.iter().filter_map(|b| b.get("text")?.as_str().map(str::to_string)).collect()
        }
        _ => vec![],
    };
    let mut turns = Vec::new();
    for m in messages {
        let text = m.get("content").and_then(text_of).unwrap_or_default();
        match m.get("role").and_then(Value::as_str) {
            Some("system") => system.push(text),
            Some("user") => turns.push(Turn { role: Role::User, text }),
            Some("assistant") => turns.push(Turn { role: Role::Assistant, text }),
            _ => {}
        }
    }
    let reference = match obj.get("reference_answer") {
        Some(answer) => text_of(answer).unwrap_or_else(|| answer.to_string()),
        None => {
            let last = turns.iter().rposition(|t| t.role == Role::Assistant).ok_or(Skip::NoAnswer)?;
            let answer = turns.remove(last);
            turns.truncate(last);
            answer.text
        }
    };
    let turns = alternate(turns);
    if turns.first().is_none_or(|t| t.role != Role::User) {
        return Err(Skip::NoPrompt);
    }
    Ok(Sample { system, turns, reference })
}

/// A string, or the text blocks of a content array (`[{"text": ...}, {"image": ...}]`) joined.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Array(blocks) => {
            let texts: Vec<&str> = blocks.iter().filter_map(|b| b.get("text")?.as_str()).collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

/// Merges consecutive turns of one role (Converse rejects them) and drops a leading assistant turn.
fn alternate(turns: Vec<Turn>) -> Vec<Turn> {
    let mut out: Vec<Turn> = Vec::with_capacity(turns.len());
    for t in turns {
        match out.last_mut() {
            Some(last) if last.role == t.role => {
                last.text.push('\n');
                last.text.push_str(&t.text);
            }
            None if t.role == Role::Assistant => {}
            _ => out.push(t),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(t: &str) -> Turn {
        Turn { role: Role::User, text: t.into() }
    }

    #[test]
    fn prompt_completion() {
        let s = parse_line(r#"{"prompt": "Capital of France?", "completion": "Paris"}"#).unwrap();
        assert_eq!(s.turns, vec![user("Capital of France?")]);
        assert_eq!((s.reference.as_str(), s.prompt_text().as_str()), ("Paris", "Capital of France?"));
    }

    #[test]
    fn bedrock_conversation_up_to_the_last_assistant_turn() {
        let line = r#"{"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "Be brief."}],
            "messages": [{"role": "user", "content": [{"text": "Hi"}]},
                         {"role": "assistant", "content": [{"text": "Hello"}]},
                         {"role": "user", "content": [{"text": "Capital?"}, {"image": {"format": "png"}}]},
                         {"role": "assistant", "content": [{"text": "Paris"}]}]}"#;
        let s = parse_line(&line.replace('\n', " ")).unwrap();
        assert_eq!(s.system, vec!["Be brief."]);
        assert_eq!(s.turns.len(), 3);
        assert_eq!(s.turns[2], user("Capital?"));
        assert_eq!(s.reference, "Paris");
        assert_eq!(s.prompt_text(), "system: Be brief.\nuser: Hi\nassistant: Hello\nuser: Capital?");
    }

    #[test]
    fn claude_messages_with_a_string_system() {
        let s = parse_line(
            r#"{"system": "S", "messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}"#,
        )
        .unwrap();
        assert_eq!((s.system, s.turns, s.reference), (vec!["S".to_string()], vec![user("Q")], "A".to_string()));
    }

    #[test]
    fn rft_chat_uses_the_reference_answer() {
        let s = parse_line(
            r#"{"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "2+2?"}], "reference_answer": {"value": 4}}"#,
        )
        .unwrap();
        assert_eq!(s.system, vec!["S"]);
        assert_eq!(s.turns, vec![user("2+2?")]);
        assert_eq!(s.reference, r#"{"value":4}"#);
    }

    #[test]
    fn records_without_an_answer_or_prompt_are_skipped() {
        assert_eq!(parse_line(r#"{"input": "some text"}"#), Err(Skip::NoAnswer));
        assert_eq!(parse_line(r#"{"messages": [{"role": "user", "content": "Q"}]}"#), Err(Skip::NoAnswer));
        assert_eq!(parse_line(r#"{"messages": [{"role": "assistant", "content": "A"}]}"#), Err(Skip::NoPrompt));
        assert_eq!(parse_line("[1]"), Err(Skip::NotJson));
        assert_eq!(parse_line("{"), Err(Skip::NotJson));
    }

    #[test]
    fn consecutive_turns_merge_and_titan_gets_the_system_in_the_first_turn() {
        let mut s = parse_line(
            r#"{"system": "S", "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}]}"#,
        )
        .unwrap();
        assert_eq!(s.turns, vec![user("a\nb")]);
        s.fold_system_into_first_turn();
        assert!(s.system.is_empty());
        assert_eq!(s.turns, vec![user("S\n\na\nb")]);
    }
}
