environment             = "dev"
region                  = "eu-west-1"
vpc_cidr_block          = "10.10.0.0/16"
availability_zone_count = 2
single_nat_gateway      = true

kubernetes_version  = "1.32"
node_instance_types = ["m6i.large"]
node_min_size       = 2
node_max_size       = 4
node_desired_size   = 2

postgres_engine_version           = "17"
postgres_instance_class           = "db.t4g.medium"
postgres_allocated_storage_gb     = 50
postgres_max_allocated_storage_gb = 200
postgres_multi_az                 = false
postgres_backup_retention_days    = 3
postgres_deletion_protection      = false

redis_engine_version = "7.1"
redis_node_type      = "cache.t4g.small"
redis_replicas       = 0

gitops_repo_url           = "https://github.com/example-org/market-platform.git"
argocd_chart_version      = "8.1.3"
argocd_apps_chart_version = "2.0.2"
argocd_high_availability  = false
