variable "environment" {
  description = "Environment name (dev, staging or prod)."
  type        = string
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
}

variable "vpc_cidr_block" {
  description = "IPv4 CIDR block of the environment's VPC."
  type        = string
}

variable "availability_zone_count" {
  description = "Availability zones to spread subnets, nodes and data stores over."
  type        = number
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway instead of one per availability zone."
  type        = bool
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
}

variable "node_instance_types" {
  description = "Instance types of the cluster's node group."
  type        = list(string)
}

variable "node_min_size" {
  description = "Minimum number of nodes."
  type        = number
}

variable "node_max_size" {
  description = "Maximum number of nodes."
  type        = number
}

variable "node_desired_size" {
  description = "Initial number of nodes."
  type        = number
}

variable "public_endpoint_cidrs" {
  description = "CIDR blocks allowed to reach the Kubernetes API; empty keeps it private."
  type        = list(string)
  default     = []
}

variable "admin_principal_arns" {
  description = "IAM roles given cluster-admin (platform team, CI deployer)."
  type        = list(string)
  default     = []
}

variable "postgres_engine_version" {
  description = "PostgreSQL major version."
  type        = string
}

variable "postgres_instance_class" {
  description = "RDS instance class of the PostgreSQL database."
  type        = string
}

variable "postgres_allocated_storage_gb" {
  description = "Initial database storage in GiB."
  type        = number
}

variable "postgres_max_allocated_storage_gb" {
  description = "Upper bound of database storage autoscaling in GiB."
  type        = number
}

variable "postgres_multi_az" {
  description = "Keep a synchronous standby in a second availability zone."
  type        = bool
}

variable "postgres_backup_retention_days" {
  description = "Days of automated database backups."
  type        = number
}

variable "postgres_deletion_protection" {
  description = "Protect the database from deletion."
  type        = bool
}

variable "gitops_repo_url" {
  description = "Git repository Argo CD syncs."
  type        = string
}

variable "gitops_revision" {
  description = "Branch, tag or commit Argo CD follows."
  type        = string
  default     = "main"
}

variable "argocd_chart_version" {
  description = "argo-cd Helm chart version."
  type        = string
}

variable "argocd_apps_chart_version" {
  description = "argocd-apps Helm chart version."
  type        = string
}

variable "argocd_high_availability" {
  description = "Run Argo CD with several replicas."
  type        = bool
}

variable "kafka_version" {
  description = "Apache Kafka version of the MSK cluster."
  type        = string
}

variable "kafka_broker_instance_type" {
  description = "MSK broker instance type."
  type        = string
}

variable "kafka_broker_count" {
  description = "Number of MSK brokers (a multiple of the availability zones)."
  type        = number
}

variable "kafka_broker_volume_gb" {
  description = "Storage per broker in GiB."
  type        = number
}
