output "primary_endpoint" {
  description = "Primary endpoint (host name) of the replication group."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}
