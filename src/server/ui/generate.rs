//! Generating a token (a new one, or a duplicate prefilled from the original), rotating one,
//! and the one-time page that shows the new secret. A refusal of the token service is shown
//! beside the field its rule concerns.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use maud::{Markup, html};

use super::error::UiError;
use super::form::{FORM_TOKEN, Fields, Submitted};
use super::layout::{Nav, Viewer, error_summary, field_error, html, page, when};
use super::secret::NewSecret;
use super::signin::SignedIn;
use super::tokens::owner_label;
use super::{blocking, pages};
use crate::catalog::Catalog;
use crate::eval::{Decision, Engine, Request};
use crate::iam::{Principal, Tenant};
use crate::server::State as Shared;
use crate::server::error::ApiError;
use crate::token::{
    Actor, Created, Duplication, MAX_NAME, MAX_OVERLAP, NewToken, Rotation, Rule, TokenError, TokenId, TokenRecord,
    TokenService, duplicate_name,
};

/// The form field a problem concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Expiry,
    Resource,
    Owner,
    Scopes,
    OldExpires,
    /// The form as a whole (the account's switch, the person's rights).
    Form,
}

impl Field {
    /// The field a refusal by `rule` concerns.
    fn of(rule: Rule) -> Field {
        match rule {
            Rule::InvalidName => Field::Name,
            Rule::ExpiryInPast | Rule::ExpiryBeyondCaller => Field::Expiry,
            Rule::UnknownEnvironment => Field::Resource,
            Rule::UnknownScope | Rule::NoScopes | Rule::ScopeNotHeld => Field::Scopes,
            Rule::ServiceUserNotAllowed | Rule::UnknownOwner | Rule::TokenLimit => Field::Owner,
            Rule::InvalidOverlap => Field::OldExpires,
            _ => Field::Form,
        }
    }

    /// The input the problem is shown beside, which the summary links to.
    fn input(self) -> Option<&'static str> {
        match self {
            Field::Name => Some("name"),
            Field::Expiry => Some("expires-on"),
            Field::Resource => Some("resource-account"),
            Field::Owner => Some("owner"),
            Field::Scopes => Some("scope-note"),
            Field::OldExpires => Some("old-expires-at"),
            Field::Form => None,
        }
    }

    fn id(self) -> &'static str {
        match self {
            Field::Name => "name-error",
            Field::Expiry => "expiry-error",
            Field::Resource => "resource-error",
            Field::Owner => "owner-error",
            Field::Scopes => "scopes-error",
            Field::OldExpires => "old-expires-error",
            Field::Form => "form-error",
        }
    }
}

/// What stood in the way, and where to show it.
struct Problem {
    field: Field,
    message: String,
    status: StatusCode,
}

impl Problem {
    fn input(field: Field, message: impl Into<String>) -> Problem {
        Problem { field, message: message.into(), status: StatusCode::BAD_REQUEST }
    }

    /// A refusal of the token service, or its failure (which is not the form's to show).
    fn refusal(error: TokenError) -> Result<Problem, UiError> {
        let rule = error.rule();
        let api = ApiError::from(error);
        if !rule.is_refusal() && rule != Rule::UnknownToken {
            return Err(api.into());
        }
        Ok(Problem { field: Field::of(rule), message: api.message, status: api.status })
    }

    fn at(problem: Option<&Problem>, field: Field) -> Option<&str> {
        problem.filter(|p| p.field == field).map(|p| p.message.as_str())
    }

    /// The summary at the top of the form.
    fn summary(problem: Option<&Problem>, what: &str) -> Markup {
        html! {
            @if let Some(problem) = problem {
                (error_summary(what, &problem.message, problem.field.input()))
            }
        }
    }
}

/// A token's expiry as the forms take it: a day (the token stops at its end, UTC), or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    Never,
    On(NaiveDate),
}

impl Expiry {
    fn of(at: Option<DateTime<Utc>>) -> Expiry {
        at.map_or(Expiry::Never, |at| Expiry::On(at.date_naive()))
    }

