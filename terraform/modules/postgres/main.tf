resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-postgres"
  description = "PostgreSQL for ${var.name}"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  for_each                     = toset(var.client_security_group_ids)
  security_group_id            = aws_security_group.this.id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_db_parameter_group" "this" {
  name   = "${var.name}-postgres${var.engine_version}"
  family = "postgres${var.engine_version}"
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  tags = var.tags
}

# The master password is generated and rotated by RDS in Secrets Manager: it never reaches state.
resource "aws_db_instance" "this" {
  identifier                      = var.name
  engine                          = "postgres"
  engine_version                  = var.engine_version
  instance_class                  = var.instance_class
  db_name                         = "platform"
  username                        = "platform_admin"
  manage_master_user_password     = true
  allocated_storage               = var.allocated_storage_gb
  max_allocated_storage           = var.max_allocated_storage_gb
  storage_type                    = "gp3"
  storage_encrypted               = true
  multi_az                        = var.multi_az
  db_subnet_group_name            = aws_db_subnet_group.this.name
  vpc_security_group_ids          = [aws_security_group.this.id]
  parameter_group_name            = aws_db_parameter_group.this.name
  backup_retention_period         = var.backup_retention_days
  deletion_protection             = var.deletion_protection
  skip_final_snapshot             = false
  final_snapshot_identifier       = "${var.name}-final"
  performance_insights_enabled    = true
  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = ["postgresql"]
  tags                            = var.tags
}

# One login per app: the platform's migration job creates the roles with these passwords
# (table owners read-write, the others read-only) from the secrets below.
resource "random_password" "app" {
  for_each = toset(var.app_ids)
  length   = 32
  special  = false
}

resource "aws_secretsmanager_secret" "offline_store" {
  name        = "${var.secret_name_prefix}offline-store"
  description = "Offline store connection string per app id"
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "offline_store" {
  secret_id = aws_secretsmanager_secret.offline_store.id
  secret_string = jsonencode({
    for app in var.app_ids : app => join(";", [
      "Host=${aws_db_instance.this.address}",
      "Port=${aws_db_instance.this.port}",
      "Database=platform",
      "Username=${app}",
      "Password=${random_password.app[app].result}",
      "SSL Mode=Require",
    ])
  })
}

resource "random_password" "dapr_state" {
  count   = var.dapr_state_enabled ? 1 : 0
  length  = 32
  special = false
}

resource "aws_secretsmanager_secret" "dapr_state" {
  count       = var.dapr_state_enabled ? 1 : 0
  name        = "${var.secret_name_prefix}dapr-state"
  description = "Connection string of the Dapr state stores (state.postgresql v2)"
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "dapr_state" {
  count     = var.dapr_state_enabled ? 1 : 0
  secret_id = aws_secretsmanager_secret.dapr_state[0].id
  secret_string = jsonencode({
    connectionString = join(" ", [
      "host=${aws_db_instance.this.address}",
      "port=${aws_db_instance.this.port}",
      "database=dapr_state",
      "user=dapr",
      "password=${random_password.dapr_state[0].result}",
      "sslmode=require",
    ])
  })
}
