//! Keeping the tenant current: it is read again on SIGHUP and whenever its texts change. A
//! tenant with errors is refused and logged, and the last good one keeps serving.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::Signal;

use super::State;
use crate::catalog::Catalog;
use crate::eval::Engine;
use crate::iam::TenantDir;

/// Where the tenant is read from: a `warden.toml` tenant, a Terraform module or a monaco
/// project.
#[derive(Debug, Clone)]
pub struct TenantSource {
    /// The tenant directory.
    pub dir: PathBuf,
    /// The catalog its policies are checked against.
    pub catalog: Catalog,
    /// Values of the module's Terraform variables.
    #[cfg(feature = "iac")]
    pub variables: crate::host::Variables,
}

/// The last reload: a fingerprint of what was read (or of why it could not be), and whether
/// it was refused.
#[derive(Debug, Default)]
pub(super) struct TenantStatus {
    fingerprint: u64,
    pub refused: bool,
}

fn fingerprint(texts: impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    texts.hash(&mut hasher);
    hasher.finish()
}

impl TenantSource {
    /// Reads the tenant's texts.
    fn read(&self) -> Result<TenantDir, String> {
        #[cfg(feature = "iac")]
        let read = TenantDir::read_with(&self.dir, &self.variables);
        #[cfg(not(feature = "iac"))]
        let read = TenantDir::read(&self.dir);
        read.map_err(|e| format!("cannot read the tenant `{}`: {e}", self.dir.display()))
    }

    /// Compiles the tenant, or lists its errors one per line (`file:line:column: error[code]: …`).
    fn compile(&self, tenant: &TenantDir) -> Result<Engine, Vec<String>> {
        let loaded = tenant.load(&self.catalog);
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
    /// The last reload's status.
    pub(super) fn status(&self) -> std::sync::MutexGuard<'_, TenantStatus> {
        self.tenant_status.lock().expect("the tenant status lock is never poisoned")
    }

    /// Reads the tenant again; compiles it when `forced` or when what was read changed. A
    /// tenant that cannot be read or has errors is refused once, not again at every look.
    pub(super) fn reload(&self, forced: bool) {
        let read = self.tenant.read();
        let seen = match &read {
            Ok(tenant) => {
                let files = tenant.files();
                let texts = std::iter::once(&files.config).chain(&files.policies).chain(&files.boundaries);
                fingerprint(texts.map(|file| (&file.name, &file.text)).collect::<Vec<_>>())
            }
            Err(error) => fingerprint(error),
        };
        // The status lock is not held while compiling: `/readyz` reads it on the async workers.
        // Reloads never overlap (one task runs them, one after the other).
        if !forced && seen == self.status().fingerprint {
            return;
        }
        let compiled = read.map_err(|error| vec![error]).and_then(|files| self.tenant.compile(&files));
        *self.status() = TenantStatus { fingerprint: seen, refused: compiled.is_err() };
        self.metrics.reload(compiled.is_ok());
        match compiled {
            Ok(engine) => {
                let tenant = engine.tenant();
                tracing::info!(
                    "tenant `{}` loaded: account `{}`, {} users, {} groups, {} policies",
                    self.tenant.dir.display(),
                    tenant.account.id,
                    tenant.users.len(),
                    tenant.groups.len(),
                    tenant.policies.len()
                );
                retire(self.service.replace_engine(engine));
            }
            Err(errors) => {
                tracing::error!(
                    "the tenant `{}` was refused ({} error{}); the last good tenant keeps serving",
                    self.tenant.dir.display(),
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                );
                for error in errors {
                    tracing::error!("  {error}");
                }
            }
        }
    }
}

/// Frees the engine a reload replaced here, on the reloading thread, once the checks that were
/// using it have let go: freeing a large tenant takes tens of milliseconds, which the last
/// check to hold it would otherwise spend on an async worker. A holder that keeps it longer
/// than a second frees it itself.
fn retire(mut engine: Arc<Engine>) {
    for _ in 0..1_000 {
        match Arc::try_unwrap(engine) {
            Ok(engine) => return drop(engine),
            Err(held) => engine = held,
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Reloads on SIGHUP, and looks for changed texts every `every` (none: on SIGHUP only).
pub(super) async fn keep_current(state: Arc<State>, mut hangup: Signal, every: Option<Duration>) {
    loop {
        let forced = tokio::select! {
            _ = hangup.recv() => true,
            _ = tick(every) => false,
        };
        let state = Arc::clone(&state);
        let _ = tokio::task::spawn_blocking(move || state.reload(forced)).await;
    }
}

async fn tick(every: Option<Duration>) {
    match every {
        Some(every) => tokio::time::sleep(every).await,
        None => std::future::pending().await,
    }
}