    fn at(self) -> Option<DateTime<Utc>> {
        match self {
            Expiry::Never => None,
            Expiry::On(day) => Some(day.and_hms_opt(23, 59, 59).expect("a valid time").and_utc()),
        }
    }

    fn read(fields: &Fields) -> Result<Expiry, Problem> {
        match fields.one("expires").map_err(|e| Problem::input(Field::Expiry, e.message))? {
            Some("never") => Ok(Expiry::Never),
            Some("date") => {
                let day = fields.one("expires_on").map_err(|e| Problem::input(Field::Expiry, e.message))?;
                let day = day.unwrap_or_default().trim();
                NaiveDate::parse_from_str(day, "%Y-%m-%d").map(Expiry::On).map_err(|_| {
                    Problem::input(Field::Expiry, format!("`{day}` is not a date; choose one, as YYYY-MM-DD"))
                })
            }
            _ => Err(Problem::input(Field::Expiry, "choose when the token expires: a date, or never")),
        }
    }

    /// The two radio buttons and the date, in a fieldset.
    fn fieldset(self, legend: &str, problem: Option<&str>) -> Markup {
        let day = match self {
            Expiry::On(day) => day.to_string(),
            Expiry::Never => String::new(),
        };
        html! {
            fieldset aria-describedby=[problem.map(|_| Field::Expiry.id())] {
                legend { (legend) }
                div.choice {
                    input #expires-date type="radio" name="expires" value="date" checked[self != Expiry::Never];
                    label for="expires-date" { "On a date (the token stops at the end of that day, UTC)" }
                }
                div.field.indent {
                    label for="expires-on" { "Expiration date" }
                    input #expires-on type="date" name="expires_on" value=(day) data-when="expires-date"
                        aria-invalid=[problem.map(|_| "true")];
                }
                div.choice {
                    input #expires-never type="radio" name="expires" value="never" checked[self == Expiry::Never];
                    label for="expires-never" { "Never" }
                }
                (field_error(Field::Expiry.id(), problem))
            }
        }
    }
}

/// What the Generate form holds: new, prefilled from a duplicate, or sent back with a problem.
#[derive(Debug, Clone)]
struct Draft {
    name: String,
    expiry: Expiry,
    /// `None`: the whole account.
    environments: Option<Vec<String>>,
    /// A service user's id; `None`: the person themself.
    owner: Option<String>,
    scopes: Vec<String>,
}

impl Draft {
    fn blank(now: DateTime<Utc>) -> Draft {
        Draft {
            name: String::new(),
            expiry: Expiry::On((now + Duration::days(90)).date_naive()),
            environments: None,
            owner: None,
            scopes: Vec::new(),
        }
    }

    /// The form of a duplicate: the original's properties, named `Duplicate of: <name>`.
    fn duplicate(record: &TokenRecord) -> Draft {
        Draft {
            name: duplicate_name(&record.name),
            expiry: Expiry::of(record.expires_at),
            environments: (!record.environments.is_empty()).then(|| record.environments.clone()),
            owner: record.owner.service_user.then(|| record.owner.id.clone()),
            scopes: record.scopes.clone(),
        }
    }

    /// The form as sent; what it holds is judged by the token service, not here.
    fn read(fields: &Fields, now: DateTime<Utc>) -> (Draft, Option<Problem>) {
        let mut draft = Draft::blank(now);
        let mut problem = None;
        let mut note = |p: Problem| {
            if problem.is_none() {
                problem = Some(p);
            }
        };
        match fields.one("name") {
            Ok(name) => draft.name = name.unwrap_or_default().to_string(),
            Err(error) => note(Problem::input(Field::Name, error.message)),
        }
        match Expiry::read(fields) {
            Ok(expiry) => draft.expiry = expiry,
            Err(error) => note(error),
        }
        match fields.one("resource") {
            Ok(Some("account")) => draft.environments = None,
            Ok(Some("environments")) => {
                draft.environments = Some(fields.all("environment").map(String::from).collect())
            }
            _ => note(Problem::input(Field::Resource, "choose where the token applies: the account, or environments")),
        }
        match fields.one("owner") {
            Ok(None | Some("me")) => draft.owner = None,
            Ok(Some(id)) => draft.owner = Some(id.to_string()),
            Err(error) => note(Problem::input(Field::Owner, error.message)),
        }
        draft.scopes = fields.all("scope").map(String::from).collect();
        (draft, problem)
    }

