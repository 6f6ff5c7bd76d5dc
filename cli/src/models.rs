//! `finetune models`: the catalogue of customizable base models, as a table or JSON.

use crate::choices;
use crate::output::table::Table;
use crate::output::{CliError, Exit, Stdout};
use crate::summary::group;
use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};
use shared::CustomizationType;
use shared::catalogue::{self, Customization, Fact, HyperValue, Model, Provenance, pricing};
use shared::pipeline::DeploymentMode;

#[derive(Args)]
pub struct ModelsArgs {
    /// Only models that support this customization type.
    #[arg(long = "type", value_name = "TYPE", value_parser = choices::customization_type())]
    pub kind: Option<CustomizationType>,
    /// Print the models as one JSON array (README: "models --json").
    #[arg(long)]
    pub json: bool,
}

pub fn models(args: ModelsArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    let listed: Vec<(&Model, Vec<&Customization>)> = catalogue::all()
        .iter()
        .map(|m| (m, m.customizations.iter().filter(|c| args.kind.is_none_or(|k| c.kind == k)).collect::<Vec<_>>()))
        .filter(|(_, customizations)| !customizations.is_empty())
        .collect();
    if args.json {
        let models: Vec<ModelView> = listed.iter().map(|(m, cs)| ModelView::of(m, cs)).collect();
        out.json(&models)?;
    } else {
        out.text(&table(&listed))?;
    }
    Ok(Exit::Success)
}

fn table(listed: &[(&Model, Vec<&Customization>)]) -> String {
    let mut t = Table::new(&["MODEL", "TYPE", "FORMAT", ">RECORDS", ">TOKENS/RECORD", "REGIONS", "DEPLOYMENT"]);
    let mut unverified = false;
    let mut fact = |f: Option<Fact<u64>>| match f {
        None => "-".to_string(),
        Some(f) if f.provenance == Provenance::Documented => group(f.value),
        Some(f) => {
            unverified = true;
            format!("{}*", group(f.value))
        }
    };
    for (m, customizations) in listed {
        for c in customizations {
            let records = match (c.records.min, c.records.max_total.or(c.records.max_train)) {
                (None, None) => "-".to_string(),
                (min, max) => format!("{}–{}", fact(min), fact(max)),
            };
            let legacy = if m.legacy { " (legacy)" } else { "" };
            t.row(vec![
                format!("{}{legacy}", m.id),
                c.kind.as_str().to_string(),
                c.format.as_str().to_string(),
                records,
                fact(c.tokens_per_record.total),
                m.regions.join(", "),
                deployments(m).iter().map(|d| d.as_str()).collect::<Vec<_>>().join(", "),
            ]);
        }
    }
    let mut text = t.render();
    if unverified {
        text.push_str("* not confirmed by AWS's documentation: a dataset beyond it gets a warning, not an error\n");
    }
    text.push_str("`finetune models --json` adds hyperparameter ranges, file limits and prices.\n");
    text
}

/// The deployment modes a custom model of `m` can use, the usual one first.
fn deployments(m: &Model) -> Vec<DeploymentMode> {
    let mut modes = Vec::new();
    if m.on_demand_deployment {
        modes.push(DeploymentMode::OnDemand);
    }
    modes.extend([DeploymentMode::Provisioned, DeploymentMode::None]);
    modes
}

/// `models --json`: one object per model; every key always present, `null` when unknown. A limit or
/// price is `{"value", "provenance"}` (`documented`, `secondary`, `unverified`).
#[derive(Serialize)]
struct ModelView {
    id: &'static str,
    name: &'static str,
    family: Value,
    regions: &'static [&'static str],
    legacy: bool,
    deployment: Vec<DeploymentMode>,
    provisioned_throughput_usd_per_hour: Option<Fact<f64>>,
    customizations: Vec<CustomizationView>,
}

#[derive(Serialize)]
struct CustomizationView {
    #[serde(rename = "type")]
    kind: CustomizationType,
    format: &'static str,
    min_records: Option<Fact<u64>>,
    max_records: Option<Fact<u64>>,
    max_train_records: Option<Fact<u64>>,
    max_validation_records: Option<Fact<u64>>,
    max_tokens_per_record: Option<Fact<u64>>,
    max_input_tokens_per_record: Option<Fact<u64>>,
    max_output_tokens_per_record: Option<Fact<u64>>,
    max_train_bytes: Option<Fact<u64>>,
    max_validation_bytes: Option<Fact<u64>>,
    training_usd_per_1k_tokens: Option<Fact<f64>>,
    hyperparameters: Vec<Value>,
}

impl ModelView {
    fn of(m: &'static Model, customizations: &[&'static Customization]) -> ModelView {
        ModelView {
            id: m.id,
            name: m.name,
            family: serde_json::to_value(m.family).unwrap_or(Value::Null),
            regions: m.regions,
            legacy: m.legacy,
            deployment: deployments(m),
            provisioned_throughput_usd_per_hour: pricing::provisioned_throughput_usd_per_hour(m.id, None, 1),
            customizations: customizations
                .iter()
                .map(|c| CustomizationView {
                    kind: c.kind,
                    format: c.format.as_str(),
                    min_records: c.records.min,
                    max_records: c.records.max_total,
                    max_train_records: c.records.max_train,
                    max_validation_records: c.records.max_validation,
                    max_tokens_per_record: c.tokens_per_record.total,
                    max_input_tokens_per_record: c.tokens_per_record.input,
                    max_output_tokens_per_record: c.tokens_per_record.output,
                    max_train_bytes: c.files.train_bytes,
                    max_validation_bytes: c.files.validation_bytes,
                    training_usd_per_1k_tokens: c.training_price_per_1k_tokens,
                    hyperparameters: c.hyperparameters.iter().map(hyperparameter).collect(),
                })
                .collect(),
        }
    }
}

/// `{"name", "kind", "min", "max", "default", "options", "provenance"}`, the same keys for every kind.
fn hyperparameter(h: &catalogue::HyperParameter) -> Value {
    let (kind, min, max, default, options) = match h.value {
        HyperValue::Integer { min, max, default } => ("integer", json!(min), json!(max), json!(default), Value::Null),
        HyperValue::Float { min, max, default } => ("float", json!(min), json!(max), json!(default), Value::Null),
        HyperValue::Choice { options, default } => ("choice", Value::Null, Value::Null, json!(default), json!(options)),
        HyperValue::UnboundedInteger { default } => ("integer", Value::Null, Value::Null, json!(default), Value::Null),
    };
    json!({"name": h.name, "kind": kind, "min": min, "max": max, "default": default, "options": options,
           "provenance": h.provenance})
}
