output "namespace" {
  description = "Namespace Argo CD runs in."
  value       = helm_release.argocd.namespace
}

output "root_application_path" {
  description = "Path in the gitops repository the root Application syncs."
  value       = "gitops/argocd/envs/${var.environment}"
}
