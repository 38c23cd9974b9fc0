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
  description = "Redis OSS engine version (e.g. 7.1)."
  type        = string
}

variable "node_type" {
  description = "ElastiCache node type."
  type        = string
}

variable "replicas" {
  description = "Read replicas next to the primary (0 for a single node; 1 or more enables automatic failover)."
  type        = number
}