    /// The token to ask the service for.
    fn new_token(&self, tenant: &Tenant) -> Result<NewToken, Problem> {
        let service_user = match &self.owner {
            None => None,
            Some(id) => Some(
                tenant
                    .find_service_user(id)
                    .filter(|owner| owner.is_service_user())
                    .ok_or_else(|| Problem::input(Field::Owner, format!("the account has no service user `{id}`")))?,
            ),
        };
        Ok(NewToken {
            name: self.name.clone(),
            scopes: self.scopes.clone(),
            environments: self.environments()?,
            expires_at: self.expiry.at(),
            service_user,
            tags: Vec::new(),
        })
    }

    /// What to change of the original for a duplicate: everything the form holds but the owner,
    /// which stays the original's.
    fn duplication(&self) -> Result<Duplication, Problem> {
        Ok(Duplication {
            name: Some(self.name.clone()),
            expires_at: Some(self.expiry.at()),
            scopes: Some(self.scopes.clone()),
            environments: Some(self.environments()?),
        })
    }

    /// The chosen environments; empty for the whole account.
    fn environments(&self) -> Result<Vec<String>, Problem> {
        match &self.environments {
            None => Ok(Vec::new()),
            Some(chosen) if chosen.is_empty() => {
                Err(Problem::input(Field::Resource, "choose at least one environment, or apply to the account"))
            }
            Some(chosen) => Ok(chosen.clone()),
        }
    }

    /// The principal the token would act for.
    fn owner(&self, tenant: &Tenant, me: Principal) -> Principal {
        self.owner.as_deref().and_then(|id| tenant.find_service_user(id)).unwrap_or(me)
    }
}

/// Whether an owner's policies allow a permission anywhere in the account: what a scope of
/// theirs can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holding {
    Allowed,
    Conditional,
    Not,
}

/// For each permission that may be a token scope: whether `owner`'s policies allow it at
/// account level or in some environment, now.
fn holdings(engine: &Engine, catalog: &Catalog, owner: Principal) -> HashMap<String, Holding> {
    let now = Utc::now();
    let tenant = engine.tenant();
    let places: Vec<Option<&str>> =
        std::iter::once(None).chain(tenant.environments.iter().map(|e| Some(e.id.as_str()))).collect();
    scope_permissions(catalog)
        .flat_map(|(_, permissions)| permissions)
        .map(|permission| {
            let mut holding = Holding::Not;
            for place in &places {
                let mut request = Request::new(owner, permission.name.as_str()).at(now);
                request.environment = place.map(str::to_string);
                let Ok(query) = engine.query(&request) else { continue };
                match engine.evaluate(&query) {
                    Decision::Allow { .. } => {
                        holding = Holding::Allowed;
                        break;
                    }
                    Decision::Conditional { .. } => holding = Holding::Conditional,
                    Decision::Deny { .. } | Decision::NoMatch => {}
                }
            }
            (permission.name.clone(), holding)
        })
        .collect()
}

/// The services whose permissions may be token scopes, each with its permissions.
fn scope_permissions(
    catalog: &Catalog,
) -> impl Iterator<Item = (&crate::catalog::Service, Vec<&crate::catalog::Permission>)> {
    catalog.services().filter(|service| service.token_scope).map(move |service| {
        let prefix = format!("{}:", service.name);
        let mut permissions: Vec<_> = catalog.permissions().filter(|p| p.name.starts_with(&prefix)).collect();
        permissions.sort_by(|a, b| a.name.cmp(&b.name));
        (service, permissions)
    })
}

