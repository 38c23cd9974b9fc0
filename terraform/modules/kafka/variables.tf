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

variable "kafka_version" {
  description = "Apache Kafka version of the MSK cluster (e.g. 3.8.x)."
  type        = string
}

variable "broker_instance_type" {
  description = "MSK broker instance type."
  type        = string
}

variable "broker_count" {
  description = "Number of brokers; a multiple of the number of subnets."
  type        = number
}

variable "broker_volume_gb" {
  description = "EBS storage per broker in GiB."
  type        = number
}
