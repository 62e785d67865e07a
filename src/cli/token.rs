//! `warden token …`: create, list, show, disable, enable, delete, duplicate, rotate, expire,
//! check and scan platform tokens.

use std::io::Read;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;
use warden::eval::AttrValue;
use warden::iam::{Principal, PrincipalKind};
use warden::token::{
    CheckReason, CheckRequest, Created, NewToken, Outcome, Rotation, TokenError, TokenId, TokenRecord, TokenService,
    printable,
};

use super::explain::parse_attribute;
use super::service::{Opened, ServiceArgs, actor, refused};
use super::tenant::{RequestArgs, parse_time};
use super::{Exit, OutputFormat, color_for, fail};

/// An RFC 3339 time, or a date meaning its midnight UTC.
fn parse_expiry(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = parse_time(text) {
        return Ok(time);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|date| date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
        .map_err(|_| format!("`{text}` is neither an RFC 3339 time (2026-12-31T23:59:00Z) nor a date (2026-12-31)"))
}

/// When the old token of a rotation stops: `now`, or a time.
#[derive(Clone, Copy)]
pub struct OldExpiry(Option<DateTime<Utc>>);

fn parse_old_expiry(text: &str) -> Result<OldExpiry, String> {
    if text == "now" { Ok(OldExpiry(None)) } else { parse_expiry(text).map(|t| OldExpiry(Some(t))) }
}

const CREATE_EXAMPLES: &str = "Examples:
  warden token create --as alice@acme.example --name 'CI reader' --scope storage:logs:read --env prod --expires 2026-12-31
  warden token create --as alice@acme.example --for ci-bot --name bot --scope document:documents:read --account-wide --never-expires";

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once
    #[command(after_help = CREATE_EXAMPLES)]
    Create {
        /// The acting user or service user
        #[arg(long = "as", value_name = "USER")]
        actor: String,
        #[arg(long)]
        name: String,
        /// A permission the token may use (repeat for several)
        #[arg(long = "scope", value_name = "PERMISSION", required = true)]
        scopes: Vec<String>,
        /// Valid in every environment of the account
        #[arg(long, conflicts_with = "environments", required_unless_present = "environments")]
        account_wide: bool,
        /// Valid in this environment only (repeat for several)
        #[arg(long = "env", value_name = "ENV")]
        environments: Vec<String>,
        /// When it expires (RFC 3339 or a date)
        #[arg(long, value_parser = parse_expiry, conflicts_with = "never_expires", required_unless_present = "never_expires")]
        expires: Option<DateTime<Utc>>,
        #[arg(long)]
        never_expires: bool,
        /// Create it for this service user (needs `iam:service-users:use` for its email)
        #[arg(long = "for", value_name = "SERVICE_USER")]
        service_user: Option<String>,
        /// A tag (repeat for several)
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// List your tokens, or with --all every token of the account (admins)
    List {
        #[arg(long = "as", value_name = "USER")]
        actor: String,
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Show one token
    Show {
        id: String,
        #[arg(long = "as", value_name = "USER")]
        actor: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Disable tokens: they are refused until enabled again
    Disable(Many),
    /// Enable disabled tokens
    Enable(Many),
    /// Delete tokens for good
    Delete(Many),
    /// A new token with the same properties, named `Duplicate of: <name>`
    Duplicate {
        id: String,
        #[arg(long = "as", value_name = "USER")]
        actor: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Replace a token with a new one; the old one stops now or after an overlap window
    Rotate {
        id: String,
        #[arg(long = "as", value_name = "USER")]
        actor: String,
        /// The new token's name [default: the old name with today's date]
        #[arg(long)]
        name: Option<String>,
        /// When the old token stops: `now`, or an RFC 3339 time at most 30 days ahead and not
        /// after its own expiry
        #[arg(long, value_name = "now|RFC3339", value_parser = parse_old_expiry, default_value = "now")]
        old_expires: OldExpiry,
        /// The new token's expiry [default: the old token's lifetime again]
        #[arg(long, value_parser = parse_expiry, conflicts_with = "never_expires")]
        expires: Option<DateTime<Utc>>,
        #[arg(long)]
        never_expires: bool,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Give a token a new expiry, or none
    Expire {
        id: String,
        #[arg(long = "as", value_name = "USER")]
        actor: String,
        #[arg(long, value_parser = parse_expiry, conflicts_with = "never", required_unless_present = "never")]
        at: Option<DateTime<Utc>>,
        #[arg(long)]
        never: bool,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Check a bearer token against a request: exit 0 for 200, 1 for 403, 4 for 401
    Check {
        /// The Authorization header (`Bearer dt0s16…`), or `-` to read it from standard input;
        /// without it, WARDEN_TOKEN is read. A value given here is visible to other local users
        #[arg(long, value_name = "HEADER")]
        header: Option<String>,
        /// The permission asked for
        permission: String,
        /// A request attribute KEY=VALUE (KEY=V1,V2 for a list)
        #[arg(long = "attr", value_name = "KEY=VALUE", value_parser = parse_attribute)]
        attributes: Vec<(String, AttrValue)>,
        /// Add the evaluator's explanation
        #[arg(long)]
        explain: bool,
        /// Exit 0 for a conditional answer too
        #[arg(long)]
        allow_conditional: bool,
        #[command(flatten)]
        request: RequestArgs,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Find token strings in files (checksum-verified); prints file, line and token id only
    Scan {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

/// Several token ids and the actor.
#[derive(clap::Args)]
pub struct Many {
    #[arg(required = true, value_name = "ID")]
    ids: Vec<String>,
    #[arg(long = "as", value_name = "USER")]
    actor: String,
    #[command(flatten)]
    service: ServiceArgs,
}

pub fn run(command: TokenCommand) -> Exit {
    let result = match command {
        TokenCommand::Scan { paths } => return scan(&paths),
        TokenCommand::Create {
            actor: name,
            name: token_name,
            scopes,
            account_wide: _,
            environments,
            expires,
            never_expires: _,
            service_user,
            tags,
            service,
        } => with(&service, &name, |opened, actor| {
            let service_user = match service_user {
                Some(s) => Some(
                    opened.service.engine().tenant().principal(&s, Some(PrincipalKind::ServiceUser)).map_err(fail)?,
                ),
                None => None,
            };
            let new = NewToken { name: token_name, scopes, environments, expires_at: expires, service_user, tags };
            let created = opened.service.create(actor, new).map_err(refused)?;
            print_created(opened, &created);
            Ok(Exit::Ok)
        }),
        TokenCommand::List { actor, all, service } => with(&service, &actor, |opened, actor| {
            let records = opened.service.list(actor, all).map_err(refused)?;
            print_records(opened, &records);
            Ok(Exit::Ok)
        }),
        TokenCommand::Show { id, actor, service } => with(&service, &actor, |opened, actor| {
            let record = opened.service.show(actor, &TokenId::from_input(&id)).map_err(refused)?;
            print_records(opened, std::slice::from_ref(&record));
            Ok(Exit::Ok)
        }),
        TokenCommand::Disable(many) => each(many, "disabled", |s, a, id| s.disable(a, id)),
        TokenCommand::Enable(many) => each(many, "enabled", |s, a, id| s.enable(a, id)),
        TokenCommand::Delete(many) => each(many, "deleted", |s, a, id| s.delete(a, id)),
        TokenCommand::Duplicate { id, actor, service } => with(&service, &actor, |opened, actor| {
            let created = opened.service.duplicate(actor, &TokenId::from_input(&id)).map_err(refused)?;
            print_created(opened, &created);
            Ok(Exit::Ok)
        }),
        TokenCommand::Rotate { id, actor, name, old_expires, expires, never_expires, service } => {
            with(&service, &actor, |opened, actor| {
                let expires_at = if never_expires { Some(None) } else { expires.map(Some) };
                let rotation = Rotation { name, expires_at, old_expires_at: old_expires.0 };
                let created = opened.service.rotate(actor, &TokenId::from_input(&id), rotation).map_err(refused)?;
                print_created(opened, &created);
                Ok(Exit::Ok)
            })
        }
        TokenCommand::Expire { id, actor, at, never: _, service } => with(&service, &actor, |opened, actor| {
            let id = TokenId::from_input(&id);
            opened.service.set_expiry(actor, &id, at).map_err(refused)?;
            eprintln!("{id}: expires {}", at.map_or_else(|| "never".to_string(), |t| t.to_rfc3339()));
            Ok(Exit::Ok)
        }),
        TokenCommand::Check { header, permission, attributes, explain, allow_conditional, request, service } => {
            check(header, permission, attributes, explain, allow_conditional, &request, &service)
        }
    };
    result.unwrap_or_else(|exit| exit)
}

/// Opens the service, resolves the actor and runs the work.
fn with(
    args: &ServiceArgs,
    actor_name: &str,
    work: impl FnOnce(&Opened, Principal) -> Result<Exit, Exit>,
) -> Result<Exit, Exit> {
    let opened = args.open()?;
    let actor = actor(&opened.service, actor_name)?;
    work(&opened, actor)
}

/// One operation on several tokens; each is reported, the worst outcome is the exit code.
fn each(
    many: Many,
    done: &str,
    operation: impl Fn(&TokenService, Principal, &TokenId) -> Result<(), TokenError>,
) -> Result<Exit, Exit> {
    with(&many.service, &many.actor, |opened, actor| {
        let mut exit = Exit::Ok;
        for id in many.ids.iter().map(|id| TokenId::from_input(id)) {
            match operation(&opened.service, actor, &id) {
                Ok(()) => eprintln!("{id}: {done}"),
                Err(error) => exit = worst(exit, refused(error)),
            }
        }
        Ok(exit)
    })
}

fn worst(a: Exit, b: Exit) -> Exit {
    if (a as u8) >= (b as u8) { a } else { b }
}

fn print_created(opened: &Opened, created: &Created) {
    let now = Utc::now();
    match opened.format {
        OutputFormat::Json => {
            let mut value = serde_json::to_value(created.record.view(now)).expect("views serialize");
            value["token"] = serde_json::Value::String(created.secret.expose().to_string());
            println!("{}", serde_json::to_string_pretty(&value).expect("JSON values serialize"));
        }
        OutputFormat::Human => {
            println!("{}", created.secret.expose());
            eprintln!("This is the only time the token is shown: store it now.");
            print_records(opened, std::slice::from_ref(&created.record));
        }
    }
}

fn print_records(opened: &Opened, records: &[TokenRecord]) {
    let now = Utc::now();
    match opened.format {
        OutputFormat::Json => {
            let views: Vec<_> = records.iter().map(|r| r.view(now)).collect();
            println!("{}", serde_json::to_string_pretty(&views).expect("views serialize"));
        }
        OutputFormat::Human => {
            let engine = opened.service.engine();
            let tenant = engine.tenant();
            for record in records {
                let owner = record.owner.principal(tenant).map_or(record.owner.id.as_str(), |p| tenant.email(p));
                let view = record.view(now);
                println!("{}  {}", record.id, view.status);
                println!("  name      {}", printable(&record.name));
                println!("  owner     {owner}");
                println!("  scopes    {}", record.scopes.join(", "));
                println!("  resource  {}", view.resource.join(", "));
                println!("  expires   {}", record.expires_at.map_or_else(|| "never".to_string(), |t| t.to_rfc3339()));
                println!("  created   {}", record.created_at.to_rfc3339());
                println!("  last used {}", record.last_used_at.map_or_else(|| "never".to_string(), |t| t.to_rfc3339()));
                if !record.tags.is_empty() {
                    println!(
                        "  tags      {}",
                        record.tags.iter().map(|tag| printable(tag)).collect::<Vec<_>>().join(", ")
                    );
                }
            }
            if records.is_empty() {
                println!("(no tokens)");
            }
        }
    }
}

/// The header from the flag, standard input (`-`) or WARDEN_TOKEN (decisions D2); a bare
/// token is taken as `Bearer <token>`.
fn header(flag: Option<String>) -> Result<String, Exit> {
    let raw = match flag.as_deref() {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| fail(format!("cannot read standard input: {e}")))?;
            text
        }
        Some(value) => value.to_string(),
        None => std::env::var("WARDEN_TOKEN")
            .map_err(|_| fail("give the token with --header, --header - (standard input) or WARDEN_TOKEN"))?,
    };
    let raw = raw.trim();
    Ok(if raw.contains(' ') { raw.to_string() } else { format!("Bearer {raw}") })
}

fn check(
    flag: Option<String>,
    permission: String,
    attributes: Vec<(String, AttrValue)>,
    explain: bool,
    allow_conditional: bool,
    place: &RequestArgs,
    args: &ServiceArgs,
) -> Result<Exit, Exit> {
    let header = header(flag)?;
    let opened = args.open()?;
    let request = CheckRequest {
        environment: place.environment.clone(),
        permission,
        attributes: attributes.into_iter().collect(),
        explain,
    };
    let outcome = opened.service.check(&header, &request).map_err(fail)?;
    match opened.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&outcome).expect("outcomes serialize")),
        OutputFormat::Human => {
            println!("{} {}: {}", outcome.status, outcome.reason, sentence(&outcome, &request));
            if let Some(residual) = &outcome.residual {
                println!("residual policy (applies where these hold):");
                for line in residual.lines() {
                    println!("  {line}");
                }
            }
            if outcome.residual_omitted {
                println!("residual policy: left out, over 1,000 statements or 256 KiB (the decision stands)");
            }
            if let Some(explanation) = &outcome.explanation {
                print!("{}", opened.service.engine().render_explanation(explanation, color_for(&std::io::stdout())));
            }
        }
    }
    Ok(match (outcome.status, outcome.reason) {
        (200, _) => Exit::Ok,
        (401, _) => Exit::InvalidToken,
        (_, CheckReason::Conditional) if allow_conditional => Exit::Ok,
        _ => Exit::No,
    })
}

/// What decided a check, as a person says it: which token, whose policies, what was asked.
fn sentence(outcome: &Outcome, request: &CheckRequest) -> String {
    let token = outcome.token_id.as_ref().map_or_else(|| "the token".to_string(), |id| format!("token {id}"));
    let asked = match &request.environment {
        Some(environment) => format!("{} in environment {environment}", request.permission),
        None => format!("{} at account level", request.permission),
    };
    let owner = outcome.user.as_deref().unwrap_or("its owner");
    match outcome.reason {
        CheckReason::Ok => format!("{token} of {owner} may use {asked}"),
        CheckReason::InvalidToken => format!("no valid token of this account was given, so {asked} is refused"),
        CheckReason::TokenExpired => format!("{token} has expired"),
        CheckReason::TokenDisabled => format!("{token} is disabled"),
        CheckReason::WrongResource => match &request.environment {
            Some(environment) => {
                format!(
                    "{token} is not valid in environment {environment} (it is for other environments or another account)"
                )
            }
            None => format!(
                "{token} is not valid at account level (it is for some environments only, or another account; give --env)"
            ),
        },
        CheckReason::InsufficientScope => format!("{token} does not hold the scope {}", request.permission),
        CheckReason::PolicyDenied if outcome.user.is_none() => {
            format!("the owner of {token} is no longer in the tenant")
        }
        CheckReason::PolicyDenied => format!("the policies of {owner} do not allow {asked} ({token})"),
        CheckReason::Conditional => {
            format!("the policies of {owner} allow {asked} only where the residual below holds ({token})")
        }
        other => other.help().to_string(),
    }
}

/// Scans every file (a file it cannot read is an error, after the rest are scanned: it never
/// fails open), streaming files of any size (decisions D35).
fn scan(paths: &[PathBuf]) -> Exit {
    let (files, mut problems) = super::files::scan_targets(paths);
    let mut found = false;
    for file in files {
        match super::files::scan_tokens(&file) {
            Ok(hits) => {
                for (line, id) in hits {
                    println!("{}:{line}: platform token {id}", file.display());
                    found = true;
                }
            }
            Err(error) => problems.push(super::files::refused(&file, &error)),
        }
    }
    for problem in &problems {
        eprintln!("error: {problem}");
    }
    if !problems.is_empty() {
        Exit::CouldNotRun
    } else if found {
        Exit::No
    } else {
        Exit::Ok
    }
}
