resource "aws_security_group" "this" {
  name        = "${var.name}-kafka"
  description = "MSK for ${var.name}"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

# 9096: SASL/SCRAM over TLS, the only listener clients get.
resource "aws_vpc_security_group_ingress_rule" "clients" {
  for_each                     = toset(var.client_security_group_ids)
  security_group_id            = aws_security_group.this.id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 9096
  to_port                      = 9096
}

resource "aws_msk_configuration" "this" {
  name           = var.name
  kafka_versions = [var.kafka_version]
  server_properties = join("\n", [
    "auto.create.topics.enable=true",
    "default.replication.factor=3",
    "min.insync.replicas=2",
    "num.partitions=6",
    "message.max.bytes=1048588",
    "log.retention.hours=168",
  ])
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.broker_count

  broker_node_group_info {
    instance_type   = var.broker_instance_type
    client_subnets  = var.subnet_ids
    security_groups = [aws_security_group.this.id]
    storage_info {
      ebs_storage_info {
        volume_size = var.broker_volume_gb
      }
    }
  }

  client_authentication {
    sasl {
      scram = true
    }
  }

  encryption_info {
    encryption_in_transit {
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  tags = var.tags
}

# MSK reads SCRAM credentials from a secret whose name starts with AmazonMSK_, encrypted with a
# customer-managed key.
resource "aws_kms_key" "scram" {
  description         = "SCRAM credentials of ${var.name}"
  enable_key_rotation = true
  tags                = var.tags
}

resource "random_password" "dapr" {
  length  = 32
  special = false
}

resource "aws_secretsmanager_secret" "scram" {
  name       = "AmazonMSK_${var.name}-dapr"
  kms_key_id = aws_kms_key.scram.key_id
  tags       = var.tags
}

resource "aws_secretsmanager_secret_version" "scram" {
  secret_id = aws_secretsmanager_secret.scram.id
  secret_string = jsonencode({
    username = "dapr"
    password = random_password.dapr.result
  })
}

resource "aws_msk_scram_secret_association" "this" {
  cluster_arn     = aws_msk_cluster.this.arn
  secret_arn_list = [aws_secretsmanager_secret.scram.arn]
  depends_on      = [aws_secretsmanager_secret_version.scram]
}

# What the Dapr pubsub.kafka component reads (synced into the cluster by External Secrets).
resource "aws_secretsmanager_secret" "dapr" {
  name        = "${var.secret_name_prefix}kafka"
  description = "Brokers and SASL/SCRAM login for the Dapr pubsub.kafka component"
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "dapr" {
  secret_id = aws_secretsmanager_secret.dapr.id
  secret_string = jsonencode({
    brokers  = aws_msk_cluster.this.bootstrap_brokers_sasl_scram
    username = "dapr"
    password = random_password.dapr.result
  })
}
