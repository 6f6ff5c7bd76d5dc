//! `finetune presets MODEL`: the hyperparameters each preset sends for a model, beside the blog guide's
//! numbers, and why they differ (`shared::presets`).

use crate::choices;
use crate::output::{CliError, Exit, Stdout};
use clap::Args;
use shared::CustomizationType;
use shared::presets;

#[derive(Args)]
pub struct PresetsArgs {
    /// Base model id, e.g. amazon.titan-text-express-v1 (with or without the context suffix).
    #[arg(value_name = "MODEL_ID")]
    pub model: String,
    /// Customization type (default FINE_TUNING).
    #[arg(long = "type", value_name = "TYPE", default_value = "FINE_TUNING", value_parser = choices::customization_type())]
    pub kind: CustomizationType,
    /// Print one JSON object keyed by preset name, each the hyperparameters sent to Bedrock.
    #[arg(long)]
    pub json: bool,
}

pub fn presets(args: PresetsArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    let table = presets::table(&args.model, args.kind).map_err(|e| {
        CliError::usage(e.to_string()).with_hint("`finetune models` lists the models and the types each supports")
    })?;
    if args.json {
        out.json(&table.to_json())?;
    } else {
        out.text(&table.render_text())?;
    }
    Ok(Exit::Success)
}
