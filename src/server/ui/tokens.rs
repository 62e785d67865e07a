//! *My platform tokens*: the table of one's tokens with search, a status filter and pages, each
//! row's Actions, and the confirmation and change of disable, enable and delete, which *Manage
//! users tokens* shares.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::UiError;
use super::form::{FORM_TOKEN, Submitted};
use super::layout::{Nav, Viewer, day_and_time, html, notice, page, status_badge};
use super::signin::SignedIn;
use super::{blocking, pages};
use crate::iam::Tenant;
use crate::server::State as Shared;
use crate::server::error::{outgoing, shortened};
use crate::token::{Actor, Owner, ShownStatus, TokenError, TokenId, TokenRecord, TokenService};

/// Rows per page.
const PAGE_SIZE: usize = 20;
/// The most tokens one confirmation changes.
const MOST_AT_ONCE: usize = 100;

/// What the table shows: search, status, owner (Manage users tokens), page, and what was just
/// done.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Filter {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub owner: String,
    pub page: Option<String>,
    pub done: Option<String>,
    pub count: Option<usize>,
}

impl Filter {
    pub fn read(uri: &Uri) -> Filter {
        Query::try_from_uri(uri).map(|Query(filter)| filter).unwrap_or_default()
    }

    fn status(&self) -> Option<ShownStatus> {
        match self.status.as_str() {
            "active" => Some(ShownStatus::Active),
            "disabled" => Some(ShownStatus::Disabled),
            "expired" => Some(ShownStatus::Expired),
            _ => None,
        }
    }

    /// The page asked for, from 1.
    fn page(&self) -> usize {
        self.page.as_deref().and_then(|p| p.parse().ok()).unwrap_or(1).max(1)
    }

    /// The records that match, and the total before paging.
    pub fn apply<'r>(&self, records: &'r [TokenRecord], now: DateTime<Utc>) -> (Vec<&'r TokenRecord>, usize) {
        let search = self.q.trim().to_lowercase();
        let status = self.status();
        let matching: Vec<&TokenRecord> = records
            .iter()
            .filter(|r| r.name.to_lowercase().contains(&search) || r.id.0.to_lowercase().contains(&search))
            .filter(|r| status.is_none_or(|wanted| r.shown_status(now) == wanted))
            .filter(|r| self.owner.is_empty() || r.owner.id == self.owner)
            .collect();
        let total = matching.len();
        let rows = matching.into_iter().skip((self.page() - 1).saturating_mul(PAGE_SIZE)).take(PAGE_SIZE).collect();
        (rows, total)
    }

    /// What was just done, as a notice.
    pub fn done(&self) -> Option<String> {
        let count = self.count.unwrap_or(1);
        let tokens = if count == 1 { "1 token".to_string() } else { format!("{count} tokens") };
        Some(match self.done.as_deref()? {
            "disable" => format!("Disabled {tokens}."),
            "enable" => format!("Enabled {tokens}."),
            "delete" => format!("Deleted {tokens}."),
            "tokens_on" => "Platform tokens are now allowed in this account.".to_string(),
            "tokens_off" => {
                "Platform tokens are now turned off in this account: no new tokens; existing ones keep working."
                    .to_string()
            }
            _ => return None,
        })
    }

    /// The search and status fields (and the owner's, when given), as a GET form.
    pub fn form(&self, action: &str, owners: Option<Markup>) -> Markup {
        html! {
            form.filters method="get" action=(action) role="search" {
                div.field {
                    label for="q" { "Search by name or token id" }
                    input #q type="search" name="q" value=(self.q);
                }
                div.field {
                    label for="status" { "Status" }
                    select #status name="status" {
                        @for (value, label) in [("", "All"), ("active", "Active"), ("disabled", "Disabled"), ("expired", "Expired")] {
                            option value=(value) selected[self.status == value] { (label) }
                        }
                    }
                }
                @if let Some(owners) = owners { (owners) }
                button type="submit" { "Filter" }
            }
        }
    }

    /// "Showing 1–20 of 35" with links to the pages before and after.
    pub fn pager(&self, action: &str, shown: usize, total: usize) -> Markup {
        let page = self.page();
        // The page is the client's number: past the last page (to usize::MAX) it shows nothing.
        let first = (page - 1).saturating_mul(PAGE_SIZE);
        let link = |page: usize| {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("q", &self.q)
                .append_pair("status", &self.status)
                .append_pair("owner", &self.owner)
                .append_pair("page", &page.to_string())
                .finish();
            format!("{action}?{query}")
        };
        html! {
            nav.pager aria-label="Pages of tokens" {
                @if shown == 0 { span { "No tokens match." } } @else {
                    span { "Showing " (first + 1) "–" (first + shown) " of " (total) }
                }
                @if page > 1 { a href=(link(page - 1)) { "Previous page" } }
                @if first + shown < total { a href=(link(page + 1)) { "Next page" } }
            }
        }
    }
}

