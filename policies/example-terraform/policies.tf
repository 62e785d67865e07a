# Policies and boundaries. Bind parameters are written `$${bindParam:…}` so Terraform passes
# them on; files read with file() hold them as they are.

resource "dynatrace_iam_policy" "dev-workspace" {
  name            = "Developer workspace"
  account         = var.account_id
  statement_query = file("${path.module}/policies/dev-workspace.pol")
}

resource "dynatrace_iam_policy" "change-window" {
  name            = "Production change window"
  account         = var.account_id
  statement_query = <<-EOT
    ALLOW settings:objects:write, app-engine:apps:install
      WHERE global:week-day IN ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
        AND global:time-of-day > "08:00+01:00"
        AND global:time-of-day < "18:00+01:00";
    DENY settings:objects:write, app-engine:apps:install
      WHERE global:date-time > "2026-12-18T18:00:00+01:00"
        AND global:date-time < "2027-01-04T08:00:00+01:00";
  EOT
}

resource "dynatrace_iam_policy" "platform-tokens" {
  name            = "Platform tokens"
  account         = var.account_id
  statement_query = <<-EOT
    ALLOW platform-token:tokens:write;
    ALLOW iam:service-users:use
      WHERE iam:service-user-email IN ("6f3105c0-e092-4073-a7ae-a09e09515d7c@service.sso.dynatrace.com");
  EOT
}

resource "dynatrace_iam_policy" "team-logs" {
  name            = "Team logs"
  account         = var.account_id
  statement_query = <<-EOT
    ALLOW storage:logs:read, storage:spans:read, storage:events:read
      WHERE storage:k8s.namespace.name = "team-$${bindParam:team}"
        AND storage:k8s.cluster.name IN ("$${bindParam:clusters}");
    ALLOW storage:buckets:read WHERE storage:table-name IN ("logs", "spans", "events");
  EOT
}

resource "dynatrace_iam_policy" "security-deny" {
  name            = "Secrets stay secret"
  account         = var.account_id
  statement_query = "DENY storage:logs:read, storage:spans:read, storage:events:read WHERE storage:k8s.namespace.name IN (\"vault\", \"secrets\");"
}

resource "dynatrace_iam_policy" "token-admin" {
  name            = "Token administration"
  account         = var.account_id
  statement_query = <<-EOT
    ALLOW platform-token:tokens:manage;
    ALLOW iam:policies:read, iam:bindings:read, iam:boundaries:read, iam:users:read, iam:groups:read;
  EOT
}

resource "dynatrace_iam_policy" "grail-ingest" {
  name            = "Grail ingest"
  account         = var.account_id
  statement_query = <<-EOT
    ALLOW storage:logs:write, storage:events:write;
    ALLOW openpipeline:events:ingest, openpipeline:events.sdlc:ingest;
  EOT
}

data "dynatrace_iam_policy" "all_grail_data" {
  name = "Storage All Grail Data Read"
}

data "dynatrace_iam_policy" "default_monitoring" {
  name = "Storage Default Monitoring Read"
}

data "dynatrace_iam_policy" "appengine_admin" {
  name = "AppEngine - Admin"
}

resource "dynatrace_iam_policy_boundary" "non-prod-clusters" {
  name  = "Non-production clusters"
  query = "storage:k8s.cluster.name IN (\"dev-eu-1\", \"staging-eu-1\");"
}

resource "dynatrace_iam_policy_boundary" "acme-apps" {
  name  = "ACME apps"
  query = "shared:app-id startsWith \"my.acme.\";"
}
