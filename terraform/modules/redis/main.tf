resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-redis"
  description = "Redis for ${var.name}"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  for_each                     = toset(var.client_security_group_ids)
  security_group_id            = aws_security_group.this.id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
}

resource "random_password" "auth" {
  length  = 48
  special = false
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id       = var.name
  description                = "Dapr pub/sub and state for ${var.name}"
  engine                     = "redis"
  engine_version             = var.engine_version
  node_type                  = var.node_type
  num_cache_clusters         = var.replicas + 1
  automatic_failover_enabled = var.replicas > 0
  multi_az_enabled           = var.replicas > 0
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [aws_security_group.this.id]
  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
  auth_token                 = random_password.auth.result
  snapshot_retention_limit   = 1
  tags                       = var.tags
}

# What the Dapr Redis components read (synced into the cluster by External Secrets).
resource "aws_secretsmanager_secret" "dapr" {
  name        = "${var.secret_name_prefix}redis"
  description = "Host and auth token for the Dapr Redis components"
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "dapr" {
  secret_id = aws_secretsmanager_secret.dapr.id
  secret_string = jsonencode({
    host     = "${aws_elasticache_replication_group.this.primary_endpoint_address}:6379"
    password = random_password.auth.result
  })
}