/// Which table: one's own, or every token of the account with owners and selection.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Table {
    Mine,
    Manage,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Mine => "mine",
            Table::Manage => "manage",
        }
    }

    fn nav(self) -> Nav {
        match self {
            Table::Mine => Nav::Mine,
            Table::Manage => Nav::Manage,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Table::Mine => "/ui/tokens",
            Table::Manage => "/ui/manage",
        }
    }
}

/// A user's email or a service user's name, as the tables show an owner.
pub(super) fn owner_label(tenant: &Tenant, owner: &Owner) -> String {
    let found = match owner.service_user {
        true => tenant.service_users.iter().find(|s| s.id == owner.id).map(|s| format!("{} (service user)", s.name)),
        false => tenant.users.iter().find(|u| u.id == owner.id).map(|u| u.email.to_string()),
    };
    found.unwrap_or_else(|| format!("{} (no longer in the tenant)", owner.id))
}

fn link_with(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        query.append_pair(key, value);
    }
    format!("{path}?{}", query.finish())
}

/// The tokens as a table; on a narrow screen each row reads as a card.
pub(super) fn token_table(
    table: Table,
    rows: &[&TokenRecord],
    tenant: &Tenant,
    now: DateTime<Utc>,
    form_token: &dyn Fn() -> String,
) -> Markup {
    html! {
        div.table-wrap { table.tokens {
            caption.visually-hidden { "Platform tokens" }
            thead {
                tr {
                    @if table == Table::Manage { th scope="col" { span.visually-hidden { "Select" } } }
                    th scope="col" { "Name" }
                    th scope="col" { "Token id" }
                    @if table == Table::Manage { th scope="col" { "Owner" } }
                    th scope="col" { "Status" }
                    th scope="col" { "Scopes" }
                    th scope="col" { "Resource" }
                    th scope="col" { "Expires" }
                    th scope="col" { "Last used" }
                    th scope="col" { "Created" }
                    th scope="col" { "Actions" }
                }
            }
            tbody {
                @for record in rows {
                    @let status = record.shown_status(now);
                    tr data-token=(record.id.0) {
                        @if table == Table::Manage {
                            td data-label="Select" {
                                input type="checkbox" name="id" value=(record.id.0) id={ "select-" (record.id.0) } form="bulk";
                                label.visually-hidden for={ "select-" (record.id.0) } { "Select " (record.id.0) }
                            }
                        }
                        td data-label="Name" { (record.name) }
                        td data-label="Token id" { code { (record.id.0) } }
                        @if table == Table::Manage { td data-label="Owner" { (owner_label(tenant, &record.owner)) } }
                        td data-label="Status" { (status_badge(status)) }
                        td data-label="Scopes" { ul.scopes { @for scope in &record.scopes { li { code { (scope) } } } } }
                        td data-label="Resource" {
                            @if record.environments.is_empty() { "Account" } @else {
                                (record.environments.join(", "))
                            }
                        }
                        td data-label="Expires" { (day_and_time(record.expires_at, "Never")) }
                        td data-label="Last used" { (day_and_time(record.last_used_at, "Never used")) }
                        td data-label="Created" { (day_and_time(Some(record.created_at), "")) }
                        td data-label="Actions" { (actions(table, record, status, form_token)) }
                    }
                }
            }
        } }
    }
}

