//! Reinforcement fine-tuning (messages + reference_answer). PLACEHOLDER: being written.

use super::{RecordCx, RecordText};
use serde_json::{Map, Value};

pub(super) fn check(_object: &Map<String, Value>, _cx: &mut RecordCx<'_>) -> RecordText {
    RecordText::default()
}
