# One bindings resource per group and level, as the provider wants them.

locals {
  teams = {
    payments = dynatrace_iam_group.payments-devs.id
    checkout = dynatrace_iam_group.checkout-devs.id
  }
}

resource "dynatrace_iam_policy_bindings_v2" "sre" {
  group   = dynatrace_iam_group.sre.id
  account = var.account_id
  policy {
    id = data.dynatrace_iam_policy.all_grail_data.id
  }
  policy {
    id = dynatrace_iam_policy.security-deny.id
  }
  policy {
    id = dynatrace_iam_policy.platform-tokens.id
  }
}

# SRE changes production only inside the change window, and administers apps elsewhere.
resource "dynatrace_iam_policy_bindings_v2" "sre_prod" {
  group       = dynatrace_iam_group.sre.id
  environment = "prod"
  policy {
    id = dynatrace_iam_policy.change-window.id
  }
}

resource "dynatrace_iam_policy_bindings_v2" "sre_apps" {
  for_each    = toset(["staging", "dev"])
  group       = dynatrace_iam_group.sre.id
  environment = each.key
  policy {
    id = data.dynatrace_iam_policy.appengine_admin.id
  }
}

# Each product team: its own logs (one templated policy), its workspace, apps in dev.
resource "dynatrace_iam_policy_bindings_v2" "teams" {
  for_each = local.teams
  group    = each.value
  account  = var.account_id
  policy {
    id = dynatrace_iam_policy.security-deny.id
  }
  policy {
    id = dynatrace_iam_policy.team-logs.id
    parameters = {
      team     = each.key
      clusters = var.clusters[each.key]
    }
  }
  policy {
    id = dynatrace_iam_policy.dev-workspace.id
  }
}

resource "dynatrace_iam_policy_bindings_v2" "teams_dev" {
  for_each    = local.teams
  group       = each.value
  environment = "dev"
  policy {
    id         = data.dynatrace_iam_policy.appengine_admin.id
    boundaries = [dynatrace_iam_policy_boundary.acme-apps.id]
  }
}

resource "dynatrace_iam_policy_bindings_v2" "security" {
  group   = dynatrace_iam_group.security.id
  account = var.account_id
  policy {
    id = data.dynatrace_iam_policy.all_grail_data.id
  }
}

resource "dynatrace_iam_policy_bindings_v2" "readers" {
  group   = dynatrace_iam_group.readers.id
  account = var.account_id
  policy {
    id = dynatrace_iam_policy.security-deny.id
  }
  policy {
    id         = data.dynatrace_iam_policy.default_monitoring.id
    boundaries = [dynatrace_iam_policy_boundary.non-prod-clusters.id]
  }
}

resource "dynatrace_iam_policy_bindings_v2" "platform-admins" {
  group   = dynatrace_iam_group.platform-admins.id
  account = var.account_id
  policy {
    id = dynatrace_iam_policy.platform-tokens.id
  }
  policy {
    id = dynatrace_iam_policy.token-admin.id
  }
}

resource "dynatrace_iam_policy_bindings_v2" "automation" {
  group   = dynatrace_iam_group.automation.id
  account = var.account_id
  policy {
    id = dynatrace_iam_policy.grail-ingest.id
  }
}