/// A row's Actions menu: a disclosure of links and buttons, usable by keyboard without script.
fn actions(table: Table, record: &TokenRecord, status: ShownStatus, form_token: &dyn Fn() -> String) -> Markup {
    let id = record.id.as_str();
    let from = table.name();
    let confirm = |action: &str| link_with("/ui/confirm", &[("action", action), ("id", id), ("from", from)]);
    html! {
        details.actions {
            summary { "Actions" span.visually-hidden { " for " (record.name) } }
            ul {
                @if status == ShownStatus::Active { li { a href=(confirm("disable")) { "Disable" } } }
                @if status == ShownStatus::Disabled {
                    li {
                        form method="post" action="/ui/change" {
                            input type="hidden" name=(FORM_TOKEN) value=(form_token());
                            input type="hidden" name="action" value="enable";
                            input type="hidden" name="id" value=(id);
                            input type="hidden" name="from" value=(from);
                            button type="submit" { "Enable" }
                        }
                    }
                }
                // A rotated-out token is neither duplicated nor rotated again (D31).
                @if table == Table::Mine && status != ShownStatus::Expired && record.rotated_to.is_none() {
                    li { a href={ "/ui/tokens/" (id) "/duplicate" } { "Duplicate" } }
                    li { a href={ "/ui/tokens/" (id) "/rotate" } { "Rotate" } }
                }
                li { a href=(confirm("delete")) { "Delete" } }
            }
        }
    }
}

/// `GET /ui/tokens`: My platform tokens.
pub(super) async fn list(State(state): State<Arc<Shared>>, user: SignedIn, uri: Uri) -> Result<Response, UiError> {
    let filter = Filter::read(&uri);
    blocking(state, move |shared, service| {
        let pages = pages(shared)?;
        let viewer = Viewer::of(service, &user, Nav::Mine)?;
        let records = match service.list(Actor::from(user.principal), false) {
            Ok(records) => records,
            Err(error @ TokenError::Refused { .. }) => {
                let error = UiError::from(error);
                let body = page("My platform tokens", Some(&viewer), html! {
                    h1 { "My platform tokens" }
                    p.error role="alert" { (outgoing(&error.message)) }
                });
                return Ok(html(error.status, body));
            }
            Err(error) => return Err(error.into()),
        };
        let now = Utc::now();
        let (rows, total) = filter.apply(&records, now);
        let engine = service.engine();
        let form_token = || pages.forms.issue(&user.id, Utc::now());
        let body = page("My platform tokens", Some(&viewer), html! {
            div.title-row {
                h1 { "My platform tokens" }
                a.button.primary href="/ui/tokens/new" { "Generate new token" }
            }
            (notice(filter.done().as_deref(), false))
            p.hint { "Platform tokens let scripts and services act for you. A token grants only what its scopes name "
                "and your policies allow at the moment it is used. Times are in UTC." }
            (filter.form("/ui/tokens", None))
            (token_table(Table::Mine, &rows, engine.tenant(), now, &form_token))
            (filter.pager("/ui/tokens", rows.len(), total))
        });
        Ok(html(StatusCode::OK, body))
    })
    .await
}

/// The action of a confirmation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Disable,
    Enable,
    Delete,
}

impl Change {
    fn parse(text: &str) -> Result<Change, UiError> {
        match text {
            "disable" => Ok(Change::Disable),
            "enable" => Ok(Change::Enable),
            "delete" => Ok(Change::Delete),
            other => Err(UiError::bad_form(format!("`{other}` is not something the pages do to a token"))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Change::Disable => "disable",
            Change::Enable => "enable",
            Change::Delete => "delete",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Change::Disable => "Disable",
            Change::Enable => "Enable",
            Change::Delete => "Delete",
        }
    }

    fn apply(self, service: &TokenService, actor: Actor, id: &TokenId) -> Result<(), TokenError> {
        match self {
            Change::Disable => service.disable(actor, id),
            Change::Enable => service.enable(actor, id),
            Change::Delete => service.delete(actor, id),
        }
    }
}

/// The page a change goes back to.
fn table_of(from: Option<&str>) -> Table {
    if from == Some("manage") { Table::Manage } else { Table::Mine }
}

/// The ids of a confirmation or change: at least one, at most [`MOST_AT_ONCE`].
fn ids<'a>(ids: impl Iterator<Item = &'a str>) -> Result<Vec<TokenId>, UiError> {
    let ids: Vec<TokenId> = ids.filter(|id| !id.trim().is_empty()).map(TokenId::from_input).collect();
    match ids.len() {
        0 => Err(UiError::bad_form("no token was selected; select the tokens first")),
        n if n > MOST_AT_ONCE => {
            Err(UiError::bad_form(format!("{n} tokens at once is too many; at most {MOST_AT_ONCE}")))
        }
        _ => Ok(ids),
    }
}

