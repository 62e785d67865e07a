//! The token management API, shaped like the platform's account-management API so existing
//! scripts fit (D27). The caller acts through its own platform token: every right is the
//! token's scopes ∩ its owner's policies, and new tokens get only scopes the caller holds (D21).
//! The caller is authenticated before anything it sent is judged: without a valid token one
//! learns nothing but that.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::credentials::Credentials;
use super::error::{ApiError, HttpReason};
use super::json::{RawBody, parse, present, reply};
use super::log::Logged;
use crate::token::{
    Actor, Caller, Created, MANAGE_ALL, NewToken, Rotation, Rule, ShownStatus, TokenId, TokenService, TokenView,
    WRITE_OWN,
};

const MAX_PAGE_SIZE: usize = 100;

/// A management call: the shared state, the caller's `Authorization` header, and the account
/// and (on routes about one token) the token id of the path.
pub struct Call {
    state: Arc<super::State>,
    credentials: Credentials,
    account: String,
    token: TokenId,
}

impl FromRequestParts<Arc<super::State>> for Call {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<super::State>) -> Result<Self, ApiError> {
        let credentials = Credentials::of(&parts.headers)?;
        let Path(mut names) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::bad_request(HttpReason::InvalidPath, rejection.body_text()))?;
        Ok(Call {
            state: Arc::clone(state),
            credentials,
            account: names.remove("account").unwrap_or_default(),
            token: TokenId::from_input(&names.remove("token").unwrap_or_default()),
        })
    }
}

impl Call {
    /// Runs the operation for the caller: the token must pass the check and the account in the
    /// path must be the tenant's. The work runs off the async workers, since SQLite blocks; a
    /// call that went through counts as a use of the token.
    async fn act<T: Send + 'static>(
        self,
        operation: &'static str,
        work: impl FnOnce(&TokenService, Actor, &TokenId) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<(T, Logged), ApiError> {
        let Call { state, credentials, account, token: id } = self;
        let service = Arc::clone(&state.service);
        let result = tokio::task::spawn_blocking(move || {
            let (owner, token) = match service.caller(credentials.header())? {
                Caller::Token { owner, token } => (owner, token),
                Caller::Refused(outcome) => return Err(ApiError::refused(outcome, &credentials)),
            };
            let logged = Logged { token: Some(token.id.clone()), decision: "ok" };
            let served = service.engine().tenant().account.id.clone();
            if account != served {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    HttpReason::UnknownAccount,
                    format!("no account `{account}` here; this service holds account `{served}`"),
                )
                .by(logged.token));
            }
            let done = work(&service, Actor { principal: owner, token: Some(&token) }, &id);
            if done.is_ok() {
                service.record_use(&token.id);
            }
            done.map(|value| (value, logged.clone())).map_err(|error| error.by(logged.token))
        })
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                HttpReason::InternalError,
                "the operation stopped unexpectedly",
            ))
        });
        state.metrics.operation(operation, result.as_ref().err().map_or("ok", |error| error.reason.as_str()));
        result
    }
}

fn answer(status: StatusCode, value: &impl Serialize, logged: Logged) -> Response {
    let mut response = reply(status, value);
    response.extensions_mut().insert(logged);
    response
}

fn no_content(logged: Logged) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.extensions_mut().insert(logged);
    response
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewSecret<'a> {
    name: &'a str,
    token_id: &'a TokenId,
    token: &'a str,
}

/// The one answer that holds a secret: the new token, shown this once.
fn created(created: Created, logged: Logged) -> Response {
    let body = NewSecret { name: &created.record.name, token_id: &created.record.id, token: created.secret.expose() };
    answer(StatusCode::CREATED, &body, logged)
}

fn query<T: serde::de::DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    Query::try_from_uri(uri)
        .map(|Query(value)| value)
        .map_err(|rejection| ApiError::bad_request(HttpReason::InvalidQuery, rejection.body_text()))
}

/// A status as the API names it (D27).
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum ApiStatus {
    Active,
    Inactive,
    Expired,
}

