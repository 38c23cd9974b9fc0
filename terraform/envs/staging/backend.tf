# State of the staging environment: S3 with native lock files, one key per environment.
# The bucket is created once per account, outside this configuration (see docs/deployment.md).
terraform {
  backend "s3" {
    bucket       = "market-platform-tfstate-staging"
    key          = "market-platform/staging/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
