//! *Manage users tokens*, for account admins (`platform-token:tokens:manage`): every token of
//! the account with its owner, filtered by owner and status, disabled or deleted one or many at
//! once (one confirmation lists the ids), and the account's platform-token switch.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::html;

use super::error::UiError;
use super::form::{FORM_TOKEN, Submitted};
use super::layout::{Nav, Viewer, html, notice, page};
use super::signin::SignedIn;
use super::tokens::{Filter, Table, owner_label, token_table};
use super::{blocking, pages};
use crate::server::State as Shared;
use crate::token::Actor;

/// `GET /ui/manage`: every token of the account.
pub(super) async fn list(State(state): State<Arc<Shared>>, user: SignedIn, uri: Uri) -> Result<Response, UiError> {
    let filter = Filter::read(&uri);
    blocking(state, move |shared, service| {
        let pages = pages(shared)?;
        // The service refuses anyone who is not an account admin, with the right it needs.
        let records = service.list(Actor::from(user.principal), true)?;
        let allowed = service.tokens_allowed()?;
        let engine = service.engine();
        let tenant = engine.tenant();
        let now = Utc::now();
        let (rows, total) = filter.apply(&records, now);
        let owners: BTreeMap<String, String> =
            records.iter().map(|r| (r.owner.id.clone(), owner_label(tenant, &r.owner))).collect();
        let mut owners: Vec<(String, String)> = owners.into_iter().collect();
        owners.sort_by(|a, b| a.1.cmp(&b.1));
        let owner_field = html! {
            div.field {
                label for="owner" { "Owner" }
                select #owner name="owner" {
                    option value="" selected[filter.owner.is_empty()] { "Everyone" }
                    @for (id, label) in &owners { option value=(id) selected[&filter.owner == id] { (label) } }
                }
            }
        };
        let form_token = || pages.forms.issue(&user.id, Utc::now());
        let viewer = Viewer { email: &user.email, admin: true, current: Nav::Manage };
        let body = page("Manage users tokens", Some(&viewer), html! {
            h1 { "Manage users tokens" }
            (notice(filter.done().as_deref(), false))
            h2 { "Every token of the account" }
            (filter.form("/ui/manage", Some(owner_field)))
            form #bulk method="get" action="/ui/confirm" {
                input type="hidden" name="from" value="manage";
                div.buttons.bulk {
                    span { "With the selected tokens:" }
                    button type="submit" name="action" value="disable" { "Disable" }
                    button.danger type="submit" name="action" value="delete" { "Delete" }
                }
            }
            (token_table(Table::Manage, &rows, tenant, now, &form_token))
            (filter.pager("/ui/manage", rows.len(), total))
            section.switch aria-labelledby="switch-title" {
                h2 #switch-title { "Platform tokens in account " (tenant.account.name) }
                form method="post" action="/ui/manage/switch" {
                    input type="hidden" name=(FORM_TOKEN) value=(form_token());
                    input type="hidden" name="allowed" value=(if allowed { "false" } else { "true" });
                    @if allowed {
                        p { "Allowed: people may generate, duplicate and rotate tokens. Turning them off stops new tokens; "
                            "existing ones keep working until they are disabled." }
                        button.danger type="submit" { "Turn platform tokens off" }
                    } @else {
                        p { "Turned off: nobody can generate, duplicate or rotate tokens. Existing tokens keep working." }
                        button.primary type="submit" { "Allow platform tokens" }
                    }
                }
            }
        });
        Ok(html(StatusCode::OK, body))
    })
    .await
}

/// `POST /ui/manage/switch` `allowed=true|false`: turns platform tokens on or off.
pub(super) async fn switch(State(state): State<Arc<Shared>>, form: Submitted) -> Result<Response, UiError> {
    let Submitted { user, fields } = form;
    let allowed = match fields.one("allowed")? {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(UiError::bad_form("`allowed` is `true` or `false`")),
    };
    blocking(state, move |_, service| {
        service.set_account_switch(Actor::from(user.principal), allowed)?;
        let done = if allowed { "tokens_on" } else { "tokens_off" };
        Ok(Redirect::to(&format!("/ui/manage?done={done}")).into_response())
    })
    .await
}
