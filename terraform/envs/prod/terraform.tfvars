environment             = "prod"
region                  = "eu-west-1"
vpc_cidr_block          = "10.30.0.0/16"
availability_zone_count = 3
single_nat_gateway      = false

kubernetes_version  = "1.32"
node_instance_types = ["m6i.2xlarge"]
node_min_size       = 3
node_max_size       = 12
node_desired_size   = 4

postgres_engine_version           = "17"
postgres_instance_class           = "db.m7g.xlarge"
postgres_allocated_storage_gb     = 200
postgres_max_allocated_storage_gb = 2000
postgres_multi_az                 = true
postgres_backup_retention_days    = 30
postgres_deletion_protection      = true

kafka_version              = "3.8.x"
kafka_broker_instance_type = "kafka.m7g.large"
kafka_broker_count         = 3
kafka_broker_volume_gb     = 500

gitops_repo_url           = "https://github.com/example-org/market-platform.git"
argocd_chart_version      = "8.1.3"
argocd_apps_chart_version = "2.0.2"
argocd_high_availability  = true
