//! `warden explain`: is this request allowed, and why.

use warden::eval::{AttrValue, Decision, Request, ResidualLimit};

use super::tenant::{PrincipalArgs, RequestArgs, TenantArgs};
use super::{Exit, OutputFormat, color_for, fail};

const EXAMPLES: &str = "Examples:
  warden explain --tenant policies/example --user alice@acme.example --env prod storage:logs:read \\
      --attr storage:k8s.cluster.name=prod-eu-1
  warden explain --service-user ci-bot iam:service-users:use --attr iam:service-user-email=a@b,c@d
  warden explain --user bob@acme.example settings:objects:write --at 2026-05-02T22:00:00Z --format json

Exit codes: 0 allowed · 1 denied (or conditional, unless --allow-conditional) · 2 could not run ·
3 the tenant has errors";

/// Decide a request and explain the decision: the statements that decided, the binding each
/// came through, and for a deny the condition that failed
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    principal: PrincipalArgs,
    /// The permission asked for, e.g. storage:logs:read
    permission: String,
    /// A request attribute, KEY=VALUE; KEY=V1,V2 gives a list. Repeat for several
    #[arg(long = "attr", value_name = "KEY=VALUE", value_parser = parse_attribute)]
    attributes: Vec<(String, AttrValue)>,
    /// Exit 0 for a conditional answer too (the caller applies the residual)
    #[arg(long)]
    allow_conditional: bool,
    #[arg(long, value_enum, default_value = "human")]
    format: OutputFormat,
    #[command(flatten)]
    request: RequestArgs,
    #[command(flatten)]
    tenant: TenantArgs,
}

pub fn parse_attribute(text: &str) -> Result<(String, AttrValue), String> {
    let (key, value) = text.split_once('=').ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    let value = if value.contains(',') {
        AttrValue::Many(value.split(',').map(str::to_string).collect())
    } else {
        AttrValue::One(value.to_string())
    };
    Ok((key.to_string(), value))
}

pub fn run(args: Args) -> Exit {
    explain(args).unwrap_or_else(|exit| exit)
}

fn explain(args: Args) -> Result<Exit, Exit> {
    let engine = args.tenant.engine()?;
    let principal = args.principal.resolve(&engine)?;
    let mut request = Request::new(principal, args.permission.clone()).at(args.request.time());
    request.environment = args.request.environment.clone();
    request.attributes = args.attributes.into_iter().collect();
    let query = engine.query(&request).map_err(fail)?;
    let decision = engine.evaluate(&query);
    match args.format {
        // A person reads a few statements and a short residual; the rest is left out and said so.
        OutputFormat::Human => {
            let explanation = engine.explain_within(&query, &decision, ResidualLimit::TERMINAL);
            print!("{}", engine.render_explanation(&explanation, color_for(&std::io::stdout())));
            if explanation.residual_omitted || explanation.deciding_omitted > 0 {
                println!("`--format json` writes the whole explanation, every statement and the residual");
            }
        }
        // A script may apply the residual: it gets all of it.
        OutputFormat::Json => {
            let explanation = engine.explain(&query, &decision);
            println!("{}", serde_json::to_string_pretty(&explanation).expect("explanations serialize"))
        }
    }
    Ok(match decision {
        Decision::Allow { .. } => Exit::Ok,
        Decision::Conditional { .. } if args.allow_conditional => Exit::Ok,
        _ => Exit::No,
    })
}
