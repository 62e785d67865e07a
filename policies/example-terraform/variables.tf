variable "account_id" {
  description = "The account's UUID (urn:dtaccount:<uuid>, without the prefix)"
  type        = string
  default     = "acme"
}

variable "clusters" {
  description = "The Kubernetes clusters each product team runs on"
  type        = map(list(string))
  default = {
    payments = ["prod-eu-1", "prod-us-1", "staging-eu-1"]
    checkout = ["prod-eu-1", "staging-eu-1", "dev-eu-1"]
  }
}
