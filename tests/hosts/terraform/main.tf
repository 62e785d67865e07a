# IAM for the payments team, kept as Terraform. A comment is never policy text:
# ALLOW storage:comments:read;

resource "dynatrace_iam_policy" "logs_reader" {
  name            = "Payments logs reader"
  account         = var.account_id
  statement_query = "ALLOW storage:logs:read, storage:spans:read WHERE storage:dt.security_context = \"$${bindParam:team}\" AND storage:bucket-name = “default_logs”;"
}

resource "dynatrace_iam_policy" "settings" {
  name            = "Payments settings"
  account         = var.account_id
  statement_query = <<-EOT
    // Settings of the payments app
    allow settings:objects:read, settings:schemas:read
      WHERE settings:schemaId = "builtin:alerting.profile";
    ALLOW settings:obects:write WHERE settings:schemaId = "${var.schema}";
  EOT
}

resource "dynatrace_iam_policy" "buckets" {
  name            = "Payments buckets"
  account         = var.account_id
  statement_query = <<EOT
ALLOW storage:buckets:read WHERE storage:bucket-name = "${bindParam:bucket}";
EOT
}

resource "dynatrace_iam_policy" "quoted" {
  name            = "Quoted by mistake"
  account         = var.account_id
  statement_query = "\"ALLOW storage:metrics:read;\""
}

resource "dynatrace_iam_policy" "data_access" {
  name            = "Payments data access"
  account         = var.account_id
  statement_query = file("${path.module}/policies/data_access.pol")
}

resource "dynatrace_iam_policy" "team_template" {
  name            = "Team template"
  account         = var.account_id
  statement_query = templatefile("${path.module}/templates/team.tftpl", { team = "payments" })
}

resource "dynatrace_iam_policy" "from_variable" {
  name            = "From a variable"
  account         = var.account_id
  statement_query = var.extra_policy
}

resource "dynatrace_iam_policy_boundary" "prod" {
  name  = "Production clusters"
  query = "storage:k8s.cluster.name IN (\"prod-eu-1\", \"prod-us-1\");\nstorage:k8s.namespace.nam startsWith \"payments-\";"
}
