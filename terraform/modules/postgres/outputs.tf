output "address" {
  description = "Host name of the database."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the database."
  value       = aws_db_instance.this.port
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret holding the RDS-managed master password."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "offline_store_secret_arn" {
  description = "Secrets Manager secret with one offline-store connection string per app id."
  value       = aws_secretsmanager_secret.offline_store.arn
}
