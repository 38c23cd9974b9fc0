variable "namespace" {
  description = "Repository name prefix (e.g. market-platform); each image is <namespace>/<service>."
  type        = string
}

variable "services" {
  description = "Services that get an image repository."
  type        = list(string)
}

variable "untagged_image_days" {
  description = "Days after which untagged images are deleted."
  type        = number
  default     = 14
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
