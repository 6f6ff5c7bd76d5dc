//! Flags that take one of a few values: `--help` lists the values as the API spells them, and the
//! parser also takes them in lower case and with hyphens (`fine-tuning`, `on_demand`).

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use shared::CustomizationType;
use shared::pipeline::DeploymentMode;
use shared::presets::Preset;
use std::ffi::OsStr;
use std::str::FromStr;

/// A value parser over a type's `FromStr`, listing `names` as the possible values.
#[derive(Clone)]
pub struct Choices<T: Clone + Send + Sync + 'static> {
    names: Vec<&'static str>,
    parse: fn(&str) -> Option<T>,
}

fn from_str<T: FromStr>(s: &str) -> Option<T> {
    s.parse().ok()
}

/// `FINE_TUNING`, `CONTINUED_PRE_TRAINING`, `DISTILLATION`, `REINFORCEMENT_FINE_TUNING`.
pub fn customization_type() -> Choices<CustomizationType> {
    Choices { names: CustomizationType::ALL.iter().map(|t| t.as_str()).collect(), parse: from_str }
}

/// `auto`, `none`, `on-demand`, `provisioned`.
pub fn deployment() -> Choices<DeploymentMode> {
    Choices { names: DeploymentMode::ALL.iter().map(|m| m.as_str()).collect(), parse: from_str }
}

/// `classification`, `qa`.
pub fn task() -> Choices<shared::sample::Task> {
    Choices { names: shared::sample::Task::ALL.iter().map(|t| t.as_str()).collect(), parse: from_str }
}

/// `conservative`, `moderate`, `aggressive`.
pub fn preset() -> Choices<Preset> {
    Choices { names: Preset::ALL.iter().map(|p| p.as_str()).collect(), parse: from_str }
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Choices<T> {
    type Value = T;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &OsStr) -> Result<T, clap::Error> {
        let text = value.to_string_lossy();
        (self.parse)(&text).ok_or_else(|| {
            let mut error = clap::Error::new(ErrorKind::InvalidValue).with_cmd(cmd);
            if let Some(arg) = arg {
                error.insert(ContextKind::InvalidArg, ContextValue::String(arg.to_string()));
            }
            error.insert(ContextKind::InvalidValue, ContextValue::String(text.into_owned()));
            let valid = self.names.iter().map(|n| n.to_string()).collect();
            error.insert(ContextKind::ValidValue, ContextValue::Strings(valid));
            error
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.names.iter().map(|n| PossibleValue::new(*n))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[arg(long = "type", value_parser = customization_type())]
        kind: Option<CustomizationType>,
        #[arg(long, value_parser = deployment())]
        deployment: Option<DeploymentMode>,
    }

    #[test]
    fn values_parse_in_any_spelling_and_help_lists_the_api_spelling() {
        let cli = Cli::try_parse_from(["x", "--type", "continued-pre-training", "--deployment", "On_Demand"]).unwrap();
        assert_eq!(cli.kind, Some(CustomizationType::ContinuedPreTraining));
        assert_eq!(cli.deployment, Some(DeploymentMode::OnDemand));
        let error = Cli::try_parse_from(["x", "--deployment", "always"]).unwrap_err().to_string();
        assert!(
            error.contains("'always'") && error.contains("[possible values: auto, none, on-demand, provisioned]"),
            "{error}"
        );
        let mut cmd = <Cli as clap::CommandFactory>::command();
        let help = cmd.render_help().to_string();
        assert!(
            help.contains("FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION, REINFORCEMENT_FINE_TUNING"),
            "{help}"
        );
    }
}
