variable "schema" {
  type = string
}

resource "dynatrace_iam_group" "ops" {
  name = "Operations"
}

resource "dynatrace_iam_user" "ann" {
  email  = "ann@acme.example"
  groups = [dynatrace_iam_group.ops.id]
}

resource "dynatrace_iam_policy" "settings" {
  name            = "Settings"
  account         = "acme"
  statement_query = "ALLOW settings:objects:read WHERE settings:schemaId = \"${var.schema}\";"
}

resource "dynatrace_iam_policy_bindings_v2" "ops" {
  group   = dynatrace_iam_group.ops.id
  account = "acme"
  policy {
    id = dynatrace_iam_policy.settings.id
    parameters = {
      team = "ops"
    }
  }
  policy {
    id = "2b16c4fe-b54e-4325-94dd-cb3dea0b0041#-#global#-#global"
  }
}