/// `GET /ui/confirm?action=disable|delete&id=…&from=mine|manage`: the confirmation that shows
/// the ids (Cancel / confirm).
pub(super) async fn confirm(State(state): State<Arc<Shared>>, user: SignedIn, uri: Uri) -> Result<Response, UiError> {
    let pairs: Vec<(String, String)> = Query::try_from_uri(&uri).map(|Query(pairs)| pairs).unwrap_or_default();
    let value = |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let change = Change::parse(&value("action").unwrap_or_default())?;
    let table = table_of(value("from").as_deref());
    let ids = ids(pairs.iter().filter(|(key, _)| key == "id").map(|(_, value)| value.as_str()))?;
    blocking(state, move |shared, service| {
        let pages = pages(shared)?;
        let viewer = Viewer::of(service, &user, table.nav())?;
        let visible = service.visible(Actor::from(user.principal))?;
        let name_of = |id: &TokenId| visible.iter().find(|r| &r.id == id).map(|r| r.name.clone());
        let count = if ids.len() == 1 { "this token".to_string() } else { format!("these {} tokens", ids.len()) };
        let title = format!("{} {count}?", change.verb());
        let consequence = match change {
            Change::Disable => "A disabled token is refused at once, until it is enabled again.",
            Change::Delete => "A deleted token is gone for good: it is refused at once and cannot be brought back.",
            Change::Enable => "An enabled token works again.",
        };
        let body = page(
            &title,
            Some(&viewer),
            html! {
                section.dialog role="dialog" aria-labelledby="confirm-title" aria-describedby="confirm-what" {
                    h1 #confirm-title { (title) }
                    p #confirm-what { (consequence) }
                    ul.confirm-ids {
                        @for id in &ids {
                            li { code.token-id { (id.0) } @if let Some(name) = name_of(id) { " — " (name) } }
                        }
                    }
                    form method="post" action="/ui/change" {
                        input type="hidden" name=(FORM_TOKEN) value=(pages.forms.issue(&user.id, Utc::now()));
                        input type="hidden" name="action" value=(change.name());
                        input type="hidden" name="from" value=(table.name());
                        @for id in &ids { input type="hidden" name="id" value=(id.0); }
                        div.buttons {
                            a.button href=(table.path()) { "Cancel" }
                            button.danger type="submit" autofocus { (change.verb()) }
                        }
                    }
                }
            },
        );
        Ok(html(StatusCode::OK, body))
    })
    .await
}

/// `POST /ui/change` `action`, `id`…, `from`: disables, enables or deletes the tokens, each
/// through the token service; back to the table when all went through, else the refusals.
pub(super) async fn change(State(state): State<Arc<Shared>>, form: Submitted) -> Result<Response, UiError> {
    let Submitted { user, fields } = form;
    let change = Change::parse(fields.one("action")?.unwrap_or_default())?;
    let table = table_of(fields.one("from")?);
    let ids = ids(fields.all("id"))?;
    blocking(state, move |_, service| {
        let actor = Actor::from(user.principal);
        let refused: Vec<(TokenId, UiError)> = ids
            .iter()
            .filter_map(|id| change.apply(service, actor, id).err().map(|error| (id.clone(), UiError::from(error))))
            .collect();
        if refused.is_empty() {
            let count = ids.len().to_string();
            let back = link_with(table.path(), &[("done", change.name()), ("count", &count)]);
            return Ok(Redirect::to(&back).into_response());
        }
        let viewer = Viewer::of(service, &user, table.nav())?;
        let done = ids.len() - refused.len();
        let status = refused[0].1.status;
        let title = format!("Could not {} every token", change.name());
        let body = page(
            &title,
            Some(&viewer),
            html! {
                h1 { (title) }
                @if done > 0 { p role="status" { (change.verb()) "d " (done) " of " (ids.len()) "." } }
                ul.refusals role="alert" {
                    @for (id, error) in &refused { li { code.token-id { (shortened(&id.0)) } ": " (outgoing(&error.message)) } }
                }
                p { a href=(table.path()) { "Back to the tokens" } }
            },
        );
        Ok(html(status, body))
    })
    .await
}
