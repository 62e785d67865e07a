//! The platform's built-in policies (`policies/builtin/`), embedded so a binding can name them
//! as `builtin:<file stem>` in any tenant.

/// `(file stem, text)` of every built-in policy.
pub static BUILTIN_POLICIES: [(&str, &str); 5] = [
    ("appengine-admin", include_str!("../../policies/builtin/appengine-admin.policy")),
    ("storage-all-grail-data-read", include_str!("../../policies/builtin/storage-all-grail-data-read.policy")),
    ("storage-all-system-data-read", include_str!("../../policies/builtin/storage-all-system-data-read.policy")),
    ("storage-default-monitoring-read", include_str!("../../policies/builtin/storage-default-monitoring-read.policy")),
    ("storage-logs-read", include_str!("../../policies/builtin/storage-logs-read.policy")),
];
