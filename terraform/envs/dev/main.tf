# dev: Dapr on Redis; PostgreSQL also holds the offline store.
locals {
  name          = "market-platform-${var.environment}"
  secret_prefix = "market-platform/"
  services      = ["gateway", "marketdata", "features", "training", "serving", "backtesting", "monitoring"]
  tags = {
    project     = "market-platform"
    environment = var.environment
    managed-by  = "terraform"
  }
}

module "network" {
  source                  = "../../modules/network"
  name                    = local.name
  cidr_block              = var.vpc_cidr_block
  availability_zone_count = var.availability_zone_count
  single_nat_gateway      = var.single_nat_gateway
  tags                    = local.tags
}

module "cluster" {
  source                = "../../modules/cluster"
  name                  = local.name
  kubernetes_version    = var.kubernetes_version
  vpc_id                = module.network.vpc_id
  subnet_ids            = module.network.private_subnet_ids
  node_instance_types   = var.node_instance_types
  node_min_size         = var.node_min_size
  node_max_size         = var.node_max_size
  node_desired_size     = var.node_desired_size
  public_endpoint_cidrs = var.public_endpoint_cidrs
  admin_principal_arns  = var.admin_principal_arns
  secret_name_prefix    = local.secret_prefix
  tags                  = local.tags
}

module "postgres" {
  source                    = "../../modules/postgres"
  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.cluster.cluster_security_group_id]
  secret_name_prefix        = local.secret_prefix
  engine_version            = var.postgres_engine_version
  instance_class            = var.postgres_instance_class
  allocated_storage_gb      = var.postgres_allocated_storage_gb
  max_allocated_storage_gb  = var.postgres_max_allocated_storage_gb
  multi_az                  = var.postgres_multi_az
  backup_retention_days     = var.postgres_backup_retention_days
  deletion_protection       = var.postgres_deletion_protection
  app_ids                   = [for s in local.services : s if s != "gateway"]
  dapr_state_enabled        = false
  tags                      = local.tags
}

module "redis" {
  source                    = "../../modules/redis"
  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.cluster.cluster_security_group_id]
  secret_name_prefix        = local.secret_prefix
  engine_version            = var.redis_engine_version
  node_type                 = var.redis_node_type
  replicas                  = var.redis_replicas
  tags                      = local.tags
}

module "registry" {
  source    = "../../modules/registry"
  namespace = "market-platform"
  services  = local.services
  tags      = local.tags
}

module "argocd" {
  source                    = "../../modules/argocd-bootstrap"
  environment               = var.environment
  gitops_repo_url           = var.gitops_repo_url
  gitops_revision           = var.gitops_revision
  argocd_chart_version      = var.argocd_chart_version
  argocd_apps_chart_version = var.argocd_apps_chart_version
  high_availability         = var.argocd_high_availability
  depends_on                = [module.cluster]
}
