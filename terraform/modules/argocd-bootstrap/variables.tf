variable "environment" {
  description = "Environment name; the root Application syncs gitops/argocd/envs/<environment>."
  type        = string
}

variable "gitops_repo_url" {
  description = "Git repository Argo CD syncs (this repository)."
  type        = string
}

variable "gitops_revision" {
  description = "Branch, tag or commit of gitops_repo_url to follow."
  type        = string
  default     = "main"
}

variable "argocd_chart_version" {
  description = "Version of the argo-cd Helm chart."
  type        = string
}

variable "argocd_apps_chart_version" {
  description = "Version of the argocd-apps Helm chart that creates the root Application."
  type        = string
}

variable "high_availability" {
  description = "Run the Argo CD controller, repo server and API server with several replicas."
  type        = bool
  default     = false
}
