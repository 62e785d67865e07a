//! Effective permissions (every permission a principal holds, and under which conditions) and
//! who-can (every principal holding a permission): the platform's "effective permissions".

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Decision, Engine, Request, RequestError};
use crate::iam::Principal;

/// A permission held by a principal: always, or where `conditions` (a residual policy) allows.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// The permission.
    pub permission: String,
    /// The principal's email.
    pub principal: String,
    /// `None`: unconditionally; else the residual policy that says where.
    pub conditions: Option<String>,
}

impl Engine {
    /// Every permission `principal` holds in `environment` (account level when `None`) at `time`.
    pub fn effective(
        &self,
        principal: Principal,
        environment: Option<&str>,
        time: DateTime<Utc>,
    ) -> Result<Vec<Grant>, RequestError> {
        if !self.tenant.owns(principal) {
            return Err(RequestError::ForeignPrincipal);
        }
        let mut grants = Vec::new();
        for permission in self.permissions() {
            if let Some(grant) = self.grant(principal, permission, environment, time)? {
                grants.push(grant);
            }
        }
        Ok(grants)
    }

    /// Every user and service user that holds `permission` in `environment` at `time`.
    pub fn who_can(
        &self,
        permission: &str,
        environment: Option<&str>,
        time: DateTime<Utc>,
    ) -> Result<Vec<Grant>, RequestError> {
        let mut grants = Vec::new();
        for principal in self.tenant.principals() {
            if let Some(grant) = self.grant(principal, permission, environment, time)? {
                grants.push(grant);
            }
        }
        Ok(grants)
    }

    fn grant(
        &self,
        principal: Principal,
        permission: &str,
        environment: Option<&str>,
        time: DateTime<Utc>,
    ) -> Result<Option<Grant>, RequestError> {
        let mut request = Request::new(principal, permission).at(time);
        request.environment = environment.map(str::to_string);
        let query = self.query(&request)?;
        let decision = self.evaluate(&query);
        let principal = self.tenant.email(principal).to_string();
        Ok(match decision {
            Decision::Allow { .. } => Some(Grant { permission: permission.to_string(), principal, conditions: None }),
            Decision::Conditional { .. } => Some(Grant {
                permission: permission.to_string(),
                principal,
                conditions: self.residual_text(&query, &decision),
            }),
            Decision::Deny { .. } | Decision::NoMatch => None,
        })
    }
}
