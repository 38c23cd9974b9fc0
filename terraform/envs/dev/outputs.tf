output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name <this>)."
  value       = module.cluster.cluster_name
}

output "registry_repository_urls" {
  description = "Image repository per service, for gitops/envs/<env>/images."
  value       = module.registry.repository_urls
}

output "postgres_address" {
  description = "Host name of the PostgreSQL database."
  value       = module.postgres.address
}

output "argocd_root_path" {
  description = "Path the root Argo CD Application syncs."
  value       = module.argocd.root_application_path
}

output "redis_endpoint" {
  description = "Primary endpoint of the Redis replication group."
  value       = module.redis.primary_endpoint
}
