//! `warden account tokens (allow|deny)`: the account switch for platform tokens (admins).

use clap::{Subcommand, ValueEnum};

use super::Exit;
use super::service::{ServiceArgs, refused};

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Allow or deny creating platform tokens in the account; existing tokens keep working
    Tokens {
        switch: Switch,
        /// The acting account admin (needs `platform-token:tokens:manage`)
        #[arg(long = "as", value_name = "ADMIN")]
        actor: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Switch {
    Allow,
    Deny,
}

pub fn run(command: AccountCommand) -> Exit {
    let AccountCommand::Tokens { switch, actor, service } = command;
    let run = || -> Result<Exit, Exit> {
        let opened = service.open()?;
        let actor = super::service::actor(&opened.service, &actor)?;
        let allowed = matches!(switch, Switch::Allow);
        opened.service.set_account_switch(actor, allowed).map_err(refused)?;
        eprintln!("platform tokens are now {} in this account", if allowed { "allowed" } else { "denied" });
        Ok(Exit::Ok)
    };
    run().unwrap_or_else(|exit| exit)
}
