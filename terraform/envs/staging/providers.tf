provider "aws" {
  region = var.region
  default_tags {
    tags = local.tags
  }
}

# Helm talks to the new cluster with a short-lived token from the AWS CLI (no kubeconfig on disk).
provider "helm" {
  kubernetes {
    host                   = module.cluster.endpoint
    cluster_ca_certificate = base64decode(module.cluster.certificate_authority_data)
    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.cluster.cluster_name, "--region", var.region]
    }
  }
}