/// Everything the Generate form shows besides the draft.
struct Context<'a> {
    viewer: Viewer<'a>,
    tenant: &'a Tenant,
    catalog: &'a Catalog,
    /// Service users the person may make tokens for: `(id, label)`.
    service_users: Vec<(String, String)>,
    /// What the draft's owner holds, by permission.
    holdings: HashMap<String, Holding>,
    owner_label: String,
    form_token: String,
    /// The token a duplicate copies.
    duplicate_of: Option<TokenId>,
}

impl<'a> Context<'a> {
    fn new(
        shared: &'a Shared,
        service: &TokenService,
        engine: &'a Engine,
        user: &'a SignedIn,
        draft: &Draft,
    ) -> Result<Context<'a>, UiError> {
        let tenant = engine.tenant();
        let actor = Actor::from(user.principal);
        let mut service_users = Vec::new();
        for service_user in &tenant.service_users {
            let Some(principal) = tenant.find_service_user(&service_user.id) else { continue };
            if service.may_act_for(actor, principal)? {
                service_users.push((service_user.id.clone(), format!("{} (service user)", service_user.name)));
            }
        }
        let catalog = &shared.tenant.catalog;
        let owner = draft.owner(tenant, user.principal);
        Ok(Context {
            viewer: Viewer::of(service, user, Nav::Mine)?,
            tenant,
            catalog,
            service_users,
            holdings: holdings(engine, catalog, owner),
            owner_label: tenant.email(owner).to_string(),
            form_token: pages(shared)?.forms.issue(&user.id, Utc::now()),
            duplicate_of: None,
        })
    }
}

/// The Generate form.
fn generate_page(context: &Context, draft: &Draft, problem: Option<&Problem>) -> Markup {
    let tenant = context.tenant;
    let at = |field| Problem::at(problem, field);
    let (title, action, button) = match &context.duplicate_of {
        Some(original) => ("Duplicate platform token", format!("/ui/tokens/{original}/duplicate"), "Duplicate"),
        None => ("Generate platform token", "/ui/tokens".to_string(), "Generate"),
    };
    page(
        title,
        Some(&context.viewer),
        html! {
            h1 { (title) }
            @if let Some(original) = &context.duplicate_of {
                p.hint { "Prefilled from " code { (original.0) } ". The duplicate gets a secret of its own and counts toward the limit." }
            }
            (Problem::summary(problem, "The token was not generated:"))
            form.token-form method="post" action=(action) {
                input type="hidden" name=(FORM_TOKEN) value=(context.form_token);
                div.field {
                    label for="name" { "Token name" }
                    input #name type="text" name="name" value=(draft.name) maxlength=(MAX_NAME) required
                        aria-describedby=[at(Field::Name).map(|_| Field::Name.id())] aria-invalid=[at(Field::Name).map(|_| "true")];
                    (field_error(Field::Name.id(), at(Field::Name)))
                }
                (draft.expiry.fieldset("Expiration", at(Field::Expiry)))
                p.account { "Account: " strong { (tenant.account.name) } " (" code { (tenant.account.id) } ")" }
                fieldset aria-describedby=[at(Field::Resource).map(|_| Field::Resource.id())] {
                    legend { "Applies to" }
                    div.choice {
                        input #resource-account type="radio" name="resource" value="account" checked[draft.environments.is_none()];
                        label for="resource-account" { "The whole account" }
                    }
                    div.choice {
                        input #resource-environments type="radio" name="resource" value="environments" checked[draft.environments.is_some()];
                        label for="resource-environments" { "Some environments" }
                    }
                    fieldset #environments.indent data-when="resource-environments" {
                        legend.visually-hidden { "Environments" }
                        @for environment in &tenant.environments {
                            @let chosen = draft.environments.as_ref().is_some_and(|e| e.contains(&environment.id));
                            div.choice {
                                input type="checkbox" name="environment" value=(environment.id) id={ "env-" (environment.id) } checked[chosen];
                                label for={ "env-" (environment.id) } { (environment.name) " (" code { (environment.id) } ")" }
                            }
                        }
                    }
                    (field_error(Field::Resource.id(), at(Field::Resource)))
                }
                @if context.duplicate_of.is_some() {
                    div.field {
                        p #owner { "Owner: " strong { (context.owner_label) } " (a duplicate has the original's owner)" }
                        (field_error(Field::Owner.id(), at(Field::Owner)))
                    }
                } @else {
                    div.field {
                        label for="owner" { "Owner" }
                        select #owner name="owner" aria-describedby=[at(Field::Owner).map(|_| Field::Owner.id())] {
                            option value="me" selected[draft.owner.is_none()] { "Me (" (context.viewer.email) ")" }
                            @for (id, label) in &context.service_users {
                                option value=(id) selected[draft.owner.as_ref() == Some(id)] { (label) }
                            }
                        }
                        (field_error(Field::Owner.id(), at(Field::Owner)))
                    }
                }
                (scope_table(context, draft, at(Field::Scopes)))
                div.buttons {
                    a.button href="/ui/tokens" { "Cancel" }
                    button.primary type="submit" { (button) }
                }
            }
        },
    )
}

