//! `warden catalog`: what the permission catalog holds.

use serde_json::json;
use warden::diagnostic::{did_you_mean_clause, nearest};

use super::{CatalogArg, Exit};

/// List the permissions of the catalog with the condition keys and operators each accepts
#[derive(clap::Args)]
pub struct Args {
    /// Only the permissions of this service (e.g. `storage`)
    service: Option<String>,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    catalog: CatalogArg,
}

pub fn run(args: Args) -> Exit {
    let catalog = match args.catalog.load() {
        Ok(catalog) => catalog,
        Err(message) => return super::fail(message),
    };
    if let Some(service) = &args.service {
        if catalog.service(service).is_none() {
            let names = catalog.services().map(|s| s.name.as_str());
            let hint = did_you_mean_clause(nearest(service, names));
            return super::fail(format!("the catalog has no service `{service}`{hint}"));
        }
    }
    let wanted = |name: &str| args.service.as_deref().is_none_or(|service| name.split(':').next() == Some(service));
    let mut permissions: Vec<_> = catalog.permissions().filter(|p| wanted(&p.name)).collect();
    permissions.sort_by(|a, b| a.name.cmp(&b.name));
    if args.json {
        let list: Vec<_> = permissions
            .iter()
            .map(|p| {
                let keys: serde_json::Map<String, serde_json::Value> = p
                    .keys
                    .iter()
                    .map(|(key, ops)| (key.clone(), json!(ops.iter().map(|op| op.as_str()).collect::<Vec<_>>())))
                    .collect();
                json!({"permission": p.name, "description": p.description, "conditions": p.takes_conditions, "keys": keys})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list).expect("JSON values serialize"));
    } else {
        for p in permissions {
            println!("{}  {}", p.name, p.description);
            if !p.takes_conditions {
                println!("    takes no conditions");
            }
            for (key, ops) in &p.keys {
                println!("    {key}: {}", ops.iter().map(|op| op.as_str()).collect::<Vec<_>>().join(", "));
            }
        }
    }
    Exit::Ok
}
