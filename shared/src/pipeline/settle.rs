//! What a configuration leaves unsaid, decided from the catalogue before anything is spent: the
//! deployment a model can take, the preset's hyperparameters, the distillation teacher; and the checks of
//! the choices a user adds (teacher, name prefixes, validation file).

use super::config::{DeploymentMode, PipelineConfig, TrainingSource};
use super::run_id::names;
use crate::CustomizationType;
use crate::catalogue::{self, Model, distillation};
use crate::presets;

/// Longest name prefix: run ids are at most 48 characters, Bedrock names at most 63 (`<prefix>-<run id>`).
pub const MAX_NAME_PREFIX: usize = 14;

impl PipelineConfig {
    /// The deployment a model gets when the configuration names none: `on-demand` where Bedrock offers
    /// it; `none` where it does not (provisioned throughput bills by the hour, so it is only ever asked
    /// for) and for types whose records carry no answer to score (continued pre-training: raw text;
    /// distillation: prompts, the teacher answers).
    pub fn default_deployment(model: &Model, kind: CustomizationType) -> DeploymentMode {
        match kind {
            CustomizationType::ContinuedPreTraining | CustomizationType::Distillation => DeploymentMode::None,
            _ if model.on_demand_deployment => DeploymentMode::OnDemand,
            _ => DeploymentMode::None,
        }
    }

    /// Why an unchosen deployment became what it is, when that is not `on-demand` (for the run's notes).
    pub fn default_deployment_reason(&self) -> Option<String> {
        let model = catalogue::find(&self.base_model)?;
        match Self::default_deployment(model, self.customization_type) {
            DeploymentMode::None
                if !matches!(
                    self.customization_type,
                    CustomizationType::FineTuning | CustomizationType::ReinforcementFineTuning
                ) =>
            {
                Some(format!(
                    "deployment `none` by default for {}: its records carry no answers to evaluate against",
                    self.customization_type
                ))
            }
            DeploymentMode::None => Some(format!(
                "deployment `none` by default: custom models of {} cannot be deployed on demand; set `provisioned` \
                 (billed by the hour) to evaluate it",
                model.id
            )),
            _ => None,
        }
    }

    /// This configuration as it will run (see [`settle`](Self::settle)).
    pub fn settled(&self) -> PipelineConfig {
        let mut config = self.clone();
        config.settle();
        config
    }

    /// Decides what is left unsaid, for a known model and type (an unknown one is left for the check to
    /// report): `auto` deployment becomes the model's default, the preset (moderate when neither a preset
    /// nor hyperparameters are given) becomes hyperparameters with explicit ones overriding key by key,
    /// and a distillation without a teacher gets the catalogue's default teacher. Idempotent.
    pub fn settle(&mut self) {
        let Some(model) = catalogue::find(&self.base_model) else { return };
        if self.deployment == DeploymentMode::Auto {
            self.deployment = Self::default_deployment(model, self.customization_type);
        }
        let Some(customization) = model.customization(self.customization_type) else { return };
        let resolved = presets::resolve(model, customization, self.preset, &self.hyperparameters);
        self.preset = resolved.preset;
        self.hyperparameters = resolved.hyperparameters;
        if self.customization_type == CustomizationType::Distillation
            && self.teacher_model.is_none()
            && let Some(teacher) = distillation::default_teacher(model)
        {
            self.teacher_model = Some(teacher.id.to_string());
        }
    }

    /// The customization job's name: `<job_name_prefix or ft>-<run id>`.
    pub fn job_name(&self, run_id: &str) -> String {
        match &self.job_name_prefix {
            Some(prefix) => format!("{prefix}-{run_id}"),
            None => names::job_name(run_id),
        }
    }

    /// The custom model's name: `<model_name_prefix or model>-<run id>`.
    pub fn custom_model_name(&self, run_id: &str) -> String {
        match &self.model_name_prefix {
            Some(prefix) => format!("{prefix}-{run_id}"),
            None => names::custom_model_name(run_id),
        }
    }

