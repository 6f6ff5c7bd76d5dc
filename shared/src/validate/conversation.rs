//! bedrock-conversation-2024 (Nova, Llama 3.2 / 3.3) and distillation prompts. PLACEHOLDER: being written.

use super::{RecordCx, RecordText};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    FineTuning,
    Distillation,
}

pub(super) fn check(_object: &Map<String, Value>, _cx: &mut RecordCx<'_>, _mode: Mode) -> RecordText {
    RecordText::default()
}
