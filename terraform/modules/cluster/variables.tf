variable "name" {
  description = "Cluster name (e.g. market-platform-dev)."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the EKS control plane (e.g. 1.32)."
  type        = string
}

variable "vpc_id" {
  description = "VPC the cluster runs in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the control plane's network interfaces and the nodes."
  type        = list(string)
}

variable "node_instance_types" {
  description = "EC2 instance types of the managed node group."
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
  description = "Initial number of nodes (the cluster autoscaler owns it afterwards)."
  type        = number
}

variable "public_endpoint_cidrs" {
  description = "CIDR blocks allowed to reach the public Kubernetes API endpoint; empty keeps the endpoint private."
  type        = list(string)
  default     = []
}

variable "admin_principal_arns" {
  description = "IAM principals (roles of the platform team, the CI deployer) given cluster-admin through EKS access entries."
  type        = list(string)
  default     = []
}

variable "secret_name_prefix" {
  description = "Secrets Manager name prefix the External Secrets controller may read (e.g. market-platform/)."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
