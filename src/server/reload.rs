//! Keeping the tenant current: it is read again on SIGHUP and whenever its texts change. A
//! tenant with errors is refused and logged, and the last good one keeps serving.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::signal::unix::{SignalKind, signal};

use super::State;
use crate::catalog::Catalog;
use crate::eval::Engine;
use crate::iam::{TenantFiles, load};

/// Where the tenant is read from.
#[derive(Debug, Clone)]
pub struct TenantSource {
    pub dir: PathBuf,
    pub catalog: Catalog,
}

/// The last reload: what was read, and why it was refused if it was.
#[derive(Debug, Default)]
pub(super) struct TenantStatus {
    fingerprint: u64,
    pub refused: Option<(DateTime<Utc>, String)>,
}

impl TenantSource {
    /// Reads the tenant's texts and their fingerprint.
    fn read(&self) -> Result<(TenantFiles, u64), String> {
        let files = TenantFiles::read(&self.dir)
            .map_err(|e| format!("cannot read the tenant `{}`: {e}", self.dir.display()))?;
        let mut hasher = DefaultHasher::new();
        for file in std::iter::once(&files.config).chain(&files.policies).chain(&files.boundaries) {
            (&file.name, &file.text).hash(&mut hasher);
        }
        Ok((files, hasher.finish()))
    }

    /// Compiles the tenant, or lists its errors one per line (`file:line:column: error[code]: …`).
    fn compile(&self, files: &TenantFiles) -> Result<Engine, Vec<String>> {
        let loaded = load(files, &self.catalog);
        if let Some(tenant) = loaded.tenant {
            return Ok(Engine::new(tenant, &self.catalog));
        }
        let mut errors = Vec::new();
        for findings in &loaded.findings {
            for diagnostic in findings.diagnostics.iter().filter(|d| d.is_error()) {
                let (line, column) = findings.file.line_column(diagnostic.span.start);
                errors.push(format!(
                    "{}:{line}:{column}: error[{}]: {}",
                    findings.file.name,
                    diagnostic.code(),
                    diagnostic.message
                ));
            }
        }
        Err(errors)
    }
}

impl State {
    /// Notes what the serving tenant was read from, so that the first look finds no change.
    pub(super) fn remember_tenant(&self) {
        if let Ok((_, fingerprint)) = self.tenant.read() {
            self.tenant_status.lock().expect("the tenant status lock is never poisoned").fingerprint = fingerprint;
        }
    }

    /// Reads the tenant again; compiles it when `forced` or when its texts changed.
    fn reload(&self, forced: bool) {
        let (files, fingerprint) = match self.tenant.read() {
            Ok(read) => read,
            Err(error) => return self.refuse(0, &[error]),
        };
        if !forced
            && fingerprint == self.tenant_status.lock().expect("the tenant status lock is never poisoned").fingerprint
        {
            return;
        }
        match self.tenant.compile(&files) {
            Ok(engine) => {
                let tenant = engine.tenant();
                tracing::info!(
                    "tenant `{}` reloaded: account `{}`, {} users, {} groups, {} policies",
                    self.tenant.dir.display(),
                    tenant.account.id,
                    tenant.users.len(),
                    tenant.groups.len(),
                    tenant.policies.len()
                );
                self.service.replace_engine(engine);
                self.metrics.reload(true);
                let mut status = self.tenant_status.lock().expect("the tenant status lock is never poisoned");
                *status = TenantStatus { fingerprint, refused: None };
            }
            Err(errors) => self.refuse(fingerprint, &errors),
        }
    }

    fn refuse(&self, fingerprint: u64, errors: &[String]) {
        let summary = format!(
            "the tenant `{}` was refused ({} error{}); the last good tenant keeps serving",
            self.tenant.dir.display(),
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
        tracing::error!("{summary}");
        for error in errors {
            tracing::error!("  {error}");
        }
        self.metrics.reload(false);
        let mut status = self.tenant_status.lock().expect("the tenant status lock is never poisoned");
        *status = TenantStatus { fingerprint, refused: Some((Utc::now(), summary)) };
    }
}

/// Reloads on SIGHUP, and looks for changed texts every `every` (none: on SIGHUP only).
pub(super) async fn keep_current(state: Arc<State>, every: Option<Duration>) {
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(hangup) => hangup,
        Err(error) => {
            tracing::warn!("cannot listen for SIGHUP ({error}); the tenant reloads only when its files change");
            return poll(state, every).await;
        }
    };
    loop {
        let forced = tokio::select! {
            _ = hangup.recv() => true,
            _ = tick(every) => false,
        };
        let state = Arc::clone(&state);
        let _ = tokio::task::spawn_blocking(move || state.reload(forced)).await;
    }
}

async fn poll(state: Arc<State>, every: Option<Duration>) {
    loop {
        tick(every).await;
        let state = Arc::clone(&state);
        let _ = tokio::task::spawn_blocking(move || state.reload(false)).await;
    }
}

async fn tick(every: Option<Duration>) {
    match every {
        Some(every) => tokio::time::sleep(every).await,
        None => std::future::pending().await,
    }
}
