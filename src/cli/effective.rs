//! `warden effective` and `warden who-can`: the platform's effective permissions, both ways.

use warden::eval::Grant;

use super::tenant::{PrincipalArgs, RequestArgs, TenantArgs};
use super::{Exit, OutputFormat, fail};

/// List every permission a user or service user holds, and under which conditions
#[derive(clap::Args)]
pub struct EffectiveArgs {
    #[command(flatten)]
    principal: PrincipalArgs,
    #[arg(long, value_enum, default_value = "human")]
    format: OutputFormat,
    #[command(flatten)]
    request: RequestArgs,
    #[command(flatten)]
    tenant: TenantArgs,
}

/// List every user and service user that holds a permission, and under which conditions
#[derive(clap::Args)]
pub struct WhoCanArgs {
    /// The permission, e.g. storage:logs:read
    permission: String,
    #[arg(long, value_enum, default_value = "human")]
    format: OutputFormat,
    #[command(flatten)]
    request: RequestArgs,
    #[command(flatten)]
    tenant: TenantArgs,
}

pub fn effective(args: EffectiveArgs) -> Exit {
    let run = || -> Result<Exit, Exit> {
        let engine = args.tenant.engine()?;
        let principal = args.principal.resolve(&engine)?;
        let grants =
            engine.effective(principal, args.request.environment.as_deref(), args.request.time()).map_err(fail)?;
        Ok(print(&grants, args.format, |g| g.permission.clone()))
    };
    run().unwrap_or_else(|exit| exit)
}

pub fn who_can(args: WhoCanArgs) -> Exit {
    let run = || -> Result<Exit, Exit> {
        let engine = args.tenant.engine()?;
        let grants =
            engine.who_can(&args.permission, args.request.environment.as_deref(), args.request.time()).map_err(fail)?;
        Ok(print(&grants, args.format, |g| g.principal.clone()))
    };
    run().unwrap_or_else(|exit| exit)
}

fn print(grants: &[Grant], format: OutputFormat, name: impl Fn(&Grant) -> String) -> Exit {
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(grants).expect("grants serialize")),
        OutputFormat::Human => {
            for grant in grants {
                match &grant.conditions {
                    None => println!("{}", name(grant)),
                    Some(residual) => {
                        println!("{}  (conditional)", name(grant));
                        for line in residual.lines() {
                            println!("    {line}");
                        }
                    }
                }
            }
            if grants.is_empty() {
                println!("(none)");
            }
        }
    }
    Exit::Ok
}
