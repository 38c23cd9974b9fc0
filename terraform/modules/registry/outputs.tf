output "repository_urls" {
  description = "Image repository URL per service (what the gitops image overlays point at)."
  value       = { for name, repo in aws_ecr_repository.service : name => repo.repository_url }
}

output "registry_host" {
  description = "Registry host name (<account>.dkr.ecr.<region>.amazonaws.com)."
  value       = split("/", values(aws_ecr_repository.service)[0].repository_url)[0]
}
