//! A tenant directory of any kind: a `warden.toml` tenant, a Terraform module or a monaco
//! project (the last two with the `iac` feature).

use std::io;
use std::path::Path;

use super::load::{Loaded, TenantFiles, load};
use crate::catalog::Catalog;

/// The tenant of a directory, read.
#[derive(Debug)]
#[non_exhaustive]
pub enum TenantDir {
    /// `warden.toml`, `policies/*.policy`, `boundaries/*.boundary`.
    Warden(TenantFiles),
    /// A Terraform module or a monaco project.
    #[cfg(feature = "iac")]
    Host(Box<super::host::HostTenant>),
}

impl TenantDir {
    /// Reads the tenant in `dir`, Terraform variables taking their defaults.
    pub fn read(dir: &Path) -> io::Result<TenantDir> {
        #[cfg(feature = "iac")]
        return TenantDir::read_with(dir, &crate::host::Variables::default());
        #[cfg(not(feature = "iac"))]
        TenantFiles::read(dir).map(TenantDir::Warden)
    }

    /// Reads the tenant in `dir` with values for Terraform variables (`--var`, `--var-file`).
    #[cfg(feature = "iac")]
    pub fn read_with(dir: &Path, variables: &crate::host::Variables) -> io::Result<TenantDir> {
        if dir.join("warden.toml").is_file() {
            return TenantFiles::read(dir).map(TenantDir::Warden);
        }
        let Some(host) = crate::host::tenant_host(dir) else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "it holds no warden.toml, no Terraform module (*.tf) and no monaco project (manifest.yaml or account resources)",
            ));
        };
        super::host::HostTenant::read(dir, host, variables)
            .map(|tenant| TenantDir::Host(Box::new(tenant)))
            .map_err(|e| io::Error::other(e.to_string()))
    }

    /// The tenant as `warden.toml` files (generated for a host).
    pub fn files(&self) -> &TenantFiles {
        match self {
            TenantDir::Warden(files) => files,
            #[cfg(feature = "iac")]
            TenantDir::Host(host) => host.files(),
        }
    }

    /// Loads and checks the tenant; a host's findings are on its own files.
    pub fn load(&self, catalog: &Catalog) -> Loaded {
        match self {
            TenantDir::Warden(files) => load(files, catalog),
            #[cfg(feature = "iac")]
            TenantDir::Host(host) => host.load(catalog),
        }
    }
}