    /// Problems of the type-specific choices on a settled configuration of a known model.
    pub(super) fn type_problems(&self, model: &Model, problem: &mut impl FnMut(&str, String)) {
        let kind = self.customization_type;
        if matches!(kind, CustomizationType::ContinuedPreTraining | CustomizationType::Distillation)
            && self.deployment != DeploymentMode::None
        {
            let records = if kind == CustomizationType::Distillation {
                "prompts (the teacher writes the answers)"
            } else {
                "raw text"
            };
            problem(
                "deployment",
                format!(
                    "`{}` would be paid for and then fail: {kind} records are {records}, with no answers for the \
                     evaluation to score; use `none` (the default for {kind})",
                    self.deployment
                ),
            );
        }
        match (kind, &self.teacher_model) {
            (CustomizationType::Distillation, None) => problem(
                "teacher_model",
                format!("is not set and {} has no default teacher; `finetune models` lists the pairs", model.id),
            ),
            (CustomizationType::Distillation, Some(teacher)) => {
                if let Err(message) = distillation::check_pair(teacher, model) {
                    problem("teacher_model", message);
                }
            }
            (_, Some(_)) => problem("teacher_model", format!("applies only to DISTILLATION, not {kind}; remove it")),
            (_, None) => {}
        }
        if self.grader.is_some() && kind != CustomizationType::ReinforcementFineTuning {
            problem("grader", format!("applies only to REINFORCEMENT_FINE_TUNING, not {kind}; remove it"));
        }
        if self.teacher_max_response_tokens.is_some() && kind != CustomizationType::Distillation {
            problem("teacher_max_response_tokens", "applies only to DISTILLATION; remove it".to_string());
        }
        self.source_problems(problem);
    }

    /// Problems of the training source: invocation logs only for DISTILLATION, only where the operator
    /// named a location, with filters within Bedrock's bounds.
    fn source_problems(&self, problem: &mut impl FnMut(&str, String)) {
        let kind = self.customization_type;
        let from_logs = self.training_source == TrainingSource::InvocationLogs;
        if from_logs && kind != CustomizationType::Distillation {
            problem(
                "training_source",
                format!("`invocation_logs` applies only to DISTILLATION, not {kind}; remove it (or use `dataset`)"),
            );
        }
        if from_logs && self.invocation_logs_s3_uri.is_none() {
            problem(
                "training_source",
                "`invocation_logs` is disabled on this stack: the operator has not set the template parameter \
                 InvocationLogsBucket (the only place logs may be read from); use `dataset`, or ask the operator"
                    .to_string(),
            );
        }
        if let Some(uri) = &self.invocation_logs_s3_uri
            && !super::layout::parse_s3_uri(uri).is_some_and(|(_, prefix)| prefix.is_empty() || prefix.ends_with('/'))
        {
            problem(
                "invocation_logs_s3_uri",
                format!("`{}` must be s3://bucket/ or s3://bucket/prefix/ (a folder)", super::clip(uri, 200)),
            );
        }
        if let Some(options) = &self.invocation_logs {
            if !from_logs {
                problem(
                    "invocation_logs",
                    "applies only with training_source `invocation_logs`; remove it".to_string(),
                );
            }
            if let Some(filters) = &options.request_metadata_filters {
                for (field, message) in filters.problems("invocation_logs.request_metadata_filters") {
                    problem(&field, message);
                }
            }
        }
        if from_logs && self.validation_file.is_some() {
            problem(
                "validation_file",
                "with training_source `invocation_logs` the uploaded file itself is the evaluation set; remove it"
                    .to_string(),
            );
        }
    }

    /// Problems of the user's names and files.
    pub(super) fn choice_problems(&self, problem: &mut impl FnMut(&str, String)) {
        for (field, prefix) in
            [("job_name_prefix", &self.job_name_prefix), ("model_name_prefix", &self.model_name_prefix)]
        {
            let Some(p) = prefix else { continue };
            let ok_chars = p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if p.is_empty()
                || p.len() > MAX_NAME_PREFIX
                || !ok_chars
                || p.starts_with('-')
                || p.ends_with('-')
                || p.contains("--")
            {
                problem(
                    field,
                    format!(
                        "`{p}` must be 1–{MAX_NAME_PREFIX} letters, digits and single inner hyphens (Bedrock names \
                         are at most 63 characters, and the run id takes up to 49)"
                    ),
                );
            }
        }
        if let Some(file) = &self.validation_file {
            let key = super::layout::parse_s3_uri(file).map_or(file.as_str(), |(_, key)| key);
            if !key.ends_with(super::layout::DATASET_SUFFIX) || !key.starts_with(super::layout::INCOMING_PREFIX) {
                problem(
                    "validation_file",
                    format!(
                        "`{file}` must be a {} file under {} in the dataset's bucket (a key, or s3://bucket/key): \
                         the pipeline reads uploads only there",
                        super::layout::DATASET_SUFFIX,
                        super::layout::INCOMING_PREFIX
                    ),
                );
            }
        }
    }
}