impl ApiStatus {
    fn shown(self) -> ShownStatus {
        match self {
            ApiStatus::Active => ShownStatus::Active,
            ApiStatus::Inactive => ShownStatus::Disabled,
            ApiStatus::Expired => ShownStatus::Expired,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ListQuery {
    search_term: Option<String>,
    status: Option<ApiStatus>,
    #[serde(default)]
    page: usize,
    size: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    page_size: usize,
    page_number: usize,
    total: usize,
    results: Vec<TokenView>,
}

/// `GET …/platform-tokens`: the caller's tokens (an admin's: the account's), filtered and paged.
pub async fn list(call: Call, uri: Uri) -> Result<Response, ApiError> {
    let (page, logged) = call
        .act("list", move |service, actor, _| {
            let filter: ListQuery = query(&uri)?;
            let size = filter.size.unwrap_or(20);
            if !(1..=MAX_PAGE_SIZE).contains(&size) {
                return Err(ApiError::bad_request(
                    HttpReason::InvalidQuery,
                    format!("`size` is from 1 to {MAX_PAGE_SIZE}, not {size}"),
                ));
            }
            let now = Utc::now();
            let search = filter.search_term.as_deref().map(str::to_lowercase).unwrap_or_default();
            let matching: Vec<TokenView> = service
                .visible(actor)?
                .iter()
                .filter(|r| r.name.to_lowercase().contains(&search) || r.id.0.to_lowercase().contains(&search))
                .filter(|r| filter.status.is_none_or(|wanted| r.shown_status(now) == wanted.shown()))
                .map(|r| r.view(now))
                .collect();
            let total = matching.len();
            let results = matching.into_iter().skip(filter.page.saturating_mul(size)).take(size).collect();
            Ok(Page { page_size: size, page_number: filter.page, total, results })
        })
        .await?;
    Ok(answer(StatusCode::OK, &page, logged))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateBody {
    name: String,
    scope: Vec<String>,
    resource: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    /// Must be present; `null` means never (D27).
    #[serde(default, deserialize_with = "present")]
    expiration_date: Option<Option<DateTime<Utc>>>,
    user_uuid: Option<String>,
}

/// `POST …/platform-tokens`: a token for the caller or for a service user.
pub async fn create(call: Call, RawBody(body): RawBody) -> Result<Response, ApiError> {
    let (made, logged) = call.act("create", move |service, actor, _| {
        let body: CreateBody = parse(&body)?;
        let Some(expires_at) = body.expiration_date else {
            return Err(ApiError::bad_request(
                HttpReason::InvalidBody,
                "the body: missing field `expirationDate`; give an RFC 3339 time, or null for a token that never expires",
            ));
        };
        let (engine, actor) = service.engine_for(actor)?;
        let tenant = engine.tenant();
        let environments = environments(&body.resource, &tenant.account.id)?;
        let service_user = match body.user_uuid.as_deref() {
            None => None,
            Some(uuid) if uuid == tenant.id(actor.principal) => None,
            Some(uuid) => match tenant.find_service_user(uuid) {
                Some(owner) if owner.is_service_user() => Some(owner),
                _ => {
                    return Err(ApiError::bad_request(
                        HttpReason::InvalidOwner,
                        format!(
                            "`userUuid`: `{uuid}` is neither the caller (`{}`) nor a service user of the account",
                            tenant.id(actor.principal)
                        ),
                    ));
                }
            },
        };
        let token =
            NewToken { name: body.name, scopes: body.scope, environments, expires_at, service_user, tags: body.tags };
        Ok(service.create(actor, token)?)
    })
    .await?;
    Ok(created(made, logged))
}

/// `resource`: `urn:dtaccount:<account>` for the whole account, or `urn:dtenvironment:<id>` for
/// each environment the token is valid in.
fn environments(resource: &[String], account: &str) -> Result<Vec<String>, ApiError> {
    let invalid = |message: String| ApiError::bad_request(HttpReason::InvalidResource, message);
    let mut whole_account = false;
    let mut environments = Vec::new();
    for (index, urn) in resource.iter().enumerate() {
        if let Some(id) = urn.strip_prefix("urn:dtaccount:") {
            if id != account {
                return Err(invalid(format!(
                    "`resource[{index}]`: `{urn}` is another account; this one is `{account}`"
                )));
            }
            whole_account = true;
        } else if let Some(id) = urn.strip_prefix("urn:dtenvironment:") {
            environments.push(id.to_string());
        } else {
            return Err(invalid(format!(
                "`resource[{index}]`: `{urn}` is neither `urn:dtaccount:<account>` nor `urn:dtenvironment:<environment>`"
            )));
        }
    }
    match (whole_account, environments.is_empty()) {
        (true, true) => Ok(Vec::new()),
        (false, false) => Ok(environments),
        (true, false) => Err(invalid(
            "`resource`: a token is valid in the whole account or in some environments, not both".to_string(),
        )),
        (false, true) => Err(invalid(format!(
            "`resource`: say where the token is valid: `urn:dtaccount:{account}` or `urn:dtenvironment:<environment>`"
        ))),
    }
}

/// `GET …/platform-tokens/{token}`.
pub async fn show(call: Call) -> Result<Response, ApiError> {
    let (record, logged) = call.act("show", |service, actor, id| Ok(service.show(actor, id)?)).await?;
    Ok(answer(StatusCode::OK, &record.view(Utc::now()), logged))
}

/// `DELETE …/platform-tokens/{token}`.
pub async fn delete(call: Call) -> Result<Response, ApiError> {
    let ((), logged) = call.act("delete", |service, actor, id| Ok(service.delete(actor, id)?)).await?;
    Ok(no_content(logged))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExpiryBody {
    #[serde(default, deserialize_with = "present")]
    expiration_date: Option<Option<DateTime<Utc>>>,
}

/// `PUT …/platform-tokens/{token}/expiration-date` `{expirationDate}`; `null` means never.
pub async fn set_expiry(call: Call, RawBody(body): RawBody) -> Result<Response, ApiError> {
    let ((), logged) = call
        .act("set_expiry", move |service, actor, id| {
            let body: ExpiryBody = parse(&body)?;
            let Some(expires_at) = body.expiration_date else {
                return Err(ApiError::bad_request(
                    HttpReason::InvalidBody,
                    "the body: missing field `expirationDate`; give an RFC 3339 time, or null for never",
                ));
            };
            Ok(service.set_expiry(actor, id, expires_at)?)
        })
        .await?;
    Ok(no_content(logged))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: ApiStatus,
}

/// `PUT …/platform-tokens/{token}/status` `{status: "ACTIVE" | "INACTIVE"}`.
pub async fn set_status(call: Call, RawBody(body): RawBody) -> Result<Response, ApiError> {
    let ((), logged) = call
        .act("set_status", move |service, actor, id| {
            let body: StatusBody = parse(&body)?;
            match body.status {
                ApiStatus::Active => Ok(service.enable(actor, id)?),
                ApiStatus::Inactive => Ok(service.disable(actor, id)?),
                ApiStatus::Expired => Err(ApiError::bad_request(
                    HttpReason::InvalidBody,
                    "`status`: a token cannot be set to `EXPIRED`; set its `expiration-date` instead",
                )),
            }
        })
        .await?;
    Ok(no_content(logged))
}

/// `POST …/platform-tokens/{token}/duplicate`: a new token with the same properties.
pub async fn duplicate(call: Call) -> Result<Response, ApiError> {
    let (made, logged) = call.act("duplicate", |service, actor, id| Ok(service.duplicate(actor, id)?)).await?;
    Ok(created(made, logged))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RotateBody {
    name: Option<String>,
    /// Absent: the old token's lifetime again; `null`: never.
    #[serde(default, deserialize_with = "present")]
    expiration_date: Option<Option<DateTime<Utc>>>,
    old_token_expires_at: Option<DateTime<Utc>>,
}

/// `POST …/platform-tokens/{token}/rotate`: a new token in place of the old one, which stops
/// now or at `oldTokenExpiresAt`.
pub async fn rotate(call: Call, RawBody(body): RawBody) -> Result<Response, ApiError> {
    let (made, logged) = call
        .act("rotate", move |service, actor, id| {
            let body: RotateBody = parse(&body)?;
            let rotation = Rotation {
                name: body.name,
                expires_at: body.expiration_date,
                old_expires_at: body.old_token_expires_at,
            };
            Ok(service.rotate(actor, id, rotation)?)
        })
        .await?;
    Ok(created(made, logged))
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    allowed: bool,
}

/// `GET …/settings/platform-tokens`: whether the account allows platform tokens, for callers
/// who may manage tokens.
pub async fn settings(call: Call) -> Result<Response, ApiError> {
    let (allowed, logged) = call
        .act("settings", |service, actor, _| {
            if !(service.permits(actor, WRITE_OWN)? || service.permits(actor, MANAGE_ALL)?) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    Rule::NotPermitted,
                    format!("reading the account's token settings needs `{WRITE_OWN}` or `{MANAGE_ALL}`"),
                ));
            }
            Ok(service.tokens_allowed()?)
        })
        .await?;
    Ok(answer(StatusCode::OK, &Switch { allowed }, logged))
}

/// `PUT …/settings/platform-tokens` `{allowed}`: account admins turn platform tokens on or off.
pub async fn set_settings(call: Call, RawBody(body): RawBody) -> Result<Response, ApiError> {
    let ((), logged) = call
        .act("set_settings", move |service, actor, _| {
            let body: Switch = parse(&body)?;
            Ok(service.set_account_switch(actor, body.allowed)?)
        })
        .await?;
    Ok(no_content(logged))
}
