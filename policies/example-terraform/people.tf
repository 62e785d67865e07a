# ACME Corp's people and groups: the tenant of policies/example, kept as Terraform.

resource "dynatrace_iam_group" "sre" {
  name = "Site reliability"
}

resource "dynatrace_iam_group" "payments-devs" {
  name = "Payments developers"
}

resource "dynatrace_iam_group" "checkout-devs" {
  name = "Checkout developers"
}

resource "dynatrace_iam_group" "security" {
  name = "Security"
}

resource "dynatrace_iam_group" "platform-admins" {
  name = "Platform administrators"
}

resource "dynatrace_iam_group" "readers" {
  name = "Read-only observers"
}

resource "dynatrace_iam_group" "automation" {
  name = "Automation (service users)"
}

locals {
  members = {
    "alice@acme.example" = [dynatrace_iam_group.sre.id, dynatrace_iam_group.platform-admins.id]
    "bob@acme.example"   = [dynatrace_iam_group.payments-devs.id]
    "carol@acme.example" = [dynatrace_iam_group.payments-devs.id, dynatrace_iam_group.checkout-devs.id]
    "dave@acme.example"  = [dynatrace_iam_group.checkout-devs.id]
    "erin@acme.example"  = [dynatrace_iam_group.security.id]
    "frank@acme.example" = [dynatrace_iam_group.readers.id]
    "grace@acme.example" = [dynatrace_iam_group.security.id, dynatrace_iam_group.platform-admins.id]
    "heidi@acme.example" = [dynatrace_iam_group.sre.id]
    "ivan@acme.example"  = [dynatrace_iam_group.sre.id]
    "judy@acme.example"  = [dynatrace_iam_group.checkout-devs.id, dynatrace_iam_group.readers.id]
  }
}

resource "dynatrace_iam_user" "people" {
  for_each = local.members
  email    = each.key
  groups   = each.value
}

# Service users are named by their ids, as the provider's export names them.
resource "dynatrace_iam_service_user" "6f3105c0-e092-4073-a7ae-a09e09515d7c" {
  name   = "ci-bot"
  groups = [dynatrace_iam_group.automation.id]
}

resource "dynatrace_iam_service_user" "e0816ad7-11a9-4427-8a8c-e0e5900df546" {
  name   = "log-shipper"
  groups = [dynatrace_iam_group.automation.id]
}
