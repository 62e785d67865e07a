//! `warden audit`: the append-only log of token operations.

use chrono::{DateTime, Utc};
use warden::token::TokenId;

use super::service::{ServiceArgs, refused};
use super::tenant::parse_time;
use super::{Exit, OutputFormat};

/// Show the audit log of the tenant's account: every lifecycle operation, refusals included
/// (admins see all, owners the entries of their own tokens; a rotate or duplicate names the old
/// and the new token)
#[derive(clap::Args)]
pub struct Args {
    #[arg(long = "as", value_name = "USER")]
    actor: String,
    /// Only entries from this time on (RFC 3339)
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    since: Option<DateTime<Utc>>,
    /// Only entries about this token
    #[arg(long, value_name = "ID")]
    token: Option<String>,
    #[command(flatten)]
    service: ServiceArgs,
}

pub fn run(args: Args) -> Exit {
    let run = || -> Result<Exit, Exit> {
        let opened = args.service.open()?;
        let actor = super::service::actor(&opened.service, &args.actor)?;
        let token = args.token.as_deref().map(TokenId::from_input);
        let entries = opened.service.audit_log(actor, args.since, token.as_ref()).map_err(refused)?;
        match opened.format {
            OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&entries).expect("entries serialize")),
            OutputFormat::Human => {
                for e in &entries {
                    let mut token = e.token.as_ref().map_or_else(|| "-".to_string(), ToString::to_string);
                    if let Some(new) = &e.new_token {
                        token = format!("{token} → {new}");
                    }
                    println!("{}  {}  {}  {token}  {}", e.at.to_rfc3339(), e.actor, e.action, e.outcome);
                }
            }
        }
        Ok(Exit::Ok)
    };
    run().unwrap_or_else(|exit| exit)
}
