variable "name" {
  description = "Name prefix for every resource (e.g. market-platform-dev)."
  type        = string
}

variable "vpc_id" {
  description = "VPC the service runs in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets to place the service in."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect (the cluster's node security group)."
  type        = list(string)
}

variable "secret_name_prefix" {
  description = "Secrets Manager name prefix for the connection secrets this module writes (e.g. market-platform/)."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "engine_version" {
  description = "PostgreSQL major version (e.g. 17)."
  type        = string
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
}

variable "allocated_storage_gb" {
  description = "Initial storage in GiB; storage autoscaling grows it up to max_allocated_storage_gb."
  type        = number
}

variable "max_allocated_storage_gb" {
  description = "Upper bound for storage autoscaling in GiB."
  type        = number
}

variable "multi_az" {
  description = "Run a synchronous standby in a second availability zone."
  type        = bool
}

variable "backup_retention_days" {
  description = "Days of automated backups and point-in-time recovery."
  type        = number
}

variable "deletion_protection" {
  description = "Refuse to delete the database (turn off only to tear an environment down)."
  type        = bool
}

variable "app_ids" {
  description = "Dapr app ids that get a login of their own for the offline store."
  type        = list(string)
}

variable "dapr_state_enabled" {
  description = "Also create the login and connection secret Dapr's state.postgresql components use."
  type        = bool
}
