//! The dataset formats Bedrock takes, one per customization of a model.

use serde::Serialize;

/// The JSON Lines shape Bedrock expects for one customization of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetFormat {
    /// `{"prompt": "...", "completion": "..."}` (Titan, Cohere, Llama 3.1).
    PromptCompletion,
    /// `bedrock-conversation-2024`: Nova, Llama 3.2 / 3.3.
    Conversation,
    /// Claude 3 Haiku: `{"system": "...", "messages": [{"role", "content": "..."}]}`.
    ClaudeMessages,
    /// Continued pre-training: `{"input": "..."}`.
    ContinuedPreTraining,
    /// Distillation prompts: `bedrock-conversation-2024` with the user turn (an assistant turn optional).
    DistillationPrompts,
    /// Reinforcement fine-tuning: OpenAI chat `messages` plus `reference_answer`.
    ReinforcementChat,
}

impl DatasetFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetFormat::PromptCompletion => "prompt-completion",
            DatasetFormat::Conversation => "bedrock-conversation-2024",
            DatasetFormat::ClaudeMessages => "claude-messages",
            DatasetFormat::ContinuedPreTraining => "continued-pre-training",
            DatasetFormat::DistillationPrompts => "distillation-prompts",
            DatasetFormat::ReinforcementChat => "rft-chat",
        }
    }

    /// One line a user can copy to see the expected shape.
    pub fn example(self) -> &'static str {
        match self {
            DatasetFormat::PromptCompletion => r#"{"prompt": "...", "completion": "..."}"#,
            DatasetFormat::Conversation => {
                r#"{"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "..."}], "messages": [{"role": "user", "content": [{"text": "..."}]}, {"role": "assistant", "content": [{"text": "..."}]}]}"#
            }
            DatasetFormat::ClaudeMessages => {
                r#"{"system": "...", "messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}"#
            }
            DatasetFormat::ContinuedPreTraining => r#"{"input": "..."}"#,
            DatasetFormat::DistillationPrompts => {
                r#"{"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "..."}], "messages": [{"role": "user", "content": [{"text": "..."}]}]}"#
            }
            DatasetFormat::ReinforcementChat => {
                r#"{"messages": [{"role": "user", "content": "..."}], "reference_answer": "..."}"#
            }
        }
    }
}
