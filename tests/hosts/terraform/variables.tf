variable "account_id" {
  type    = string
  default = "9f2c6d1e-4b7a-4c3e-8a5d-0e1f2a3b4c5d"
}

variable "schema" {
  type = string
}

variable "extra_policy" {
  type    = string
  default = "ALLOW document:documents:reed;"
}