/// The scopes, by service, with each permission's description and what the owner's policies
/// say of it.
fn scope_table(context: &Context, draft: &Draft, problem: Option<&str>) -> Markup {
    html! {
        fieldset.scopes aria-describedby=[problem.map(|_| Field::Scopes.id())] {
            legend { "Scopes" }
            p.hint #scope-note {
                "A scope grants only what the owner's policies allow: the token can do what its scopes name "
                "and its owner may do at the moment it is used. The last column says what "
                strong { (context.owner_label) } "'s policies allow today."
            }
            (field_error(Field::Scopes.id(), problem))
            table {
                caption.visually-hidden { "Permissions that may be token scopes" }
                thead { tr { th scope="col" { "Scope" } th scope="col" { "What it allows" } th scope="col" { "The owner's policies" } } }
                @for (service, permissions) in scope_permissions(context.catalog) {
                    tbody {
                        tr.service { th colspan="3" scope="rowgroup" { (service.name) " — " (service.description) } }
                        @for permission in permissions {
                            @let id = format!("scope-{}", permission.name.replace(':', "-"));
                            @let holding = context.holdings.get(&permission.name).copied().unwrap_or(Holding::Not);
                            tr {
                                td data-label="Scope" {
                                    input type="checkbox" name="scope" value=(permission.name) id=(id) checked[draft.scopes.contains(&permission.name)];
                                    label for=(id) { code { (permission.name) } }
                                }
                                td data-label="What it allows" { (permission.description) }
                                td data-label="The owner's policies" {
                                    @match holding {
                                        Holding::Allowed => span.holds { "allow it" },
                                        Holding::Conditional => span.holds-partly { "allow it only under conditions" },
                                        Holding::Not => span.lacks { "do not allow it: this scope would grant nothing" },
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The Generate form holding `draft`, or a duplicate's of `original`, with the problem that
/// sent it back.
fn form_page(
    shared: &Shared,
    service: &TokenService,
    user: &SignedIn,
    draft: &Draft,
    original: Option<TokenId>,
    problem: Option<&Problem>,
) -> Result<Response, UiError> {
    let engine = service.engine();
    let mut context = Context::new(shared, service, &engine, user, draft)?;
    context.duplicate_of = original;
    Ok(html(problem.map_or(StatusCode::OK, |p| p.status), generate_page(&context, draft, problem)))
}

/// What became of a sent form: the new token, shown once, or the problem to show beside the
/// form (a refusal of the token service, or what the form holds).
fn made(
    shared: &Shared,
    engine: &Engine,
    user: &SignedIn,
    made: Result<Result<Created, TokenError>, Problem>,
) -> Result<Result<Response, Problem>, UiError> {
    match made {
        Ok(Ok(created)) => show_once(shared, engine, user, created).map(Ok),
        Ok(Err(error)) => Problem::refusal(error).map(Err),
        Err(problem) => Ok(Err(problem)),
    }
}

/// `GET /ui/tokens/new`: the Generate form.
pub(super) async fn form(State(state): State<Arc<Shared>>, user: SignedIn) -> Result<Response, UiError> {
    blocking(state, move |shared, service| form_page(shared, service, &user, &Draft::blank(Utc::now()), None, None))
        .await
}

/// `GET /ui/tokens/{token}/duplicate`: the form prefilled from the token, named
/// `Duplicate of: <name>`.
pub(super) async fn duplicate_form(
    State(state): State<Arc<Shared>>,
    user: SignedIn,
    Path(token): Path<String>,
) -> Result<Response, UiError> {
    blocking(state, move |shared, service| {
        let original = service.show(Actor::from(user.principal), &TokenId::from_input(&token))?;
        form_page(shared, service, &user, &Draft::duplicate(&original), Some(original.id), None)
    })
    .await
}

/// `POST /ui/tokens/{token}/duplicate`: duplicates through the token service, with what the
/// form changed (its rules and refusals, D31 among them, and its audit entry naming both
/// tokens), then shows the new token once.
pub(super) async fn duplicate(
    State(state): State<Arc<Shared>>,
    Path(token): Path<String>,
    form: Submitted,
) -> Result<Response, UiError> {
    let Submitted { user, fields } = form;
    blocking(state, move |shared, service| {
        let actor = Actor::from(user.principal);
        let id = TokenId::from_input(&token);
        let (mut draft, problem) = Draft::read(&fields, Utc::now());
        let sent = problem.map_or_else(|| draft.duplication(), Err);
        let problem = match made(shared, &service.engine(), &user, sent.map(|c| service.duplicate_with(actor, &id, c)))?
        {
            Ok(shown) => return Ok(shown),
            Err(problem) => problem,
        };
        let original = service.show(actor, &id)?;
        draft.owner = Draft::duplicate(&original).owner;
        form_page(shared, service, &user, &draft, Some(original.id), Some(&problem))
    })
    .await
}

/// Holds the new secret for its one page and sends the browser there.
fn show_once(shared: &Shared, engine: &Engine, user: &SignedIn, created: Created) -> Result<Response, UiError> {
    let catalog = &shared.tenant.catalog;
    let tenant = engine.tenant();
    let owner = match created.record.owner.service_user {
        true => tenant.find_service_user(&created.record.owner.id),
        false => tenant.find_user(&created.record.owner.id),
    }
    .unwrap_or(user.principal);
    let held = holdings(engine, catalog, owner);
    let idle_scopes =
        created.record.scopes.iter().filter(|s| held.get(*s).copied() == Some(Holding::Not)).cloned().collect();
    let secret = NewSecret { record: created.record, secret: created.secret, idle_scopes };
    let key = pages(shared)?.secrets.hold(&user.id, secret).ok_or_else(|| {
        UiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "no randomness for the page's key")
    })?;
    Ok(Redirect::to(&format!("/ui/tokens/shown/{key}")).into_response())
}

/// `POST /ui/tokens`: generates the token, then shows it once; a refusal comes back beside
/// its field.
pub(super) async fn generate(State(state): State<Arc<Shared>>, form: Submitted) -> Result<Response, UiError> {
    let Submitted { user, fields } = form;
    blocking(state, move |shared, service| {
        let engine = service.engine();
        let (draft, problem) = Draft::read(&fields, Utc::now());
        let sent = problem.map_or_else(|| draft.new_token(engine.tenant()), Err);
        match made(shared, &engine, &user, sent.map(|token| service.create(Actor::from(user.principal), token)))? {
            Ok(shown) => Ok(shown),
            Err(problem) => form_page(shared, service, &user, &draft, None, Some(&problem)),
        }
    })
    .await
}

/// `GET /ui/tokens/shown/{key}`: the new token, this once.
pub(super) async fn shown(
    State(state): State<Arc<Shared>>,
    user: SignedIn,
    Path(key): Path<String>,
) -> Result<Response, UiError> {
    blocking(state, move |shared, service| {
        let viewer = Viewer::of(service, &user, Nav::Mine)?;
        let Some(new) = pages(shared)?.secrets.take(&key, &user.id) else {
            let body = page("Nothing to show", Some(&viewer), html! {
                h1 { "Nothing to show" }
                p { "A new token is shown once, right after it is made, and this one was shown already "
                    "(or it was made too long ago). The token itself is listed under My platform tokens; "
                    "if its secret was lost, rotate it to get a new one." }
                p { a.button href="/ui/tokens" { "Back to My platform tokens" } }
            });
            return Ok(html(StatusCode::GONE, body));
        };
        let record = &new.record;
        let engine = service.engine();
        let body = page("Copy your new token", Some(&viewer), html! {
            h1 { "Copy your new token" }
            p.notice role="status" {
                "This is the only time warden shows this token. Copy it now and keep it somewhere safe: "
                "warden stores only a digest of it."
            }
            div.secret {
                label for="secret" { "Platform token" }
                div.secret-row {
                    input #secret type="text" readonly value=(new.secret.expose()) autocomplete="off" spellcheck="false";
                    button type="button" data-copy="secret" hidden { "Copy" }
                }
            }
            dl.facts {
                dt { "Name" } dd { (record.name) }
                dt { "Token id" } dd { code { (record.id.0) } }
                dt { "Owner" } dd { (owner_label(engine.tenant(), &record.owner)) }
                dt { "Expires" } dd { (when(record.expires_at, "Never")) }
                dt { "Scopes" } dd { (record.scopes.join(", ")) }
            }
            @if !new.idle_scopes.is_empty() {
                p.notice.warning role="note" {
                    "These scopes grant nothing today, because the owner's policies do not allow them: "
                    (new.idle_scopes.join(", "))
                    ". The token gains them only if the owner is granted them."
                }
            }
            p { a.button.primary href="/ui/tokens" { "Finish and exit" } }
        });
        Ok(html(StatusCode::OK, body))
    })
    .await
}

/// When the old token of a rotation stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OldStops {
    Now,
    At(NaiveDateTime),
}

impl OldStops {
    fn read(fields: &Fields) -> Result<OldStops, Problem> {
        let problem = |message: String| Problem::input(Field::OldExpires, message);
        match fields.one("old_stops").map_err(|e| problem(e.message))? {
            None | Some("now") => Ok(OldStops::Now),
            Some(_) => {
                let at = fields.one("old_expires_at").map_err(|e| problem(e.message))?.unwrap_or_default().trim();
                NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M")
                    .or_else(|_| NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S"))
                    .map(OldStops::At)
                    .map_err(|_| problem(format!("`{at}` is not a time; choose one, as YYYY-MM-DD HH:MM (UTC)")))
            }
        }
    }
}

/// The Rotate form of a token.
fn rotate_page(
    viewer: &Viewer,
    record: &TokenRecord,
    rotation: (&str, Expiry, OldStops),
    form_token: &str,
    problem: Option<&Problem>,
) -> Markup {
    let (name, expiry, old) = rotation;
    let at = |field| Problem::at(problem, field);
    let now = Utc::now();
    let latest = record.expires_at.map_or(now + MAX_OVERLAP, |at| at.min(now + MAX_OVERLAP));
    let old_at = match old {
        OldStops::At(at) => at.format("%Y-%m-%dT%H:%M").to_string(),
        OldStops::Now => (now + Duration::days(1)).min(latest).format("%Y-%m-%dT%H:%M").to_string(),
    };
    page(
        "Rotate platform token",
        Some(viewer),
        html! {
            h1 { "Rotate platform token" }
            p { "A new token takes the place of " code.token-id { (record.id.0) } " (" (record.name) "), with the same scopes, "
                "owner and resource and a secret of its own. The old token stops now, or later so that what uses it can move over." }
            (Problem::summary(problem, "The token was not rotated:"))
            form.token-form method="post" action={ "/ui/tokens/" (record.id.0) "/rotate" } {
                input type="hidden" name=(FORM_TOKEN) value=(form_token);
                div.field {
                    label for="name" { "New token name" }
                    input #name type="text" name="name" value=(name) maxlength=(MAX_NAME) required
                        aria-describedby=[at(Field::Name).map(|_| Field::Name.id())] aria-invalid=[at(Field::Name).map(|_| "true")];
                    (field_error(Field::Name.id(), at(Field::Name)))
                }
                (expiry.fieldset("New token's expiration", at(Field::Expiry)))
                fieldset aria-describedby=[at(Field::OldExpires).map(|_| Field::OldExpires.id())] {
                    legend { "The old token stops" }
                    div.choice {
                        input #old-now type="radio" name="old_stops" value="now" checked[old == OldStops::Now];
                        label for="old-now" { "Now" }
                    }
                    div.choice {
                        input #old-at type="radio" name="old_stops" value="at" checked[old != OldStops::Now];
                        label for="old-at" { "At a later time (an overlap)" }
                    }
                    div.field.indent {
                        label for="old-expires-at" { "Old token stops at (UTC)" }
                        input #old-expires-at type="datetime-local" name="old_expires_at" value=(old_at) data-when="old-at"
                            aria-invalid=[at(Field::OldExpires).map(|_| "true")];
                        p.hint {
                            "At most " (MAX_OVERLAP.num_days()) " days from now"
                            @if let Some(at) = record.expires_at { ", and never after the old token's own expiry (" (when(Some(at), "")) ")" }
                            "."
                        }
                    }
                    (field_error(Field::OldExpires.id(), at(Field::OldExpires)))
                }
                div.buttons {
                    a.button href="/ui/tokens" { "Cancel" }
                    button.primary type="submit" { "Rotate" }
                }
            }
        },
    )
}

/// `GET /ui/tokens/{token}/rotate`: the Rotate form with the proposed name and expiry.
pub(super) async fn rotate_form(
    State(state): State<Arc<Shared>>,
    user: SignedIn,
    Path(token): Path<String>,
) -> Result<Response, UiError> {
    blocking(state, move |shared, service| {
        let record = service.show(Actor::from(user.principal), &TokenId::from_input(&token))?;
        let viewer = Viewer::of(service, &user, Nav::Mine)?;
        let (name, expires_at) = Rotation::proposal(&record, Utc::now());
        let form_token = pages(shared)?.forms.issue(&user.id, Utc::now());
        let body = rotate_page(&viewer, &record, (&name, Expiry::of(expires_at), OldStops::Now), &form_token, None);
        Ok(html(StatusCode::OK, body))
    })
    .await
}

/// `POST /ui/tokens/{token}/rotate`: rotates through the token service, then shows the new
/// token once.
pub(super) async fn rotate(
    State(state): State<Arc<Shared>>,
    Path(token): Path<String>,
    form: Submitted,
) -> Result<Response, UiError> {
    let Submitted { user, fields } = form;
    blocking(state, move |shared, service| {
        let actor = Actor::from(user.principal);
        let id = TokenId::from_input(&token);
        let name = fields.one("name")?.unwrap_or_default().to_string();
        let expiry = Expiry::read(&fields);
        let old = OldStops::read(&fields);
        let shown =
            (expiry.as_ref().map_or(Expiry::Never, |expiry| *expiry), old.as_ref().map_or(OldStops::Now, |old| *old));
        let sent = expiry.and_then(|expiry| Ok((expiry, old?))).map(|(expiry, old)| Rotation {
            name: Some(name.clone()),
            expires_at: Some(expiry.at()),
            old_expires_at: match old {
                OldStops::Now => None,
                OldStops::At(at) => Some(at.and_utc()),
            },
        });
        let problem = match made(shared, &service.engine(), &user, sent.map(|r| service.rotate(actor, &id, r)))? {
            Ok(shown) => return Ok(shown),
            Err(problem) => problem,
        };
        let record = service.show(actor, &id)?;
        let viewer = Viewer::of(service, &user, Nav::Mine)?;
        let form_token = pages(shared)?.forms.issue(&user.id, Utc::now());
        let body = rotate_page(&viewer, &record, (&name, shown.0, shown.1), &form_token, Some(&problem));
        Ok(html(problem.status, body))
    })
    .await
}
